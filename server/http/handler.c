/* Hands each request to the pipeline. */
#include "server/http/handler.h"

#include "server/http/request.h"
#include "server/stage/pipeline.h"

typedef struct st_site_handler_t {
    h2o_handler_t super;
    bff_site_ctx_t *site;
} site_handler_t;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    site_handler_t *h = (site_handler_t *)self;
    bff_pipeline_start(bff_req_create(h->site, req));
    return 0; /* the pipeline always ends with a response, or with the client going away */
}

void bff_handler_register(bff_site_ctx_t *site, h2o_pathconf_t *pathconf)
{
    site_handler_t *h = (site_handler_t *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->site = site;
}
