/*
 * problem.c - reading a problem (folder, Py-Katas file or JSON) and
 * checking every part of it before anything is judged or stored.
 *
 * Why it exists: a problem comes from a file tree written by hand, from an
 * admin's upload, or back from the database, and all three must pass the
 * same rules (docs/problems.md), with errors a person can act on:
 * "problem.yaml:7: unknown key 'limit'".  YAML is parsed by libyaml into
 * jansson values (line numbers kept aside, per key path), so the one
 * validator below works on JSON whatever the source.
 *
 * It must never return a half-valid problem: any error means no problem.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "problem.h"

/* ---- errors ---------------------------------------------------------------- */

/* Where messages point: a file and, per key path, the line it was on. */
struct where {
	const char *file;
	json_t *lines; /* {"signature.kind": 7, ...}; NULL when there are none */
	json_t *errors;
};

static void errf(const struct where *w, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(const struct where *w, long line, const char *fmt, ...)
{
	char msg[512], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%ld: %s", w->file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", w->file, msg);
	json_array_append_new(w->errors, json_string(full));
}

static long line_of(const struct where *w, const char *path)
{
	json_t *l = w->lines ? json_object_get(w->lines, path) : NULL;

	return l ? (long)json_integer_value(l) : 0;
}

/* ---- files ----------------------------------------------------------------- */

static char *read_file(const char *path, size_t max, size_t *len, const struct where *w)
{
	struct stat st;
	FILE *f;
	char *buf;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		errf(w, 0, "cannot read: %s", S_ISDIR(st.st_mode) ? "a folder" : strerror(errno));
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		errf(w, 0, "%lld bytes; at most %zu", (long long)st.st_size, max);
		return NULL;
	}
	f = fopen(path, "rb");
	buf = malloc((size_t)st.st_size + 1);
	if (!f || !buf) {
		errf(w, 0, "cannot read: %s", strerror(errno));
		free(buf);
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- YAML to JSON ---------------------------------------------------------- */

static bool all_match(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* The YAML 1.2 core schema for a plain scalar: null, bool, int, float, or string. */
static json_t *plain_scalar(const char *s)
{
	char *end;

	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (all_match(s[0] == '-' || s[0] == '+' ? s + 1 : s, "0123456789")) {
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!errno && !*end)
			return json_integer(v);
		/* Beyond int64: the value format's big integer. */
		return json_pack("{s:s}", "$int", s[0] == '+' ? s + 1 : s);
	}
	if (strpbrk(s, ".eE") && all_match(s, "0123456789+-.eE")) {
		double d = strtod(s, &end);
		if (!*end)
			return json_real(d);
	}
	if (!strcmp(s, ".inf") || !strcmp(s, "+.inf"))
		return json_pack("{s:s}", "$float", "inf");
	if (!strcmp(s, "-.inf"))
		return json_pack("{s:s}", "$float", "-inf");
	if (!strcmp(s, ".nan"))
		return json_pack("{s:s}", "$float", "nan");
	return json_string(s);
}

/*
 * Converts node (and below) to JSON; every mapping key's line goes to
 * lines[path.key].  Returns NULL (with an error) for duplicate keys,
 * non-string keys, aliases too deep, or invalid UTF-8.
 */
static json_t *yaml_json(yaml_document_t *doc, yaml_node_t *node, const char *path,
			 const struct where *w, int depth)
{
	if (!node || depth > 64) {
		errf(w, node ? (long)node->start_mark.line + 1 : 0, "nesting too deep");
		return NULL;
	}
	long line = (long)node->start_mark.line + 1;
	switch (node->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)node->data.scalar.value;
		json_t *v;

		/* libyaml tags every untagged scalar !!str: only the style tells. */
		if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			v = json_stringn(s, node->data.scalar.length);
		else
			v = plain_scalar(s);
		if (!v)
			errf(w, line, "%s: not valid UTF-8 (or holds a NUL)",
			     path[0] ? path : "value");
		return v;
	}
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		size_t k = 0;

		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++, k++) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s[%zu]", path, k);
			json_t *v =
				yaml_json(doc, yaml_document_get_node(doc, *it), sub, w, depth + 1);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();

		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = yaml_document_get_node(doc, p->key);
			long kl = kn ? (long)kn->start_mark.line + 1 : line;

			if (!kn || kn->type != YAML_SCALAR_NODE) {
				errf(w, kl, "%s: keys must be plain strings",
				     path[0] ? path : "top level");
				json_decref(o);
				return NULL;
			}
			const char *key = (const char *)kn->data.scalar.value;
			char sub[256];

			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
			if (json_object_get(o, key)) {
				errf(w, kl, "duplicate key '%s'", sub);
				json_decref(o);
				return NULL;
			}
			json_t *v = yaml_json(doc, yaml_document_get_node(doc, p->value), sub, w,
					      depth + 1);
			if (!v) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, key, v);
			if (w->lines)
				json_object_set_new(w->lines, sub, json_integer(kl));
		}
		return o;
	}
	default:
		errf(w, line, "empty YAML node");
		return NULL;
	}
}

