/* Stage: CORS (http/cors.h). An allowed Origin gets Access-Control-Allow-Origin (and
 * credentials, exposed headers) on whatever answers it, errors included, because the headers
 * are set before any stage responds; a preflight (OPTIONS with Access-Control-Request-Method)
 * is answered here, 204, before auth, rate limits or routing see it. A preflight from an
 * origin the profile does not list is 403. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/http/respond.h"
#include "server/stage/pipeline.h"

static void add(h2o_req_t *req, const char *name, size_t namelen, const char *value, size_t len)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, namelen, 0, NULL,
                          h2o_strdup(&req->pool, value, len).base, len);
}

bff_stage_result_t bff_stage_cors(bff_req_t *r)
{
    const bff_cors_conf_t *c = &r->profile->cors;
    h2o_req_t *req = r->req;
    if (!c->present)
        return BFF_STAGE_NEXT;
    ssize_t o = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    int preflight = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) &&
                    h2o_find_header_by_str(&req->headers,
                                           H2O_STRLIT("access-control-request-method"), -1) != -1;
    add(req, H2O_STRLIT("vary"), H2O_STRLIT("Origin")); /* answers differ by Origin */
    if (o < 0)
        return BFF_STAGE_NEXT; /* not a cross-origin browser request */
    h2o_iovec_t origin = req->headers.entries[o].value;
    if (!bff_cors_origin_allowed(c, origin.base, origin.len)) {
        if (!preflight)
            return BFF_STAGE_NEXT; /* no CORS headers: the browser keeps the answer from the page */
        bff_respond_error(req, 403, "forbidden", "this origin may not call this API", NULL);
        return BFF_STAGE_RESPONDED;
    }
    if (c->any_origin && !c->credentials)
        add(req, H2O_STRLIT("access-control-allow-origin"), H2O_STRLIT("*"));
    else
        add(req, H2O_STRLIT("access-control-allow-origin"), origin.base, origin.len);
    if (c->credentials)
        add(req, H2O_STRLIT("access-control-allow-credentials"), H2O_STRLIT("true"));
    if (!preflight) {
        add(req, H2O_STRLIT("access-control-expose-headers"), c->expose_headers,
            strlen(c->expose_headers));
        return BFF_STAGE_NEXT;
    }
    add(req, H2O_STRLIT("access-control-allow-methods"), c->methods, strlen(c->methods));
    add(req, H2O_STRLIT("access-control-allow-headers"), c->headers, strlen(c->headers));
    char age[24];
    int n = snprintf(age, sizeof(age), "%llu", (unsigned long long)(c->max_age_ms / 1000));
    add(req, H2O_STRLIT("access-control-max-age"), age, (size_t)n);
    bff_respond_typed(req, 204, "No Content", h2o_iovec_init(NULL, 0), h2o_iovec_init(NULL, 0));
    return BFF_STAGE_RESPONDED;
}
