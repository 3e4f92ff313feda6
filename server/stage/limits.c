/* Stage: request limits that h2o does not enforce itself (the body size is h2o's, from the
 * slot's configuration): the request headers' total size. */
#include "server/http/respond.h"
#include "server/stage/pipeline.h"

static size_t header_bytes(h2o_req_t *req)
{
    size_t n = req->input.path.len + req->input.method.len + req->input.authority.len;
    for (size_t i = 0; i != req->headers.size; ++i)
        n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return n;
}

bff_stage_result_t bff_stage_limits(bff_req_t *r)
{
    if (header_bytes(r->req) <= r->profile->max_header_bytes)
        return BFF_STAGE_NEXT;
    bff_stage_refuse(r, 431, bff_code_headers_too_large, "request headers are too large", NULL);
    return BFF_STAGE_RESPONDED;
}
