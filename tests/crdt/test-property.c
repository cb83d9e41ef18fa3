/*
 * test-property.c - randomised multi-replica convergence.
 *
 * Three to five replicas edit concurrently (inserts, deletes, characters of
 * every UTF-8 length) and exchange what they did the ways the server does:
 * per-edit updates (crdt_encode_between over the edit's version slice)
 * broadcast and delivered in random order, with duplicates and long delays
 * (so operations routinely arrive before their dependencies and sit in the
 * pending buffer); catch-up updates from a possibly stale version
 * (crdt_encode_since); whole snapshots merged into non-empty replicas; and
 * replicas that leave and rejoin from a snapshot with a fresh agent id.
 * After every step crdt__check must pass and each replica's text must
 * equal a mirror kept only from local edits and the change observer's
 * callbacks.  At the end, once everything has been delivered, all replicas
 * hold the same text and version with nothing pending; the same updates
 * applied in other orders give the same document (commutativity), and
 * applying everything again changes nothing (idempotence).
 */
#include "testutil.h"

#define MAXREP 5

struct msg {
	uint8_t *data;
	size_t len;
};

struct replica {
	struct crdt_doc *doc;
	uint32_t agent;
	struct tu_model mirror;	   /* kept from local edits and change callbacks only */
	bool *got;		   /* got[m]: message m was delivered (or originated here) */
	struct crdt_version stale; /* a version this replica had some time ago */
};

struct world {
	struct replica r[MAXREP];
	int n;
	struct msg *msgs;
	size_t nmsgs, capmsgs;
	uint32_t used_agents[256];
	int nused;
	struct tu_rng rng;
	size_t delivered, dups, syncs, snapshots, rejoins, max_pending;
};

/* The change observer: replays each remote change onto the mirror. */
static void on_change(void *ud, size_t pos, size_t del, const char *ins, size_t ins_len)
{
	struct tu_model *m = ud;

	if (pos + del > m->len)
		TU_FAIL("change callback: pos %zu + del %zu past mirror length %zu", pos, del,
			m->len);
	if (ins_len && crdt_utf8_check(ins, ins_len, NULL) != 0)
		TU_FAIL("change callback: inserted text is not valid UTF-8");
	tu_model_delete(m, pos, del);
	tu_model_insert_utf8(m, pos, ins, ins_len);
}

static void verify_mirror(const struct crdt_doc *doc, const struct tu_model *mirror)
{
	size_t n;
	char *want = tu_model_utf8(mirror, &n);

	TU_CHECK_DOC(doc);
	TU_EQ_TEXT(doc, want, n);
	TU_EQ_SIZE(crdt_len(doc), mirror->len);
	TU_EQ_SIZE(crdt_len_bytes(doc), n);
	free(want);
}

static uint32_t fresh_agent(struct world *w)
{
	for (;;) {
		/* Mix tiny and huge ids so ordering by id is tested at both ends. */
		uint32_t id = tu_chance(&w->rng, 50) ? (uint32_t)(1 + tu_below(&w->rng, 20))
						     : (uint32_t)tu_rand(&w->rng);
		bool dup = false;
		for (int i = 0; i < w->nused; i++)
			dup |= w->used_agents[i] == id;
		if (!dup) {
			TU_CHECK(w->nused < 256);
			w->used_agents[w->nused++] = id;
			return id;
		}
	}
}

static void replica_open(struct world *w, struct replica *r)
{
	r->doc = crdt_doc_create(NULL);
	TU_CHECK(r->doc != NULL);
	r->agent = fresh_agent(w);
	memset(&r->mirror, 0, sizeof r->mirror);
	r->got = calloc(w->capmsgs ? w->capmsgs : 1, sizeof *r->got);
	TU_CHECK(r->got != NULL);
	crdt_version_init(&r->stale, NULL);
	crdt_doc_observe(r->doc, on_change, &r->mirror);
}

static void replica_close(struct replica *r)
{
	crdt_doc_destroy(r->doc);
	tu_model_finish(&r->mirror);
	free(r->got);
	crdt_version_finish(&r->stale);
}

