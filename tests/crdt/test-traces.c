/*
 * test-traces.c - the CRDT against real editing histories.
 *
 * Random tests find the corner cases; the editing traces show that the
 * document gets real sessions exactly right: every sequential trace (both
 * folders) replays to its endContent, both concurrent traces merge to theirs
 * whether their txns arrive in the file's order or in shuffled orders that
 * respect the parents, a snapshot of the result loads back to the same text
 * and history, and the text at earlier versions equals a naive replay's text
 * at that point.  The loader itself must turn broken files into one-line
 * errors, never crashes, which is checked on files made in a temporary
 * folder.
 *
 * Given the path of tandem-trace it also runs the tool the way the benchmark
 * does and checks its JSON line, its --text output and its exit statuses.
 *
 * Usage: test-traces TRACES_DIR [--require|--optional] [TANDEM_TRACE].
 * Without the folder the test skips (exit 77), unless --require (CI) makes
 * that a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "testutil.h"
#include "trace.h"

/* Shuffled replays per concurrent trace (besides the file's order). */
#define SHUFFLES 3
/* Versions at which text_at is compared with the naive replay. */
#define CHECKPOINTS 9

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- a naive replay: a gap buffer of code points --------------------------- */

/*
 * Typing is local, so a gap buffer keeps the naive replay of even
 * automerge-paper fast while staying obviously correct.
 */
struct gap {
	uint32_t *cp;
	size_t cap, gap_start, gap_end; /* the gap is [gap_start, gap_end) */
};

static size_t gap_len(const struct gap *g)
{
	return g->cap - (g->gap_end - g->gap_start);
}

static void gap_move(struct gap *g, size_t pos)
{
	if (pos < g->gap_start) {
		size_t n = g->gap_start - pos;

		memmove(g->cp + g->gap_end - n, g->cp + pos, n * sizeof(*g->cp));
		g->gap_start -= n;
		g->gap_end -= n;
	} else if (pos > g->gap_start) {
		size_t n = pos - g->gap_start;

		memmove(g->cp + g->gap_start, g->cp + g->gap_end, n * sizeof(*g->cp));
		g->gap_start += n;
		g->gap_end += n;
	}
}

static void gap_reserve(struct gap *g, size_t n)
{
	size_t len = gap_len(g), ncap, tail;
	uint32_t *ncp;

	if (g->gap_end - g->gap_start >= n)
		return;
	ncap = (len + n) * 2 + 64;
	tail = g->cap - g->gap_end;
	ncp = malloc(ncap * sizeof(*ncp));
	TU_CHECK(ncp != NULL);
	if (g->cp != NULL) {
		memcpy(ncp, g->cp, g->gap_start * sizeof(*ncp));
		memcpy(ncp + ncap - tail, g->cp + g->gap_end, tail * sizeof(*ncp));
	}
	free(g->cp);
	g->cp = ncp;
	g->gap_end = ncap - tail;
	g->cap = ncap;
}

static void gap_patch(struct gap *g, const struct trace *t, const struct trace_patch *p)
{
	const unsigned char *s = (const unsigned char *)t->arena + p->ins_off;
	size_t i = 0;

	TU_CHECK((size_t)p->pos + p->del <= gap_len(g));
	gap_move(g, p->pos);
	g->gap_end += p->del;
	gap_reserve(g, p->ins_cps);
	while (i < p->ins_len) {
		uint32_t c = s[i];
		size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

		if (l > 1)
			c &= 0xFFu >> (l + 1);
		for (size_t j = 1; j < l && i + j < p->ins_len; j++)
			c = (c << 6) | (s[i + j] & 0x3F);
		g->cp[g->gap_start++] = c;
		i += l;
	}
}

static char *gap_utf8(const struct gap *g, size_t *len)
{
	char *s = malloc(gap_len(g) * 4 + 1);
	size_t n = 0;

	TU_CHECK(s != NULL);
	for (size_t i = 0; i < g->cap; i++)
		if (i < g->gap_start || i >= g->gap_end)
			n += tu_utf8_put(g->cp[i], s + n);
	s[n] = '\0';
	*len = n;
	return s;
}

/* ---- sequential traces --------------------------------------------------- */

