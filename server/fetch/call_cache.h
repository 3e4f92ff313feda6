/* The per-source cache: sits under the executor's fetch operations, so a cached source answers
 * REST endpoints and GraphQL fields alike. A GET source with `cache:` is looked up by its
 * upstream, method, URL and own headers in L1, then Redis; a miss calls the upstream (identical
 * misses on a worker wait for one call) and stores a 2xx answer its Cache-Control allows.
 * Handles from here keep the fetch contract of upstream.h (the callback runs exactly once,
 * from the loop, unless cancelled). */
#ifndef BFF_SERVER_FETCH_CALL_CACHE_H
#define BFF_SERVER_FETCH_CALL_CACHE_H

#include "server/cache/cache.h"
#include "server/fetch/upstream.h"

/** bff_call_start through `cache` (may be NULL) when req->cache asks for it. The handle is an
 * opaque pointer for bff_cached_call_cancel. */
void *bff_cached_call_start(bff_cache_t *cache, bff_upstream_t *up, const bff_fetch_req_t *req,
                            uint64_t deadline_at, bff_fetch_cb cb, void *data, const char **err);
void bff_cached_call_cancel(void *handle);

#endif
