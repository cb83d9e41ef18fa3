/*
 * values.c - parse the canonical JSON value form into a comparable tree.
 *
 * The harness writes every returned value, and problems write every expected
 * value, in the canonical form of docs/judge-values.md: plain JSON plus a few
 * one-member marker objects ({"$int": "..."}, {"$tuple": [...]}, ...).  This
 * file is the only place that knows those markers on the C side: it validates
 * them and builds a tree in which sets and dicts are already sorted, so the
 * comparators in compare.c are simple recursive walks.  It also defines the
 * total order those sorts use.
 *
 * It must never trust its input: a malformed marker is an error, never a
 * crash or a silent "equal".  Nesting is bounded by jansson's parser depth
 * limit, which bounds the recursion here too.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "values-internal.h"

static void *(*values_alloc)(size_t) = malloc;
static void (*values_release)(void *) = free;

void judge__values_set_allocator(void *(*alloc)(size_t), void (*release)(void *))
{
	values_alloc = alloc ? alloc : malloc;
	values_release = release ? release : free;
}

void *judge__values_alloc(size_t size)
{
	return values_alloc(size);
}

void judge__values_release(void *p)
{
	if (p)
		values_release(p);
}

const char *judge_compare_strerror(int err)
{
	switch (err) {
#define JUDGE__COMPARE_STR(name, code, text) \
	case JUDGE_E##name:                  \
		return text;
		JUDGE_COMPARE_ERRNO_MAP(JUDGE__COMPARE_STR)
#undef JUDGE__COMPARE_STR
	}
	return NULL;
}

/*
 * A bump allocator: a tree is built once and freed at once, and a returned
 * list of a million ints would otherwise cost a million malloc calls.
 */
