/* Path expressions into JSON values: `user.address.city`, `orders[0].id`, `orders[-1]`,
 * `products[:5]`, `orders[*].id`, `meta["odd key"]`. The first segment names a root
 * (a source, a parameter, `header`, `item`); resolving it is the caller's business. */
#ifndef BFF_COMPOSE_JPATH_H
#define BFF_COMPOSE_JPATH_H

#include <stddef.h>
#include <stdint.h>

#include "compose/json_scan.h"

typedef enum en_bff_jpath_step_kind_t {
    BFF_JPATH_FIELD,
    BFF_JPATH_INDEX,
    BFF_JPATH_SLICE,
    BFF_JPATH_EACH,
} bff_jpath_step_kind_t;

typedef struct st_bff_jpath_step_t {
    bff_jpath_step_kind_t kind;
    char *name; /* FIELD */
    size_t name_len;
    int64_t index;          /* INDEX; SLICE start */
    int64_t end;            /* SLICE end (exclusive) */
    int has_start, has_end; /* SLICE bounds given */
} bff_jpath_step_t;

typedef struct st_bff_jpath_t {
    char *text; /* as written, for messages */
    char *root;
    bff_jpath_step_t *steps;
    size_t nsteps;
    int multi; /* contains a slice or [*]: evaluates to an array */
} bff_jpath_t;

/** Parses `len` bytes of `s`. Returns 0, or -1 with *err a static message. Free with dispose. */
int bff_jpath_parse(const char *s, size_t len, bff_jpath_t *out, const char **err);
void bff_jpath_dispose(bff_jpath_t *path);

/** Evaluates steps [first, nsteps) of `path` from token `tok` of `doc`.
 * A single-valued path stores one token in out[0] and returns 1, or returns 0 when absent.
 * A multi-valued path (slice, [*]) stores up to `max` tokens and returns their count
 * (elements whose sub-path is absent are skipped). Pure, allocation-free. */
size_t bff_jpath_eval(const bff_jpath_t *path, size_t first, const bff_jdoc_t *doc, uint32_t tok,
                      uint32_t *out, size_t max);

#endif
