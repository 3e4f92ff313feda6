/* End hook: a finished request counted in its worker's metrics (metrics.h), by the route
 * template (the GraphQL path, or "(none)" when nothing matched), never the raw path. */
#include <string.h>

#include "server/core/clock.h"
#include "server/cache/cache.h"
#include "server/obs/metrics.h"
#include "server/obs/request_metrics.h"
#include "server/stage/pipeline.h"

void bff_metrics_note_sources(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec)
{
    const char *route = r->route.spec != NULL ? r->route.spec->route : "(none)";
    uint64_t now = bff_now_us();
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (o->state == BFF_SRC_WAITING)
            continue;
        bff_metrics_source(r->site->metrics, route, plan->sources[s].name,
                           o->duration_us ? o->duration_us : now - o->started_us,
                           o->state == BFF_SRC_FAILED);
    }
}

void bff_metrics_note_graphql(bff_req_t *r, const bff_gql_run_t *run)
{
    const char *route = r->route.spec != NULL ? r->route.spec->route : r->profile->graph->path;
    size_t n;
    const bff_gql_call_record_t *recs = bff_gql_run_records(run, &n);
    for (size_t i = 0; i != n; ++i)
        bff_metrics_source(r->site->metrics, route, recs[i].resolver, recs[i].duration_us,
                           recs[i].err != NULL);
}

void bff_metrics_on_end(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    const bff_gql_graph_t *g = r->profile->graph;
    const char *route =
        r->route.spec != NULL ? r->route.spec->route
        : g != NULL && h2o_memis(r->route_path.base, r->route_path.len, g->path, strlen(g->path))
            ? g->path
            : "(none)";
    bff_metrics_request(r->site->metrics, route, req->res.status ? req->res.status : 499,
                        bff_now_us() - r->started_us);
    bff_cache_t *cache = r->view->caches[r->site->index];
    if (cache != NULL && bff_cache_conf(cache)->redis_host != NULL) /* as of this worker's last */
        atomic_store_explicit(&r->site->metrics->redis, bff_cache_degraded(cache) ? 1 : 2,
                              memory_order_relaxed);
}