static void check_roundtrips(const char *name, const struct crdt_doc *doc, const char *want,
			     size_t want_len)
{
	struct crdt_buf snap, upd;
	struct crdt_doc *a = crdt_doc_create(NULL), *b = crdt_doc_create(NULL);

	TU_CHECK(a != NULL && b != NULL);
	crdt_buf_init(&snap, NULL);
	crdt_buf_init(&upd, NULL);
	TU_OK(crdt_encode_doc(doc, &snap));
	TU_OK(crdt_apply(a, snap.data, snap.len));
	TU_CHECK_DOC(a);
	TU_EQ_TEXT(a, want, want_len);
	TU_EQ_SIZE(crdt_op_count(a), crdt_op_count(doc));
	TU_OK(crdt_encode_since(doc, NULL, &upd));
	TU_OK(crdt_apply(b, upd.data, upd.len));
	TU_CHECK_DOC(b);
	TU_EQ_TEXT(b, want, want_len);
	TU_EQ_SIZE(crdt_pending(b), 0);
	printf("  %s: snapshot %zu bytes, full update %zu bytes: both load to the same text\n",
	       name, snap.len, upd.len);
	crdt_buf_finish(&snap);
	crdt_buf_finish(&upd);
	crdt_doc_destroy(a);
	crdt_doc_destroy(b);
}

/*
 * Replays t patch by patch beside the naive gap buffer, keeping the version
 * and naive text at CHECKPOINTS points; then crdt_text_at at those versions
 * must give those texts, on the document and on its reloaded snapshot.
 */
static void check_text_at(const struct trace *t)
{
	struct crdt_doc *doc = crdt_doc_create(NULL), *loaded = crdt_doc_create(NULL);
	struct crdt_version vers[CHECKPOINTS];
	char *texts[CHECKPOINTS];
	size_t lens[CHECKPOINTS], at[CHECKPOINTS], next = 0;
	struct gap g = { 0 };
	struct crdt_buf buf;

	TU_CHECK(doc != NULL && loaded != NULL);
	crdt_buf_init(&buf, NULL);
	/* Early, spread out, and the very end. */
	for (size_t k = 0; k < CHECKPOINTS; k++) {
		at[k] = k == 0 ? (t->npatches > 0) : t->npatches * k / (CHECKPOINTS - 1);
		crdt_version_init(&vers[k], NULL);
	}
	for (size_t i = 0; i <= t->npatches; i++) {
		while (next < CHECKPOINTS && at[next] == i) {
			TU_OK(crdt_doc_version(doc, &vers[next]));
			texts[next] = gap_utf8(&g, &lens[next]);
			TU_EQ_TEXT(doc, texts[next], lens[next]);
			next++;
		}
		if (i == t->npatches)
			break;
		const struct trace_patch *p = &t->patches[i];

		if (p->del)
			TU_OK(crdt_delete(doc, 1, p->pos, p->del));
		if (p->ins_len)
			TU_OK(crdt_insert(doc, 1, p->pos, t->arena + p->ins_off, p->ins_len));
		gap_patch(&g, t, p);
	}
	TU_EQ_SIZE(next, CHECKPOINTS);
	TU_OK(crdt_encode_doc(doc, &buf));
	TU_OK(crdt_apply(loaded, buf.data, buf.len));
	for (size_t k = 0; k < CHECKPOINTS; k++) {
		buf.len = 0;
		TU_OK(crdt_text_at(doc, &vers[k], &buf));
		TU_EQ_MEM((const char *)buf.data, buf.len, texts[k], lens[k]);
		buf.len = 0;
		TU_OK(crdt_text_at(loaded, &vers[k], &buf));
		TU_EQ_MEM((const char *)buf.data, buf.len, texts[k], lens[k]);
		free(texts[k]);
		crdt_version_finish(&vers[k]);
	}
	/* Reading history must not have changed anything. */
	TU_CHECK_DOC(doc);
	TU_CHECK_DOC(loaded);
	printf("  %s: text_at matches a naive replay at %d versions (live and reloaded)\n", t->name,
	       CHECKPOINTS);
	crdt_buf_finish(&buf);
	free(g.cp);
	crdt_doc_destroy(doc);
	crdt_doc_destroy(loaded);
}