static void push_msg(struct world *w, const struct crdt_buf *b, int from)
{
	if (w->nmsgs == w->capmsgs) {
		size_t cap = w->capmsgs * 2 + 64;
		w->msgs = realloc(w->msgs, cap * sizeof *w->msgs);
		TU_CHECK(w->msgs != NULL);
		for (int i = 0; i < w->n; i++) {
			w->r[i].got = realloc(w->r[i].got, cap * sizeof *w->r[i].got);
			TU_CHECK(w->r[i].got != NULL);
			memset(w->r[i].got + w->capmsgs, 0, (cap - w->capmsgs) * sizeof(bool));
		}
		w->capmsgs = cap;
	}
	struct msg *m = &w->msgs[w->nmsgs];
	m->len = b->len;
	m->data = malloc(b->len ? b->len : 1);
	TU_CHECK(m->data != NULL);
	memcpy(m->data, b->data, b->len);
	w->r[from].got[w->nmsgs] = true;
	w->nmsgs++;
}

/* A random local edit on replica i, broadcast as one update. */
static void local_edit(struct world *w, int i)
{
	struct replica *r = &w->r[i];
	struct crdt_version before, after;
	struct crdt_buf b;
	size_t len = r->mirror.len;

	crdt_version_init(&before, NULL);
	crdt_version_init(&after, NULL);
	crdt_buf_init(&b, NULL);
	TU_OK(crdt_doc_version(r->doc, &before));
	if (len == 0 || tu_chance(&w->rng, 65)) {
		size_t pos = tu_below(&w->rng, len + 1), ncp = 1 + tu_below(&w->rng, 6);
		uint32_t cps[8];
		char utf8[40];
		size_t nb = 0;
		bool backwards = tu_chance(&w->rng, 20);

		/* Several single-character inserts (forwards or backwards typing) or one string. */
		for (size_t k = 0; k < ncp; k++) {
			cps[k] = tu_rand_cp(&w->rng);
			nb += tu_utf8_put(cps[k], utf8 + nb);
		}
		if (tu_chance(&w->rng, 40)) {
			for (size_t k = 0; k < ncp; k++) {
				char one[4];
				size_t at = backwards ? pos : pos + k;
				size_t l = tu_utf8_put(cps[k], one);
				TU_OK(crdt_insert(r->doc, r->agent, at, one, l));
				tu_model_insert(&r->mirror, at, &cps[k], 1);
			}
		} else {
			TU_OK(crdt_insert(r->doc, r->agent, pos, utf8, nb));
			tu_model_insert(&r->mirror, pos, cps, ncp);
		}
	} else {
		size_t pos = tu_below(&w->rng, len);
		size_t max = len - pos < 8 ? len - pos : 8;
		size_t count = 1 + tu_below(&w->rng, max);
		TU_OK(crdt_delete(r->doc, r->agent, pos, count));
		tu_model_delete(&r->mirror, pos, count);
	}
	TU_OK(crdt_doc_version(r->doc, &after));
	if (tu_chance(&w->rng, 70))
		TU_OK(crdt_encode_between(r->doc, &before, &after, &b));
	else
		TU_OK(crdt_encode_since(r->doc, &before, &b));
	push_msg(w, &b, i);
	verify_mirror(r->doc, &r->mirror);
	crdt_buf_finish(&b);
	crdt_version_finish(&before);
	crdt_version_finish(&after);
}

/* The document's clock counts every operation it applied: the sum of its version. */
static void check_op_count(const struct crdt_doc *doc)
{
	struct crdt_version v;
	size_t total = 0;

	crdt_version_init(&v, NULL);
	TU_OK(crdt_doc_version(doc, &v));
	for (size_t k = 0; k < v.len; k++)
		total += v.v[k].next;
	TU_EQ_SIZE(crdt_op_count(doc), total);
	crdt_version_finish(&v);
}

static void deliver(struct world *w, int i, size_t m)
{
	struct replica *r = &w->r[i];

	if (r->got[m])
		w->dups++;
	else
		w->delivered++;
	TU_OK(crdt_apply(r->doc, w->msgs[m].data, w->msgs[m].len));
	r->got[m] = true;
	verify_mirror(r->doc, &r->mirror);
	check_op_count(r->doc);
	if (crdt_pending(r->doc) > w->max_pending)
		w->max_pending = crdt_pending(r->doc);
}

/* Replica j catches up from replica i, which believes j is at j's stale version. */
static void catch_up(struct world *w, int i, int j)
{
	struct crdt_buf b;
	struct crdt_version now;
	bool stale = tu_chance(&w->rng, 50);

	crdt_buf_init(&b, NULL);
	crdt_version_init(&now, NULL);
	TU_OK(crdt_doc_version(w->r[j].doc, &now));
	TU_OK(crdt_encode_since(w->r[i].doc, stale ? &w->r[j].stale : &now, &b));
	TU_OK(crdt_apply(w->r[j].doc, b.data, b.len));
	verify_mirror(w->r[j].doc, &w->r[j].mirror);
	w->syncs++;
	crdt_buf_finish(&b);
	crdt_version_finish(&now);
}

