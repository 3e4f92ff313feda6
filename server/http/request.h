/* bffd's per-request object: everything the pipeline's stages share about one client request.
 * It lives in the request's pool; its dispose hook runs the response hooks (access log), and
 * releases the configuration view the request started with, when h2o frees the request. */
#ifndef BFF_SERVER_HTTP_REQUEST_H
#define BFF_SERVER_HTTP_REQUEST_H

#include <h2o.h>
#include <stdint.h>

#include "server/core/conf_view.h"
#include "server/core/worker.h"
#include "server/http/router.h"

typedef struct st_bff_req_t {
    h2o_req_t *req;
    bff_site_ctx_t *site;             /* the profile's slot on this worker */
    bff_conf_view_t *view;            /* retained: the configuration the request started with */
    const bff_config_site_t *conf;    /* the profile's part of it */
    const bff_profile_t *profile;     /* conf->profile */
    uint64_t started_us;              /* bff_now_us() */
    h2o_iovec_t request_id;           /* echoed, logged, sent upstream */
    h2o_iovec_t method, path;         /* copies for the access log */
    h2o_iovec_t route_path;           /* the raw path without the query */
    bff_route_match_t route;          /* set by the route stage */
    h2o_iovec_t doc;                  /* the request doc (params stage): parameters, headers read */
    struct st_bff_cache_req_t *cache; /* the cache stage's state; NULL = not cached */
    struct st_gql_pending_t *graphql; /* a GraphQL run waiting for the cache's verdict */
    const struct st_bff_principal_t *principal; /* set by the auth stage; NULL = anonymous */
    int auth_retried;       /* the auth stage fetched the JWKS again for this request */
    char trace_id[33];      /* of the traceparent sent upstream ("" = none yet) */
    char traceparent[56];   /* sent upstream; its parent id is the request's span */
    struct st_bff_traced_source_t *traced; /* sources noted for the request's spans */
    size_t ntraced;
    h2o_iovec_t log_failed; /* JSON array of failed sources for the access log */
    int log_partial;        /* answered with some optional sources missing */
    unsigned stage;         /* the next stage to run (pipeline.c) */
    bff_timer_t send_watch; /* while the response is being sent: write progress */
    size_t send_baseline;   /* write progress (send_progress) at the last look */
    size_t sent_bytes;      /* the response's size, counted against its connection */
} bff_req_t;

/** Creates the request object for `req` arriving on slot `site`, on the worker's current
 * configuration. Never fails. */
bff_req_t *bff_req_create(bff_site_ctx_t *site, h2o_req_t *req);
/** The response was handed to h2o: from now on its connection must make write progress within
 * the profile's write_timeout, and hold no more than max_unsent_bytes unsent. */
void bff_req_sent(bff_req_t *r);
/** HTTP/1 only: 1 when the client hung up. libh2o 2.2.5 does not read an HTTP/1 connection
 * while its request is in flight, so this peeks at the socket (one poll(2)). */
int bff_req_client_gone(const bff_req_t *r);

#endif
