/*
 * room-internal.h - what the files of the room module share (room.c,
 * room-edit.c, room-msg.c) and nothing else includes.
 *
 * struct room is private to them: the rest of the server sees only
 * room.h's functions.  Names here carry the room__ prefix when they are
 * functions (STYLE.md: internal, non-static).
 */
#ifndef TANDEM_ROOM_INTERNAL_H
#define TANDEM_ROOM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "bucket.h"
#include "judge.h"
#include "crdt.h"
#include "proto.h"
#include "server.h"

enum pstate { P_NONE = 0, P_PRESENT, P_DISCONNECTED, P_LEFT, P_COMPLETED };

/* What the run in flight is (docs/protocol.md, "Test runs and submissions"). */
enum run_kind { RUN_SCRIPT, RUN_TESTS, RUN_SUBMIT, RUN_COMPLEXITY };

/* An agent id this room handed out, and the seat that owns its operations. */
struct owner {
	uint32_t agent;
	enum seat seat;
};

/* Presence of one editing seat. */
struct member {
	enum pstate state;
	char *name; /* the seat's person (owned); NULL until known: member_name() */
	uint64_t since_ms;
	struct room *room;
	int idx;
};

/* An acknowledgement waiting for its edit's event to become durable. */
struct pending_ack {
	struct pending_ack *next;
	uint64_t seq;
	struct conn *c; /* NULL once the connection left */
	size_t n;
	struct crdt_version_entry v[8]; /* the sender's agents: next seq held */
};

/*
 * The run in flight in a room: a script run, a test run, a Submit or a
 * complexity estimate.  It exists apart from struct room because most
 * rooms are idle most of the time, and this is a third of what a room
 * would otherwise hold for nothing.  Owned by its room (room->run):
 * allocated when a request starts (room-msg.c, on_run), freed when the run
 * ends (run_finished) or with the room (room__run_free).  It keeps the
 * problem it started with (a switch meanwhile does not change what it is
 * judged against).
 */
struct room_run {
	enum run_kind kind;
	uint64_t id;	     /* the judge's run of the sandbox in flight */
	uint64_t public_id;  /* the run number the seats know */
	uint64_t started_ms; /* server_mono_ms() */
	struct bank_problem *prob;
	json_t *custom; /* the custom tests, with their expected values */
	size_t n;	/* problem tests in the run: samples, or all */
	/*
	 * A Submit runs in two sandboxes at once: the samples, whose output
	 * and errors are shown, and the hidden tests, whose are not.  Code
	 * running beside the samples can read everything its process was
	 * given (the harness's request, through the stack or the garbage
	 * collector) and print it as a sample's output: so hidden arguments
	 * never share a process with anything shown.
	 */
	size_t from, to;	   /* problem tests of the sandbox in flight */
	struct judge_result first; /* the samples' result, while the hidden ones run */
	bool has_first;
	bool over; /* spent_ms passed the budget: the later tests are SKIPPED */
	/*
	 * The hidden tests' sandbox starts with the samples' (0: none in
	 * flight), with the whole budget; the server then holds it to what the
	 * samples left (room-msg.c, budget_test).  What it reports before the
	 * samples end is held here, in order, and streamed after them.
	 */
	uint64_t hidden;
	json_t *held;	     /* [[index, test line], ...] */
	json_t *held_result; /* its result (or error below), when it came first */
	char *held_error;
	int held_err;
	enum seat seat;
	double spent_ms; /* a Submit's CPU so far: the samples', then each hidden test's */
	size_t streamed; /* tests of the sandbox in flight already sent, in order */
	uint32_t agent;
	char *code;
	size_t code_len;
	json_t *summary; /* a submit's run.result while its row is stored */
};

struct room {
	struct server *srv;
	char id[48];
	char problem[104]; /* its id: the REST API takes up to 100 bytes, the bank 64 */
	struct crdt_doc *doc;
	uint32_t next_agent;
	unsigned observers;
	struct owner *owners;
	size_t nowners, capowners;
	struct conn *conns; /* every joined connection */
	struct conn *seat_conn[2];
	struct member member[2]; /* interviewer, candidate */
	int64_t token_epoch;	 /* tokens of an older epoch are revoked; closing bumps it */

	struct timeline_room *tl; /* NULL without a timeline */
	struct pending_ack *acks, *acks_tail;

	/*
	 * persistence: a snapshot is saved 15-45 s after the first unsaved
	 * change (snapshot_wait, dirty), at save_at (uv_now() ms; 0: none
	 * due), by rooms_save_due()
	 */
	uint64_t save_at;

	/*
	 * An empty room is freed once everything about it is in PostgreSQL
	 * (DESIGN.md section 4: rooms kept after the last client left made
	 * peers' servers grow for days); the next join loads it again.
	 */
	lws_sorted_usec_list_t idle_sul;

	/* runs */
	struct room_run *run;	     /* the run in flight; NULL while none */
	struct bucket run_budget[2]; /* runs_per_min per editing seat */

	/* The room's problem (bank.h), NULL while none or while it loads. */
	struct bank_problem *prob;

	/* The flags last, together: between wider fields each took 8 bytes. */
	bool closed;
	bool dirty, saving; /* unsaved changes; a snapshot's save in flight */
	bool persisted;	    /* its row is in PostgreSQL (loaded, or created and confirmed) */
	bool prob_loading;
};

/* 0 for the interviewer, 1 for the candidate, -1 for an observer. */
int room__seat_index(enum seat s);
/* Records that agent's operations belong to seat (agent ids only grow); 0 or -1 on OOM. */
int room__add_owner(struct room *r, uint32_t agent, enum seat seat);
/* The seat an agent id of the room belongs to (SEAT_NONE: not the room's). */
enum seat room__owner_of(const struct room *r, uint32_t agent);
/* The document changed: a snapshot is due 15-45 s from now. */
void room__mark_dirty(struct room *r);
/*
 * Sends msg (consumed), a message of type m, as proto.h's table says: to
 * every joined connection whose seat receives m, except `from` when m goes
 * to the others (from may be NULL), superseded rather than queued for a
 * connection far behind when m is PROTO_LATEST.
 */
void room__send(struct room *r, enum proto_msg m, json_t *msg, const struct conn *from);
/* The same for a message serialized already: len bytes of text (copied). */
void room__send_text(struct room *r, enum proto_msg m, const char *text, size_t len,
		     const struct conn *from);
/* Sends msg (consumed), a reply of type m, to c, if c's seat receives m. */
void room__reply(struct conn *c, enum proto_msg m, json_t *msg);
/*
 * Appends a non-edit event to the room's timeline (payload consumed).
 * This is not refused when the backlog is full: the server's own events
 * (joins, presence, runs) are few and small; what clients send (notes,
 * events) is refused before it gets here, as edits are (room_on_update).
 */
void room__record(struct room *r, const char *kind, const char *actor, json_t *payload);

/*
 * Puts starter (the problem's starter code) into the room's document when
 * the document is empty, as an edit of an agent of the server's own (owned
 * by the interviewer's seat, who chose the problem): every connection gets
 * it as an update, the timeline records it with actor "server".  Returns
 * whether it did (room-edit.c).
 */
bool room__insert_starter(struct room *r, const char *starter);
/* A joining connection gets the room's problem, or gets it once it has loaded (room-msg.c). */
void room__problem_on_join(struct room *r, struct conn *c);
/*
 * Releases what the room's problem and its run in flight hold, and tells
 * the judge to forget that run (room-msg.c); at room_free().
 */
void room__problem_free(struct room *r);

#endif /* TANDEM_ROOM_INTERNAL_H */
