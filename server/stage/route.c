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
    char allow[128];
    switch (bff_router_match(r->profile, req->method, r->route_path, &req->pool, &r->route, allow,
                             sizeof(allow))) {
    case BFF_ROUTE_FOUND:
        return BFF_STAGE_NEXT;
    case BFF_ROUTE_WRONG_METHOD:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       h2o_strdup(&req->pool, allow, SIZE_MAX).base, strlen(allow));
        bff_respond_error(req, 405, bff_code_method_not_allowed,
                          "method not allowed for this route", NULL);
        return BFF_STAGE_RESPONDED;
    case BFF_ROUTE_NOT_FOUND:
        break;
    }
    bff_respond_error(req, 404, bff_code_not_found, "no route for this path", NULL);
    return BFF_STAGE_RESPONDED;
}
