/* End hook: one access log line per request, into the worker's batch for the request's
 * profile, to the destination of the configuration the request started with. */
#include "server/core/clock.h"
#include "server/stage/pipeline.h"

void bff_request_log_on_end(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    bff_access_log_entry_t e = {
        .profile = r->profile->name,
        .method = r->method.base,
        .method_len = r->method.len,
        .path = r->path.base,
        .path_len = r->path.len,
        .status = req->res.status ? req->res.status : 499, /* client went away first */
        .bytes = req->bytes_sent,
        .duration_us = bff_now_us() - r->started_us,
        .request_id = r->request_id.base,
        .request_id_len = r->request_id.len,
        .protocol = req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1",
    };
    bff_access_log_add(&r->site->log, r->conf->access_log, &e);
}