static void snapshot_merge(struct world *w, int i, int j)
{
	struct crdt_buf b;

	crdt_buf_init(&b, NULL);
	TU_OK(crdt_encode_doc(w->r[i].doc, &b));
	TU_OK(crdt_apply(w->r[j].doc, b.data, b.len));
	verify_mirror(w->r[j].doc, &w->r[j].mirror);
	w->snapshots++;
	crdt_buf_finish(&b);
}

/* Replica j closes its session and reopens from i's snapshot under a new agent id. */
static void rejoin(struct world *w, int i, int j)
{
	struct crdt_buf b;
	struct replica *r = &w->r[j];

	crdt_buf_init(&b, NULL);
	TU_OK(crdt_encode_doc(w->r[i].doc, &b));
	replica_close(r);
	replica_open(w, r);
	TU_OK(crdt_apply(r->doc, b.data, b.len));
	/* The load itself is reported through the observer, from empty. */
	verify_mirror(r->doc, &r->mirror);
	TU_SAME_DOC(r->doc, w->r[i].doc);
	w->rejoins++;
	crdt_buf_finish(&b);
}

static void check_all_equal(struct world *w)
{
	for (int i = 0; i < w->n; i++) {
		TU_EQ_SIZE(crdt_pending(w->r[i].doc), 0);
		check_op_count(w->r[i].doc);
		verify_mirror(w->r[i].doc, &w->r[i].mirror);
		if (i > 0)
			TU_SAME_DOC(w->r[i].doc, w->r[0].doc);
	}
}

/* A fresh document fed the messages in the order given by perm. */
static struct crdt_doc *replay(struct world *w, const size_t *perm, struct tu_model *mirror)
{
	struct crdt_doc *doc = crdt_doc_create(NULL);

	TU_CHECK(doc != NULL);
	crdt_doc_observe(doc, on_change, mirror);
	for (size_t k = 0; k < w->nmsgs; k++) {
		const struct msg *m = &w->msgs[perm[k]];
		TU_OK(crdt_apply(doc, m->data, m->len));
		TU_CHECK_DOC(doc);
	}
	verify_mirror(doc, mirror);
	TU_EQ_SIZE(crdt_pending(doc), 0);
	return doc;
}

