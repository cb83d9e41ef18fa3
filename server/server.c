/*
 * server.c - the process-wide helpers of server.h: clocks.
 *
 * Every module of the core reads time through these, so that a turn of
 * the loop reads the monotonic clock once (server_turn_us).  Nothing here
 * keeps state beyond struct server.
 */
#include <time.h>

#include "server.h"

uint64_t server_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t server_mono_ms(void)
{
	return uv_hrtime() / 1000000u;
}

uint64_t server_turn_us(struct server *srv)
{
	if (!srv->turn_us)
		srv->turn_us = uv_hrtime() / 1000u;
	return srv->turn_us;
}
