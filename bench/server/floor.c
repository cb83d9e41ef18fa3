/*
 * floor.c - what forwarding a keystroke costs the kernel, and nothing else.
 *
 * The load benchmark's CPU target compares tandem's server with
 * y-websocket's.  Any server that forwards each keystroke at once does, per
 * keystroke, one receive from the typist's socket and one send to the
 * peer's, and on loopback the send also pays for the peer's TCP receive.
 * This program measures that floor on the same machine, in the same run
 * (bench/server/load.mjs starts it after the two servers): the smallest
 * server that does exactly that work - epoll, recv, send, in C, no
 * WebSocket framing, no document, no timeline - under the same shape of
 * load: ROOMS rooms of two connections, each typing RATE messages a second
 * of SIZE bytes at an even pace with a random phase, WARMUP seconds, then
 * MEASURE seconds measured.
 *
 * One process: the "server" is a forked child that pairs connection 2k
 * with 2k+1 and copies whatever one sends to the other; the parent is the
 * typists and the readers.  Prints one JSON object: the server's CPU
 * seconds (utime+stime from /proc) over the window, the typists' own, the
 * messages sent and received in the window and the sender->peer latency
 * percentiles.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define SIZE_MAX_MSG 1024

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

/* The forwarder: each connection names its index first, then is copied to index ^ 1. */
static void serve(int lfd, int nconn)
{
	int *fd_of = calloc((size_t)nconn, sizeof(int)), *peer_of;
	struct epoll_event evs[256];
	char buf[65536];
	int ep = epoll_create1(0), open = nconn, maxfd = 0;

	if (!fd_of || ep < 0)
		die("serve");
	for (int i = 0; i < nconn; i++) {
		int fd = accept(lfd, NULL, NULL);
		uint32_t idx = 0;

		if (fd < 0 || recv(fd, &idx, sizeof(idx), MSG_WAITALL) != sizeof(idx) ||
		    idx >= (uint32_t)nconn)
			die("accept");
		nodelay(fd);
		fd_of[idx] = fd;
		if (fd > maxfd)
			maxfd = fd;
	}
	/* fds are small integers: peer_of is indexed by fd. */
	peer_of = malloc(sizeof(int) * ((size_t)maxfd + 1));
	if (!peer_of)
		die("serve");
	for (int i = 0; i < nconn; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd_of[i] };

		peer_of[fd_of[i]] = fd_of[i ^ 1];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd_of[i], &ev))
			die("epoll_ctl");
	}
	while (open > 0) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t got = recv(fd, buf, sizeof(buf), 0);

			if (got <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				open--;
				continue;
			}
			/* Blocking send: at these rates the socket buffer never fills. */
			(void)send(peer_of[fd], buf, (size_t)got, MSG_NOSIGNAL);
		}
	}
	exit(0);
}

