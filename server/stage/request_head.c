/* Stage: the first one. A request whose HTTP/1 head the guard refused (http/head_guard.h) is
 * answered 400 with bffd's JSON error, and the connection closes after it. */
#include "server/http/head_guard.h"
#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_request_head(bff_req_t *r)
{
    const char *why = bff_head_guard_refused(r->req);
    if (why == NULL)
        return BFF_STAGE_NEXT;
    r->req->http1_is_persistent = 0; /* nothing after it on this connection is read */
    r->path = h2o_iovec_init(H2O_STRLIT("(refused request head)"));
    bff_respond_error(r->req, 400, bff_code_bad_request, why, NULL);
    return BFF_STAGE_RESPONDED;
}
