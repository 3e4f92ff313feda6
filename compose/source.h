/* A source: one upstream call a composition makes (its upstream, method, path, headers and
 * body templates, and its policies: optional with a fallback, timeout, retries, for-each or
 * batch iteration). Defined once, compiled at load time, and used by REST endpoints now and
 * by GraphQL bindings next; which values its templates may read is the definer's business
 * (a bff_source_scope_t). Pure data: running sources is exec.c's job. */
#ifndef BFF_COMPOSE_SOURCE_H
#define BFF_COMPOSE_SOURCE_H

#include <stdint.h>

#include "compose/diag.h"
#include "compose/shape.h"
#include "compose/template.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_header_tmpl_t {
    char *name;
    bff_template_t value;
} bff_header_tmpl_t;

typedef enum en_bff_source_mode_t {
    BFF_SOURCE_ONCE,
    BFF_SOURCE_FOR_EACH, /* one call per element of `items` */
    BFF_SOURCE_BATCH,    /* one call with the elements joined into `{items}` */
} bff_source_mode_t;

typedef struct st_bff_source_t {
    char *name;
    unsigned index; /* position in its plan */
    const char *file;
    unsigned line, column;
    size_t upstream; /* index into the profile's upstream list */
    char *method;
    bff_template_t path;
    bff_header_tmpl_t *headers;
    size_t nheaders;
    bff_shape_t *body; /* JSON body, NULL = none */
    int optional;
    char *fallback_json; /* stands in when an optional source fails; NULL = null */
    uint64_t timeout_ms; /* 0 = the upstream's */
    unsigned retries;    /* attempts after the first, idempotent methods only */
    bff_source_mode_t mode;
    bff_jpath_t items; /* FOR_EACH / BATCH: the array, from another source or the request */
    int items_binding;
    unsigned concurrency; /* FOR_EACH: calls in flight at once */
    unsigned max_items;   /* FOR_EACH / BATCH: elements beyond are dropped */
    char *separator;      /* BATCH */
    uint64_t deps;        /* bit i: needs source i of the same plan */
} bff_source_t;

/** What a source's templates may refer to, supplied by whoever defines the source. */
typedef struct st_bff_source_scope_t {
    /* Maps a root to a binding: BFF_BIND_REQUEST, or a source index >= 0 (which becomes a
     * dependency), or -1 when unknown. `item`/`items` of iterating sources are handled here. */
    int (*resolve)(void *ctx, const char *root);
    /* Called with each lower-cased request header name a template reads (`{header.X}`). */
    void (*note_header)(void *ctx, const char *name);
    void *ctx;
    const char *const *upstreams; /* the profile's upstream names */
    size_t nupstreams;
} bff_source_scope_t;

/** Compiles the source defined by `def` under `key` into *src, whose `name` and `index` the
 * caller has set. Every problem goes to diag; returns 0, or -1 if there was any. */
int bff_source_parse(bff_source_t *src, const bff_yaml_node_t *key, const bff_yaml_node_t *def,
                     const bff_source_scope_t *scope, bff_diag_t *diag);
/** Frees what bff_source_parse allocated (and `name`); the struct itself is the caller's. */
void bff_source_dispose(bff_source_t *src);

/** 1 when the method may be repeated without changing more than once (RFC 9110 9.2.2). */
int bff_method_is_idempotent(const char *method);

#endif
