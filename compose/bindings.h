/* What the root of a path or template reference names at run time (a "binding"), and the
 * values those bindings have while one request is composed. Resolved once at load time (the
 * spec loader turns each root into a binding), evaluated per request. */
#ifndef BFF_COMPOSE_BINDINGS_H
#define BFF_COMPOSE_BINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "compose/jpath.h"
#include "compose/json_scan.h"

/* Values >= 0 are source indexes. */
#define BFF_BIND_REQUEST (-2) /* the request doc: path/query parameters and `header` */
#define BFF_BIND_ITEM (-3)    /* the current element of a for-each source (`item`) */
#define BFF_BIND_ELEMENT (-4) /* inside $select: the element being shaped */

/* Template roots reserved for what the request will carry (the client's JSON body, verified
 * claims, GraphQL arguments and parent object). No parameter or source may take these names,
 * so adding them changes no valid spec. NULL-terminated. */
extern const char *const bff_reserved_roots[];
/** 1 if `name` can name a parameter or source: an identifier ([A-Za-z_][A-Za-z0-9_]*). */
int bff_is_valid_name(const char *name);
/** 1 if `name` is reserved (bff_reserved_roots, `header`, `item`, `items`, `request`). */
int bff_is_reserved_root(const char *name);

/** What a shape or template is evaluated against: one scanned doc and root token per binding.
 * Everything is borrowed. */
typedef struct st_bff_shape_env_t {
    const bff_jdoc_t *const *source_docs; /* indexed by source; NULL doc = unavailable */
    const uint32_t *source_roots;
    size_t nsources;
    const bff_jdoc_t *request_doc; /* {"param": ..., "header": {...}} */
    const bff_jdoc_t *item_doc;    /* for-each item, or NULL */
    uint32_t item_tok;
    int item_preencoded; /* batch: `{items}` is already URL-encoded, insert it verbatim */
    /* Per source {"$status": N, "$headers": {...}} for `<source>.$status` / `.$headers`;
     * NULL (the array or an entry) = not available. */
    const bff_jdoc_t *const *source_meta;
} bff_shape_env_t;

/** 1 when the path reads a source's response metadata (`user.$status`, `user.$headers...`). */
int bff_binding_is_meta(const bff_jpath_t *path);
/** Resolves `path` (rooted at `binding`) in `env`; `elem_doc`/`elem_tok` are the $select
 * element for BFF_BIND_ELEMENT (NULL outside $select). Stores the doc in *doc and up to `max`
 * tokens in out; returns their count (0 = absent). Pure, allocation-free. */
size_t bff_binding_eval(const bff_jpath_t *path, int binding, const bff_shape_env_t *env,
                        const bff_jdoc_t *elem_doc, uint32_t elem_tok, const bff_jdoc_t **doc,
                        uint32_t *out, size_t max);

/** Request headers live in the request doc under lower-cased names: for a `{header.Name}`
 * path, lower-cases the name in place and passes it to `note`. Other paths are ignored. */
void bff_binding_note_header(bff_jpath_t *path, int binding, void (*note)(void *ctx, const char *),
                             void *ctx);

#endif
