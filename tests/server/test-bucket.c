/*
 * test-bucket.c - the token buckets of server/bucket.h (runs per seat,
 * frames and bytes per connection): full at first, spent whole or not at
 * all, refilled at the rate up to the burst, and the wait until a spend
 * would pass.
 */
#include "bucket.h"
#include "check.h"

int main(void)
{
	struct bucket b = { 0 };

	/* 10 a second, burst 10: the first 10 pass at once, the 11th waits 100 ms. */
	for (int i = 0; i < 10; i++)
		CHECK(bucket_take(&b, 1000, 10, 10, 1), "spend %d of a full bucket", i);
	CHECK(!bucket_take(&b, 1000, 10, 10, 1), "an empty bucket refuses");
	CHECK(bucket_wait_ms(&b, 10, 1) == 101, "wait %u ms for one token",
	      bucket_wait_ms(&b, 10, 1));
	CHECK(!bucket_take(&b, 1099, 10, 10, 1), "99 ms later: still under one token");
	CHECK(bucket_take(&b, 1100, 10, 10, 1), "100 ms later: one token");
	/* Refills stop at the burst. */
	CHECK(bucket_take(&b, 100000, 10, 10, 10), "a long pause refills to the burst");
	CHECK(!bucket_take(&b, 100000, 10, 10, 1), "and not beyond");
	/* A spend larger than what is there takes nothing. */
	b = (struct bucket){ 0 };
	CHECK(bucket_take(&b, 5, 1000, 1000, 600), "600 of 1000");
	CHECK(!bucket_take(&b, 5, 1000, 1000, 600), "600 of 400 refused");
	CHECK(b.tokens == 400, "a refused spend takes nothing: %f left", b.tokens);
	CHECK(bucket_wait_ms(&b, 1000, 600) == 201, "wait for 200 more: %u ms",
	      bucket_wait_ms(&b, 1000, 600));
	CHECK(bucket_wait_ms(&b, 0, 600) == UINT32_MAX, "a bucket that never refills");
	/* A clock that goes back does not add tokens. */
	CHECK(!bucket_take(&b, 1, 1000, 1000, 600), "time going back adds nothing");
	CHECK_DONE();
}
