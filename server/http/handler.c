/* Hands each request to the pipeline. */
#include "server/http/handler.h"

#include "server/http/request.h"
#include "server/stage/pipeline.h"

typedef struct st_site_handler_t {
    h2o_handler_t super;
    bff_site_ctx_t *site;
} site_handler_t;

/* An HTTP/1.1 request target in absolute form (`GET http://host/path HTTP/1.1`), which a server
 * must accept (RFC 9112 3.2.2) and libh2o 2.2.5 hands over as the path: its path and query become
 * the request's, and its authority replaces Host's. Any other scheme stays as it came (no route
 * matches it). */
static void take_absolute_form(h2o_req_t *req)
{
    h2o_iovec_t p = req->path;
    h2o_url_t url;
    size_t scheme = p.len >= 7 && h2o_lcstris(p.base, 7, H2O_STRLIT("http://"))    ? 4
                    : p.len >= 8 && h2o_lcstris(p.base, 8, H2O_STRLIT("https://")) ? 5
                                                                                   : 0;
    if (scheme == 0)
        return;
    p = h2o_strdup(&req->pool, p.base, p.len);
    for (size_t i = 0; i != scheme; ++i) /* a scheme is case-insensitive; h2o_url_parse is not */
        p.base[i] = (char)h2o_tolower(p.base[i]);
    if (h2o_url_parse(p.base, p.len, &url) != 0)
        return;
    h2o_iovec_t path = url.path.len != 0 ? url.path : h2o_iovec_init(H2O_STRLIT("/"));
    req->authority = url.authority;
    req->path = path;
    req->path_normalized =
        h2o_url_normalize_path(&req->pool, path.base, path.len, &req->query_at, &req->norm_indexes);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    site_handler_t *h = (site_handler_t *)self;
    take_absolute_form(req);
    bff_pipeline_start(bff_req_create(h->site, req));
    return 0; /* the pipeline always ends with a response, or with the client going away */
}

void bff_handler_register(bff_site_ctx_t *site, h2o_pathconf_t *pathconf)
{
    site_handler_t *h = (site_handler_t *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->site = site;
}
