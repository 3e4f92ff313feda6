/* A profile's `cors:` block: which browser origins may call it, with what (docs/spec-reference.md
 * 3.7). The cors stage applies it before anything else can answer, so preflights never reach
 * auth, rate limits or routing, and every answer (errors included) carries the headers. */
#ifndef BFF_SERVER_HTTP_CORS_H
#define BFF_SERVER_HTTP_CORS_H

#include <stddef.h>
#include <stdint.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_cors_conf_t {
    int present;
    char **origins; /* exact origins ("https://app.example.com"); "*" = any */
    size_t norigins;
    int any_origin;
    char *methods;        /* "GET, HEAD, POST" for Access-Control-Allow-Methods */
    char *headers;        /* allowed request headers, lower-cased, comma-separated */
    char *expose_headers; /* response headers scripts may read */
    int credentials;
    uint64_t max_age_ms;
} bff_cors_conf_t;

int bff_cors_conf_parse(const bff_yaml_node_t *node, bff_diag_t *diag, bff_cors_conf_t *out);
void bff_cors_conf_dispose(bff_cors_conf_t *c);
/** 1 when `origin` (len bytes) may call. */
int bff_cors_origin_allowed(const bff_cors_conf_t *c, const char *origin, size_t len);

#endif