int main(int argc, char **argv)
{
	int rooms = 500, rate = 5, warmup = 10, measure = 60, size = 48;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	int lfd, nconn, ep;
	int *fds;
	int64_t *lat, t0, period_ns, end_warm, end_all;
	size_t nlat = 0, caplat;
	uint64_t sent = 0, recvd = 0, sent_w = 0, recvd_w = 0;
	double srv0 = 0, srv1 = 0, me0 = 0, me1 = 0;
	int64_t *next;
	int in_window = 0;
	static char msg[SIZE_MAX_MSG], buf[65536];
	int *have;		   /* bytes of a partly received message, per connection */
	char(*part)[SIZE_MAX_MSG]; /* and those bytes */
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		int *slot = NULL;

		if (!strcmp(argv[i], "--rooms"))
			slot = &rooms;
		else if (!strcmp(argv[i], "--rate"))
			slot = &rate;
		else if (!strcmp(argv[i], "--warmup"))
			slot = &warmup;
		else if (!strcmp(argv[i], "--measure"))
			slot = &measure;
		else if (!strcmp(argv[i], "--size"))
			slot = &size;
		if (!slot || i + 1 == argc) {
			fprintf(stderr,
				"usage: floor [--rooms N] [--rate PER_CLIENT_PER_S] [--warmup S] "
				"[--measure S] [--size BYTES]\n");
			return 2;
		}
		*slot = atoi(argv[++i]);
	}
	if (rooms < 1 || rate < 1 || size < 8 || size > SIZE_MAX_MSG || measure < 1 || warmup < 0) {
		fprintf(stderr, "floor: bad arguments\n");
		return 2;
	}
	nconn = rooms * 2;
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen))
		die("listen");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		serve(lfd, nconn);
	close(lfd);

	fds = calloc((size_t)nconn, sizeof(int));
	next = calloc((size_t)nconn, sizeof(int64_t));
	caplat = (size_t)nconn * (size_t)rate * (size_t)(measure + 5);
	lat = malloc(caplat * sizeof(int64_t));
	ep = epoll_create1(0);
	if (!fds || !next || !lat || ep < 0)
		die("alloc");
	srand(12345);
	for (int i = 0; i < nconn; i++) {
		uint32_t idx = (uint32_t)i;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) ||
		    send(fds[i], &idx, sizeof(idx), 0) != sizeof(idx))
			die("connect");
		nodelay(fds[i]);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			die("epoll_ctl");
	}

	/* Each typist sends every period, from a random phase. */
	period_ns = 1000000000 / rate;
	t0 = now_ns();
	for (int i = 0; i < nconn; i++)
		next[i] = t0 + (int64_t)((double)rand() / RAND_MAX * (double)period_ns);
	end_warm = t0 + (int64_t)warmup * 1000000000;
	end_all = end_warm + (int64_t)measure * 1000000000;
	have = calloc((size_t)nconn, sizeof(int));
	part = calloc((size_t)nconn, SIZE_MAX_MSG);
	if (!have || !part)
		die("alloc");
	memset(msg, 'k', sizeof(msg));
	for (;;) {
		int64_t t = now_ns(), soonest = INT64_MAX;
		struct epoll_event evs[256];
		int n, wait_ms;

		if (!in_window && t >= end_warm) {
			in_window = 1;
			srv0 = proc_cpu_s(pid);
			if (srv0 < 0)
				die("proc stat");
			me0 = rusage_s(RUSAGE_SELF);
		}
		if (t >= end_all)
			break;
		for (int i = 0; i < nconn; i++) {
			if (next[i] <= t) {
				int64_t stamp = t;

				memcpy(msg, &stamp, sizeof(stamp));
				if (send(fds[i], msg, (size_t)size, MSG_NOSIGNAL) != size)
					die("send");
				sent++;
				if (in_window)
					sent_w++;
				next[i] += period_ns;
			}
			if (next[i] < soonest)
				soonest = next[i];
		}
		wait_ms = soonest > t ? (int)((soonest - t + 999999) / 1000000) : 0;
		n = epoll_wait(ep, evs, 256, wait_ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			ssize_t got = recv(fds[i], buf, sizeof(buf), 0);
			int64_t at = now_ns();

			if (got <= 0)
				die("recv");
			for (ssize_t off = 0; off < got;) {
				int take = size - have[i];

				if (take > got - off)
					take = (int)(got - off);
				memcpy(part[i] + have[i], buf + off, (size_t)take);
				have[i] += take;
				off += take;
				if (have[i] == size) {
					int64_t stamp;

					memcpy(&stamp, part[i], sizeof(stamp));
					have[i] = 0;
					recvd++;
					if (stamp >= end_warm && stamp < end_all && nlat < caplat) {
						lat[nlat++] = at - stamp;
						recvd_w++;
					}
				}
			}
		}
	}
	srv1 = proc_cpu_s(pid);
	me1 = rusage_s(RUSAGE_SELF);
	for (int i = 0; i < nconn; i++)
		close(fds[i]);
	waitpid(pid, NULL, 0);
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	printf("{\"rooms\":%d,\"clients\":%d,\"rate\":%d,\"size\":%d,\"windowS\":%d,"
	       "\"serverCpuS\":%.2f,\"clientCpuS\":%.2f,\"sent\":%llu,\"received\":%llu,"
	       "\"p50Ms\":%.3f,\"p99Ms\":%.3f}\n",
	       rooms, nconn, rate, size, measure, srv1 - srv0, me1 - me0,
	       (unsigned long long)sent_w, (unsigned long long)recvd_w,
	       nlat ? (double)lat[nlat / 2] / 1e6 : 0.0,
	       nlat ? (double)lat[nlat * 99 / 100] / 1e6 : 0.0);
	if (recvd + (uint64_t)nconn < sent)
		fprintf(stderr, "floor: %llu of %llu messages came back\n",
			(unsigned long long)recvd, (unsigned long long)sent);
	return 0;
}