/* Parses YAML text into JSON (the first document); NULL with an error. */
static json_t *parse_yaml(const char *text, size_t len, const struct where *w)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;

	if (!yaml_parser_initialize(&parser)) {
		errf(w, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		errf(w, (long)parser.problem_mark.line + 1, "bad YAML: %s%s%s",
		     parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
		     parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root)
		errf(w, 0, "empty file");
	else if (root->type != YAML_MAPPING_NODE)
		errf(w, (long)root->start_mark.line + 1, "the top level must be a mapping of keys");
	else
		out = yaml_json(&doc, root, "", w, 0);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return out;
}

/* ---- field checks ---------------------------------------------------------- */

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Reports keys of o not in allowed (NULL-terminated), at path prefix. */
static void unknown_keys(const struct where *w, const json_t *o, const char *prefix,
			 const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v)
	{
		bool ok = false;
		char path[256];

		for (size_t i = 0; allowed[i]; i++)
			ok |= !strcmp(k, allowed[i]);
		if (ok)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k);
		errf(w, line_of(w, path), "unknown key '%s'", path);
	}
}

static const char *get_str(const struct where *w, const json_t *o, const char *prefix,
			   const char *key, bool required, size_t max)
{
	json_t *v = json_object_get(o, key);
	char path[256];

	snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", key);
	if (!v) {
		if (required)
			errf(w, line_of(w, prefix), "missing key '%s'", path);
		return NULL;
	}
	if (!json_is_string(v)) {
		errf(w, line_of(w, path), "'%s' must be a string", path);
		return NULL;
	}
	if (json_string_length(v) > max) {
		errf(w, line_of(w, path), "'%s' is %zu bytes; at most %zu", path,
		     json_string_length(v), max);
		return NULL;
	}
	if (required && !json_string_length(v)) {
		errf(w, line_of(w, path), "'%s' is empty", path);
		return NULL;
	}
	return json_string_value(v);
}

/* An unsigned limit: absent -> def; else within [lo, hi]. */
static uint32_t get_uint(const struct where *w, const json_t *o, const char *prefix,
			 const char *key, uint32_t def, uint32_t lo, uint32_t hi)
{
	json_t *v = json_object_get(o, key);
	char path[256];

	if (!v)
		return def;
	snprintf(path, sizeof(path), "%s.%s", prefix, key);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		errf(w, line_of(w, path), "'%s' must be an integer from %u to %u", path, lo, hi);
		return def;
	}
	return (uint32_t)json_integer_value(v);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A type text of the value format: a string or null. */
static bool valid_type(const json_t *t)
{
	return json_is_null(t) || json_is_string(t);
}

/* ---- the starter's parameters ---------------------------------------------- */

/*
 * Reads the parameter list of `def entry(` in the starter: names, how many
 * are required and whether *args makes the count open.  A solution method
 * and a design constructor drop their first parameter (self).  Returns
 * false when no such def is found.
 */
static bool read_params(struct problem *p)
{
	char pat[160];
	const char *name = p->kind == JUDGE_MODE_DESIGN ? "__init__" : p->entry;
	const char *s;

	snprintf(pat, sizeof(pat), "def %s(", name);
	s = strstr(p->starter, pat);
	p->params = json_array();
	p->min_args = 0;
	p->max_args = 0;
	if (!s)
		return false;
	s += strlen(pat);
	bool skip_self = p->kind != JUDGE_MODE_FUNCTION;
	int depth = 0;
	const char *start = s;
	for (;; s++) {
		if (*s == '\0')
			return false;
		if (*s == '(' || *s == '[' || *s == '{') {
			depth++;
			continue;
		}
		if ((*s == ')' || *s == ']' || *s == '}') && depth > 0) {
			depth--;
			continue;
		}
		if (depth == 0 && (*s == ',' || *s == ')')) {
			const char *a = start, *b = s;
			while (a < b && isspace((unsigned char)*a))
				a++;
			const char *colon = memchr(a, ':', (size_t)(b - a));
			const char *eq = memchr(a, '=', (size_t)(b - a));
			const char *e = colon ? colon : eq ? eq : b;
			while (e > a && isspace((unsigned char)e[-1]))
				e--;
			if (e > a) {
				if (skip_self) {
					skip_self = false;
				} else if (*a == '*' && a[1] == '*') {
					/* **kwargs: no positional argument */
				} else if (*a == '*') {
					if (e - a > 1)
						p->max_args = -1;
				} else if (!(e - a == 1 && *a == '/')) {
					json_array_append_new(p->params,
							      json_stringn(a, (size_t)(e - a)));
					if (p->max_args >= 0)
						p->max_args++;
					if (!eq)
						p->min_args++;
				}
			}
			if (*s == ')')
				return true;
			start = s + 1;
		}
	}
}

/* ---- tests ----------------------------------------------------------------- */

static bool canonical(const json_t *v)
{
	bool eq;

	return judge_compare_json(v, v, NULL, &eq) == 0;
}

