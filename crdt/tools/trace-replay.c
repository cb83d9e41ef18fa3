/*
 * trace-replay.c - replays a loaded trace into crdt documents.
 *
 * A sequential trace is one agent typing.  A concurrent trace is harder: a
 * txn's positions are relative to its agent's view of the document after its
 * parents, so each agent gets its own replica, which is brought up to exactly
 * the txn's parents' version before the txn's patches are applied to it as
 * local edits.  The ops a replica lacks come from an "oracle" document that
 * has merged every op replayed so far, through the same encode/apply path a
 * server uses, so the replay exercises sync as well as editing.
 *
 * Version bookkeeping lives here, in plain arrays (one uint32 per trace agent
 * per txn), and is checked against what the documents report: a replica that
 * holds ops outside a txn's parents, or fails to reach them, is reported as an
 * error instead of producing garbage.  This file never does I/O.
 */
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct trace_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct trace_error *err, int code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static int apply_patch(struct crdt_doc *doc, uint32_t agent, const struct trace *t,
		       const struct trace_patch *p, size_t index, struct trace_error *err)
{
	int rc = 0;

	if (p->del > 0)
		rc = crdt_delete(doc, agent, p->pos, p->del);
	if (rc == 0 && p->ins_len > 0)
		rc = crdt_insert(doc, agent, p->pos, t->arena + p->ins_off, p->ins_len);
	if (rc < 0)
		return fail(err, TRACE_ECRDT, "%s: patch %zu [%u, %u, %u bytes]: %s", t->name,
			    index, p->pos, p->del, p->ins_len, crdt_strerror(rc));
	return 0;
}

