/* Per-worker views of configuration snapshots. */
#include "server/core/conf_view.h"

#include <stdlib.h>
#include <string.h>

#include "server/ratelimit/limiter.h"

static bff_upstream_t *find_unchanged(const bff_conf_view_t *prev, size_t site,
                                      const bff_upstream_conf_t *conf)
{
    if (prev == NULL || site >= prev->config->nsites)
        return NULL;
    const bff_profile_t *p = prev->config->sites[site].profile;
    for (size_t u = 0; u != p->nupstreams; ++u)
        if (bff_upstream_conf_equal(bff_upstream_conf(prev->upstreams[site][u]), conf))
            return prev->upstreams[site][u];
    return NULL;
}

/* The previous view's cache of the same profile name when its store is unchanged. */
static bff_cache_t *find_cache(const bff_conf_view_t *prev, const bff_profile_t *p)
{
    for (size_t s = 0; prev != NULL && s != prev->config->nsites; ++s) {
        const bff_profile_t *old = prev->config->sites[s].profile;
        if (prev->caches[s] != NULL && strcmp(old->name, p->name) == 0 &&
            bff_cache_conf_same_store(&old->cache, &p->cache))
            return prev->caches[s];
    }
    return NULL;
}

bff_conf_view_t *bff_conf_view_create(bff_config_t *config, bff_fetcher_t *fetcher,
                                      const bff_conf_view_t *prev, h2o_evloop_t *loop,
                                      bff_timers_t *timers)
{
    bff_conf_view_t *view = bff_calloc(1, sizeof(*view));
    view->refcnt = 1;
    view->config = config;
    view->upstreams = bff_calloc(config->nsites, sizeof(*view->upstreams));
    view->caches = bff_calloc(config->nsites, sizeof(*view->caches));
    view->limiters = bff_calloc(config->nsites, sizeof(*view->limiters));
    for (size_t s = 0; s != config->nsites; ++s) {
        const bff_profile_t *p = config->sites[s].profile;
        if (p->cache.present) {
            bff_cache_t *c = find_cache(prev, p);
            if (c != NULL)
                bff_cache_retain(c);
            else
                c = bff_cache_create(loop, timers, &p->cache);
            view->caches[s] = c;
        }
        if (p->rate.present) { /* its own Redis, else the cache's, else in-process */
            const bff_rate_conf_t *rc = &p->rate;
            int own = rc->redis_host != NULL;
            bff_limiter_conf_t lc = {.host = own ? rc->redis_host : p->cache.redis_host,
                                     .port = own ? rc->redis_port : p->cache.redis_port,
                                     .db = own ? rc->redis_db : p->cache.redis_db,
                                     .password = own ? rc->redis_password : p->cache.redis_password,
                                     .command_timeout_ms = rc->command_timeout_ms,
                                     .fail_closed = rc->fail_closed};
            bff_limiter_t *l = prev != NULL && s < prev->config->nsites ? prev->limiters[s] : NULL;
            if (l != NULL && bff_limiter_same(l, &lc))
                bff_limiter_retain(l); /* a reload keeps the connection and local state */
            else
                l = bff_limiter_create(loop, timers, &lc);
            view->limiters[s] = l;
        }
        view->upstreams[s] = bff_calloc(p->nupstreams, sizeof(bff_upstream_t *));
        for (size_t u = 0; u != p->nupstreams; ++u) {
            bff_upstream_t *up = find_unchanged(prev, s, p->upstreams + u);
            if (up != NULL)
                bff_upstream_retain(up);
            else
                up = bff_upstream_create(fetcher, p->name, p->upstreams + u);
            view->upstreams[s][u] = up;
        }
    }
    return view;
}

void bff_conf_view_retain(bff_conf_view_t *view)
{
    ++view->refcnt;
}

void bff_conf_view_release(bff_conf_view_t *view)
{
    if (view == NULL || --view->refcnt != 0)
        return;
    for (size_t s = 0; s != view->config->nsites; ++s) {
        for (size_t u = 0; u != view->config->sites[s].profile->nupstreams; ++u)
            bff_upstream_release(view->upstreams[s][u]);
        free(view->upstreams[s]);
        bff_cache_release(view->caches[s]);
        bff_limiter_release(view->limiters[s]);
    }
    free(view->upstreams);
    free(view->caches);
    free(view->limiters);
    bff_config_release(view->config);
    free(view);
}
