/* A profile's `auth:` block: how credentials are verified (JWT keys and claims policy, the
 * session cookie and its CSRF rule, API keys) and which claims go to upstreams as headers.
 * Loaded and checked with the profile (keys read, key files parsed), immutable afterwards. */
#ifndef BFF_SERVER_AUTH_AUTH_CONF_H
#define BFF_SERVER_AUTH_AUTH_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"
#include "server/auth/jwk.h"
#include "server/auth/jwt.h"

typedef struct st_bff_api_key_t {
    char *name;
    unsigned char hash[32]; /* SHA-256 of the key: the key itself is never stored */
    char *plan;             /* NULL = the rate limits' default */
    char **routes;          /* path prefixes it may call; none = every route */
    size_t nroutes;
} bff_api_key_t;

typedef struct st_bff_claim_header_t {
    char *claim;  /* "sub", "roles", ... */
    char *header; /* "X-User-ID": sent upstream; a client's own copy is dropped */
} bff_claim_header_t;

typedef struct st_bff_auth_conf_t {
    int present;
    /* JWT (bearer tokens, and the session cookie) */
    int jwt;
    bff_jwt_policy_t policy;
    char *issuer;
    char **audiences;
    size_t naudiences;
    bff_jwk_set_t keys;
    char *jwks_url;                /* keys fetched from the identity provider too; NULL = none */
    uint64_t jwks_refresh_ms;      /* fetched again this often */
    uint64_t jwks_min_interval_ms; /* an unknown kid fetches again, at most this often */
    char *cookie;                  /* the session cookie holding a token; NULL = none */
    char *csrf_header;             /* a state-changing cookie request needs it equal to ... */
    char *csrf_cookie;             /* ... this cookie's value, or a same-origin Origin */
    char *scope_claim;             /* "scope" (space-separated) or an array claim such as "scp" */
    char *plan_claim;              /* the claim naming the principal's rate plan */
    /* API keys */
    char *api_key_header; /* "x-api-key" */
    bff_api_key_t *api_keys;
    size_t napi_keys;
    /* enrichment */
    bff_claim_header_t *claim_headers;
    size_t nclaim_headers;
    uint64_t token_cache_bytes; /* verified tokens kept per worker; 0 = none */
} bff_auth_conf_t;

/** Reads `node` (may be NULL) with files relative to `dir`. Returns 0, or -1 after reporting. */
int bff_auth_conf_parse(const bff_yaml_node_t *node, const char *dir, bff_diag_t *diag,
                        bff_auth_conf_t *out);
void bff_auth_conf_dispose(bff_auth_conf_t *c);
/** `file` relative to the profile's directory `dir` (an absolute path as it is); malloc'ed. */
char *bff_auth_path_in(const char *dir, const char *file);
/** A key file's bytes (at most 4 MiB), malloc'ed; NULL when it cannot be read. */
char *bff_auth_read_file(const char *path, size_t *len);

#endif