static void shuffle(struct tu_rng *rng, size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = tu_below(rng, i), t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void run_world(uint64_t seed, int nrep, int rounds)
{
	struct world w;
	size_t *perm;

	memset(&w, 0, sizeof w);
	tu_seed_report(seed);
	tu_rng_init(&w.rng, seed);
	w.n = nrep;
	for (int i = 0; i < nrep; i++)
		replica_open(&w, &w.r[i]);

	for (int round = 0; round < rounds; round++) {
		int i = (int)tu_below(&w.rng, (size_t)nrep);
		int j = (int)((size_t)(i + 1) + tu_below(&w.rng, (size_t)nrep - 1)) % nrep;
		size_t k = tu_below(&w.rng, 100);

		if (k < 40) {
			local_edit(&w, i);
		} else if (k < 85 && w.nmsgs) {
			/*
			 * Deliver something replica i lacks; favouring recent
			 * messages holds older ones back for a long time.
			 */
			size_t m = tu_chance(&w.rng, 60)
					   ? w.nmsgs - 1 - tu_below(&w.rng, 1 + w.nmsgs / 4)
					   : tu_below(&w.rng, w.nmsgs);
			if (!w.r[i].got[m] || tu_chance(&w.rng, 15))
				deliver(&w, i, m);
		} else if (k < 92) {
			catch_up(&w, i, j);
		} else if (k < 96) {
			snapshot_merge(&w, i, j);
		} else if (k < 98) {
			TU_OK(crdt_doc_version(w.r[i].doc, &w.r[i].stale));
		} else {
			rejoin(&w, i, j);
		}
	}

	/* Full delivery: every message to every replica, shuffled, some twice. */
	perm = malloc((w.nmsgs ? w.nmsgs : 1) * sizeof *perm);
	TU_CHECK(perm != NULL);
	for (int i = 0; i < nrep; i++) {
		for (size_t m = 0; m < w.nmsgs; m++)
			perm[m] = m;
		shuffle(&w.rng, perm, w.nmsgs);
		for (size_t m = 0; m < w.nmsgs; m++)
			if (!w.r[i].got[perm[m]] || tu_chance(&w.rng, 10))
				deliver(&w, i, perm[m]);
		/* A rejoined replica may lack ops that were pending elsewhere. */
		for (size_t m = 0; m < w.nmsgs; m++)
			if (!w.r[i].got[m])
				deliver(&w, i, m);
	}
	check_all_equal(&w);

	/* Commutativity: in order, reversed, shuffled: one document. */
	struct tu_model ma = { 0 }, mb = { 0 }, mc = { 0 };
	for (size_t m = 0; m < w.nmsgs; m++)
		perm[m] = m;
	struct crdt_doc *a = replay(&w, perm, &ma);
	for (size_t m = 0; m < w.nmsgs; m++)
		perm[m] = w.nmsgs - 1 - m;
	struct crdt_doc *b = replay(&w, perm, &mb);
	shuffle(&w.rng, perm, w.nmsgs);
	struct crdt_doc *c = replay(&w, perm, &mc);
	TU_SAME_DOC(a, w.r[0].doc);
	TU_SAME_DOC(b, w.r[0].doc);
	TU_SAME_DOC(c, w.r[0].doc);

	/* Idempotence: everything again, and a snapshot of itself, change nothing. */
	struct tu_state st;
	tu_state_save(&st, a);
	for (size_t m = 0; m < w.nmsgs; m++)
		TU_OK(crdt_apply(a, w.msgs[m].data, w.msgs[m].len));
	TU_CHECK_DOC(a);
	TU_SAME_STATE(&st, a);
	struct crdt_buf snap, all;
	crdt_buf_init(&snap, NULL);
	crdt_buf_init(&all, NULL);
	TU_OK(crdt_encode_doc(w.r[1].doc, &snap));
	TU_OK(crdt_encode_since(w.r[2].doc, NULL, &all));
	TU_APPLY(a, &snap);
	TU_APPLY(a, &all);
	TU_SAME_STATE(&st, a);
	verify_mirror(a, &ma);
	tu_state_finish(&st);

	/* The full update and the snapshot each rebuild the document from nothing. */
	struct tu_model md = { 0 }, me = { 0 };
	struct crdt_doc *d = crdt_doc_create(NULL), *e = crdt_doc_create(NULL);
	TU_CHECK(d && e);
	crdt_doc_observe(d, on_change, &md);
	crdt_doc_observe(e, on_change, &me);
	TU_APPLY(d, &all);
	TU_APPLY(e, &snap);
	TU_SAME_DOC(d, w.r[0].doc);
	TU_SAME_DOC(e, w.r[0].doc);
	verify_mirror(d, &md);
	verify_mirror(e, &me);

	size_t textlen = crdt_len(w.r[0].doc);
	printf("  seed %" PRIu64 ": %d replicas, %zu updates, %zu delivered, %zu duplicates, "
	       "%zu syncs, %zu snapshots, %zu rejoins, max pending %zu, final %zu code points, "
	       "%zu runs\n",
	       seed, nrep, w.nmsgs, w.delivered, w.dups, w.syncs, w.snapshots, w.rejoins,
	       w.max_pending, textlen, crdt__run_count(w.r[0].doc));

	crdt_buf_finish(&snap);
	crdt_buf_finish(&all);
	crdt_doc_destroy(a);
	crdt_doc_destroy(b);
	crdt_doc_destroy(c);
	crdt_doc_destroy(d);
	crdt_doc_destroy(e);
	tu_model_finish(&ma);
	tu_model_finish(&mb);
	tu_model_finish(&mc);
	tu_model_finish(&md);
	tu_model_finish(&me);
	free(perm);
	for (int i = 0; i < nrep; i++)
		replica_close(&w.r[i]);
	for (size_t m = 0; m < w.nmsgs; m++)
		free(w.msgs[m].data);
	free(w.msgs);
}

int main(void)
{
	uint64_t seed = tu_seed("test-property");

	for (uint64_t i = 0; i < 8; i++)
		run_world(seed + i, 3 + (int)(i % 3), 200);
	/* A couple of longer sessions: deeper trees, longer pending chains. */
	run_world(seed + 100, 4, 1500);
	run_world(seed + 101, 5, 1500);
	printf("test-property: ok\n");
	return 0;
}
