/* A profile's `openapi:` key: whether its public listener serves the OpenAPI document of its
 * routes, where, and the document's info. Off unless asked: internal routes are not advertised
 * by default. `openapi: on` takes every default. */
#ifndef BFF_SERVER_CONTRACT_OPENAPI_CONF_H
#define BFF_SERVER_CONTRACT_OPENAPI_CONF_H

#include <stddef.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_openapi_conf_t {
    int enabled;
    char *path;        /* "/openapi.json" */
    char *title;       /* NULL = the profile's name */
    char *version;     /* info.version: the API's version, "1.0.0" by default */
    char *description; /* NULL = none */
    char **servers;    /* base URLs clients use; none = relative to where the document is */
    size_t nservers;
    char *file; /* where the key is, for errors found once the routes are known */
    unsigned line, column;
} bff_openapi_conf_t;

/** Reads `openapi` of the profile's root mapping. Returns 0, or -1 after reporting. */
int bff_openapi_conf_parse(const bff_yaml_node_t *root, bff_diag_t *diag, bff_openapi_conf_t *out);
struct st_bff_profile_t;
/** The document's path must not hide a route, /health, /ready or the GraphQL path. Returns 0,
 * or -1 after reporting. */
int bff_openapi_conf_check(const struct st_bff_profile_t *p, bff_diag_t *diag);
void bff_openapi_conf_dispose(bff_openapi_conf_t *c);

#endif
