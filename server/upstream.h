/* Calls to upstream services for one worker: instance choice (round robin or least
 * outstanding, weights), passive health ejection, a circuit breaker and a concurrency cap per
 * upstream, retries of idempotent calls with jittered exponential back-off inside a deadline,
 * and reuse of curl easy handles. State is per worker, so nothing here takes a lock. */
#ifndef BFF_SERVER_UPSTREAM_H
#define BFF_SERVER_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "server/profile.h"

typedef struct st_bff_worker_t bff_worker_t;
typedef struct st_bff_upstreams_t bff_upstreams_t;
typedef struct st_bff_call_t bff_call_t;

/* Failure reasons (compared by pointer). */
extern const char bff_err_upstream_timeout[];   /* no answer within the time allowed */
extern const char bff_err_upstream_connect[];   /* connection refused / failed */
extern const char bff_err_upstream_status[];    /* non-2xx status */
extern const char bff_err_upstream_too_large[]; /* body over the upstream's max_body */
extern const char bff_err_upstream_transport[]; /* any other transfer error */
extern const char bff_err_circuit_open[];       /* breaker open: failed fast */
extern const char bff_err_bulkhead_full[];      /* too many calls in flight: failed fast */

typedef struct st_bff_call_req_t {
    size_t profile, upstream; /* indexes into the worker's profiles and their upstreams */
    const char *method;
    const char *path;           /* path and query, already rendered and encoded */
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const char *body;
    size_t body_len;
    uint64_t timeout_ms;  /* per attempt; 0 = the upstream's */
    uint64_t deadline_at; /* loop time (ms) after which no attempt may run */
    unsigned retries;
} bff_call_req_t;

typedef struct st_bff_call_result_t {
    const char *err; /* NULL on success (2xx) */
    long status;     /* HTTP status if one arrived, else 0 */
    char *body;      /* malloc'ed, owned by the callback's receiver (free it); may be NULL */
    size_t body_len;
    uint64_t duration_us;
    unsigned attempts;
    char detail[160]; /* human-readable reason for errors */
} bff_call_result_t;

typedef void (*bff_call_cb)(void *data, bff_call_result_t *result);

/** Creates the per-worker upstream state for every profile. */
bff_upstreams_t *bff_upstreams_create(bff_worker_t *worker, bff_profile_t **profiles, size_t n);

/** Starts a call. Returns NULL when it fails fast (breaker open, bulkhead full): the callback
 * never runs and *err names why. Otherwise `cb` runs exactly once (asynchronously, never from
 * inside this function), unless bff_call_cancel was called first, after which it never runs. */
bff_call_t *bff_call_start(bff_worker_t *worker, const bff_call_req_t *req, bff_call_cb cb,
                           void *data, const char **err);
/** Cancels a call in flight (or waiting to retry); its callback never runs. */
void bff_call_cancel(bff_call_t *call);

#endif
