/* String templates: literal text with `{path}` references, e.g. "/users/{userId}" or
 * "{user.firstName} {user.lastName}". `{{` and `}}` stand for literal braces. Parsed at load
 * time, rendered per request (URLs, header values, string shapes). */
#ifndef BFF_COMPOSE_TEMPLATE_H
#define BFF_COMPOSE_TEMPLATE_H

#include "compose/bindings.h"
#include "compose/jpath.h"
#include "compose/json_write.h"

typedef struct st_bff_template_part_t {
    char *literal; /* NULL for a reference */
    size_t literal_len;
    bff_jpath_t ref;
    int binding; /* set by the spec loader: which value the ref's root names */
    /* Form-style query expansion (RFC 6570 3.2.8/3.2.9): `{?q,limit}` renders `?q=..&limit=..`
     * with only the values present; `{&q}` continues a query. '?' or '&', 0 = a plain ref. */
    char qexp;
    unsigned qgroup; /* which {?...} the ref belongs to (the first present one writes '?') */
    char *qname;     /* the query key: the path's last field name */
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

/** Why a template could not be rendered: the reference, and whether its value was there but
 * cannot stand as a whole path segment of a URL (empty, "." or "..": `/a//b` is often `/a/b`
 * upstream, and `..` climbs). */
typedef struct st_bff_template_miss_t {
    const char *ref;
    int bad_segment;
} bff_template_miss_t;

/** Renders a template as a string into `out` (a writer used as a byte buffer, no quoting).
 * `urlencode` percent-encodes every reference's value (for URL templates). Returns 0, or -1
 * when a reference is absent or not a scalar, or (URL mode) its value is empty, "." or ".."
 * where it forms a whole path segment. *missing says which (the caller names it).
 * In URL mode a request value the client may leave out (a query parameter or a header; not the
 * body) that is absent inside the query drops its whole `name=value` pair instead, and `{?..}`
 * expansions write only the values present. */
int bff_template_render(const bff_template_t *t, const bff_shape_env_t *env, int urlencode,
                        bff_jwrite_t *out, bff_template_miss_t *missing);
/** Appends a scalar's value as a template writes it (percent-encoded with `urlencode`); -1 for
 * an object or array, and for null in URL mode. */
int bff_template_append_scalar(bff_jwrite_t *out, const bff_jdoc_t *doc, uint32_t tok,
                               int urlencode);
/** How long a scalar is once percent-encoded as bff_template_append_scalar writes it into a URL,
 * and (*dot) whether it is "." or "..": counted in place (a string with escapes is written out
 * to unescape it). */
size_t bff_template_url_len(const bff_jdoc_t *doc, uint32_t tok, int *dot);
/** 1 when part i of a URL template, a reference, is a whole path segment: after a '/' (or at
 * the start) and before a '/', '?' or '#' (or the end). */
int bff_template_whole_segment(const bff_template_t *t, size_t i);
/** The same inside $select, where `elem_doc`/`elem_tok` is the element being shaped. */
int bff_template_render_in(const bff_template_t *t, const bff_shape_env_t *env,
                           const bff_jdoc_t *elem_doc, uint32_t elem_tok, int urlencode,
                           bff_jwrite_t *out, bff_template_miss_t *missing);

#endif
