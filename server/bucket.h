/*
 * bucket.h - token buckets: how much a client may send, and how soon again.
 *
 * A bucket holds up to `burst` tokens and gains `rate` a second; spending
 * needs the whole amount.  Pure arithmetic on caller memory (no clock read
 * here: callers pass the time in milliseconds), so the rules are testable
 * alone (tests/server/test-bucket.c).  A zeroed bucket is full the first
 * time it is refilled.
 */
#ifndef TANDEM_BUCKET_H
#define TANDEM_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct bucket {
	double tokens;
	uint64_t stamp_ms; /* of the last refill; 0: never (full) */
};

/* Adds what accrued since the last refill at now_ms, up to burst. */
static inline void bucket_refill(struct bucket *b, uint64_t now_ms, double rate, double burst)
{
	if (b->stamp_ms == 0 || now_ms < b->stamp_ms)
		b->tokens = b->stamp_ms == 0 ? burst : b->tokens;
	else
		b->tokens += (double)(now_ms - b->stamp_ms) * rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->stamp_ms = now_ms ? now_ms : 1;
}

/* Milliseconds until n tokens are there (0: now), at rate a second. */
static inline unsigned bucket_wait_ms(const struct bucket *b, double rate, double n)
{
	if (b->tokens >= n)
		return 0;
	if (rate <= 0)
		return UINT32_MAX;
	return (unsigned)((n - b->tokens) * 1000.0 / rate) + 1;
}

/* Refills, then spends n tokens if there are that many; false (nothing spent) if not. */
static inline bool bucket_take(struct bucket *b, uint64_t now_ms, double rate, double burst,
			       double n)
{
	bucket_refill(b, now_ms, rate, burst);
	if (b->tokens < n)
		return false;
	b->tokens -= n;
	return true;
}

#endif /* TANDEM_BUCKET_H */
