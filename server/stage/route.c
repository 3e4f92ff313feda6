/* Stage: finds the endpoint for the request (router.h), or answers 404, or 405 with Allow. */
#include <string.h>

#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_route(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    const bff_gql_graph_t *g = r->profile->graph;
    if (g != NULL && h2o_memis(r->route_path.base, r->route_path.len, g->path, strlen(g->path)))
        return BFF_STAGE_NEXT; /* the GraphQL endpoint: no route, the graphql stage answers */
    bff_answer_t a;
    bff_answer_init(&a);
    if (bff_router_resolve(r->profile, req->method, r->route_path, &req->pool, &r->route, &a) == 0)
        return BFF_STAGE_NEXT;
    bff_respond_answer(req, &a);
    bff_answer_dispose(&a);
    return BFF_STAGE_RESPONDED;
}
