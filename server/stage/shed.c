/* Stage: overload shedding. Past the profile's max_inflight requests in progress on this worker,
 * a request is answered at once with 503 and Retry-After instead of queuing behind upstreams that
 * slowed down: memory stays bounded and clients learn to back off. After the built-in routes, so
 * /health and /ready answer whatever the load. */
#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_shed(bff_req_t *r)
{
    if (r->site->inflight <= r->profile->max_inflight) /* this request is counted already */
        return BFF_STAGE_NEXT;
    ++r->site->shed;
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                   H2O_STRLIT("1"));
    bff_stage_refuse(r, 503, bff_code_overloaded,
                     "too many requests in progress; try again shortly", NULL);
    return BFF_STAGE_RESPONDED;
}
