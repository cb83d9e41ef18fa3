/*
 * trace.c - loads editing traces (.json or .json.gz) into a compact form.
 *
 * The trace files are large (automerge-paper is 16 MB of JSON) and come from
 * outside, so the loader decompresses with zlib, parses with jansson, checks
 * every field it uses, and copies what the replay needs into a few flat
 * arrays; the JSON tree is dropped before returning.  Malformed input of any
 * kind must end in an error message, never a crash or a partly filled trace.
 * It must never touch a crdt document: replaying is trace-replay.c's job.
 */
#include "trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A gzip bomb must fail cleanly rather than exhaust memory. */
#define TRACE_MAX_JSON ((size_t)1 << 30)
/* Agent ids become crdt agents 1..n; the replay keeps an n x n table. */
#define TRACE_MAX_AGENTS 4096u

const char *trace_strerror(int err)
{
	switch (err) {
#define TRACE__ERR_STR(name, code, msg) \
	case TRACE_E##name:             \
		return msg;
		TRACE_ERRNO_MAP(TRACE__ERR_STR)
#undef TRACE__ERR_STR
	}
	return "unknown error";
}

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

/* Reads the whole file; *out is malloc'ed and owned by the caller. */
static int read_file(const char *path, uint8_t **out, size_t *out_len, struct trace_error *err)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (f == NULL)
		return fail(err, TRACE_EIO, "%s: %s", path, strerror(errno));
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			uint8_t *nbuf;

			if (ncap > TRACE_MAX_JSON) {
				rc = fail(err, TRACE_EIO, "%s: file larger than %zu bytes", path,
					  (size_t)TRACE_MAX_JSON);
				goto err_read;
			}
			nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				rc = fail(err, TRACE_ENOMEM, "%s: out of memory", path);
				goto err_read;
			}
			buf = nbuf;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len, f);

		len += n;
		if (n == 0) {
			if (ferror(f)) {
				rc = fail(err, TRACE_EIO, "%s: read error", path);
				goto err_read;
			}
			break;
		}
	}
	fclose(f);
	*out = buf;
	*out_len = len;
	return 0;

err_read:
	free(buf);
	fclose(f);
	return rc;
}

/*
 * Inflates gzip data (one or more members, as gzip allows).  *out is
 * malloc'ed and owned by the caller.
 */
static int gunzip(const char *path, const uint8_t *in, size_t in_len, char **out, size_t *out_len,
		  struct trace_error *err)
{
	z_stream zs;
	char *buf = NULL;
	size_t cap = in_len * 4 + 1024, len = 0;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return fail(err, TRACE_ENOMEM, "%s: cannot start zlib", path);
	buf = malloc(cap);
	if (buf == NULL) {
		rc = fail(err, TRACE_ENOMEM, "%s: out of memory", path);
		goto err_inflate;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;
	for (;;) {
		if (len == cap) {
			char *nbuf;

			if (cap * 2 > TRACE_MAX_JSON) {
				rc = fail(err, TRACE_EGZIP,
					  "%s: decompresses to more than %zu bytes", path,
					  (size_t)TRACE_MAX_JSON);
				goto err_inflate;
			}
			nbuf = realloc(buf, cap * 2);
			if (nbuf == NULL) {
				rc = fail(err, TRACE_ENOMEM, "%s: out of memory", path);
				goto err_inflate;
			}
			buf = nbuf;
			cap *= 2;
		}
		zs.next_out = (Bytef *)buf + len;
		zs.avail_out = (uInt)(cap - len);
		int zrc = inflate(&zs, Z_NO_FLUSH);

		len = cap - zs.avail_out;
		if (zrc == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			/* Another gzip member follows. */
			if (inflateReset(&zs) != Z_OK) {
				rc = fail(err, TRACE_EGZIP, "%s: bad gzip member", path);
				goto err_inflate;
			}
			continue;
		}
		if (zrc == Z_BUF_ERROR && zs.avail_in == 0) {
			rc = fail(err, TRACE_EGZIP, "%s: truncated gzip data", path);
			goto err_inflate;
		}
		if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			rc = fail(err, TRACE_EGZIP, "%s: bad gzip data (%s)", path,
				  zs.msg ? zs.msg : "zlib error");
			goto err_inflate;
		}
	}
	inflateEnd(&zs);
	*out = buf;
	*out_len = len;
	return 0;

err_inflate:
	free(buf);
	inflateEnd(&zs);
	return rc;
}