static void run_sequential(const char *path)
{
	struct trace t;
	struct trace_error err = { { 0 } };
	struct crdt_doc *doc;
	double t0;

	if (trace_load(&t, path, &err) < 0)
		TU_FAIL("%s", err.msg);
	TU_CHECK(t.kind == TRACE_SEQUENTIAL);
	TU_CHECK(t.has_end);
	t0 = now_ms();
	if (trace_replay(&t, NULL, NULL, &doc, &err) < 0)
		TU_FAIL("%s", err.msg);
	printf("%s: %zu patches replayed in %.1f ms\n", path, t.npatches, now_ms() - t0);
	TU_CHECK_DOC(doc);
	TU_EQ_TEXT(doc, t.end_content, t.end_len);
	TU_EQ_SIZE(crdt_len(doc), t.end_cps);
	TU_CHECK(trace_check_end(&t, doc, &err));
	check_roundtrips(t.name, doc, t.end_content, t.end_len);
	check_text_at(&t);
	crdt_doc_destroy(doc);
	trace_finish(&t);
}

/* ---- concurrent traces --------------------------------------------------- */

static void replay_in_order(const struct trace *t, const uint32_t *order, const char *how)
{
	struct trace_error err = { { 0 } };
	struct crdt_doc *doc;
	double t0 = now_ms();

	if (trace_replay(t, order, NULL, &doc, &err) < 0)
		TU_FAIL("%s (%s)", err.msg, how);
	printf("  %s, %s: merged in %.1f ms\n", t->name, how, now_ms() - t0);
	TU_CHECK_DOC(doc);
	TU_EQ_TEXT(doc, t->end_content, t->end_len);
	TU_EQ_SIZE(crdt_pending(doc), 0);
	if (order == NULL)
		check_roundtrips(t->name, doc, t->end_content, t->end_len);
	crdt_doc_destroy(doc);
}

/* True when order puts every txn after its parents. */
static bool is_topological(const struct trace *t, const uint32_t *order)
{
	size_t *rank = malloc(t->ntxns * sizeof(*rank));
	bool ok = true;

	TU_CHECK(rank != NULL);
	for (size_t i = 0; i < t->ntxns; i++)
		rank[order[i]] = i;
	for (size_t i = 0; i < t->ntxns && ok; i++)
		for (uint32_t k = 0; k < t->txns[i].nparents; k++)
			ok = ok && rank[t->parents[t->txns[i].first_parent + k]] < rank[i];
	free(rank);
	return ok;
}

static void run_concurrent(const char *path, uint64_t seed)
{
	struct trace t;
	struct trace_error err = { { 0 } };
	uint32_t *order;
	size_t same = 0;

	if (trace_load(&t, path, &err) < 0)
		TU_FAIL("%s", err.msg);
	TU_CHECK(t.kind == TRACE_CONCURRENT);
	TU_CHECK(t.has_end);
	printf("%s: %zu txns, %zu patches, %u agents\n", path, t.ntxns, t.npatches, t.num_agents);
	replay_in_order(&t, NULL, "file order");
	order = malloc(t.ntxns * sizeof(*order));
	TU_CHECK(order != NULL);
	for (int s = 0; s < SHUFFLES; s++) {
		uint64_t state = (seed * 2654435761u + (uint64_t)s * 97) | 1;
		char how[64];

		TU_EQ_INT(trace_topo_order(&t, order, &state, &err), 0);
		TU_CHECK(is_topological(&t, order));
		for (size_t i = 0; i < t.ntxns; i++)
			same += order[i] == i;
		snprintf(how, sizeof(how), "shuffled order %d", s + 1);
		replay_in_order(&t, order, how);
	}
	/* The shuffles must really differ from the file's order. */
	TU_CHECK(same < (size_t)SHUFFLES * t.ntxns);
	free(order);
	trace_finish(&t);
}

/* ---- broken input -------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	TU_CHECK(f != NULL);
	TU_EQ_SIZE(fwrite(data, 1, len, f), len);
	TU_EQ_INT(fclose(f), 0);
}

static void write_gz(const char *path, const char *json, size_t cut)
{
	gzFile f = gzopen(path, "wb6");
	size_t len = strlen(json);

	TU_CHECK(f != NULL);
	TU_EQ_INT(gzwrite(f, json, (unsigned)len), (int)len);
	TU_EQ_INT(gzclose(f), Z_OK);
	if (cut > 0) {
		/* Keep only the first cut bytes: a truncated download. */
		TU_EQ_INT(truncate(path, (off_t)cut), 0);
	}
}

