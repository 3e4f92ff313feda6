/* The response cache around compose. The cache stage (bff_stage_cache, in pipeline.h) answers
 * GET endpoints that turn caching on from L1 or Redis, serves a stale entry while one
 * background refresh runs, and lets identical misses on a worker wait for one composition.
 * Compose reports back through the two hooks below. */
#ifndef BFF_SERVER_STAGE_CACHE_H
#define BFF_SERVER_STAGE_CACHE_H

#include "compose/exec.h"
#include "server/http/request.h"
#include "server/stage/pipeline.h"

/** A composed answer of a cached endpoint: adds ETag, Cache-Control and X-Cache, stores it
 * when it may be (a whole 200 the upstreams let be cached), and hands it to waiting requests.
 * Returns 1 when it answered 304 (the client's If-None-Match matched), else 0 (the caller
 * sends the body). */
int bff_cache_on_composed(bff_req_t *r, int status, h2o_iovec_t body, const bff_exec_t *exec);
/** The same for any answer: `whole` when nothing failed, and what the upstreams'
 * Cache-Control said (bff_exec_cache_hints). */
int bff_cache_on_answer(bff_req_t *r, int status, h2o_iovec_t type, h2o_iovec_t body, int whole,
                        int max_age, unsigned flags);
/** Starts a background refresh of `key` for request `r`'s work (stale-while-revalidate). */
typedef void (*bff_cache_refresh_fn)(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                                     int per_principal);
/** Another stage's cached answer (GraphQL operations): looks `key` up like the cache stage.
 * RESPONDED: answered from the cache. NEXT: a miss, the caller runs it and reports through
 * bff_cache_on_answer / bff_cache_on_failed. PENDING: later either answered, or `resume(r)` is
 * called for the caller to run it. Within stale-while-revalidate a stale entry answers and
 * `refresh` runs (NULL: stale entries past ttl are misses); stale-if-error applies. */
bff_stage_result_t bff_cache_lookup(bff_req_t *r, bff_cache_t *cache,
                                    const bff_cache_policy_t *policy, const unsigned char key[32],
                                    int per_principal, void (*resume)(bff_req_t *r),
                                    bff_cache_refresh_fn refresh);
/** The cache key of a request for `spec` (the route's raw `values`, the raw `query`, its
 * `headers`; `doc` when already built, else {NULL, 0}), as the cache stage computes it; the
 * admin listener purges paths with it. Returns 0, or -1 when the parameters do not fit. */
int bff_cache_endpoint_key(const bff_spec_t *spec, const h2o_iovec_t *values, h2o_iovec_t query,
                           const h2o_headers_t *headers, h2o_iovec_t doc, h2o_mem_pool_t *pool,
                           unsigned char key[32], int *per_principal);
/** The cache and key a request composes for (its lookup missed), or NULL: a late run after
 * respond_by fills that entry when it completes. */
bff_cache_t *bff_cache_req_target(bff_req_t *r, unsigned char key[32], int *per_principal);
/** The upstream calls behind the answer about to be reported, with their validators
 * (cache_validators.h): stored with the entry when the endpoint revalidates. */
void bff_cache_note_validators(bff_req_t *r, h2o_iovec_t validators);
/** The composition failed or is partial: answers from a stale entry within stale-if-error
 * (returns 1), else returns 0 and the caller answers as usual. */
int bff_cache_on_failed(bff_req_t *r);

#endif
