/* A source: one upstream call a composition makes (its upstream, method, path, headers and
 * body templates, and its policies: optional with a fallback, timeout, retries, for-each or
 * batch iteration). Defined once, compiled at load time, and used by REST endpoints now and
 * by GraphQL bindings next; which values its templates may read is the definer's business
 * (a bff_source_scope_t). Pure data: running sources is exec.c's job. */
#ifndef BFF_COMPOSE_SOURCE_H
#define BFF_COMPOSE_SOURCE_H

#include <stdint.h>

#include "compose/cache_policy.h"
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

/* What an upstream status that is not a success makes of the source (`on_status`). */
typedef enum en_bff_status_action_t {
    BFF_STATUS_FAIL,    /* the source failed: partial answer (optional) or 502 (required) */
    BFF_STATUS_NULL,    /* a success whose value is null: an expected absence */
    BFF_STATUS_RESPOND, /* the request answers with `respond_status` */
} bff_status_action_t;

typedef struct st_bff_status_rule_t {
    unsigned status; /* 100-599; or 1-5 for a class ("4xx") */
    bff_status_action_t action;
    unsigned respond_status; /* RESPOND: 0 = the upstream's own status */
    bff_shape_t *body;       /* RESPOND: the answer, shaped from the upstream's error body; NULL =
                                bffd's error body */
} bff_status_rule_t;

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
    unsigned concurrency;         /* FOR_EACH: calls in flight at once */
    unsigned max_items;           /* FOR_EACH: elements beyond are dropped; BATCH: per call */
    char *separator;              /* BATCH */
    uint64_t deps;                /* bit i: needs source i of the same plan */
    bff_status_rule_t *on_status; /* in the order written; exact codes before classes */
    size_t non_status;
    unsigned *success; /* statuses that count as success; none = every 2xx */
    size_t nsuccess;
    int any_content_type;     /* `content_type: any`: a body need not be declared JSON */
    int wants_meta;           /* a template or shape reads `<name>.$status` or `.$headers` */
    int wants_headers;        /* ... `<name>.$headers` (the fetcher then keeps the headers) */
    bff_cache_policy_t cache; /* `cache:` of a GET source: its upstream answers are shared */
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

/** What `status` (not a success) makes of source `src`: its own `on_status` rule, else the
 * defaults: a required source's 400, 401, 403, 404, 409, 410 and 422 are answered with the same
 * status (the client's mistake, not the gateway's), its 429 with 503 (bffd is being throttled);
 * anything else fails the source. `*rule` is the matching rule or NULL. */
bff_status_action_t bff_source_status_action(const bff_source_t *src, long status,
                                             const bff_status_rule_t **rule,
                                             unsigned *respond_status);
/** 1 when `status` counts as success for `src` (its `success` list, or any 2xx). */
int bff_source_is_success(const bff_source_t *src, long status);

/** 1 when the method may be repeated without changing more than once (RFC 9110 9.2.2). */
int bff_method_is_idempotent(const char *method);

#endif