struct judge__arena {
	struct judge__arena *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

#define ARENA_CHUNK (64u * 1024u)

static void *arena_alloc(struct judge__arena **head, size_t size)
{
	struct judge__arena *a = *head;
	size_t align = sizeof(max_align_t);

	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;
	if (!a || a->size - a->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;

		if (cap > SIZE_MAX - sizeof(*a))
			return NULL;
		a = judge__values_alloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->size = cap;
		a->used = 0;
		/* Keep the chunk with room in front: a big one-off goes second. */
		if (*head && cap == size && (*head)->size - (*head)->used > 0) {
			a->next = (*head)->next;
			(*head)->next = a;
		} else {
			a->next = *head;
			*head = a;
		}
	}
	void *p = (char *)a->data + a->used;
	a->used += size;
	return p;
}

void judge__vtree_finish(struct judge__vtree *tree)
{
	if (!tree)
		return;
	struct judge__arena *a = tree->arena;

	while (a) {
		struct judge__arena *next = a->next;

		judge__values_release(a);
		a = next;
	}
	tree->arena = NULL;
	tree->root.kind = JUDGE__V_NULL;
	tree->root.n = 0;
}

/* Parser state: the arena and the first error (-1 malformed, or EVNOMEM). */
struct parser {
	struct judge__arena *arena;
	int err;
	unsigned depth;
};

/*
 * jansson's parser stops at 2048 levels, but judge_compare_json() also takes
 * values built in memory; this bound keeps the recursion below safe anyway.
 */
#define MAX_DEPTH 4096

static int parse(struct parser *p, json_t *j, struct judge__value *out);

static void fail(struct parser *p, int err)
{
	if (!p->err)
		p->err = err;
}

static int kind_rank(enum judge__vkind k)
{
	switch (k) {
	case JUDGE__V_NULL:
		return 0;
	case JUDGE__V_BOOL:
		return 1;
	case JUDGE__V_INT:
	case JUDGE__V_BIGINT:
	case JUDGE__V_FLOAT:
		return 2;
	default:
		return (int)k - 2;
	}
}

static int cmp_ld(long double a, long double b)
{
	return (a > b) - (a < b);
}

/* Big ints are stored as text: their magnitude as a long double, for floats. */
static long double bigint_value(const struct judge__value *v)
{
	return strtold(v->u.s, NULL);
}

static int bigint_order(const struct judge__value *a, const struct judge__value *b)
{
	bool an = a->u.s[0] == '-', bn = b->u.s[0] == '-';

	if (an != bn)
		return an ? -1 : 1;
	int mag;
	if (a->n != b->n)
		mag = a->n < b->n ? -1 : 1;
	else
		mag = memcmp(a->u.s, b->u.s, a->n);
	mag = (mag > 0) - (mag < 0);
	return an ? -mag : mag;
}

static long double number_value(const struct judge__value *v)
{
	if (v->kind == JUDGE__V_INT)
		return (long double)v->u.i;
	if (v->kind == JUDGE__V_FLOAT)
		return (long double)v->u.f;
	return bigint_value(v);
}

static bool is_nan(const struct judge__value *v)
{
	return v->kind == JUDGE__V_FLOAT && isnan(v->u.f);
}

/* Numbers by value (NaN last); a tie between kinds goes by kind. */
static int number_order(const struct judge__value *a, const struct judge__value *b)
{
	int r;

	if (is_nan(a) || is_nan(b))
		r = (int)is_nan(a) - (int)is_nan(b);
	else if (a->kind == JUDGE__V_INT && b->kind == JUDGE__V_INT)
		r = (a->u.i > b->u.i) - (a->u.i < b->u.i);
	else if (a->kind == JUDGE__V_BIGINT && b->kind == JUDGE__V_BIGINT)
		r = bigint_order(a, b);
	else if (a->kind == JUDGE__V_BIGINT && b->kind == JUDGE__V_INT)
		r = a->u.s[0] == '-' ? -1 : 1;
	else if (a->kind == JUDGE__V_INT && b->kind == JUDGE__V_BIGINT)
		r = b->u.s[0] == '-' ? 1 : -1;
	else
		r = cmp_ld(number_value(a), number_value(b));
	if (r == 0)
		r = ((int)a->kind > (int)b->kind) - ((int)a->kind < (int)b->kind);
	return r;
}

static int bytes_order(const struct judge__value *a, const struct judge__value *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int r = n ? memcmp(a->u.s, b->u.s, n) : 0;

	if (r)
		return r > 0 ? 1 : -1;
	return (a->n > b->n) - (a->n < b->n);
}

int judge__value_order(const struct judge__value *a, const struct judge__value *b)
{
	int ra = kind_rank(a->kind), rb = kind_rank(b->kind);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->kind) {
	case JUDGE__V_NULL:
	case JUDGE__V_CAPPED:
		return 0;
	case JUDGE__V_BOOL:
		return (int)a->u.b - (int)b->u.b;
	case JUDGE__V_INT:
	case JUDGE__V_BIGINT:
	case JUDGE__V_FLOAT:
		return number_order(a, b);
	case JUDGE__V_STR:
	case JUDGE__V_BYTES:
	case JUDGE__V_REPR:
		return bytes_order(a, b);
	case JUDGE__V_LIST:
	case JUDGE__V_TUPLE:
	case JUDGE__V_SET:
	case JUDGE__V_DICT: {
		size_t na = a->kind == JUDGE__V_DICT ? 2 * a->n : a->n;
		size_t nb = b->kind == JUDGE__V_DICT ? 2 * b->n : b->n;

		for (size_t i = 0; i < na && i < nb; i++) {
			int r = judge__value_order(&a->u.items[i], &b->u.items[i]);

			if (r)
				return r;
		}
		return (na > nb) - (na < nb);
	}
	}
	return 0;
}

static int order_cb(const void *a, const void *b)
{
	return judge__value_order(a, b);
}

static int int_order_cb(const void *a, const void *b)
{
	int64_t x = ((const struct judge__value *)a)->u.i;
	int64_t y = ((const struct judge__value *)b)->u.i;

	return (x > y) - (x < y);
}

void judge__values_sort(struct judge__value *items, size_t n)
{
	size_t i;

	/* Lists of plain ints are the common large case: sort them directly. */
	for (i = 0; i < n && items[i].kind == JUDGE__V_INT; i++)
		;
	qsort(items, n, sizeof(*items), i == n ? int_order_cb : order_cb);
}

/* Dict entries are key/value pairs laid out flat; sort them by key. */
static int pair_order_cb(const void *a, const void *b)
{
	return judge__value_order(a, b);
}

static void sort_pairs(struct judge__value *items, size_t n)
{
	qsort(items, n, 2 * sizeof(*items), pair_order_cb);
}

static struct judge__value *alloc_items(struct parser *p, size_t n)
{
	if (n > SIZE_MAX / sizeof(struct judge__value) / 2) {
		fail(p, JUDGE_EVNOMEM);
		return NULL;
	}
	struct judge__value *items = arena_alloc(&p->arena, n * sizeof(*items));

	if (!items)
		fail(p, JUDGE_EVNOMEM);
	return items;
}

