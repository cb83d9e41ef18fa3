/*
 * crdt-internal.h - what tests may see of crdt/'s insides.
 *
 * Other modules include only crdt.h.  Tests include this header to walk the
 * structure after every step.
 */
#ifndef TANDEM_CRDT_INTERNAL_H
#define TANDEM_CRDT_INTERNAL_H

#include "crdt.h"

/*
 * Walks the whole document and checks every invariant (tree counts, run
 * lengths, index entries, op log, UTF-8 of stored text).  Returns 0, or a
 * negative number identifying the first broken invariant (its line in the
 * source).  Costs O(n); for tests only.
 */
int crdt__check(const struct crdt_doc *doc);

/* Number of item runs in the tree (tests and benchmarks look at RLE). */
size_t crdt__run_count(const struct crdt_doc *doc);

#endif /* TANDEM_CRDT_INTERNAL_H */