/* Does args fit p's signature?  On failure writes a reason to why. */
static bool args_fit(const struct problem *p, const json_t *args, char *why, size_t n)
{
	if (p->kind == JUDGE_MODE_DESIGN) {
		json_t *calls = json_object_get(args, "calls"), *a = json_object_get(args, "args");
		if (!json_is_object(args) || json_object_size(args) != 2 || !json_is_array(calls) ||
		    !json_is_array(a)) {
			snprintf(
				why, n,
				"a design test's args must be {\"calls\": [...], \"args\": [...]}");
			return false;
		}
		if (!json_array_size(calls) || json_array_size(calls) != json_array_size(a)) {
			snprintf(why, n,
				 "calls and args must be non-empty lists of one length (%zu, %zu)",
				 json_array_size(calls), json_array_size(a));
			return false;
		}
		for (size_t i = 0; i < json_array_size(calls); i++) {
			if (!json_is_string(json_array_get(calls, i)) ||
			    !json_is_array(json_array_get(a, i))) {
				snprintf(why, n, "call %zu: a method name and a list of arguments",
					 i);
				return false;
			}
		}
		if (strcmp(json_string_value(json_array_get(calls, 0)), p->entry)) {
			snprintf(why, n, "the first call must construct '%s', not '%s'", p->entry,
				 json_string_value(json_array_get(calls, 0)));
			return false;
		}
		if (!canonical(a)) {
			snprintf(why, n, "args are not in the value format (docs/judge-values.md)");
			return false;
		}
		return true;
	}
	if (!json_is_array(args)) {
		snprintf(why, n, "args must be a list of arguments");
		return false;
	}
	size_t k = json_array_size(args);
	if ((int)k < p->min_args || (p->max_args >= 0 && (int)k > p->max_args)) {
		if (p->min_args == p->max_args)
			snprintf(why, n, "args: %s() takes %d argument%s, got %zu", p->entry,
				 p->min_args, p->min_args == 1 ? "" : "s", k);
		else
			snprintf(why, n, "args: %s() takes %d to %d arguments, got %zu", p->entry,
				 p->min_args, p->max_args, k);
		return false;
	}
	if (!canonical(args)) {
		snprintf(why, n, "args are not in the value format (docs/judge-values.md)");
		return false;
	}
	return true;
}

/*
 * Reads one test object into t.  need_expected: file tests must carry one;
 * custom tests may not.  Returns false (with an error at file:line).
 */
static bool read_test(const struct problem *p, const json_t *o, const struct where *w, long line,
		      bool need_expected, struct problem_test *t)
{
	static const char *const keys[] = { "name",	   "args",	 "expected", "types",
					    "return_type", "result_arg", NULL };
	char why[256];
	bool ok = true;

	if (!json_is_object(o)) {
		errf(w, line, "a test must be an object {\"name\", \"args\", \"expected\"}");
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			known |= !strcmp(k, keys[i]);
		if (!known) {
			errf(w, line, "unknown key '%s' in a test", k);
			ok = false;
		}
	}
	json_t *name = json_object_get(o, "name"), *args = json_object_get(o, "args");
	json_t *exp = json_object_get(o, "expected");
	if (name && (!json_is_string(name) || !json_string_length(name) ||
		     json_string_length(name) > 200)) {
		errf(w, line, "name must be a string of 1 to 200 bytes");
		ok = false;
	}
	if (!args) {
		errf(w, line, "missing key 'args'");
		return false;
	}
	if (!args_fit(p, args, why, sizeof(why))) {
		errf(w, line, "%s", why);
		ok = false;
	}
	if (!exp && need_expected) {
		errf(w, line, "missing key 'expected'");
		ok = false;
	}
	if (exp && !canonical(exp)) {
		errf(w, line, "expected is not in the value format (docs/judge-values.md)");
		ok = false;
	}
	json_t *types = json_object_get(o, "types"), *rt = json_object_get(o, "return_type");
	json_t *ra = json_object_get(o, "result_arg");
	if (types && !json_is_array(types)) {
		errf(w, line, "types must be a list");
		ok = false;
	}
	if (rt && !valid_type(rt)) {
		errf(w, line, "return_type must be a string or null");
		ok = false;
	}
	if (ra && !json_is_integer(ra)) {
		errf(w, line, "result_arg must be an integer");
		ok = false;
	}
	if (!ok)
		return false;
	t->name = name ? strdup(json_string_value(name)) : NULL;
	t->args = json_deep_copy(args);
	t->expected = exp ? json_deep_copy(exp) : NULL;
	if (types || rt || ra) {
		t->extra = json_object();
		if (types)
			json_object_set(t->extra, "types", types);
		if (rt)
			json_object_set(t->extra, "return_type", rt);
		if (ra)
			json_object_set(t->extra, "result_arg", ra);
	}
	return true;
}

static bool add_test(struct problem *p, size_t *cap)
{
	if (p->ntests == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct problem_test *nt = realloc(p->tests, nc * sizeof(*nt));
		if (!nt)
			return false;
		p->tests = nt;
		*cap = nc;
	}
	memset(&p->tests[p->ntests], 0, sizeof(p->tests[0]));
	return true;
}

/* Reads tests/<which>.jsonl; returns the number of tests read or -1. */
static int read_jsonl(struct problem *p, const char *dir, const char *rel, bool hidden,
		      json_t *errors, size_t *cap)
{
	char *path = join(dir, rel);
	struct where w = { .file = path, .errors = errors };
	size_t len, before = json_array_size(errors);
	char *text = path ? read_file(path, PROBLEM_MAX_TESTFILE, &len, &w) : NULL;
	int count = 0;

	if (!text) {
		free(path);
		return -1;
	}
	long line = 0;
	for (char *s = text; s && *s;) {
		char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		line++;
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n) {
			json_error_t je;
			json_t *o = json_loadb(s, n, 0, &je);
			if (!o) {
				errf(&w, line, "bad JSON: %s (column %d)", je.text, je.column);
			} else if (p->ntests >= PROBLEM_MAX_TESTS) {
				if (count == 0 || p->ntests == PROBLEM_MAX_TESTS)
					errf(&w, line,
					     "more than %d tests in all; split the problem",
					     PROBLEM_MAX_TESTS);
				p->ntests++;
			} else if (add_test(p, cap)) {
				struct problem_test *t = &p->tests[p->ntests];
				if (read_test(p, o, &w, line, true, t)) {
					t->hidden = hidden;
					p->ntests++;
					count++;
				}
			}
			json_decref(o);
		}
		s = nl ? nl + 1 : NULL;
	}
	if (p->ntests > PROBLEM_MAX_TESTS)
		p->ntests = PROBLEM_MAX_TESTS;
	free(text);
	free(path);
	return json_array_size(errors) > before ? -1 : count;
}