static int parse_array(struct parser *p, json_t *j, enum judge__vkind kind,
		       struct judge__value *out)
{
	if (!json_is_array(j)) {
		fail(p, -1);
		return -1;
	}
	size_t n = json_array_size(j);
	struct judge__value *items = alloc_items(p, n);

	if (!items)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (parse(p, json_array_get(j, i), &items[i]))
			return -1;
	}
	out->kind = kind;
	out->n = n;
	out->u.items = items;
	if (kind == JUDGE__V_SET)
		judge__values_sort(items, n);
	return 0;
}

static int parse_dict_pairs(struct parser *p, json_t *j, struct judge__value *out)
{
	if (!json_is_array(j)) {
		fail(p, -1);
		return -1;
	}
	size_t n = json_array_size(j);
	struct judge__value *items = alloc_items(p, 2 * n);

	if (!items)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *pair = json_array_get(j, i);

		if (!json_is_array(pair) || json_array_size(pair) != 2) {
			fail(p, -1);
			return -1;
		}
		if (parse(p, json_array_get(pair, 0), &items[2 * i]) ||
		    parse(p, json_array_get(pair, 1), &items[2 * i + 1]))
			return -1;
	}
	out->kind = JUDGE__V_DICT;
	out->n = n;
	out->u.items = items;
	sort_pairs(items, n);
	return 0;
}

static int parse_object(struct parser *p, json_t *j, struct judge__value *out)
{
	size_t n = json_object_size(j);
	struct judge__value *items = alloc_items(p, 2 * n);
	const char *key;
	json_t *val;
	size_t i = 0;

	if (!items)
		return -1;
	json_object_foreach(j, key, val)
	{
		items[2 * i].kind = JUDGE__V_STR;
		items[2 * i].u.s = key;
		items[2 * i].n = strlen(key);
		if (parse(p, val, &items[2 * i + 1]))
			return -1;
		i++;
	}
	out->kind = JUDGE__V_DICT;
	out->n = n;
	out->u.items = items;
	sort_pairs(items, n);
	return 0;
}

/*
 * {"$int": "-123..."}: validate, strip leading zeros, and fold values that
 * fit int64 back into plain ints so a hand-written {"$int": "5"} equals 5.
 */
static int parse_bigint(struct parser *p, json_t *j, struct judge__value *out)
{
	const char *s = json_string_value(j);

	if (!s)
		goto err;
	bool neg = *s == '-';
	const char *d = s + neg;

	if (!*d)
		goto err;
	for (const char *c = d; *c; c++) {
		if (*c < '0' || *c > '9')
			goto err;
	}
	while (d[0] == '0' && d[1])
		d++;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);

	if (errno != ERANGE) {
		out->kind = JUDGE__V_INT;
		out->u.i = v;
		return 0;
	}
	size_t len = strlen(d) + neg;
	char *copy = arena_alloc(&p->arena, len + 1);

	if (!copy) {
		fail(p, JUDGE_EVNOMEM);
		return -1;
	}
	if (neg)
		copy[0] = '-';
	memcpy(copy + neg, d, len - neg + 1);
	out->kind = JUDGE__V_BIGINT;
	out->u.s = copy;
	out->n = len;
	return 0;
err:
	fail(p, -1);
	return -1;
}

static int parse_special_float(struct parser *p, json_t *j, struct judge__value *out)
{
	const char *s = json_string_value(j);

	out->kind = JUDGE__V_FLOAT;
	if (s && strcmp(s, "nan") == 0)
		out->u.f = NAN;
	else if (s && strcmp(s, "inf") == 0)
		out->u.f = INFINITY;
	else if (s && strcmp(s, "-inf") == 0)
		out->u.f = -INFINITY;
	else {
		fail(p, -1);
		return -1;
	}
	return 0;
}

/*
 * {"$str": [code points]}: strings with lone surrogates.  They are written
 * in generalised UTF-8 (surrogates as ordinary 3-byte sequences), so the
 * same code points always give the same bytes.
 */
