/* Shared by the cache stage (cache.c) and its background refresh (cache_refresh.c). */
#ifndef BFF_SERVER_STAGE_CACHE_INTERNAL_H
#define BFF_SERVER_STAGE_CACHE_INTERNAL_H

#include "compose/exec.h"
#include "server/cache/cache.h"
#include "server/http/request.h"

/** The entry blob for a composed answer (malloc'ed; NULL when it must not be stored: not a
 * 200, a source failed, or an upstream's Cache-Control forbids it). */
char *bff_cache_i_build(const bff_cache_policy_t *policy, int per_principal, int status,
                        h2o_iovec_t type, h2o_iovec_t body, h2o_iovec_t tags, int whole,
                        int max_age, unsigned flags, size_t *len);
/** The endpoint's cache tags rendered from a finished run, newline-separated, into `buf`
 * (a tag that renders empty, too long or with a line break is left out). Returns the length. */
size_t bff_cache_i_tags(const bff_spec_t *spec, const bff_exec_t *exec, char *buf, size_t size);
#define BFF_CACHE_TAGS_MAX 4096
/** Stores the answer of a finished run of `spec` under `key` when it may be stored (a whole
 * 200 the upstreams allow). Returns the blob (malloc'ed) or NULL. */
char *bff_cache_i_store_run(bff_cache_t *cache, const unsigned char key[32], int per_principal,
                            const bff_profile_t *profile, const bff_spec_t *spec,
                            const bff_exec_t *exec, size_t *len);
/** Refreshes `key` in the background from request `r`'s endpoint and doc (stale-while-
 * revalidate): at most one refresh per key on this worker, and with Redis, per key across
 * instances. */
void bff_cache_i_refresh(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                         int per_principal);

#endif