/* ---- the problem as a whole ------------------------------------------------ */

void problem_destroy(struct problem *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->title);
	free(p->difficulty);
	free(p->statement);
	free(p->starter);
	free(p->entry);
	free(p->compare);
	json_decref(p->tags);
	json_decref(p->signature_extra);
	json_decref(p->params);
	free(p->gen);
	for (size_t i = 0; i < p->ntests; i++) {
		free(p->tests[i].name);
		json_decref(p->tests[i].args);
		json_decref(p->tests[i].expected);
		json_decref(p->tests[i].extra);
	}
	free(p->tests);
	for (size_t i = 0; i < p->nsolutions; i++) {
		free(p->solutions[i].path);
		free(p->solutions[i].kind);
		free(p->solutions[i].code);
	}
	free(p->solutions);
	free(p->source);
	free(p);
}

/*
 * The keys of problem.yaml (and of the JSON form, which adds "tests" and
 * "gen"): fills p's scalar fields.  Tests are read afterwards, since they
 * need the signature.
 */
static void read_fields(struct problem *p, const json_t *o, const struct where *w, bool json_form)
{
	static const char *const top[] = { "id",	"title",      "difficulty", "tags",
					   "statement", "signature",  "starter",    "limits",
					   "compare",	"complexity", NULL };
	static const char *const top_json[] = { "id",	     "title",	   "difficulty", "tags",
						"statement", "signature",  "starter",	 "limits",
						"compare",   "complexity", "tests",	 "gen",
						NULL };
	static const char *const sig_keys[] = { "kind",	       "entry",	     "types",
						"return_type", "result_arg", NULL };
	static const char *const lim_keys[] = { "cpu_ms", "memory_mb", "output_kb", "submit_cpu_ms",
						NULL };
	static const char *const cx_keys[] = { "max_n", NULL };

	unknown_keys(w, o, "", json_form ? top_json : top);
	const char *id = get_str(w, o, "", "id", true, 64);
	if (id && !valid_id(id))
		errf(w, line_of(w, "id"), "id '%s' must match [a-z0-9-]{1,64}", id);
	p->id = dup_or_null(id);
	p->title = dup_or_null(get_str(w, o, "", "title", true, 200));
	const char *d = get_str(w, o, "", "difficulty", true, 16);
	if (d && strcmp(d, "easy") && strcmp(d, "medium") && strcmp(d, "hard"))
		errf(w, line_of(w, "difficulty"),
		     "difficulty must be easy, medium or hard, not '%s'", d);
	p->difficulty = dup_or_null(d);
	p->statement = dup_or_null(get_str(w, o, "", "statement", true, PROBLEM_MAX_STATEMENT));
	p->starter = dup_or_null(get_str(w, o, "", "starter", true, PROBLEM_MAX_STARTER));

	json_t *tags = json_object_get(o, "tags");
	p->tags = json_array();
	if (tags && !json_is_array(tags)) {
		errf(w, line_of(w, "tags"), "'tags' must be a list of strings");
	} else if (tags) {
		size_t i;
		json_t *t;
		json_array_foreach(tags, i, t)
		{
			if (!json_is_string(t) || !json_string_length(t) ||
			    json_string_length(t) > 40)
				errf(w, line_of(w, "tags"),
				     "tag %zu must be a string of 1 to 40 bytes", i + 1);
			else
				json_array_append(p->tags, t);
		}
	}

	json_t *sig = json_object_get(o, "signature");
	p->signature_extra = json_object();
	if (!json_is_object(sig)) {
		errf(w, line_of(w, sig ? "signature" : ""),
		     sig ? "'signature' must be a mapping {kind, entry}"
			 : "missing key 'signature'");
	} else {
		unknown_keys(w, sig, "signature", sig_keys);
		const char *kind = get_str(w, sig, "signature", "kind", true, 16);
		if (kind && (judge_mode_parse(kind, &p->kind) || p->kind == JUDGE_MODE_SCRIPT)) {
			errf(w, line_of(w, "signature.kind"),
			     "signature.kind must be function, solution or design, not '%s'", kind);
			kind = NULL;
		}
		const char *entry = get_str(w, sig, "signature", "entry", true, 100);
		if (entry && (!(isalpha((unsigned char)entry[0]) || entry[0] == '_') ||
			      strspn(entry, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789_") != strlen(entry))) {
			errf(w, line_of(w, "signature.entry"),
			     "signature.entry '%s' is not a Python name", entry);
			entry = NULL;
		}
		p->entry = dup_or_null(entry);
		json_t *types = json_object_get(sig, "types"),
		       *rt = json_object_get(sig, "return_type");
		json_t *ra = json_object_get(sig, "result_arg");
		if (types) {
			size_t i;
			json_t *t;
			bool ok = json_is_array(types);
			json_array_foreach(types, i, t) ok &= valid_type(t);
			if (!ok)
				errf(w, line_of(w, "signature.types"),
				     "signature.types must be a list of type names or nulls");
			else
				json_object_set(p->signature_extra, "types", types);
		}
		if (rt) {
			if (!valid_type(rt))
				errf(w, line_of(w, "signature.return_type"),
				     "signature.return_type must be a type name or null");
			else
				json_object_set(p->signature_extra, "return_type", rt);
		}
		if (ra) {
			if (!json_is_integer(ra) || json_integer_value(ra) < 0)
				errf(w, line_of(w, "signature.result_arg"),
				     "signature.result_arg must be an argument index");
			else
				json_object_set(p->signature_extra, "result_arg", ra);
		}
	}

	json_t *lim = json_object_get(o, "limits");
	if (lim && !json_is_object(lim))
		errf(w, line_of(w, "limits"), "'limits' must be a mapping");
	else if (lim)
		unknown_keys(w, lim, "limits", lim_keys);
	p->limits.cpu_ms = get_uint(w, lim, "limits", "cpu_ms", 2000, 10, 20000);
	p->limits.mem_mb = get_uint(w, lim, "limits", "memory_mb", 256, 32, 2048);
	p->limits.output_kb = get_uint(w, lim, "limits", "output_kb", 64, 1, 1024);
	/* 0: the default, set once the tests are known (finish_tests). */
	p->submit_cpu_ms = get_uint(w, lim, "limits", "submit_cpu_ms", 0, 100, 120000);

	const char *cmp =
		json_object_get(o, "compare") ? get_str(w, o, "", "compare", true, 100) : "exact";
	if (cmp && judge_cmp_parse(cmp, &p->cmp)) {
		errf(w, line_of(w, "compare"),
		     "unknown comparator '%s' (exact, unordered, float, tuple_as_list, rel=X, "
		     "abs=Y)",
		     cmp);
		cmp = NULL;
	}
	p->compare = dup_or_null(cmp);

	json_t *cx = json_object_get(o, "complexity");
	if (cx && !json_is_object(cx))
		errf(w, line_of(w, "complexity"), "'complexity' must be a mapping {max_n}");
	else if (cx)
		unknown_keys(w, cx, "complexity", cx_keys);
	p->max_n = get_uint(w, cx, "complexity", "max_n", 4096, 4, 10000000);

	if (p->entry && p->starter && p->kind != JUDGE_MODE_SCRIPT && !read_params(p)) {
		if (p->kind == JUDGE_MODE_DESIGN) {
			char pat[160];
			snprintf(pat, sizeof(pat), "class %s", p->entry);
			if (!strstr(p->starter, pat))
				errf(w, line_of(w, "starter"), "the starter defines no class %s",
				     p->entry);
			p->max_args = -1; /* a design class may keep the default constructor */
		} else {
			errf(w, line_of(w, "starter"), "the starter defines no %s(...)%s", p->entry,
			     p->kind == JUDGE_MODE_SOLUTION ? " method in class Solution" : "");
		}
	}
	if (p->kind == JUDGE_MODE_SOLUTION && p->starter && !strstr(p->starter, "class Solution"))
		errf(w, line_of(w, "starter"),
		     "a solution problem's starter defines class Solution");
}

static int finish_tests(struct problem *p, const struct where *w)
{
	size_t samples = 0, hidden = 0;

	for (size_t i = 0; i < p->ntests; i++) {
		if (p->tests[i].hidden)
			hidden++;
		else
			samples++;
	}
	p->nsamples = samples;
	/*
	 * The default CPU budget of a Submit: twice one test's limit plus 100 ms
	 * a test, at most 20 s; an infinite loop then ends a Submit in seconds
	 * (every test TLE at cpu_ms once held the candidate ~35 s).
	 */
	if (!p->submit_cpu_ms) {
		uint64_t b = 2 * (uint64_t)p->limits.cpu_ms + 100 * (uint64_t)p->ntests;
		p->submit_cpu_ms = (uint32_t)(b < 20000 ? b : 20000);
	}
	if (samples > PROBLEM_MAX_SAMPLES)
		errf(w, 0, "%zu sample tests; at most %d (samples are shown to the candidate)",
		     samples, PROBLEM_MAX_SAMPLES);
	if (!hidden)
		errf(w, 0, "no hidden tests: a Submit would judge nothing unseen");
	/* Names: a test without one gets "sample k" / "hidden k"; names are unique. */
	for (size_t i = 0, s = 0, h = 0; i < p->ntests; i++) {
		struct problem_test *t = &p->tests[i];
		if (!t->name) {
			char n[32];
			snprintf(n, sizeof(n), "%s %zu", t->hidden ? "hidden" : "sample",
				 t->hidden ? ++h : ++s);
			t->name = strdup(n);
		} else if (t->hidden) {
			h++;
		} else {
			s++;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(p->tests[k].name, t->name)) {
				errf(w, 0, "two tests are named '%s'", t->name);
				break;
			}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the .py files of solutions/<kind>/ in name order. */
static void read_solutions(struct problem *p, const char *dir, json_t *errors)
{
	static const char *const kinds[] = { "accepted", "wrong", "slow" };
	size_t cap = 0;

	for (size_t k = 0; k < 3; k++) {
		char sub[64];
		snprintf(sub, sizeof(sub), "solutions/%s", kinds[k]);
		char *d = join(dir, sub);
		DIR *dh = d ? opendir(d) : NULL;
		char *names[256];
		size_t nn = 0;
		struct dirent *e;

		while (dh && (e = readdir(dh)) && nn < 256) {
			size_t l = strlen(e->d_name);
			if (l > 3 && !strcmp(e->d_name + l - 3, ".py"))
				names[nn++] = strdup(e->d_name);
		}
		if (dh)
			closedir(dh);
		qsort(names, nn, sizeof(names[0]), cmp_str);
		for (size_t i = 0; i < nn; i++) {
			char *path = join(d, names[i]);
			struct where w = { .file = path, .errors = errors };
			size_t len;
			char *code = path ? read_file(path, PROBLEM_MAX_FILE, &len, &w) : NULL;
			if (code && p->nsolutions == cap) {
				cap = cap ? cap * 2 : 8;
				p->solutions = realloc(p->solutions, cap * sizeof(*p->solutions));
			}
			if (code && p->solutions) {
				struct problem_solution *s = &p->solutions[p->nsolutions++];
				s->path = path;
				s->kind = strdup(kinds[k]);
				s->code = code;
			} else {
				free(path);
				free(code);
			}
			free(names[i]);
		}
		free(d);
	}
}

static int load_folder(const char *dir, struct problem *p, json_t *errors)
{
	char *ypath = join(dir, "problem.yaml");
	json_t *lines = json_object();
	struct where w = { .file = ypath, .lines = lines, .errors = errors };
	size_t len, before = json_array_size(errors), cap = 0;
	char *text = read_file(ypath, PROBLEM_MAX_FILE, &len, &w);
	json_t *o = text ? parse_yaml(text, len, &w) : NULL;

	free(text);
	if (o) {
		read_fields(p, o, &w, false);
		json_decref(o);
		if (json_array_size(errors) == before) {
			read_jsonl(p, dir, "tests/sample.jsonl", false, errors, &cap);
			read_jsonl(p, dir, "tests/hidden.jsonl", true, errors, &cap);
			struct where tw = { .file = dir, .errors = errors };
			if (json_array_size(errors) == before)
				finish_tests(p, &tw);
		}
		char *gpath = join(dir, "gen.py");
		if (gpath && exists(gpath)) {
			struct where gw = { .file = gpath, .errors = errors };
			p->gen = read_file(gpath, PROBLEM_MAX_FILE, &len, &gw);
			if (p->gen && !strstr(p->gen, "def make("))
				errf(&gw, 0, "gen.py must define make(n, seed)");
		}
		free(gpath);
		read_solutions(p, dir, errors);
	}
	json_decref(lines);
	free(ypath);
	return json_array_size(errors) > before ? -1 : 0;
}

/* A Py-Katas file: id, title, description, starter_code, test_cases, function_name. */
static int load_kata(const char *path, struct problem *p, json_t *errors)
{
	static const char *const keys[] = { "id",	    "title",	  "description",
					    "starter_code", "test_cases", "function_name",
					    "difficulty",   "tags",	  NULL };
	json_t *lines = json_object();
	struct where w = { .file = path, .lines = lines, .errors = errors };
	size_t len, before = json_array_size(errors), cap = 0;
	char *text = read_file(path, PROBLEM_MAX_FILE, &len, &w);
	json_t *o = text ? parse_yaml(text, len, &w) : NULL;

	free(text);
	if (!o) {
		json_decref(lines);
		return -1;
	}
	unknown_keys(&w, o, "", keys);
	/* The kata's own id may hold '_' or capitals: ours is [a-z0-9-]. */
	const char *kid = get_str(&w, o, "", "id", true, 64);
	if (kid) {
		char id[65];
		size_t i;
		for (i = 0; kid[i] && i < 64; i++)
			id[i] = kid[i] == '_' ? '-' : (char)tolower((unsigned char)kid[i]);
		id[i] = '\0';
		if (!valid_id(id))
			errf(&w, line_of(&w, "id"), "id '%s' cannot become [a-z0-9-]{1,64}", kid);
		p->id = strdup(id);
	}
	json_t *conv = json_object();
	json_object_set_new(conv, "id", json_string(p->id ? p->id : "x"));
	json_object_set(conv, "title", json_object_get(o, "title"));
	json_object_set_new(conv, "difficulty",
			    json_object_get(o, "difficulty")
				    ? json_incref(json_object_get(o, "difficulty"))
				    : json_string("easy"));
	if (json_object_get(o, "tags"))
		json_object_set(conv, "tags", json_object_get(o, "tags"));
	json_object_set(conv, "statement", json_object_get(o, "description"));
	json_object_set(conv, "starter", json_object_get(o, "starter_code"));
	json_object_set_new(conv, "signature",
			    json_pack("{s:s, s:O?}", "kind", "function", "entry",
				      json_object_get(o, "function_name")));
	/* Messages about these keys point at the kata's own names. */
	static const char *const rename[][2] = { { "statement", "description" },
						 { "starter", "starter_code" },
						 { "signature.entry", "function_name" },
						 { "signature", "function_name" } };
	for (size_t i = 0; i < sizeof(rename) / sizeof(rename[0]); i++)
		json_object_set(lines, rename[i][0], json_object_get(lines, rename[i][1]));
	for (size_t i = 0; i < 3; i++)
		if (!json_object_get(o, (const char *[]){ "description", "starter_code",
							  "function_name" }[i]))
			errf(&w, 0, "missing key '%s'",
			     (const char *[]){ "description", "starter_code", "function_name" }[i]);
	if (json_array_size(errors) == before) {
		free(p->id);
		p->id = NULL;
		read_fields(p, conv, &w, false);
	}
	json_decref(conv);
	json_t *cases = json_object_get(o, "test_cases");
	if (json_array_size(errors) == before && !json_is_array(cases))
		errf(&w, line_of(&w, "test_cases"),
		     "test_cases must be a list of {name, input, expected}");
	if (json_array_size(errors) == before) {
		size_t i;
		json_t *c;
		json_array_foreach(cases, i, c)
		{
			char path_k[64];
			snprintf(path_k, sizeof(path_k), "test_cases[%zu]", i);
			long line = line_of(&w, "test_cases");
			if (!json_is_object(c) || !json_object_get(c, "input") ||
			    json_object_size(c) > 3 ||
			    (json_object_size(c) == 3 && !json_object_get(c, "name"))) {
				errf(&w, line, "%s must be {name, input, expected}", path_k);
				continue;
			}
			if (i >= PROBLEM_MAX_TESTS) {
				errf(&w, line, "more than %d tests in all", PROBLEM_MAX_TESTS);
				break;
			}
			json_t *t = json_pack("{s:[O], s:O?}", "args", json_object_get(c, "input"),
					      "expected", json_object_get(c, "expected"));
			if (json_object_get(c, "name"))
				json_object_set(t, "name", json_object_get(c, "name"));
			if (add_test(p, &cap) &&
			    read_test(p, t, &w, line, true, &p->tests[p->ntests])) {
				/* The first two are samples, the rest hidden. */
				p->tests[p->ntests].hidden = i >= 2;
				p->ntests++;
			}
			json_decref(t);
		}
		if (json_array_size(errors) == before)
			finish_tests(p, &w);
	}
	json_decref(o);
	json_decref(lines);
	return json_array_size(errors) > before ? -1 : 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

int problem_load(const char *path, struct problem **out, json_t *errors)
{
	struct problem *p = calloc(1, sizeof(*p));
	struct stat st;
	int rc;

	*out = NULL;
	if (!p) {
		json_array_append_new(errors, json_string("out of memory"));
		return -1;
	}
	if (stat(path, &st) < 0) {
		struct where w = { .file = path, .errors = errors };
		errf(&w, 0, "%s", strerror(errno));
		rc = -1;
	} else if (S_ISDIR(st.st_mode)) {
		rc = load_folder(path, p, errors);
	} else if (has_suffix(path, ".yaml") || has_suffix(path, ".yml")) {
		rc = load_kata(path, p, errors);
	} else {
		struct where w = { .file = path, .errors = errors };
		errf(&w, 0, "neither a problem folder nor a kata .yaml file");
		rc = -1;
	}
	if (rc) {
		problem_destroy(p);
		return -1;
	}
	p->source = strdup(path);
	*out = p;
	return 0;
}

int problem_from_json(const json_t *o, const char *where, struct problem **out, json_t *errors)
{
	struct problem *p = calloc(1, sizeof(*p));
	struct where w = { .file = where, .errors = errors };
	size_t before = json_array_size(errors), cap = 0;

	*out = NULL;
	if (!p || !json_is_object(o)) {
		errf(&w, 0, p ? "a problem must be a JSON object" : "out of memory");
		free(p);
		return -1;
	}
	read_fields(p, o, &w, true);
	json_t *tests = json_object_get(o, "tests");
	if (json_array_size(errors) == before &&
	    (!json_is_object(tests) || !json_is_array(json_object_get(tests, "hidden"))))
		errf(&w, 0, "'tests' must be {\"sample\": [...], \"hidden\": [...]}");
	if (json_array_size(errors) == before) {
		static const char *const which[] = { "sample", "hidden" };
		for (size_t k = 0; k < 2; k++) {
			json_t *a = json_object_get(tests, which[k]), *t;
			size_t i;
			char file[64];
			snprintf(file, sizeof(file), "%s: tests.%s", where, which[k]);
			struct where tw = { .file = file, .errors = errors };
			if (a && !json_is_array(a)) {
				errf(&tw, 0, "must be a list");
				continue;
			}
			json_array_foreach(a, i, t)
			{
				if (p->ntests >= PROBLEM_MAX_TESTS) {
					errf(&tw, 0, "more than %d tests in all",
					     PROBLEM_MAX_TESTS);
					break;
				}
				if (add_test(p, &cap) &&
				    read_test(p, t, &tw, (long)i + 1, true, &p->tests[p->ntests])) {
					p->tests[p->ntests].hidden = k == 1;
					p->ntests++;
				}
			}
		}
		if (json_array_size(errors) == before)
			finish_tests(p, &w);
	}
	json_t *gen = json_object_get(o, "gen");
	if (gen && !json_is_null(gen)) {
		if (!json_is_string(gen) || !strstr(json_string_value(gen), "def make("))
			errf(&w, 0, "'gen' must be gen.py's source, defining make(n, seed)");
		else
			p->gen = strdup(json_string_value(gen));
	}
	if (json_array_size(errors) > before) {
		problem_destroy(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ---- views ----------------------------------------------------------------- */

static json_t *test_json(const struct problem_test *t, const char *name)
{
	json_t *o = json_pack("{s:s, s:O}", "name", name, "args", t->args);

	if (t->expected)
		json_object_set(o, "expected", t->expected);
	if (t->extra)
		json_object_update(o, t->extra);
	return o;
}

json_t *problem_json(const struct problem *p, enum problem_view view)
{
	json_t *sig = json_pack("{s:s, s:s}", "kind", judge_mode_str(p->kind), "entry", p->entry);
	json_t *lim = json_pack("{s:i, s:i, s:i, s:i}", "cpu_ms", (int)p->limits.cpu_ms,
				"memory_mb", (int)p->limits.mem_mb, "output_kb",
				(int)p->limits.output_kb, "submit_cpu_ms", (int)p->submit_cpu_ms);
	json_t *o = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:s}", "id", p->id, "title", p->title,
			      "difficulty", p->difficulty, "tags", p->tags, "statement",
			      p->statement, "starter", p->starter, "compare", p->compare);

	if (!o || !sig || !lim) {
		json_decref(o);
		json_decref(sig);
		json_decref(lim);
		return NULL;
	}
	json_object_update(sig, p->signature_extra);
	json_object_set_new(o, "limits", lim);
	if (view == PROBLEM_VIEW_STORE) {
		json_t *sample = json_array(), *hidden = json_array();
		for (size_t i = 0; i < p->ntests; i++)
			json_array_append_new(p->tests[i].hidden ? hidden : sample,
					      test_json(&p->tests[i], p->tests[i].name));
		json_object_set_new(o, "signature", sig);
		json_object_set_new(o, "tests",
				    json_pack("{s:o, s:o}", "sample", sample, "hidden", hidden));
		json_object_set_new(o, "complexity", json_pack("{s:i}", "max_n", (int)p->max_n));
		if (p->gen)
			json_object_set_new(o, "gen", json_string(p->gen));
		return o;
	}
	if (!json_object_get(sig, "types"))
		json_object_set_new(sig, "types", json_null());
	if (!json_object_get(sig, "return_type"))
		json_object_set_new(sig, "return_type", json_null());
	json_object_set(sig, "params", p->params ? p->params : json_array());
	json_object_set_new(o, "signature", sig);
	json_t *samples = json_array(), *hidden = view == PROBLEM_VIEW_ADMIN ? json_array() : NULL;
	for (size_t i = 0, h = 0; i < p->ntests; i++) {
		if (!p->tests[i].hidden) {
			json_array_append_new(samples, test_json(&p->tests[i], p->tests[i].name));
		} else if (hidden) {
			char n[32];
			snprintf(n, sizeof(n), "hidden %zu", ++h);
			json_t *t = test_json(&p->tests[i], n);
			json_object_set_new(t, "file_name", json_string(p->tests[i].name));
			json_array_append_new(hidden, t);
		}
	}
	json_object_set_new(o, "samples", samples);
	json_object_set_new(o, "hidden", json_integer((json_int_t)(p->ntests - p->nsamples)));
	json_object_set_new(o, "complexity", json_boolean(p->gen != NULL));
	if (hidden)
		json_object_set_new(o, "hidden_tests", hidden);
	return o;
}

int problem_check_custom(const struct problem *p, const json_t *tests, char **why)
{
	char msg[300];
	size_t i;
	json_t *t;

	*why = NULL;
	if (!json_is_array(tests) || json_array_size(tests) > PROBLEM_MAX_CUSTOM) {
		snprintf(msg, sizeof(msg), "tests must be a list of at most %d tests",
			 PROBLEM_MAX_CUSTOM);
		*why = strdup(msg);
		return -1;
	}
	json_array_foreach(tests, i, t)
	{
		json_t *errs = json_array();
		char where[48];
		snprintf(where, sizeof(where), "custom test %zu", i + 1);
		struct where w = { .file = where, .errors = errs };
		struct problem_test tt = { 0 };
		bool ok = read_test(p, t, &w, 0, false, &tt);
		free(tt.name);
		json_decref(tt.args);
		json_decref(tt.expected);
		json_decref(tt.extra);
		if (!ok) {
			*why = strdup(json_string_value(json_array_get(errs, 0)));
			json_decref(errs);
			return -1;
		}
		json_decref(errs);
	}
	return 0;
}

json_t *problem_harness_tests(const struct problem *p, size_t n, const json_t *custom)
{
	json_t *a = json_array();
	size_t i;
	json_t *t;

	for (i = 0; a && i < n && i < p->ntests; i++) {
		json_t *o =
			json_pack("{s:s, s:O}", "name", p->tests[i].name, "args", p->tests[i].args);
		if (o && p->tests[i].extra)
			json_object_update(o, p->tests[i].extra);
		json_array_append_new(a, o);
	}
	json_array_foreach((json_t *)custom, i, t)
	{
		char name[32];
		snprintf(name, sizeof(name), "custom %zu", i + 1);
		json_t *o = json_deep_copy(t);
		json_object_del(o, "expected");
		if (!json_object_get(o, "name"))
			json_object_set_new(o, "name", json_string(name));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *problem_harness_options(const struct problem *p)
{
	return json_deep_copy(p->signature_extra);
}
