/* A worker's view of one configuration snapshot: the snapshot itself (retained) and the
 * worker's upstream state for each of its upstream definitions. Worker-local, so its count
 * needs no atomics: the worker holds the view it serves new requests with, and every request
 * holds the view it started with, so a request finishes on the upstreams and specs it began
 * with while new requests see the next configuration. */
#ifndef BFF_SERVER_CORE_CONF_VIEW_H
#define BFF_SERVER_CORE_CONF_VIEW_H

#include <stddef.h>

#include "server/core/config.h"
#include "server/cache/cache.h"
#include "server/fetch/upstream.h"

typedef struct st_bff_conf_view_t {
    size_t refcnt;
    bff_config_t *config;
    bff_upstream_t ***upstreams; /* [site][upstream], parallel to the profiles' upstream lists */
    bff_cache_t **caches;        /* [site]: the profile's cache; NULL = it has no cache block */
    struct st_bff_limiter_t **limiters; /* [site]: its rate limiter; NULL = no rate_limits */
} bff_conf_view_t;

/** Builds the view of `config` (taking over the caller's reference). Upstream state whose
 * definition is unchanged since `prev` (same profile, same name, equal definition) is shared,
 * so breakers, passive health and connection pools survive the reload; the rest is new. So
 * is a profile's cache whose store is unchanged (its L1 entries and Redis connection). */
bff_conf_view_t *bff_conf_view_create(bff_config_t *config, bff_fetcher_t *fetcher,
                                      const bff_conf_view_t *prev, h2o_evloop_t *loop,
                                      bff_timers_t *timers);
void bff_conf_view_retain(bff_conf_view_t *view);
void bff_conf_view_release(bff_conf_view_t *view);

#endif
