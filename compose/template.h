/* String templates: literal text with `{path}` references, e.g. "/users/{userId}" or
 * "{user.firstName} {user.lastName}". `{{` and `}}` stand for literal braces. */
#ifndef BFF_COMPOSE_TEMPLATE_H
#define BFF_COMPOSE_TEMPLATE_H

#include "compose/jpath.h"

typedef struct st_bff_template_part_t {
    char *literal; /* NULL for a reference */
    size_t literal_len;
    bff_jpath_t ref;
    int binding; /* set by the spec loader: which value the ref's root names */
} bff_template_part_t;

typedef struct st_bff_template_t {
    char *text;
    bff_template_part_t *parts;
    size_t nparts;
} bff_template_t;

/** Parses a template. Returns 0, or -1 with *err (static) and *err_offset into `s`. */
int bff_template_parse(const char *s, bff_template_t *out, const char **err, size_t *err_offset);
void bff_template_dispose(bff_template_t *t);
/** 1 when the template is exactly one reference and nothing else ("{user.id}"). */
int bff_template_is_single_ref(const bff_template_t *t);

#endif