static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;
	char *s;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".gz") == 0)
		n -= 3;
	if (n > 5 && strncmp(b + n - 5, ".json", 5) == 0)
		n -= 5;
	s = malloc(n + 1);
	if (s != NULL) {
		memcpy(s, b, n);
		s[n] = '\0';
	}
	return s;
}

static size_t count_cps(const char *s, size_t n)
{
	size_t cps = 0;

	for (size_t i = 0; i < n; i++)
		cps += ((unsigned char)s[i] & 0xC0) != 0x80;
	return cps;
}

/* A JSON integer in [0, max], or -1. */
static long long get_uint(const json_t *v, long long max)
{
	long long x;

	if (!json_is_integer(v))
		return -1;
	x = json_integer_value(v);
	return x < 0 || x > max ? -1 : x;
}

/*
 * Checks one patch array and, when t->arena is set, stores it as patch
 * number *np.  The first (counting) pass only adds up sizes.
 */
static int take_patch(struct trace *t, const json_t *p, size_t txn, size_t *np, size_t *arena,
		      struct trace_error *err)
{
	long long pos, del;
	const json_t *ins;
	size_t ilen;

	if (!json_is_array(p) || json_array_size(p) < 3)
		return fail(err, TRACE_EFORMAT, "%s: txn %zu: a patch is not [pos, del, ins]",
			    t->name, txn);
	pos = get_uint(json_array_get(p, 0), UINT32_MAX);
	del = get_uint(json_array_get(p, 1), UINT32_MAX);
	ins = json_array_get(p, 2);
	if (pos < 0 || del < 0 || !json_is_string(ins))
		return fail(err, TRACE_EFORMAT,
			    "%s: txn %zu: patch %zu needs a non-negative pos, del and a string",
			    t->name, txn, *np);
	ilen = json_string_length(ins);
	if (*arena + ilen > UINT32_MAX)
		return fail(err, TRACE_EFORMAT, "%s: txn %zu: inserted text exceeds 4 GB in total",
			    t->name, txn);
	if (t->arena != NULL) {
		struct trace_patch *tp = &t->patches[*np];

		memcpy(t->arena + *arena, json_string_value(ins), ilen);
		tp->pos = (uint32_t)pos;
		tp->del = (uint32_t)del;
		tp->ins_off = (uint32_t)*arena;
		tp->ins_len = (uint32_t)ilen;
		tp->ins_cps = (uint32_t)count_cps(json_string_value(ins), ilen);
	}
	*arena += ilen;
	(*np)++;
	return 0;
}

/*
 * Walks the txns twice: first to check them and count patches, parents and
 * arena bytes, then (with the arrays allocated) to fill them.
 */
