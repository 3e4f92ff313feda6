/* $merge: folds the values of a shape's parts with its policy (replace, deep, append, keyed) in
 * declaration order, keeping every scalar's text as the upstream wrote it. */
#ifndef BFF_COMPOSE_SHAPE_MERGE_H
#define BFF_COMPOSE_SHAPE_MERGE_H

#include "compose/shape.h"

/** Merges the scanned values `parts` (an entry NULL or empty = that part is absent) as `s`
 * says and writes the result to `out`. Returns 0, or -1 (nothing written) when the result is
 * absent or null. */
int bff_shape_merge(const bff_shape_t *s, const bff_jdoc_t *const *parts, size_t nparts,
                    bff_jwrite_t *out);

#endif