/* Loading (and replaying, when it loads) must fail with a one-line message. */
static void expect_bad(const char *dir, const char *file, int want_load, int want_replay)
{
	char path[4096];
	struct trace t;
	struct trace_error err = { { 0 } };
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	rc = trace_load(&t, path, &err);
	if (want_load != 0) {
		TU_EQ_INT(rc, want_load);
	} else {
		struct crdt_doc *doc = NULL;

		TU_EQ_INT(rc, 0);
		rc = trace_replay(&t, NULL, NULL, &doc, &err);
		TU_EQ_INT(rc, want_replay);
		TU_CHECK(doc == NULL);
		trace_finish(&t);
	}
	TU_CHECK(err.msg[0] != '\0');
	TU_CHECK(strchr(err.msg, '\n') == NULL);
	printf("  %-22s -> %s\n", file, err.msg);
}

static void expect_good(const char *dir, const char *file, const char *want)
{
	char path[4096];
	struct trace t;
	struct trace_error err = { { 0 } };
	struct crdt_doc *doc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (trace_load(&t, path, &err) < 0 || trace_replay(&t, NULL, NULL, &doc, &err) < 0)
		TU_FAIL("%s", err.msg);
	TU_EQ_TEXT(doc, want, strlen(want));
	TU_CHECK(trace_check_end(&t, doc, &err));
	printf("  %-22s -> \"%s\" as expected\n", file, t.has_end ? "endContent" : want);
	crdt_doc_destroy(doc);
	trace_finish(&t);
}

static void test_broken_files(const char *real_gz)
{
	char tmpl[] = "/tmp/tandem-test-traces-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[4096];
	static const char *const files[] = {
		"empty.json",	  "trunc.json",	     "array.json",	"notxns.json",
		"badpatch.json",  "negpos.json",     "badkind.json",	"badagent.json",
		"badparent.json", "cycle.json",	     "range.json",	"chain.json",
		"badutf8.json",	  "trunc.json.gz",   "garbage.json.gz", "real-cut.json.gz",
		"example.json",	  "example.json.gz", "seq.json",	"noend.json",
	};
	static const char example[] =
		"{\"kind\":\"concurrent\",\"endContent\":\"yoooo ho ho\\n\",\"numAgents\":2,"
		"\"txns\":[{\"parents\":[],\"agent\":0,\"patches\":[[0,0,\"hi there\\n\"]]},"
		"{\"parents\":[0],\"agent\":0,\"patches\":[[0,8,\"\"],[0,0,\"yoooo\"]]},"
		"{\"parents\":[1],\"agent\":1,\"patches\":[[5,0,\" ho ho\"]]}]}";

	TU_CHECK(dir != NULL);
	printf("broken and hand-made files in %s:\n", dir);
#define PUT(name, text)                                           \
	do {                                                      \
		snprintf(path, sizeof(path), "%s/%s", dir, name); \
		write_file(path, text, strlen(text));             \
	} while (0)
	PUT("empty.json", "");
	PUT("trunc.json", "{\"endContent\":\"abc\",\"txns\":[{\"patches\":[[0,0,\"a");
	PUT("array.json", "[1,2,3]");
	PUT("notxns.json", "{\"endContent\":\"\",\"txns\":5}");
	PUT("badpatch.json", "{\"txns\":[{\"patches\":[[0,0]]}]}");
	PUT("negpos.json", "{\"txns\":[{\"patches\":[[-1,0,\"x\"]]}]}");
	PUT("badkind.json", "{\"kind\":\"parallel\",\"txns\":[]}");
	PUT("badagent.json", "{\"kind\":\"concurrent\",\"numAgents\":1,\"txns\":[{\"parents\":[],"
			     "\"agent\":1,\"patches\":[[0,0,\"x\"]]}]}");
	PUT("badparent.json", "{\"kind\":\"concurrent\",\"numAgents\":1,\"txns\":[{\"parents\":[7],"
			      "\"agent\":0,\"patches\":[[0,0,\"x\"]]}]}");
	PUT("cycle.json", "{\"kind\":\"concurrent\",\"numAgents\":2,\"txns\":["
			  "{\"parents\":[1],\"agent\":0,\"patches\":[[0,0,\"x\"]]},"
			  "{\"parents\":[0],\"agent\":1,\"patches\":[[0,0,\"y\"]]}]}");
	PUT("range.json", "{\"endContent\":\"x\",\"txns\":[{\"patches\":[[5,0,\"x\"]]}]}");
	/* Agent 0 makes two concurrent txns: its txns are not a chain. */
	PUT("chain.json", "{\"kind\":\"concurrent\",\"numAgents\":1,\"txns\":["
			  "{\"parents\":[],\"agent\":0,\"patches\":[[0,0,\"a\"]]},"
			  "{\"parents\":[0],\"agent\":0,\"patches\":[[1,0,\"b\"]]},"
			  "{\"parents\":[0],\"agent\":0,\"patches\":[[1,0,\"c\"]]}]}");
	PUT("badutf8.json", "{\"txns\":[{\"patches\":[[0,0,\"\xff\xfe\"]]}]}");
	snprintf(path, sizeof(path), "%s/trunc.json.gz", dir);
	write_gz(path, example, 30);
	PUT("garbage.json.gz", "\x1f\x8b\x08\x00garbage that is not deflate data at all");
	PUT("example.json", example);
	snprintf(path, sizeof(path), "%s/example.json.gz", dir);
	write_gz(path, example, 0);
	PUT("seq.json",
	    "{\"endContent\":\"h\xc3\xa9llo\",\"txns\":[{\"patches\":["
	    "[0,0,\"hllo\"],[1,0,\"\xc3\xa9\"],[2,0,\"x\"]]},{\"patches\":[[2,1,\"\"]]}]}");
	PUT("noend.json", "{\"txns\":[{\"patches\":[[0,0,\"abc\"],[1,1,\"\"]]}]}");
#undef PUT
	/* A real trace cut short, as a failed copy leaves it. */
	snprintf(path, sizeof(path), "%s/real-cut.json.gz", dir);
	{
		FILE *f = fopen(real_gz, "rb");
		static char head[20000];
		size_t n;

		TU_CHECK(f != NULL);
		n = fread(head, 1, sizeof(head), f);
		fclose(f);
		TU_CHECK(n > 1000);
		write_file(path, head, n);
	}

	expect_bad(dir, "missing.json", TRACE_EIO, 0);
	expect_bad(dir, "empty.json", TRACE_EJSON, 0);
	expect_bad(dir, "trunc.json", TRACE_EJSON, 0);
	expect_bad(dir, "array.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "notxns.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "badpatch.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "negpos.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "badkind.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "badagent.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "badparent.json", TRACE_EFORMAT, 0);
	expect_bad(dir, "badutf8.json", TRACE_EJSON, 0);
	expect_bad(dir, "trunc.json.gz", TRACE_EGZIP, 0);
	expect_bad(dir, "garbage.json.gz", TRACE_EGZIP, 0);
	expect_bad(dir, "real-cut.json.gz", TRACE_EGZIP, 0);
	expect_bad(dir, "cycle.json", 0, TRACE_EORDER);
	expect_bad(dir, "range.json", 0, TRACE_ECRDT);
	expect_bad(dir, "chain.json", 0, TRACE_ECHAIN);
	expect_good(dir, "example.json", "yoooo ho ho\n");
	expect_good(dir, "example.json.gz", "yoooo ho ho\n");
	expect_good(dir, "seq.json", "h\xc3\xa9llo");
	expect_good(dir, "noend.json", "ac");

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		TU_EQ_INT(unlink(path), 0);
	}
	TU_EQ_INT(rmdir(dir), 0);
}