static int take_txns(struct trace *t, const json_t *txns, struct trace_error *err)
{
	size_t ntx = json_array_size(txns);
	bool conc = t->kind == TRACE_CONCURRENT;

	for (int pass = 0; pass < 2; pass++) {
		size_t np = 0, npar = 0, arena = 0;

		for (size_t i = 0; i < ntx; i++) {
			const json_t *tx = json_array_get(txns, i);
			const json_t *patches = json_object_get(tx, "patches");
			size_t first_patch = np, first_parent = npar;
			int rc;

			if (!json_is_object(tx) || !json_is_array(patches))
				return fail(err, TRACE_EFORMAT, "%s: txn %zu: no patches array",
					    t->name, i);
			for (size_t k = 0; k < json_array_size(patches); k++) {
				rc = take_patch(t, json_array_get(patches, k), i, &np, &arena, err);
				if (rc < 0)
					return rc;
			}
			if (!conc)
				continue;

			const json_t *parents = json_object_get(tx, "parents");
			long long agent = get_uint(json_object_get(tx, "agent"), UINT32_MAX);

			if (!json_is_array(parents))
				return fail(err, TRACE_EFORMAT, "%s: txn %zu: no parents array",
					    t->name, i);
			if (agent < 0 || agent >= t->num_agents)
				return fail(
					err, TRACE_EFORMAT,
					"%s: txn %zu: agent is not an integer below numAgents (%u)",
					t->name, i, t->num_agents);
			for (size_t k = 0; k < json_array_size(parents); k++) {
				long long par =
					get_uint(json_array_get(parents, k), (long long)ntx - 1);

				if (par < 0 || (size_t)par == i)
					return fail(err, TRACE_EFORMAT,
						    "%s: txn %zu: parent %zu is not another txn's "
						    "index",
						    t->name, i, k);
				if (pass == 1)
					t->parents[npar] = (uint32_t)par;
				npar++;
			}
			if (pass == 1) {
				t->txns[i] = (struct trace_txn){
					.agent = (uint32_t)agent,
					.first_patch = (uint32_t)first_patch,
					.npatches = (uint32_t)(np - first_patch),
					.first_parent = (uint32_t)first_parent,
					.nparents = (uint32_t)(npar - first_parent),
				};
			}
		}
		if (pass == 1)
			break;
		if (np > UINT32_MAX || npar > UINT32_MAX || ntx > UINT32_MAX)
			return fail(err, TRACE_EFORMAT, "%s: trace too large", t->name);
		/* +1 so that an all-deletes trace still gets a non-NULL arena. */
		t->arena = malloc(arena + 1);
		t->patches = malloc((np ? np : 1) * sizeof(*t->patches));
		if (conc) {
			t->txns = malloc((ntx ? ntx : 1) * sizeof(*t->txns));
			t->parents = malloc((npar ? npar : 1) * sizeof(*t->parents));
		}
		if (t->arena == NULL || t->patches == NULL ||
		    (conc && (t->txns == NULL || t->parents == NULL)))
			return fail(err, TRACE_ENOMEM, "%s: out of memory", t->name);
		t->arena_len = arena;
		t->npatches = np;
		t->ntxns = conc ? ntx : 0;
		t->nparents = npar;
	}
	return 0;
}

int trace_load_json(struct trace *t, const char *name, const char *data, size_t len,
		    struct trace_error *err)
{
	json_error_t jerr;
	json_t *root;
	const json_t *kind, *end, *txns;
	int rc;

	memset(t, 0, sizeof(*t));
	root = json_loadb(data, len, 0, &jerr);
	if (root == NULL)
		return fail(err, TRACE_EJSON, "%s: malformed JSON at line %d column %d: %s", name,
			    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		rc = fail(err, TRACE_EFORMAT, "%s: the top level is not an object", name);
		goto err_root;
	}
	kind = json_object_get(root, "kind");
	if (kind == NULL ||
	    (json_is_string(kind) && !strcmp(json_string_value(kind), "sequential"))) {
		t->kind = TRACE_SEQUENTIAL;
	} else if (json_is_string(kind) && !strcmp(json_string_value(kind), "concurrent")) {
		t->kind = TRACE_CONCURRENT;
	} else {
		rc = fail(err, TRACE_EFORMAT, "%s: kind is neither sequential nor concurrent",
			  name);
		goto err_root;
	}
	if (t->kind == TRACE_CONCURRENT) {
		long long na = get_uint(json_object_get(root, "numAgents"), TRACE_MAX_AGENTS);

		if (na <= 0) {
			rc = fail(err, TRACE_EFORMAT, "%s: numAgents must be 1..%u", name,
				  TRACE_MAX_AGENTS);
			goto err_root;
		}
		t->num_agents = (uint32_t)na;
	}
	end = json_object_get(root, "endContent");
	if (end != NULL && !json_is_string(end)) {
		rc = fail(err, TRACE_EFORMAT, "%s: endContent is not a string", name);
		goto err_root;
	}
	txns = json_object_get(root, "txns");
	if (!json_is_array(txns)) {
		rc = fail(err, TRACE_EFORMAT, "%s: no txns array", name);
		goto err_root;
	}
	if (t->kind == TRACE_CONCURRENT && json_array_size(txns) == 0) {
		rc = fail(err, TRACE_EFORMAT, "%s: a concurrent trace needs txns", name);
		goto err_root;
	}
	t->name = strdup(name);
	if (t->name == NULL) {
		rc = fail(err, TRACE_ENOMEM, "%s: out of memory", name);
		goto err_root;
	}
	if (end != NULL) {
		t->has_end = true;
		t->end_len = json_string_length(end);
		t->end_content = malloc(t->end_len + 1);
		if (t->end_content == NULL) {
			rc = fail(err, TRACE_ENOMEM, "%s: out of memory", name);
			goto err_trace;
		}
		memcpy(t->end_content, json_string_value(end), t->end_len);
		t->end_content[t->end_len] = '\0';
		t->end_cps = count_cps(t->end_content, t->end_len);
	}
	rc = take_txns(t, txns, err);
	if (rc < 0)
		goto err_trace;
	json_decref(root);
	return 0;

err_trace:
	trace_finish(t);
err_root:
	json_decref(root);
	return rc;
}