static int parse_codepoints(struct parser *p, json_t *j, struct judge__value *out)
{
	if (!json_is_array(j))
		goto err;
	size_t n = json_array_size(j);

	if (n > SIZE_MAX / 4) {
		fail(p, JUDGE_EVNOMEM);
		return -1;
	}
	unsigned char *buf = arena_alloc(&p->arena, 4 * n + 1);
	size_t len = 0;

	if (!buf) {
		fail(p, JUDGE_EVNOMEM);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(j, i);

		if (!json_is_integer(c))
			goto err;
		json_int_t cp = json_integer_value(c);

		if (cp < 0 || cp > 0x10FFFF)
			goto err;
		if (cp < 0x80) {
			buf[len++] = (unsigned char)cp;
		} else if (cp < 0x800) {
			buf[len++] = (unsigned char)(0xC0 | (cp >> 6));
			buf[len++] = (unsigned char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			buf[len++] = (unsigned char)(0xE0 | (cp >> 12));
			buf[len++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			buf[len++] = (unsigned char)(0x80 | (cp & 0x3F));
		} else {
			buf[len++] = (unsigned char)(0xF0 | (cp >> 18));
			buf[len++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
			buf[len++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			buf[len++] = (unsigned char)(0x80 | (cp & 0x3F));
		}
	}
	out->kind = JUDGE__V_STR;
	out->u.s = (const char *)buf;
	out->n = len;
	return 0;
err:
	fail(p, -1);
	return -1;
}

static int parse_text(struct parser *p, json_t *j, enum judge__vkind kind, struct judge__value *out)
{
	if (!json_is_string(j)) {
		fail(p, -1);
		return -1;
	}
	out->kind = kind;
	out->u.s = json_string_value(j);
	out->n = json_string_length(j);
	return 0;
}

static int parse_marker(struct parser *p, const char *key, json_t *v, struct judge__value *out)
{
	if (strcmp(key, "$int") == 0)
		return parse_bigint(p, v, out);
	if (strcmp(key, "$float") == 0)
		return parse_special_float(p, v, out);
	if (strcmp(key, "$tuple") == 0)
		return parse_array(p, v, JUDGE__V_TUPLE, out);
	if (strcmp(key, "$set") == 0)
		return parse_array(p, v, JUDGE__V_SET, out);
	if (strcmp(key, "$dict") == 0)
		return parse_dict_pairs(p, v, out);
	if (strcmp(key, "$str") == 0)
		return parse_codepoints(p, v, out);
	if (strcmp(key, "$bytes") == 0)
		return parse_text(p, v, JUDGE__V_BYTES, out);
	if (strcmp(key, "$repr") == 0)
		return parse_text(p, v, JUDGE__V_REPR, out);
	if (strcmp(key, "$capped") == 0) {
		out->kind = JUDGE__V_CAPPED;
		return 0;
	}
	fail(p, -1);
	return -1;
}

static int parse_value(struct parser *p, json_t *j, struct judge__value *out);

static int parse(struct parser *p, json_t *j, struct judge__value *out)
{
	int rc;

	out->n = 0;
	if (!j || p->depth >= MAX_DEPTH) {
		fail(p, -1);
		return -1;
	}
	p->depth++;
	rc = parse_value(p, j, out);
	p->depth--;
	return rc;
}

static int parse_value(struct parser *p, json_t *j, struct judge__value *out)
{
	switch (json_typeof(j)) {
	case JSON_NULL:
		out->kind = JUDGE__V_NULL;
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		out->kind = JUDGE__V_BOOL;
		out->u.b = json_is_true(j);
		return 0;
	case JSON_INTEGER:
		out->kind = JUDGE__V_INT;
		out->u.i = (int64_t)json_integer_value(j);
		return 0;
	case JSON_REAL:
		out->kind = JUDGE__V_FLOAT;
		out->u.f = json_real_value(j);
		return 0;
	case JSON_STRING:
		return parse_text(p, j, JUDGE__V_STR, out);
	case JSON_ARRAY:
		return parse_array(p, j, JUDGE__V_LIST, out);
	case JSON_OBJECT:
		if (json_object_size(j) == 1) {
			void *it = json_object_iter(j);
			const char *key = json_object_iter_key(it);

			if (key[0] == '$')
				return parse_marker(p, key, json_object_iter_value(it), out);
		}
		return parse_object(p, j, out);
	}
	fail(p, -1);
	return -1;
}

int judge__vtree_init(struct judge__vtree *tree, const json_t *json)
{
	struct parser p = { NULL, 0, 0 };

	tree->arena = NULL;
	tree->root.kind = JUDGE__V_NULL;
	tree->root.n = 0;
	/* jansson's read accessors take non-const pointers but do not write. */
	if (parse(&p, (json_t *)json, &tree->root)) {
		tree->arena = p.arena;
		judge__vtree_finish(tree);
		return p.err ? p.err : -1;
	}
	tree->arena = p.arena;
	return 0;
}