static int replay_sequential(const struct trace *t, struct crdt_doc *doc, struct trace_error *err)
{
	for (size_t i = 0; i < t->npatches; i++) {
		int rc = apply_patch(doc, 1, t, &t->patches[i], i, err);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ver = the vector in arr (trace agent a is crdt agent a + 1). */
static int set_version(struct crdt_version *ver, const uint32_t *arr, uint32_t n)
{
	for (uint32_t a = 0; a < n; a++) {
		int rc = crdt_version_set(ver, a + 1, arr[a]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* True when ver (as reported by a document) equals arr exactly. */
static bool version_equals(const struct crdt_version *ver, const uint32_t *arr, uint32_t n)
{
	size_t nonzero = 0;

	for (uint32_t a = 0; a < n; a++) {
		if (crdt_version_get(ver, a + 1) != arr[a])
			return false;
		nonzero += arr[a] != 0;
	}
	return ver->len == nonzero;
}

/*
 * The state of a concurrent replay: per-txn end versions (ntxns x nagents),
 * one replica per agent with the version it holds, and scratch space.
 */
struct replay {
	const struct trace *t;
	const struct crdt_allocator *alloc;
	uint32_t n;		    /* agents */
	uint32_t *ends;		    /* ends[txn * n + a] */
	bool *done;		    /* txn replayed yet */
	struct crdt_doc **replicas; /* by trace agent, created on first use */
	uint32_t *held;		    /* held[a * n + b]: replica a's version */
	uint32_t *pv;		    /* the current txn's parents' version */
	struct crdt_version from, to, got;
	struct crdt_buf buf;
	struct crdt_doc *oracle;
};

static int replay_txn(struct replay *r, uint32_t ti, struct trace_error *err)
{
	const struct trace *t = r->t;
	const struct trace_txn *tx = &t->txns[ti];
	uint32_t n = r->n, a = tx->agent;
	uint32_t *held = &r->held[(size_t)a * n];
	struct crdt_doc *rep;
	int rc;

	/* The parents' version: the union of the parents' end versions. */
	memset(r->pv, 0, n * sizeof(*r->pv));
	for (uint32_t k = 0; k < tx->nparents; k++) {
		uint32_t p = t->parents[tx->first_parent + k];

		if (!r->done[p])
			return fail(err, TRACE_EORDER, "%s: txn %u comes before its parent %u",
				    t->name, ti, p);
		for (uint32_t b = 0; b < n; b++)
			if (r->ends[(size_t)p * n + b] > r->pv[b])
				r->pv[b] = r->ends[(size_t)p * n + b];
	}

	if (r->replicas[a] == NULL) {
		r->replicas[a] = crdt_doc_create(r->alloc);
		if (r->replicas[a] == NULL)
			return fail(err, TRACE_ENOMEM, "out of memory");
	}
	rep = r->replicas[a];

	/* The replica may only hold ops inside the parents' closure. */
	for (uint32_t b = 0; b < n; b++)
		if (held[b] > r->pv[b])
			return fail(err, TRACE_ECHAIN,
				    "%s: txn %u: agent %u's replica holds %u ops of agent %u but "
				    "the txn's parents have only %u (its txns are not a chain)",
				    t->name, ti, a, held[b], b, r->pv[b]);

	if (memcmp(held, r->pv, n * sizeof(*held)) != 0) {
		r->buf.len = 0;
		if ((rc = set_version(&r->from, held, n)) < 0 ||
		    (rc = set_version(&r->to, r->pv, n)) < 0 ||
		    (rc = crdt_encode_between(r->oracle, &r->from, &r->to, &r->buf)) < 0 ||
		    (rc = crdt_apply(rep, r->buf.data, r->buf.len)) < 0)
			return fail(err, TRACE_ECRDT, "%s: txn %u: catching agent %u up: %s",
				    t->name, ti, a, crdt_strerror(rc));
		if ((rc = crdt_doc_version(rep, &r->got)) < 0)
			return fail(err, TRACE_ECRDT, "%s: %s", t->name, crdt_strerror(rc));
		if (!version_equals(&r->got, r->pv, n))
			return fail(err, TRACE_ECRDT,
				    "%s: txn %u: agent %u's replica did not reach the parents' "
				    "version (%zu ops pending)",
				    t->name, ti, a, crdt_pending(rep));
	}

	for (uint32_t k = 0; k < tx->npatches; k++) {
		size_t pi = tx->first_patch + k;

		rc = apply_patch(rep, a + 1, t, &t->patches[pi], pi, err);
		if (rc < 0)
			return rc;
	}

	/* End version: the parents' plus the agent's new ops. */
	uint32_t *end = &r->ends[(size_t)ti * n];

	memcpy(end, r->pv, n * sizeof(*end));
	if ((rc = crdt_doc_version(rep, &r->got)) < 0)
		return fail(err, TRACE_ECRDT, "%s: %s", t->name, crdt_strerror(rc));
	end[a] = crdt_version_get(&r->got, a + 1);
	if (!version_equals(&r->got, end, n))
		return fail(err, TRACE_ECRDT, "%s: txn %u: local edits changed other agents' ops",
			    t->name, ti);
	memcpy(held, end, n * sizeof(*held));
	r->done[ti] = true;

	/* Merge the txn's ops (all the oracle lacks) into the oracle. */
	if (end[a] != r->pv[a]) {
		r->buf.len = 0;
		if ((rc = set_version(&r->to, r->pv, n)) < 0 ||
		    (rc = crdt_encode_since(rep, &r->to, &r->buf)) < 0 ||
		    (rc = crdt_apply(r->oracle, r->buf.data, r->buf.len)) < 0)
			return fail(err, TRACE_ECRDT, "%s: txn %u: merging into the oracle: %s",
				    t->name, ti, crdt_strerror(rc));
		if (crdt_pending(r->oracle) != 0)
			return fail(err, TRACE_ECRDT,
				    "%s: txn %u: the oracle has %zu ops pending after a merge",
				    t->name, ti, crdt_pending(r->oracle));
	}
	return 0;
}

static int replay_concurrent(const struct trace *t, const uint32_t *order, struct crdt_doc *oracle,
			     const struct crdt_allocator *alloc, struct trace_error *err)
{
	struct replay r = { .t = t, .alloc = alloc, .n = t->num_agents, .oracle = oracle };
	uint32_t *own_order = NULL;
	size_t n = t->num_agents;
	int rc;

	crdt_version_init(&r.from, NULL);
	crdt_version_init(&r.to, NULL);
	crdt_version_init(&r.got, NULL);
	crdt_buf_init(&r.buf, NULL);
	r.ends = calloc(t->ntxns * n, sizeof(*r.ends));
	r.done = calloc(t->ntxns, sizeof(*r.done));
	r.replicas = calloc(n, sizeof(*r.replicas));
	r.held = calloc(n * n, sizeof(*r.held));
	r.pv = calloc(n, sizeof(*r.pv));
	if (!r.ends || !r.done || !r.replicas || !r.held || !r.pv) {
		rc = fail(err, TRACE_ENOMEM, "out of memory");
		goto out;
	}
	if (order == NULL) {
		own_order = malloc(t->ntxns * sizeof(*own_order));
		if (own_order == NULL) {
			rc = fail(err, TRACE_ENOMEM, "out of memory");
			goto out;
		}
		rc = trace_topo_order(t, own_order, NULL, err);
		if (rc < 0)
			goto out;
		order = own_order;
	}
	for (size_t i = 0; i < t->ntxns; i++) {
		if (order[i] >= t->ntxns || r.done[order[i]]) {
			rc = fail(err, TRACE_EORDER,
				  "%s: the order is not a permutation of the txns", t->name);
			goto out;
		}
		rc = replay_txn(&r, order[i], err);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	if (r.replicas != NULL)
		for (size_t a = 0; a < n; a++)
			crdt_doc_destroy(r.replicas[a]);
	free(own_order);
	free(r.ends);
	free(r.done);
	free(r.replicas);
	free(r.held);
	free(r.pv);
	crdt_version_finish(&r.from);
	crdt_version_finish(&r.to);
	crdt_version_finish(&r.got);
	crdt_buf_finish(&r.buf);
	return rc;
}

int trace_replay(const struct trace *t, const uint32_t *order, const struct crdt_allocator *alloc,
		 struct crdt_doc **out, struct trace_error *err)
{
	struct crdt_doc *doc = crdt_doc_create(alloc);
	int rc;

	*out = NULL;
	if (doc == NULL)
		return fail(err, TRACE_ENOMEM, "out of memory");
	if (t->kind == TRACE_SEQUENTIAL)
		rc = replay_sequential(t, doc, err);
	else
		rc = replay_concurrent(t, order, doc, alloc, err);
	if (rc < 0) {
		crdt_doc_destroy(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

bool trace_check_end(const struct trace *t, const struct crdt_doc *doc, struct trace_error *err)
{
	size_t len, i;
	char *text;
	bool ok;

	if (!t->has_end)
		return true;
	len = crdt_text(doc, NULL, 0);
	text = malloc(len + 1);
	if (text == NULL) {
		fail(err, TRACE_ENOMEM, "out of memory");
		return false;
	}
	crdt_text(doc, text, len);
	for (i = 0; i < len && i < t->end_len && text[i] == t->end_content[i]; i++)
		;
	ok = len == t->end_len && i == len;
	if (!ok)
		fail(err, TRACE_ECRDT,
		     "%s: final text (%zu bytes) differs from endContent (%zu bytes) at byte %zu",
		     t->name, len, t->end_len, i);
	free(text);
	return ok;
}
