/* The h2o handler of a profile: request id, size limits, /health and /ready, routing to
 * endpoint specs with 404/405 answers, and the access log line at request end. */
#ifndef BFF_SERVER_HANDLER_H
#define BFF_SERVER_HANDLER_H

#include "server/server.h"

/** Per-request bookkeeping shared by the handler and the endpoint runner (pool memory). */
typedef struct st_bff_request_t {
    bff_site_ctx_t *site_ctx;
    h2o_req_t *req;
    uint64_t started_us;
    h2o_iovec_t request_id;
    h2o_iovec_t method, path; /* copies for the access log */
    int responded;
} bff_request_t;

/** Registers the handler on the site's host configuration. */
void bff_handler_register(bff_site_t *site, h2o_pathconf_t *pathconf);

#endif
