/* The request pipeline: an ordered list of stages every request walks (pipeline.c holds the
 * list), and the hooks that run when a request ends. A feature is a stage file and one line in
 * the list; no stage knows another.
 *
 * Stage contract (nginx's phases, h2o's dispose): a stage returns
 *   BFF_STAGE_NEXT       done, run the next stage now;
 *   BFF_STAGE_RESPONDED  it sent the response, the pipeline ends;
 *   BFF_STAGE_PENDING    it went asynchronous, and will later either respond or call
 *                        bff_pipeline_resume exactly once, from the loop, unless the request was
 *                        disposed first (its async state then hangs off the request's pool with
 *                        a dispose hook that cancels what it started). */
#ifndef BFF_SERVER_STAGE_PIPELINE_H
#define BFF_SERVER_STAGE_PIPELINE_H

#include "server/http/request.h"

typedef enum en_bff_stage_result_t {
    BFF_STAGE_NEXT,
    BFF_STAGE_RESPONDED,
    BFF_STAGE_PENDING,
} bff_stage_result_t;

typedef bff_stage_result_t (*bff_stage_fn)(bff_req_t *r);

/** Runs the stages from the first. */
void bff_pipeline_start(bff_req_t *r);
/** Continues after a PENDING stage, with the stage after it. */
void bff_pipeline_resume(bff_req_t *r);
/** The response hooks, when the request ends (answered, or the client went away). */
void bff_pipeline_on_end(bff_req_t *r);

/* The stages, in pipeline order (one file each). */
/** A stage's refusal: bffd's JSON error ({"error": {"code", "message", <extra_json>}}), or, on
 * the graph's endpoint to a client that accepts application/graphql-response+json, a GraphQL
 * response ({"errors": [{"message", "extensions": {"code": CODE, <extra_json>}}]}) of that type.
 * The status is the same either way; headers the stage added stay. (stage/refuse.c) */
void bff_stage_refuse(bff_req_t *r, int status, const char *code, const char *message,
                      const char *extra_json);

bff_stage_result_t bff_stage_request_head(bff_req_t *r); /* smuggling-prone HTTP/1 heads: 400 */
bff_stage_result_t bff_stage_limits(bff_req_t *r);       /* request header size: 431 */
bff_stage_result_t bff_stage_cors(bff_req_t *r);         /* CORS headers; preflight: 204, 403 */
bff_stage_result_t bff_stage_builtin(bff_req_t *r);      /* /health and /ready */
bff_stage_result_t bff_stage_iplist(bff_req_t *r);       /* ip_allow, ip_deny: 403 */
bff_stage_result_t bff_stage_openapi(bff_req_t *r);      /* the OpenAPI document */
bff_stage_result_t bff_stage_shed(bff_req_t *r);         /* too many requests in progress: 503 */
bff_stage_result_t bff_stage_graphql(bff_req_t *r);      /* graph.yaml's endpoint: GraphQL */
bff_stage_result_t bff_stage_route(bff_req_t *r);        /* finds the endpoint: 404, 405 */
bff_stage_result_t bff_stage_auth(bff_req_t *r);         /* credentials: 401, 403 */
bff_stage_result_t bff_stage_ratelimit(bff_req_t *r);    /* the plan's limit: 429 */
bff_stage_result_t bff_stage_params(bff_req_t *r);       /* the request doc: 400, 413, 415 */
bff_stage_result_t bff_stage_cache(bff_req_t *r);        /* answers from the cache, or waits */
bff_stage_result_t bff_stage_compose(bff_req_t *r);      /* sources, shaped response */

/** The route's auth, scopes and rate_limit (the GraphQL endpoint's on its path), or NULL. */
const bff_access_t *bff_req_access(const bff_req_t *r);

/* The end hooks. */
void bff_request_log_on_end(bff_req_t *r); /* obs/request_log.c: the access log line */
void bff_metrics_on_end(bff_req_t *r);     /* obs/request_metrics.c: counters, histogram */
void bff_tracing_on_end(bff_req_t *r);     /* obs/request_trace.c: spans to the collector */

#endif
