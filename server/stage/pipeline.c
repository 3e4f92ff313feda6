/* The ordered stage list and the end hooks. Later features insert themselves here: overload
 * shedding, CORS preflight and IP lists before `builtin`; authentication, rate limiting and
 * the response cache lookup between `route` and `compose`; cache store and metrics among the
 * end hooks. */
#include "server/stage/pipeline.h"

#include <assert.h>

static const bff_stage_fn stages[] = {
    bff_stage_request_head, bff_stage_limits,    bff_stage_cors,    bff_stage_builtin,
    bff_stage_iplist,       bff_stage_openapi,   bff_stage_shed,    bff_stage_route,
    bff_stage_auth,         bff_stage_ratelimit, bff_stage_graphql, bff_stage_params,
    bff_stage_cache,        bff_stage_compose,
};

static void (*const end_hooks[])(bff_req_t *r) = {
    bff_request_log_on_end,
    bff_metrics_on_end,
    bff_tracing_on_end,
};

#define NSTAGES (sizeof(stages) / sizeof(stages[0]))

static void run(bff_req_t *r)
{
    while (r->stage < NSTAGES) {
        bff_stage_result_t res = stages[r->stage++](r);
        if (res == BFF_STAGE_RESPONDED)
            bff_req_sent(r);
        if (res != BFF_STAGE_NEXT)
            return;
    }
    assert(!"the last stage always responds or goes pending");
}

void bff_pipeline_start(bff_req_t *r)
{
    r->stage = 0;
    run(r);
}

void bff_pipeline_resume(bff_req_t *r)
{
    run(r);
}

void bff_pipeline_on_end(bff_req_t *r)
{
    for (size_t i = 0; i != sizeof(end_hooks) / sizeof(end_hooks[0]); ++i)
        end_hooks[i](r);
}
