/*
 * values-internal.h - the parsed canonical value tree, shared by
 * values.c (parser) and compare.c (comparators), and exposed to tests.
 *
 * A canonical JSON value is turned once into this tree so that markers
 * ({"$int": ...}, {"$tuple": ...}) are recognised and validated in one place
 * and comparisons never re-inspect JSON objects.  Every node lives in one
 * arena owned by a struct judge__vtree; strings may point into the jansson
 * value the tree was built from, which must outlive the tree.
 */
#ifndef JUDGE_VALUES_INTERNAL_H
#define JUDGE_VALUES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "compare.h"

/* Kinds, in their canonical sort order (see judge__value_order()). */
enum judge__vkind {
	JUDGE__V_NULL,
	JUDGE__V_BOOL,
	JUDGE__V_INT,	 /* fits int64 */
	JUDGE__V_BIGINT, /* outside int64: sign and digits, no leading zero */
	JUDGE__V_FLOAT,	 /* any double, NaN and infinities included */
	JUDGE__V_STR,	 /* generalised UTF-8 (lone surrogates from $str kept) */
	JUDGE__V_BYTES,	 /* base64 text as sent */
	JUDGE__V_LIST,
	JUDGE__V_TUPLE,
	JUDGE__V_SET,	/* items sorted by judge__value_order() */
	JUDGE__V_DICT,	/* 2n items, key/value interleaved, sorted by key */
	JUDGE__V_REPR,	/* repr() of an object the form cannot express */
	JUDGE__V_CAPPED /* a value cut by the harness's caps: equals nothing */
};

/*
 * One node.  For strings s/len (not NUL-terminated); for containers items/n
 * (a dict holds 2n items).  Nodes are plain data: copying one is cheap and
 * keeps pointing at the same arena.
 */
struct judge__value {
	enum judge__vkind kind;
	size_t n;
	union {
		bool b;
		int64_t i;
		double f;
		const char *s;
		struct judge__value *items;
	} u;
};

struct judge__arena;

/* A parsed value and the arena holding it. */
struct judge__vtree {
	struct judge__value root;
	struct judge__arena *arena;
};

/*
 * Builds the tree of json (only read; must outlive the tree).  Returns 0,
 * -1 when json is not canonical form, or JUDGE_EVNOMEM.  On failure tree
 * holds nothing to free (judge__vtree_finish() is still safe).
 */
int judge__vtree_init(struct judge__vtree *tree, const json_t *json);

/* Frees the tree's arena; accepts a tree that failed to init or is zeroed. */
void judge__vtree_finish(struct judge__vtree *tree);

/* Total order over values: kinds by rank, numbers by value, then lexicographic. */
int judge__value_order(const struct judge__value *a, const struct judge__value *b);

/* Sorts n values in place by judge__value_order(). */
void judge__values_sort(struct judge__value *items, size_t n);

/* Equality under cmp (never NULL), recursively; see docs/judge-values.md. */
bool judge__value_equal(const struct judge__value *a, const struct judge__value *b,
			const struct judge_cmp *cmp);

/*
 * The allocator used for arenas; tests install one that fails the Nth call.
 * NULL restores malloc/free.  Not thread-safe: set before any other call.
 */
void judge__values_set_allocator(void *(*alloc)(size_t), void (*release)(void *));
void *judge__values_alloc(size_t size);
void judge__values_release(void *p);

#endif /* JUDGE_VALUES_INTERNAL_H */