int trace_load(struct trace *t, const char *path, struct trace_error *err)
{
	uint8_t *raw = NULL;
	char *json = NULL, *name = NULL;
	size_t raw_len = 0, json_len = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = read_file(path, &raw, &raw_len, err);
	if (rc < 0)
		return rc;
	if (raw_len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
		rc = gunzip(path, raw, raw_len, &json, &json_len, err);
		free(raw);
		if (rc < 0)
			return rc;
	} else {
		json = (char *)raw;
		json_len = raw_len;
	}
	name = base_name(path);
	if (name == NULL) {
		rc = fail(err, TRACE_ENOMEM, "%s: out of memory", path);
		goto err_json;
	}
	rc = trace_load_json(t, name, json, json_len, err);
	free(name);
err_json:
	free(json);
	return rc;
}

void trace_finish(struct trace *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->end_content);
	free(t->arena);
	free(t->patches);
	free(t->txns);
	free(t->parents);
	memset(t, 0, sizeof(*t));
}

int trace_topo_order(const struct trace *t, uint32_t *order, uint64_t *rng, struct trace_error *err)
{
	size_t n = t->ntxns, done = 0, nready = 0;
	uint32_t *missing, *child_count, *child_first, *children, *ready;
	int rc = 0;

	if (n == 0)
		return 0;
	missing = calloc(n, sizeof(*missing));
	child_count = calloc(n + 1, sizeof(*child_count));
	child_first = calloc(n + 1, sizeof(*child_first));
	children = malloc((t->nparents ? t->nparents : 1) * sizeof(*children));
	ready = malloc(n * sizeof(*ready));
	if (!missing || !child_count || !child_first || !children || !ready) {
		rc = fail(err, TRACE_ENOMEM, "out of memory");
		goto out;
	}
	/* Children lists in CSR form: child_first[p] .. child_first[p+1]. */
	for (size_t i = 0; i < n; i++) {
		const struct trace_txn *tx = &t->txns[i];

		missing[i] = tx->nparents;
		for (uint32_t k = 0; k < tx->nparents; k++)
			child_count[t->parents[tx->first_parent + k]]++;
	}
	for (size_t i = 0; i < n; i++)
		child_first[i + 1] = child_first[i] + child_count[i];
	memset(child_count, 0, (n + 1) * sizeof(*child_count));
	for (size_t i = 0; i < n; i++) {
		const struct trace_txn *tx = &t->txns[i];

		for (uint32_t k = 0; k < tx->nparents; k++) {
			uint32_t p = t->parents[tx->first_parent + k];

			children[child_first[p] + child_count[p]++] = (uint32_t)i;
		}
	}
	/*
	 * Without rng, ready is kept as a min-heap-free simple list: the file's
	 * order is topological in practice, so take the lowest ready index by
	 * scanning (the ready set of real traces is a handful of txns).
	 */
	for (size_t i = 0; i < n; i++)
		if (missing[i] == 0)
			ready[nready++] = (uint32_t)i;
	while (nready > 0) {
		size_t pick = 0;

		if (rng != NULL) {
			uint64_t x = *rng;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			*rng = x;
			pick = (size_t)(x % nready);
		} else {
			for (size_t k = 1; k < nready; k++)
				if (ready[k] < ready[pick])
					pick = k;
		}
		uint32_t tx = ready[pick];

		ready[pick] = ready[--nready];
		order[done++] = tx;
		for (uint32_t k = child_first[tx]; k < child_first[tx + 1]; k++)
			if (--missing[children[k]] == 0)
				ready[nready++] = children[k];
	}
	if (done != n)
		rc = fail(err, TRACE_EORDER, "%s: the txns' parents form a cycle", t->name);
out:
	free(missing);
	free(child_count);
	free(child_first);
	free(children);
	free(ready);
	return rc;
}
