/* A stage's refusal (pipeline.h, bff_stage_refuse) in the shape the endpoint speaks. */
#include <ctype.h>
#include <string.h>

#include "compose/json_write.h"
#include "server/http/respond.h"
#include "server/stage/graphql_request.h"
#include "server/stage/pipeline.h"

/* The graph's endpoint, asked by a client that negotiated GraphQL's own media type: it reads
 * only a GraphQL response, {"errors": [...]}, whatever the status. */
static int speaks_graphql(bff_req_t *r)
{
    const bff_gql_graph_t *g = r->profile->graph;
    return g != NULL &&
           h2o_memis(r->route_path.base, r->route_path.len, g->path, strlen(g->path)) &&
           bff_gql_wants_response_json(r->req);
}

void bff_stage_refuse(bff_req_t *r, int status, const char *code, const char *message,
                      const char *extra_json)
{
    if (!speaks_graphql(r)) {
        bff_respond_error(r->req, status, code, message, extra_json);
        return;
    }
    /* {"errors": [{"message": M, "extensions": {"code": "CODE", <extra>}}]}: codes upper-case,
     * as the endpoint's other GraphQL errors (UPSTREAM_TIMEOUT, ...); no credentials is
     * UNAUTHENTICATED there, as for a guarded field. */
    char upper[64];
    size_t n = 0;
    if (strcmp(code, "unauthorized") == 0)
        code = "unauthenticated";
    for (; code[n] != '\0' && n + 1 < sizeof(upper); ++n)
        upper[n] = (char)toupper((unsigned char)code[n]);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 256, 64 * 1024);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "errors", 6);
    bff_jwrite_open(&w, '[');
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "message", 7);
    bff_jwrite_str(&w, message, strlen(message));
    bff_jwrite_key(&w, "extensions", 10);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "code", 4);
    bff_jwrite_str(&w, upper, n);
    if (extra_json != NULL) {
        bff_jwrite_bytes(&w, ",", 1);
        bff_jwrite_bytes(&w, extra_json, strlen(extra_json));
    }
    bff_jwrite_close(&w, '}');
    bff_jwrite_close(&w, '}');
    bff_jwrite_close(&w, ']');
    bff_jwrite_close(&w, '}');
    h2o_req_t *req = r->req;
    bff_respond_typed(req, status, bff_status_reason(status),
                      h2o_iovec_init(H2O_STRLIT("application/graphql-response+json")),
                      h2o_strdup(&req->pool, w.buf, w.len));
    bff_jwrite_dispose(&w);
}
