/*
 * server-apply.c - what merging one keystroke costs a server that holds many
 * documents.
 *
 * The load benchmark's server holds 500 documents, each taking the
 * single-character updates of its two typists in turn, at random places:
 * every update is its own span, run and index entry, and 500 documents do
 * not fit in the cache, so the merge is mostly the look-ups' cache misses.
 * This replays that shape without the network: ROOMS rooms of two client
 * documents and one server document; each step picks a room and one of its
 * clients at random, types one character at a random place, encodes what
 * that client has not yet sent and applies it to the server document
 * (timed alone) and to the other client (not timed).  Prints the server's
 * time per update.  Fixed seed: runs are comparable.
 *
 *   server-apply [UPDATES [ROOMS]]     (defaults 350000 and 500)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crdt.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rnd_state = 1;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

struct room {
	struct crdt_doc *client[2], *server;
	struct crdt_version sent[2]; /* what each client has sent (or received) */
};

int main(int argc, char **argv)
{
	long updates = argc > 1 ? atol(argv[1]) : 350000;
	long nrooms = argc > 2 ? atol(argv[2]) : 500;
	struct room *rooms;
	struct crdt_buf u;
	double spent = 0;

	if (updates < 1 || nrooms < 1) {
		fprintf(stderr, "usage: server-apply [UPDATES [ROOMS]]\n");
		return 2;
	}
	rooms = calloc((size_t)nrooms, sizeof(*rooms));
	if (!rooms)
		return 1;
	for (long r = 0; r < nrooms; r++) {
		rooms[r].server = crdt_doc_create(NULL);
		for (int k = 0; k < 2; k++) {
			rooms[r].client[k] = crdt_doc_create(NULL);
			crdt_version_init(&rooms[r].sent[k], NULL);
			if (!rooms[r].client[k])
				return 1;
		}
		if (!rooms[r].server)
			return 1;
	}
	crdt_buf_init(&u, NULL);
	for (long i = 0; i < updates; i++) {
		struct room *rm = &rooms[rnd() % (uint32_t)nrooms];
		int k = (int)(rnd() & 1);
		struct crdt_doc *d = rm->client[k];
		size_t len = crdt_len(d);
		uint32_t agent = (uint32_t)(rm - rooms) * 2 + (uint32_t)k + 1;
		double t0;

		if (crdt_insert(d, agent, len ? rnd() % (len + 1) : 0, "a", 1))
			return 1;
		u.len = 0;
		if (crdt_encode_since(d, &rm->sent[k], &u) || crdt_doc_version(d, &rm->sent[k]))
			return 1;
		t0 = now_s();
		if (crdt_apply(rm->server, u.data, u.len)) {
			fprintf(stderr, "server-apply: the server refused an update\n");
			return 1;
		}
		spent += now_s() - t0;
		/* The peer applies it too, and so has it: it will not send it back. */
		if (crdt_apply(rm->client[k ^ 1], u.data, u.len) ||
		    crdt_doc_version(rm->client[k ^ 1], &rm->sent[k ^ 1]))
			return 1;
	}
	printf("{\"updates\":%ld,\"rooms\":%ld,\"server_apply_s\":%.3f,\"us_per_update\":%.3f}\n",
	       updates, nrooms, spent, spent / (double)updates * 1e6);
	for (long r = 0; r < nrooms; r++) {
		crdt_doc_destroy(rooms[r].server);
		for (int k = 0; k < 2; k++) {
			crdt_doc_destroy(rooms[r].client[k]);
			crdt_version_finish(&rooms[r].sent[k]);
		}
	}
	crdt_buf_finish(&u);
	free(rooms);
	return 0;
}
