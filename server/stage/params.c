/* Stage: the routed endpoint's parameters. Checks the client's body and the path, query and
 * header values against the spec, and writes them as the request doc (r->doc) that the cache
 * key and the composition read (server/http/request_doc.c); wrong input is a 400, 413 or 415
 * naming what is wrong. */
#include "server/auth/principal.h"
#include "server/http/request_doc.h"
#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_params(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    h2o_iovec_t query =
        req->query_at != SIZE_MAX
            ? h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1)
            : h2o_iovec_init(NULL, 0);
    h2o_iovec_t claims = r->principal != NULL ? r->principal->claims_json : h2o_iovec_init(NULL, 0);
    bff_answer_t a;
    bff_answer_init(&a);
    if (bff_request_doc_build(r->profile, r->route.spec, r->route.values, query, &req->headers,
                              req->entity, claims, &req->pool, &r->doc, &a) != 0) {
        bff_respond_answer(req, &a);
        bff_answer_dispose(&a);
        return BFF_STAGE_RESPONDED;
    }
    return BFF_STAGE_NEXT;
}
