/* Stage: the profile's OpenAPI document at its `openapi.path` (GET and HEAD), when the profile
 * turns it on. After CORS (a browser tool may read it cross-origin) and the IP lists (a closed
 * API stays closed), before routing, auth and rate limits: a contract is not a resource. The
 * text was generated when the configuration loaded; this only sends it, with an ETag. */
#include <string.h>

#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_openapi(bff_req_t *r)
{
    const bff_config_site_t *conf = r->conf;
    h2o_req_t *req = r->req;
    if (conf->openapi_json == NULL ||
        !h2o_memis(r->route_path.base, r->route_path.len, r->profile->openapi.path,
                   strlen(r->profile->openapi.path)))
        return BFF_STAGE_NEXT;
    if (bff_respond_unless_get(req))
        return BFF_STAGE_RESPONDED;
    size_t etag_len = strlen(conf->openapi_etag);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, conf->openapi_etag,
                   etag_len);
    /* Revalidated on every use: a reload may change it at any time. */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    if (bff_if_none_match(req, conf->openapi_etag, etag_len)) {
        bff_respond_json(req, 304, "Not Modified", h2o_iovec_init(NULL, 0));
        return BFF_STAGE_RESPONDED;
    }
    /* The snapshot outlives the request (the request holds its view): no copy needed. */
    bff_respond_json(req, 200, "OK", h2o_iovec_init(conf->openapi_json, conf->openapi_len));
    return BFF_STAGE_RESPONDED;
}
