/*
 * trace.h - editing traces: load them, replay them into crdt documents.
 *
 * Boundary: this is tooling around crdt/, not part of it.  It reads files
 * (zlib for .gz, jansson for JSON), which crdt/ itself must never do, and it
 * drives crdt/ only through its public header.  tandem-trace, the trace
 * tests and the benchmarks share it so that all of them replay a trace the
 * same way.
 *
 * The formats are those of the editing-traces collection (see its READMEs):
 *  - sequential: {endContent, txns: [{patches: [[pos, del, ins], ...]}]};
 *    patches apply one after the other to one document;
 *  - concurrent: {kind: "concurrent", endContent, numAgents, txns: [{parents,
 *    agent, patches}]}; a txn's patches apply to the document as it was after
 *    its parents (merged), positions relative to that agent's view.
 * Positions and delete lengths count Unicode code points.
 *
 * Life cycle: trace_load() fills a struct trace, trace_finish() frees it.
 * Replays create crdt documents that the caller destroys.
 */
#ifndef TANDEM_TRACE_H
#define TANDEM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt.h"

/* Errors of the loader and the replay; trace_strerror() names them. */
#define TRACE_ERRNO_MAP(X)                              \
	X(NOMEM, -1, "out of memory")                   \
	X(IO, -2, "cannot read file")                   \
	X(GZIP, -3, "bad gzip data")                    \
	X(JSON, -4, "malformed JSON")                   \
	X(FORMAT, -5, "not a valid editing trace")      \
	X(CRDT, -6, "crdt operation failed")            \
	X(CHAIN, -7, "an agent's txns are not a chain") \
	X(ORDER, -8, "txn order does not follow parents")

enum trace_err {
#define TRACE__ERR_ENUM(name, code, msg) TRACE_E##name = (code),
	TRACE_ERRNO_MAP(TRACE__ERR_ENUM)
#undef TRACE__ERR_ENUM
};

/* A static string describing err. */
const char *trace_strerror(int err);

/*
 * Where a failure is described in one line for a human: functions that fail
 * write a sentence here (when err is non-NULL) besides returning the code.
 */
struct trace_error {
	char msg[256];
};

enum trace_kind {
	TRACE_SEQUENTIAL,
	TRACE_CONCURRENT,
};

/*
 * One patch: at code point pos, delete del code points, then insert the
 * UTF-8 bytes ins_len long starting at trace.arena + ins_off (ins_cps code
 * points).  32-bit fields keep automerge-paper's 260k patches in 5 MB.
 */
struct trace_patch {
	uint32_t pos;
	uint32_t del;
	uint32_t ins_off;
	uint32_t ins_len;
	uint32_t ins_cps;
};

/*
 * One concurrent txn: made by agent (0 .. num_agents-1) after the txns
 * parents[first_parent .. first_parent+nparents-1] (indices into txns);
 * its patches are patches[first_patch .. first_patch+npatches-1].
 */
struct trace_txn {
	uint32_t agent;
	uint32_t first_patch;
	uint32_t npatches;
	uint32_t first_parent;
	uint32_t nparents;
};

/*
 * A loaded trace.  For a sequential trace txns is NULL (ntxns 0) and the
 * patches are simply applied in order.  end_content is NUL-terminated and
 * owned; has_end is false when the file had no endContent.
 */
struct trace {
	enum trace_kind kind;
	char *name; /* the file's base name without .json[.gz]; owned */
	bool has_end;
	char *end_content;
	size_t end_len; /* bytes */
	size_t end_cps; /* code points */
	char *arena;	/* every inserted string, back to back; owned */
	size_t arena_len;
	struct trace_patch *patches;
	size_t npatches;
	struct trace_txn *txns;
	size_t ntxns;
	uint32_t *parents;
	size_t nparents;
	uint32_t num_agents;
};

/*
 * Reads a .json or gzip-compressed .json.gz trace (gzip is detected by its
 * magic bytes, not the name).  On success fills *t (which the caller frees
 * with trace_finish()); on failure returns a negative TRACE_E* code, leaves
 * *t empty and describes the problem in err (may be NULL).  Malformed input
 * of any kind is an error, never a crash.
 */
int trace_load(struct trace *t, const char *path, struct trace_error *err);
/* Same from JSON text already in memory (data is borrowed for the call). */
int trace_load_json(struct trace *t, const char *name, const char *data, size_t len,
		    struct trace_error *err);
/* Frees everything t holds and leaves it empty; accepts NULL. */
void trace_finish(struct trace *t);

/*
 * Fills order (t->ntxns entries, caller-allocated) with a topological order
 * of the txns: every txn after all its parents.  With rng == NULL the order
 * is the file's order where the file allows it (the lowest ready index
 * first); otherwise each step picks a random ready txn, drawing from the
 * xorshift state *rng (non-zero).  Returns TRACE_EORDER when the parents
 * have a cycle, TRACE_ENOMEM on allocation failure.
 */
int trace_topo_order(const struct trace *t, uint32_t *order, uint64_t *rng,
		     struct trace_error *err);

/*
 * Replays t into a new document made with alloc (borrowed; NULL = libc) and
 * stores it in *out (the caller destroys it).  A sequential trace is applied
 * patch by patch as agent 1.  A concurrent trace keeps one replica per trace
 * agent (crdt agent = trace agent + 1) and an oracle holding every op so far;
 * each txn, taken in order (t->ntxns indices, a topological order; NULL =
 * the order trace_topo_order() gives without rng), first brings its agent's
 * replica up to exactly its parents' version from the oracle, then applies
 * its patches as local edits, then merges the new ops into the oracle, which
 * is what *out receives.  Fails with TRACE_EORDER when order does not follow
 * the parents and TRACE_ECHAIN when a replica holds ops outside a txn's
 * parents (the trace's agents are not each a chain of txns).
 */
int trace_replay(const struct trace *t, const uint32_t *order, const struct crdt_allocator *alloc,
		 struct crdt_doc **out, struct trace_error *err);

/*
 * Compares doc's text with t's endContent.  Returns true when they are
 * equal or t has none; otherwise false, with the first differing byte
 * described in err.
 */
bool trace_check_end(const struct trace *t, const struct crdt_doc *doc, struct trace_error *err);

#endif /* TANDEM_TRACE_H */
