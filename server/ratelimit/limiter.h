/* Rate limiting by GCRA (the generic cell rate algorithm: one timestamp per key, the
 * "theoretical arrival time"), shared by every instance through one Lua script per check in
 * Redis (EVALSHA, EVAL when Redis has not seen it), on the worker's loop. When Redis cannot
 * answer within its command timeout, a profile fails open (an in-process limiter per worker
 * takes over) or closed (the caller answers 503). One limiter per profile per worker, held by
 * the worker's configuration views like the cache. */
#ifndef BFF_SERVER_RATELIMIT_LIMITER_H
#define BFF_SERVER_RATELIMIT_LIMITER_H

#include <h2o.h>
#include <stdint.h>

#include "server/loop/timer.h"
#include "server/ratelimit/rate_conf.h"

typedef struct st_bff_limiter_t bff_limiter_t;

typedef struct st_bff_rate_verdict_t {
    int allowed;
    int unavailable;        /* Redis could not say and the profile fails closed: 503 */
    int local;              /* decided by the in-process limiter (Redis unreachable) */
    uint64_t remaining;     /* requests left right now */
    uint64_t reset_s;       /* seconds until the burst is whole again */
    uint64_t retry_after_s; /* rejected: when the next one would pass */
    int quota_known;        /* Redis counted the plan's quota (the local limiter never does) */
    int quota_exhausted;    /* refused because of the quota, not the rate */
    uint64_t quota_remaining;
    uint64_t quota_reset_s; /* seconds until the quota's window ends */
} bff_rate_verdict_t;

typedef void (*bff_limit_cb)(void *data, const bff_rate_verdict_t *v);

/** Where a limiter keeps its state and what it does when that is unreachable. */
typedef struct st_bff_limiter_conf_t {
    const char *host; /* Redis; NULL = in-process only */
    uint16_t port;
    unsigned db;
    const char *password;
    uint64_t command_timeout_ms;
    int fail_closed;
} bff_limiter_conf_t;

/** A limiter (its count of references starts at 1); `conf` is copied. */
bff_limiter_t *bff_limiter_create(h2o_evloop_t *loop, bff_timers_t *timers,
                                  const bff_limiter_conf_t *conf);
void bff_limiter_retain(bff_limiter_t *l);
void bff_limiter_release(bff_limiter_t *l);
/** 1 when the limiter was created for an equal `conf` (a reload keeps it, and its state). */
int bff_limiter_same(const bff_limiter_t *l, const bff_limiter_conf_t *conf);

/** Counts a request of `key` (which should name the plan) under `plan` as `cost` requests (1;
 * a batch of GraphQL operations: one per operation; at most the plan's burst, or it could never
 * pass), all or none: its rate and, in Redis, its quota in the same script (the in-process
 * limiter applies the rate only). Decided at once (no Redis, or it is down): fills *now and
 * returns NULL; else returns a handle and `cb` runs exactly once later, unless
 * bff_limiter_cancel was called first. */
void *bff_limiter_check(bff_limiter_t *l, const bff_rate_plan_t *plan, const char *key,
                        size_t keylen, unsigned cost, bff_limit_cb cb, void *data,
                        bff_rate_verdict_t *now);
void bff_limiter_cancel(void *op);

/** GCRA on one timestamp, as the script does it: exposed for the unit test. `tat_us` is the
 * key's stored time (0 = none), updated when allowed. */
void bff_gcra(uint64_t now_us, uint64_t *tat_us, const bff_rate_plan_t *plan, unsigned cost,
              bff_rate_verdict_t *v);

#endif
