/* Stale-while-revalidate for cached GraphQL queries: the query runs again in the background
 * (cache_refresh.c's machinery) with what the request that found the stale entry brought. */
#ifndef BFF_SERVER_STAGE_GRAPHQL_REFRESH_H
#define BFF_SERVER_STAGE_GRAPHQL_REFRESH_H

#include "compose/gql/run.h"
#include "server/cache/cache.h"
#include "server/http/request.h"
#include "server/stage/graphql_cache.h"

/** Refreshes `key` by running `conf` (its strings and lines are copied; ops, host, on_done and
 * data are set here) against document `doc` (a reference taken over). The entry is stored
 * as `type` when the run ends without errors. */
void bff_gql_refresh(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                     int per_principal, uint64_t timeout_ms, const bff_gql_run_conf_t *conf,
                     bff_gql_cached_t *doc, h2o_iovec_t type);

#endif
