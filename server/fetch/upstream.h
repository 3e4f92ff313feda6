/* Calls to upstream services on one worker's curl loop (a multi handle per upstream), with the
 * resilience policies of the upstream's definition: instance choice and passive ejection
 * (balance.h), a circuit breaker (breaker.h), a concurrency cap (bulkhead), a call rate shared by
 * the workers (call_rate.h), retries of idempotent calls with jittered back-off inside a deadline
 * (backoff.h), and reuse of curl easy handles. Everything here is per worker, so nothing takes a
 * lock. It moves bytes and statuses; it never parses bodies.
 *
 * Ownership: a bff_fetcher_t per worker (curl loop, timers, idle easy handles). A
 * bff_upstream_t per upstream definition per worker, refcounted: held by the worker's
 * configuration views that use it and by each call in flight, so breaker and health state
 * survive a reload that leaves the definition unchanged, and a call outlives a reload that
 * changes it. The upstream keeps its own copy of the definition. */
#ifndef BFF_SERVER_FETCH_UPSTREAM_H
#define BFF_SERVER_FETCH_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "compose/errors.h"
#include "compose/exec.h"
#include "server/core/profile.h"
#include "server/fetch/host_slots.h"
#include "server/loop/curl_loop.h"
#include "server/loop/timer.h"
#include "server/obs/metrics.h"

typedef struct st_bff_fetcher_t bff_fetcher_t;
typedef struct st_bff_upstream_t bff_upstream_t;
typedef struct st_bff_call_t bff_call_t;

/** The worker's fetch context; borrows the loop's curl adapter and timers. */
bff_fetcher_t *bff_fetcher_create(h2o_evloop_t *loop, bff_curl_loop_t *curl, bff_timers_t *timers);
/** Every upstream created on it must have been released. */
void bff_fetcher_destroy(bff_fetcher_t *fetcher);
/** The most HTTP/1.1 connections the upstreams' caps let one host:port have at once (the lines
 * to it summed, an older configuration's included while it drains): the least curl's
 * CURLMOPT_MAX_HOST_CONNECTIONS must allow. */
unsigned bff_fetcher_host_peak(const bff_fetcher_t *fetcher);

/** Acquires the lines (host_slots.h) the calls of upstream `conf` of profile `profile` queue
 * in, into `lines[i]` for instance i: one per host:port (instances at one host share it), keyed
 * by profile and name so a reload's copy shares it; NULL for HTTP/2, whose calls share
 * connections. Each is released with bff_host_release. */
void bff_upstream_acquire_lines(bff_host_slots_t *t, const char *profile,
                                const bff_upstream_conf_t *conf, bff_host_t **lines);

/** What the HTTP/1.1 upstreams of a profile may hold per worker thread, from the lines a worker
 * builds (each upstream keeps its own cap per host:port, so upstreams behind one host:port may
 * together hold the sum): in all, and to the busiest host:port (its cap sum and lines). */
typedef struct st_bff_upstream_connections_t {
    unsigned long total, peak;
    size_t lines;
    char authority[256]; /* the busiest host:port ("" when there is none) */
} bff_upstream_connections_t;
void bff_upstream_connection_sum(const bff_profile_t *p, bff_upstream_connections_t *out);

/** Per-worker state for one upstream definition (copied) of profile `profile` (whose workers
 * share the upstream's `rate_limit`, call_rate.h); its reference count starts at 1. */
bff_upstream_t *bff_upstream_create(bff_fetcher_t *fetcher, const char *profile,
                                    const bff_upstream_conf_t *conf);
void bff_upstream_retain(bff_upstream_t *up);
void bff_upstream_release(bff_upstream_t *up);
/** Where the upstream's calls and breaker are counted (the worker's slot for its name). */
void bff_upstream_set_metrics(bff_upstream_t *up, bff_upstream_metrics_t *metrics);
/** The upstream's own copy of its definition. */
const bff_upstream_conf_t *bff_upstream_conf(const bff_upstream_t *up);

/** Starts a call on `up`. What it needs of `req` is copied (method, path, headers, body), so
 * retries never borrow the caller's memory; `req->upstream` is not used. No attempt starts
 * after `deadline_at` (loop time in ms; 0 = none). Returns NULL when the call fails at once
 * (breaker open, bulkhead full, over the upstream's rate limit, no time left): `cb` never runs and
 * *err says why (a bff_err_*). Otherwise `cb` runs exactly once, from the loop and never from
 * inside this function, unless bff_call_cancel was called first. The handle is dead once `cb` ran
 * or cancel returned. The result's body belongs to the callback's receiver. */
bff_call_t *bff_call_start(bff_upstream_t *up, const bff_fetch_req_t *req, uint64_t deadline_at,
                           bff_fetch_cb cb, void *data, const char **err);
/** Cancels a call in flight (or waiting to retry); its callback never runs. A circuit breaker's
 * half-open trial is not aborted but detached: it runs to its verdict, then frees itself. */
void bff_call_cancel(bff_call_t *call);

#endif
