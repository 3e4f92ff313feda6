/* Calls per second to one upstream (its `rate_limit:`), per bffd instance: one GCRA shared by
 * every worker thread, its state a single 64-bit theoretical arrival time moved forward by
 * compare-and-swap, so no call takes a lock. Worker-side upstreams of the same profile and
 * upstream name with the same limit find one shared limiter through a small registry (touched
 * only when an upstream is created or freed), and keep it across reloads that keep the limit. */
#ifndef BFF_SERVER_FETCH_CALL_RATE_H
#define BFF_SERVER_FETCH_CALL_RATE_H

#include <stdint.h>

typedef struct st_bff_call_rate_t bff_call_rate_t;

/** The limiter of `profile`'s upstream `upstream` for `limit` calls per `period_ms` and `burst`
 * at once (a reference: release it). Thread-safe. */
bff_call_rate_t *bff_call_rate_acquire(const char *profile, const char *upstream, uint64_t limit,
                                       uint64_t period_ms, uint64_t burst);
void bff_call_rate_release(bff_call_rate_t *r);
/** 1 when a call may go out at `now_us` (bff_now_us), counting it; 0 when over the limit. */
int bff_call_rate_take(bff_call_rate_t *r, uint64_t now_us);

#endif
