/*
 * lz4.c - an LZ4 block encoder and a bounds-checked decoder.
 *
 * A snapshot's text is most of its bytes, and the text of a long editing
 * session repeats itself (code, retyped words, deleted drafts): LZ4 takes
 * the traces' text to a third of its size and decodes at memory speed,
 * which loading a room must.  This file is libc only, like the rest of
 * crdt/, so it builds for wasm32.
 *
 * The encoder keeps, for every position of the last 64 KB, the distance to
 * the previous position whose 4 bytes hash alike (a hash chain, as LZ4's HC
 * levels do), and follows at most `depth` links of it for each match: its
 * time is bounded whatever the input, since it runs on the server's loop.
 * Matches are greedy, each extended backwards over literals that precede it.
 * The decoder trusts nothing: it never reads past the block nor writes past
 * the output, and refuses offsets that reach before the output's start.
 * It must never allocate, and the encoder never keeps memory.
 */
#include <string.h>

#include "crdt-internal.h"
#include "crdt-lz4.h"

/* The block format's rules (lz4_Block_format.md, "End of block conditions"). */
#define MINMATCH     4
#define LASTLITERALS 5	/* the last 5 bytes are always literals */
#define MFLIMIT	     12 /* no match starts within the last 12 bytes */
#define MAX_OFFSET   65535
#define WINDOW	     65536 /* chain entries: positions modulo this */
/* A match this long is not worth looking further for (nor lazily bettering). */
#define NICE_MATCH 64

size_t crdt__lz4_bound(size_t n)
{
	return n + n / 255 + 16;
}

/* Little-endian on every host, so that every build writes the same bytes. */
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct lz4_tables {
	uint32_t *head;	 /* by hash: the newest position + 1, or 0 */
	uint16_t *chain; /* by position % WINDOW: back to the previous alike, or 0 */
	int hbits;
	size_t nhead, nchain;
};

static uint32_t hash4(const uint8_t *p, int hbits)
{
	return (le32(p) * 2654435761u) >> (32 - hbits);
}

static void chain_insert(struct lz4_tables *t, const uint8_t *src, size_t p)
{
	uint32_t h = hash4(src + p, t->hbits);
	size_t prev = t->head[h];
	size_t delta = prev ? p - (prev - 1) : 0;

	t->chain[p % WINDOW] = (uint16_t)(delta > MAX_OFFSET ? 0 : delta);
	t->head[h] = (uint32_t)p + 1;
}

/* How many bytes from a and b agree, stopping at end (b < end, a < b). */
static size_t common(const uint8_t *a, const uint8_t *b, const uint8_t *end)
{
	const uint8_t *start = b;

	/* Eight bytes at a time, then the differing word byte by byte. */
	while (end - b >= 8) {
		uint64_t x, y;

		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* The first differing byte is the lowest set byte of the xor. */
		if (x != y)
			return (size_t)(b - start) + (size_t)__builtin_ctzll(x ^ y) / 8;
#else
		if (x != y)
			break;
#endif
		a += 8;
		b += 8;
	}
	while (b < end && *a == *b) {
		a++;
		b++;
	}
	return (size_t)(b - start);
}

/*
 * The longest match for position ip among at most depth earlier places
 * alike (0 if none), its start in *at.  Positions before ip enter the
 * chains first (*inserted is the first not yet in them).
 */
static size_t find_match(struct lz4_tables *t, const uint8_t *src, size_t n, size_t ip,
			 size_t *inserted, int depth, size_t *at)
{
	const uint8_t *limit = src + n - LASTLITERALS;
	uint32_t here = le32(src + ip);
	size_t best = 0, cand;

	while (*inserted < ip)
		chain_insert(t, src, (*inserted)++);
	cand = t->head[hash4(src + ip, t->hbits)];
	while (cand && depth-- > 0) {
		size_t c = cand - 1, delta;

		if (ip - c > MAX_OFFSET)
			break;
		/* Only a match that agrees one byte past the best so far can beat it. */
		if ((!best || src[c + best] == src[ip + best]) && le32(src + c) == here) {
			size_t len =
				MINMATCH + common(src + c + MINMATCH, src + ip + MINMATCH, limit);

			if (len > best) {
				best = len;
				*at = c;
				if (len >= NICE_MATCH)
					break;
			}
		}
		delta = t->chain[c % WINDOW];
		if (!delta || delta > c)
			break;
		cand = c - delta + 1;
	}
	return best;
}

/* Writes an LZ4 length's continuation bytes (the part from 15 up). */
static uint8_t *put_len(uint8_t *o, size_t len)
{
	while (len >= 255) {
		*o++ = 255;
		len -= 255;
	}
	*o++ = (uint8_t)len;
	return o;
}

/* One sequence: literals [lit, lit+nlit), then a match (mlen 0: none, the last sequence). */
static uint8_t *put_seq(uint8_t *o, const uint8_t *lit, size_t nlit, size_t off, size_t mlen)
{
	uint8_t *token = o++;
	size_t m = mlen ? mlen - MINMATCH : 0;

	*token = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (m < 15 ? m : 15));
	if (nlit >= 15)
		o = put_len(o, nlit - 15);
	if (nlit)
		memcpy(o, lit, nlit);
	o += nlit;
	if (!mlen)
		return o;
	*o++ = (uint8_t)(off & 0xff);
	*o++ = (uint8_t)(off >> 8);
	if (m >= 15)
		o = put_len(o, m - 15);
	return o;
}

