/* The `cache:` setting of an endpoint (its composed answer) or a source (its upstream call):
 * `cache: 30s`, `cache: off`, or a mapping. Parsed here; what a key covers and where entries
 * live is the server's (server/cache). Caching is off unless a spec turns it on. */
#ifndef BFF_COMPOSE_CACHE_POLICY_H
#define BFF_COMPOSE_CACHE_POLICY_H

#include <stdint.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_cache_policy_t {
    int enabled;
    uint64_t ttl_ms;    /* fresh for this long (0 = the profile's default ttl) */
    uint64_t swr_ms;    /* then served stale while one refresh runs */
    uint64_t sie_ms;    /* and served when the upstreams fail, for this long after fresh */
    uint64_t client_ms; /* max-age sent to clients (never beyond what is left of ttl) */
    uint64_t reval_ms;  /* kept this long after ttl to revalidate with conditional requests */
    int has_swr, has_sie, has_client;
    int shared; /* credentials the spec reads do not split the key */
} bff_cache_policy_t;

/* What an upstream's Cache-Control allows a shared cache (RFC 9111 5.2.2): it can shorten or
 * forbid caching, never switch it on. */
#define BFF_CC_NO_STORE 1u /* no-store, or no-cache (bffd does not revalidate per use) */
#define BFF_CC_PRIVATE 2u  /* private: only a per-principal entry may keep it */
#define BFF_CC_MAX_AGE 4u  /* a max-age (or s-maxage) was given */

/** Parses a Cache-Control value: *max_age_s gets s-maxage, else max-age (-1 and no
 * BFF_CC_MAX_AGE when neither), and *flags the BFF_CC_* bits. Unknown directives are ignored, as
 * the RFC says. */
void bff_cache_control_parse(const char *value, int *max_age_s, unsigned *flags);

/** Reads `node` (may be NULL: off). `tags` non-NULL accepts a `tags` list and `revalidate`
 * (endpoints), the list left
 * in *tags for the caller to compile (NULL when absent). Returns 0, or -1 after reporting. */
int bff_cache_policy_parse(const bff_yaml_node_t *node, bff_diag_t *diag, bff_cache_policy_t *out,
                           const bff_yaml_node_t **tags);

#endif
