/* Route matching for one profile: the endpoint whose route matches the path with the most
 * literal segments wins. The router only finds; the route stage answers 404 and 405. */
#ifndef BFF_SERVER_HTTP_ROUTER_H
#define BFF_SERVER_HTTP_ROUTER_H

#include <h2o.h>

#include "compose/spec.h"
#include "server/core/profile.h"
#include "server/http/answer.h"

typedef enum en_bff_route_result_t {
    BFF_ROUTE_FOUND,
    BFF_ROUTE_NOT_FOUND,
    BFF_ROUTE_WRONG_METHOD, /* the path matches routes of other methods only */
} bff_route_result_t;

typedef struct st_bff_route_match_t {
    const bff_spec_t *spec;
    h2o_iovec_t *values; /* raw (still percent-encoded) path parameter values, in pool memory */
    size_t nvalues;
} bff_route_match_t;

/** Matches `path` (the raw path, query cut off) and `method`. On FOUND fills *match (values
 * copied into `pool`); on WRONG_METHOD writes the methods the path has into `allow` (e.g.
 * "GET, POST"). */
bff_route_result_t bff_router_match(const bff_profile_t *profile, h2o_iovec_t method,
                                    h2o_iovec_t path, h2o_mem_pool_t *pool,
                                    bff_route_match_t *match, char *allow, size_t allow_size);
/** bff_router_match, with the answer when nothing matches: 404, or 405 with Allow. Returns 0
 * when found, else -1 with `a` filled. */
int bff_router_resolve(const bff_profile_t *profile, h2o_iovec_t method, h2o_iovec_t path,
                       h2o_mem_pool_t *pool, bff_route_match_t *match, bff_answer_t *a);

#endif