int crdt__lz4_compress(const struct crdt_allocator *a, const uint8_t *src, size_t n, int depth,
		       struct crdt_buf *out)
{
	struct lz4_tables t = { 0 };
	size_t ip = 0, anchor = 0, inserted = 0;
	uint8_t *o, *o0;
	int rc;

	if (depth < 1)
		depth = 1;
	rc = crdt__buf_reserve(out, crdt__lz4_bound(n));
	if (rc)
		return rc;
	o0 = o = out->data + out->len;
	if (n < MFLIMIT + 1) {
		o = put_seq(o, src, n, 0, 0);
		out->len += (size_t)(o - o0);
		return 0;
	}
	/* Tables sized to the input: a short text needs no 384 KB of them. */
	t.hbits = 8;
	while (t.hbits < 16 && ((size_t)1 << t.hbits) < n)
		t.hbits++;
	t.nhead = (size_t)1 << t.hbits;
	t.nchain = n < WINDOW ? n : WINDOW;
	t.head = crdt__alloc(a, t.nhead * sizeof(*t.head));
	t.chain = crdt__alloc(a, t.nchain * sizeof(*t.chain));
	if (!t.head || !t.chain) {
		rc = CRDT_ENOMEM;
		goto out;
	}
	memset(t.head, 0, t.nhead * sizeof(*t.head));

	while (ip + MFLIMIT < n) {
		size_t best, best_at, next, next_at;

		best = find_match(&t, src, n, ip, &inserted, depth, &best_at);
		if (!best) {
			ip++;
			continue;
		}
		/*
		 * Lazy matching: when the next position starts a longer match,
		 * this byte is better sent as a literal.
		 */
		while (best < NICE_MATCH && ip + 1 + MFLIMIT < n &&
		       (next = find_match(&t, src, n, ip + 1, &inserted, depth, &next_at)) > best) {
			ip++;
			best = next;
			best_at = next_at;
		}
		/* Take in literals just before that continue the match backwards. */
		while (ip > anchor && best_at > 0 && src[ip - 1] == src[best_at - 1]) {
			ip--;
			best_at--;
			best++;
		}
		o = put_seq(o, src + anchor, ip - anchor, ip - best_at, best);
		ip += best;
		anchor = ip;
	}
	o = put_seq(o, src + anchor, n - anchor, 0, 0);
	out->len += (size_t)(o - o0);
out:
	crdt__free(a, t.head, t.nhead * sizeof(*t.head));
	crdt__free(a, t.chain, t.nchain * sizeof(*t.chain));
	return rc;
}

/* Reads the continuation of a length whose nibble was 15; CRDT_EDECODE past the end or cap. */
static int get_len(const uint8_t **ip, const uint8_t *iend, size_t *len, size_t cap)
{
	uint8_t b;

	do {
		if (*ip >= iend)
			return CRDT_EDECODE;
		b = *(*ip)++;
		*len += b;
		/* No length can exceed the output: stop before the sum could wrap. */
		if (*len > cap)
			return CRDT_EDECODE;
	} while (b == 255);
	return 0;
}

/*
 * Most literal runs and matches in text are short: when both buffers have
 * WILD bytes left, a fixed WILD-byte copy (a few wide moves, no call and
 * no length-dependent loop) does them, writing past the sequence's end
 * bytes that the following sequences rewrite (the block must fill dst
 * exactly, so none survives).  A match copied this way starts at least
 * WILD bytes back, so its source and destination do not overlap.
 */
#define WILD 16

int crdt__lz4_decompress(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen)
{
	const uint8_t *ip = src, *iend = src + srclen;
	uint8_t *op = dst, *oend = dst + dstlen;

	for (;;) {
		size_t nlit, mlen, off;
		uint8_t token;

		if (ip >= iend)
			return CRDT_EDECODE;
		token = *ip++;
		nlit = token >> 4;
		if (nlit == 15 && get_len(&ip, iend, &nlit, dstlen + 15))
			return CRDT_EDECODE;
		if (nlit > (size_t)(iend - ip) || nlit > (size_t)(oend - op))
			return CRDT_EDECODE;
		if (nlit <= WILD && iend - ip >= WILD && oend - op >= WILD)
			memcpy(op, ip,
			       WILD); /* one fixed-size copy; what lies past nlit is rewritten */
		else if (nlit)
			memcpy(op, ip, nlit);
		ip += nlit;
		op += nlit;
		if (ip == iend)
			break; /* the last sequence has no match */
		if (iend - ip < 2)
			return CRDT_EDECODE;
		off = (size_t)ip[0] | (size_t)ip[1] << 8;
		ip += 2;
		if (off == 0 || off > (size_t)(op - dst))
			return CRDT_EDECODE;
		mlen = token & 15;
		if (mlen == 15 && get_len(&ip, iend, &mlen, dstlen + 15))
			return CRDT_EDECODE;
		mlen += MINMATCH;
		if (mlen > (size_t)(oend - op))
			return CRDT_EDECODE;
		if (off >= WILD && mlen <= WILD && oend - op >= WILD) {
			memcpy(op, op - off, WILD);
			op += mlen;
		} else if (off >= mlen) {
			memcpy(op, op - off, mlen);
			op += mlen;
		} else {
			/* Overlapping: the match repeats its last off bytes, byte by byte. */
			const uint8_t *from = op - off;

			for (size_t k = 0; k < mlen; k++)
				op[k] = from[k];
			op += mlen;
		}
	}
	return op == oend ? 0 : CRDT_EDECODE;
}