/* ---- the tandem-trace command ------------------------------------------- */

/* Runs cmd through the shell; returns its stdout (malloc'ed) and exit status. */
static char *run_cmd(const char *cmd, size_t *len, int *status)
{
	FILE *p = popen(cmd, "r");
	char *out = NULL;
	size_t n = 0, cap = 0;
	int st;

	TU_CHECK(p != NULL);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			out = realloc(out, cap + 1);
			TU_CHECK(out != NULL);
		}
		size_t got = fread(out + n, 1, cap - n, p);

		if (got == 0)
			break;
		n += got;
	}
	out[n] = '\0';
	st = pclose(p);
	TU_CHECK(st != -1 && WIFEXITED(st));
	*status = WEXITSTATUS(st);
	*len = n;
	return out;
}

static void expect_field(const char *json, const char *field)
{
	if (strstr(json, field) == NULL)
		TU_FAIL("tandem-trace output lacks %s: %s", field, json);
}

static void test_cli(const char *tool, const char *root)
{
	static const char *const fields[] = {
		"\"trace\":\"friendsforever\"",
		"\"kind\":\"concurrent\"",
		"\"ops\":",
		"\"final_len\":",
		"\"ok\":true",
		"\"apply_ms\":",
		"\"merge_ms\":",
		"\"encoded_bytes\":",
		"\"encoded_gz_bytes\":",
		"\"load_ms\":",
		"\"mem_bytes\":",
		"\"runs\":",
		"\"snapshot_ok\":true",
		"\"merge_ok\":true",
	};
	char cmd[8192], path[4096];
	struct trace t;
	struct trace_error err = { { 0 } };
	size_t len;
	int status;
	char *out;

	snprintf(cmd, sizeof(cmd), "'%s' --repeat 3 '%s/concurrent_traces/friendsforever.json.gz'",
		 tool, root);
	out = run_cmd(cmd, &len, &status);
	TU_EQ_INT(status, 0);
	TU_CHECK(len > 0 && out[len - 1] == '\n' && strchr(out, '\n') == out + len - 1);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		expect_field(out, fields[i]);
	printf("tandem-trace: %s", out);
	free(out);

	/* --text prints exactly the final text of a non-ASCII trace. */
	snprintf(path, sizeof(path), "%s/sequential_traces/rustcode.json.gz", root);
	if (trace_load(&t, path, &err) < 0)
		TU_FAIL("%s", err.msg);
	snprintf(cmd, sizeof(cmd), "'%s' --text '%s'", tool, path);
	out = run_cmd(cmd, &len, &status);
	TU_EQ_INT(status, 0);
	TU_EQ_MEM(out, len, t.end_content, t.end_len);
	free(out);
	trace_finish(&t);

	/* A missing file and bad usage: status 2, nothing on stdout. */
	snprintf(cmd, sizeof(cmd), "'%s' '%s/no-such-trace.json' 2>/dev/null", tool, root);
	out = run_cmd(cmd, &len, &status);
	TU_EQ_INT(status, 2);
	TU_EQ_SIZE(len, 0);
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s' --repeat 0 x 2>/dev/null", tool);
	out = run_cmd(cmd, &len, &status);
	TU_EQ_INT(status, 2);
	free(out);
	printf("tandem-trace: JSON fields, --text and exit statuses OK\n");
}

