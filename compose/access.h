/* Who may call an endpoint (or the GraphQL endpoint) and how often: `auth`, `scopes` and
 * `rate_limit`, as a spec or graph.yaml writes them. The server enforces them (stage/auth.c,
 * stage/ratelimit.c) with the profile's `auth` and `rate_limits` blocks. */
#ifndef BFF_COMPOSE_ACCESS_H
#define BFF_COMPOSE_ACCESS_H

#include <stddef.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef enum en_bff_auth_mode_t {
    BFF_AUTH_NONE,     /* public: credentials are not looked at */
    BFF_AUTH_OPTIONAL, /* a principal when valid credentials come, anonymous without any */
    BFF_AUTH_REQUIRED, /* 401 without valid credentials */
} bff_auth_mode_t;

typedef struct st_bff_access_t {
    bff_auth_mode_t auth;
    char **scopes; /* every one needed (the token's scope / scp claim) */
    size_t nscopes;
    int rate_limited; /* `rate_limit:` on, or a plan's name */
    char *rate_plan;  /* that plan (NULL = the principal's, else the default) */
} bff_access_t;

/** Reads `auth`, `scopes` and `rate_limit` of `root`. Returns 0, or -1 after reporting. */
int bff_access_parse(const bff_yaml_node_t *root, bff_diag_t *diag, bff_access_t *out);
void bff_access_dispose(bff_access_t *a);

#endif
