/* Stage: the routes every profile serves itself, before routing, authentication or limits:
 * GET /health (the process is alive) and GET /ready (configuration loaded; 503 while
 * draining; its body says when the cache's Redis is unreachable), for orchestrators' probes. */
#include <stdio.h>

#include "server/core/server.h"
#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_builtin(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    h2o_iovec_t path = r->route_path;
    int is_health = h2o_memis(path.base, path.len, H2O_STRLIT("/health"));
    int is_ready = h2o_memis(path.base, path.len, H2O_STRLIT("/ready"));
    if (!is_health && !is_ready)
        return BFF_STAGE_NEXT;
    if (bff_respond_unless_get(req))
        return BFF_STAGE_RESPONDED;
    if (is_health) {
        bff_respond_json(req, 200, "OK", h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
        return BFF_STAGE_RESPONDED;
    }
    int stopping = atomic_load(&r->site->worker->server->stopping);
    char buf[512];
    /* A cache whose Redis is down degrades this instance, it does not unready it: upstreams
     * still answer, and pulling every instance at once would turn a cache outage into one. */
    bff_cache_t *cache = r->view->caches[r->site->index];
    const char *cache_state = cache == NULL               ? ""
                              : bff_cache_degraded(cache) ? ",\"cache\":\"degraded\""
                                                          : ",\"cache\":\"ok\"";
    int n = snprintf(buf, sizeof(buf), "{\"status\":\"%s\",\"profile\":\"%s\",\"endpoints\":%zu%s}",
                     stopping ? "draining" : "ready", r->profile->name, r->profile->nendpoints,
                     cache_state);
    bff_respond_json(req, stopping ? 503 : 200, stopping ? "Service Unavailable" : "OK",
                     h2o_strdup(&req->pool, buf, (size_t)n));
    return BFF_STAGE_RESPONDED;
}
