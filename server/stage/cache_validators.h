/* Conditional revalidation of a composed entry (an endpoint's `cache: { revalidate: ... }`).
 * While composing, every upstream call is logged with the validators it answered with (ETag,
 * Last-Modified); the log is stored in the entry. When the entry is past fresh, the logged
 * calls go out again as conditional requests (If-None-Match, If-Modified-Since): if every
 * upstream answers 304 the entry is renewed as it is, without composing, and a client whose
 * If-None-Match names it gets 304. Any other answer composes as a miss would. */
#ifndef BFF_SERVER_STAGE_CACHE_VALIDATORS_H
#define BFF_SERVER_STAGE_CACHE_VALIDATORS_H

#include "compose/json_write.h"
#include "server/cache/cache.h"
#include "server/fetch/upstream.h"
#include "server/http/request.h"

/* The log: a JSON array of {"u": upstream, "m": method, "p": path, "h": [lines], "e": ETag,
 * "l": Last-Modified}, the form kept in the entry. */
typedef struct st_bff_call_log_t {
    bff_jwrite_t w;
    size_t ncalls;
    int broken; /* a call without validators, not a 200, or answered by a source's own cache */
} bff_call_log_t;

void bff_call_log_init(bff_call_log_t *log);
void bff_call_log_dispose(bff_call_log_t *log);
/** bff_cached_call_start, logging the call: the same contract, the handle is for
 * bff_call_log_cancel. `upstream` names up in the profile. */
void *bff_call_log_start(bff_call_log_t *log, const char *upstream, bff_cache_t *cache,
                         bff_upstream_t *up, const bff_fetch_req_t *req, uint64_t deadline_at,
                         bff_fetch_cb cb, void *data, const char **err);
void bff_call_log_cancel(void *handle);
/** The validators to store, or {NULL, 0} when some call cannot be revalidated. */
h2o_iovec_t bff_call_log_result(bff_call_log_t *log);

/** Called once: `unchanged` when every upstream answered 304; then `max_age` and `flags` are
 * what their Cache-Control said (as bff_exec_cache_hints). */
typedef void (*bff_reval_cb)(void *data, int unchanged, int max_age, unsigned flags);
/** Sends the logged calls of `validators` again, conditionally, on request `r`'s upstreams
 * within `timeout_ms`. Returns NULL when they cannot go out (an upstream gone by a reload, a
 * malformed log, a call refused at once): the caller composes. Else `cb` runs exactly once,
 * later, unless bff_reval_cancel came first. */
void *bff_reval_start(bff_req_t *r, h2o_iovec_t validators, uint64_t timeout_ms, bff_reval_cb cb,
                      void *data);
void bff_reval_cancel(void *reval);

#endif