/* ---- main ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json and *.json.gz files of dir, sorted; NULL-terminated, malloc'ed. */
static char **list_traces(const char *dir)
{
	DIR *d = opendir(dir);
	char **list = NULL;
	size_t n = 0;
	struct dirent *e;

	if (d == NULL)
		TU_FAIL("cannot open %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (!(len > 5 && !strcmp(e->d_name + len - 5, ".json")) &&
		    !(len > 8 && !strcmp(e->d_name + len - 8, ".json.gz")))
			continue;
		list = realloc(list, (n + 2) * sizeof(*list));
		TU_CHECK(list != NULL);
		list[n] = malloc(strlen(dir) + len + 2);
		TU_CHECK(list[n] != NULL);
		sprintf(list[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	TU_CHECK(n > 0);
	qsort(list, n, sizeof(*list), cmp_str);
	list[n] = NULL;
	return list;
}

static void free_list(char **list)
{
	for (size_t i = 0; list[i]; i++)
		free(list[i]);
	free(list);
}

int main(int argc, char **argv)
{
	static const char *const seq_dirs[] = { "sequential_traces",
						"sequential_traces/ascii_only" };
	const char *root = argc > 1 ? argv[1] : "";
	bool require = argc > 2 && !strcmp(argv[2], "--require");
	char path[4096];
	struct stat st;
	uint64_t seed;
	size_t count = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/sequential_traces", root);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "test-traces: no traces folder at '%s' (meson option 'traces')%s\n",
			path, require ? "; require_traces is set, so this fails" : "; skipping");
		return require ? 1 : 77;
	}
	seed = tu_seed("test-traces");

	snprintf(path, sizeof(path), "%s/concurrent_traces/friendsforever.json.gz", root);
	test_broken_files(path);

	for (size_t d = 0; d < 2; d++) {
		snprintf(path, sizeof(path), "%s/%s", root, seq_dirs[d]);
		char **list = list_traces(path);

		for (size_t i = 0; list[i]; i++, count++)
			run_sequential(list[i]);
		free_list(list);
	}
	snprintf(path, sizeof(path), "%s/concurrent_traces", root);
	char **conc = list_traces(path);
	size_t nconc = 0;

	for (size_t i = 0; conc[i]; i++, nconc++)
		run_concurrent(conc[i], seed);
	free_list(conc);
	TU_CHECK(nconc >= 2);
	if (argc > 3)
		test_cli(argv[3], root);
	printf("test-traces: %zu sequential and %zu concurrent traces OK\n", count, nconc);
	return 0;
}
