/* GraphQL in spec test cases: a stored operation behind a REST route, and a request to the
 * graph's own path, each run as the GraphQL stage runs it (its preparation, the executor's
 * GraphQL run on the recordings, its answer) without an h2o request of its own. */
#ifndef BFF_SERVER_SPECTEST_GRAPHQL_CASE_H
#define BFF_SERVER_SPECTEST_GRAPHQL_CASE_H

#include <h2o.h>

#include "compose/spec.h"
#include "server/core/profile.h"
#include "server/http/answer.h"
#include "server/spectest/case.h"
#include "server/spectest/replay.h"
#include "server/spectest/run.h"

/** The stored operation of `spec` with the request doc `doc` (the route's parameters) as its
 * variables; its data is the answer. */
void bff_st_run_stored(const bff_profile_t *profile, const bff_spec_t *spec, h2o_iovec_t doc,
                       const h2o_headers_t *headers, const char *claims, bff_st_replay_t *replay,
                       bff_answer_t *a, bff_st_result_t *res);
/** Case `c`, a GET or POST to the graph's path: one operation (a batch is refused). */
void bff_st_run_graphql(const bff_profile_t *profile, const bff_st_case_t *c,
                        h2o_headers_t *headers, h2o_mem_pool_t *pool, bff_st_replay_t *replay,
                        bff_answer_t *a, bff_st_result_t *res);

#endif
