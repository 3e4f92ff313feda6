/* The executor: runs a plan's sources for one request. It renders each source's call from the
 * request doc and the answers already in, starts every source whose inputs are resolved (so
 * independent calls run in parallel and chained ones wait only for what they read), fans out
 * for-each sources under their concurrency cap, joins batch elements into one call, sends
 * identical calls once (coalescing), applies fallbacks, and tells required from optional
 * failures. It knows no HTTP server, socket or loop: calls go out through a fetch-ops table
 * the host supplies, and time comes from the host's clock, so it runs the same under a test's
 * fake fetcher as under the worker's upstream client.
 *
 * Ownership: a run is malloc'ed and owns its memory (request doc copy, call records, upstream
 * bodies, scanned docs), so it may outlive the request that started it. It borrows the plan:
 * the caller keeps the configuration that holds the plan alive until bff_exec_destroy. */
#ifndef BFF_COMPOSE_EXEC_H
#define BFF_COMPOSE_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "compose/bindings.h"
#include "compose/plan.h"

typedef struct st_bff_exec_t bff_exec_t;

/** One upstream call as the executor asks for it. Everything is borrowed for the duration of
 * ops->start: the fetcher copies what it keeps (all of it, for retries). */
typedef struct st_bff_fetch_req_t {
    size_t upstream;            /* index into the profile's upstream list */
    const char *method;         /* "GET", "POST", ... */
    const char *path;           /* path and query, rendered and percent-encoded */
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const char *body; /* NULL = none */
    size_t body_len;
    uint64_t timeout_ms; /* per attempt; 0 = the upstream's */
    unsigned retries;    /* attempts after the first (idempotent methods only) */
    int idempotent;      /* repeating it is safe whatever the method (an Idempotency-Key) */
    int want_headers;    /* bring back the response headers (headers_json) */
    int want_validators; /* bring back ETag and Last-Modified (etag, last_modified) */
    /* The source's cache policy (a GET source with `cache:`), NULL = not cached; then the
     * lines from headers[own_headers_at] on are the source's own, which a cache key covers
     * (the ones before are the run's: request id, trace context). */
    const struct st_bff_cache_policy_t *cache;
    size_t own_headers_at;
} bff_fetch_req_t;

/** What a call brought back. `body` and `headers_json` are malloc'ed (or NULL) and belong to
 * the callback's receiver, which frees them. A response with a status that is not 2xx has
 * err == bff_err_upstream_status and still its body (to shape an error from). */
typedef struct st_bff_fetch_result_t {
    const char *err; /* NULL on success; else a bff_err_* of compose/errors.h */
    long status;     /* HTTP status if one arrived, else 0 */
    char *body;
    size_t body_len;
    char *headers_json;    /* {"name": "value", ...}, lower-cased names; when asked for */
    char content_type[64]; /* as the upstream sent it; "" = none */
    unsigned attempts;     /* made (retries included); 0 when a cache answered */
    int from_cache;        /* a source cache answered, not the upstream */
    char etag[128];        /* when asked for (want_validators): as sent, "" = none or too long */
    char last_modified[40];
    int retry_after;      /* seconds from Retry-After; -1 = none */
    int cache_max_age;    /* from Cache-Control (s-maxage, else max-age), with BFF_CC_MAX_AGE */
    unsigned cache_flags; /* BFF_CC_* of compose/cache_policy.h; 0 = it said nothing */
    uint64_t duration_us;
    char detail[160];     /* human-readable reason for errors: never a URL, host or curl wording */
    char log_detail[200]; /* for the log only: may name the instance and libcurl's error */
} bff_fetch_result_t;

typedef void (*bff_fetch_cb)(void *data, bff_fetch_result_t *result);

/** The host's side. Contract of `start` (as every *_start): it returns NULL when the call fails
 * at once (breaker open, bulkhead full, no time left), with *err set, and `cb` never runs;
 * otherwise `cb` runs exactly once, later (never from inside start), unless `cancel` was called
 * first, after which it never runs and the handle is dead. */
typedef struct st_bff_fetch_ops_t {
    void *(*start)(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                   const char **err);
    void (*cancel)(void *host, void *call);
    uint64_t (*now_us)(void *host); /* a monotonic clock in microseconds */
    /* Optional: asked after a call completes, when more calls would follow. Returning 1 ends
     * the run as BFF_EXEC_ABANDONED (the client hung up: no further calls for it). */
    int (*client_gone)(void *host);
} bff_fetch_ops_t;

typedef enum en_bff_exec_state_t {
    BFF_EXEC_RUNNING,
    BFF_EXEC_COMPLETE,  /* every source resolved; optional ones may have failed (partial) */
    BFF_EXEC_FAILED,    /* a required source failed, or a source's status decided the answer
                           (outcome->respond_status): bff_exec_failed_source names it */
    BFF_EXEC_ABANDONED, /* ops->client_gone said so */
} bff_exec_state_t;

typedef enum en_bff_source_state_t {
    BFF_SRC_WAITING, /* inputs not resolved yet */
    BFF_SRC_RUNNING,
    BFF_SRC_DONE,
    BFF_SRC_FAILED,
} bff_source_state_t;

/** How one source went, for responses, Server-Timing and logs. */
typedef struct st_bff_source_outcome_t {
    bff_source_state_t state;
    const char *err;  /* FAILED: why; DONE: NULL, or bff_err_partial when for-each items failed */
    long status;      /* the upstream's status when one is known */
    char detail[200]; /* for clients: never a URL, host or libcurl's wording */
    char log_detail[200]; /* for the log: more where the fetcher knew more; "" = as detail */
    uint64_t started_us, duration_us;      /* host clock; duration 0 while running */
    unsigned respond_status;               /* the source decided the answer's status (on_status) */
    const bff_status_rule_t *respond_rule; /* and maybe its body */
    int retry_after;                       /* from the upstream's Retry-After; -1 = none */
} bff_source_outcome_t;

typedef struct st_bff_exec_conf_t {
    const bff_plan_t *plan;
    const char *request_doc; /* JSON object of the request's values (copied) */
    size_t request_doc_len;
    const char *const *headers; /* lines sent with every call first (request id, trace) */
    size_t nheaders;            /* (copied) */
    int idempotency_key;        /* the client sent one (it is among `headers`): writes may retry */
    const bff_fetch_ops_t *ops;
    void *host;
    /* Runs once when the state leaves RUNNING, unless the run was destroyed first. By then no
     * call of the run is in flight. The callee may destroy the run. */
    void (*on_done)(void *data, bff_exec_t *exec);
    void *data;
} bff_exec_conf_t;

/** Creates a run; nothing starts yet. Returns NULL when the request doc is not a valid JSON
 * object (the caller built it: a bug, not a client error). */
bff_exec_t *bff_exec_create(const bff_exec_conf_t *conf);
/** Starts every source whose inputs are resolved. on_done may run before this returns (every
 * source failed at once, or a required one did): the caller must not touch the run after this
 * call unless its on_done has not run. */
void bff_exec_start(bff_exec_t *exec);
/** The deadline passed: every unresolved source fails with bff_err_upstream_timeout and
 * `detail`, calls in flight are cancelled, and on_done runs (if it has not). */
void bff_exec_expire(bff_exec_t *exec, const char *detail);
/* What the calls behind one source did (the debug view): identical calls shared by sources
 * count for each. */
typedef struct st_bff_exec_call_stats_t {
    unsigned calls, attempts, cached;
    uint64_t bytes;
    long status; /* of the last call that answered */
} bff_exec_call_stats_t;
/** Sums the finished calls of source `s`. */
void bff_exec_call_stats(const bff_exec_t *exec, size_t s, bff_exec_call_stats_t *out);
/** Cancels what is in flight and frees the run. on_done never runs afterwards. */
void bff_exec_destroy(bff_exec_t *exec);

bff_exec_state_t bff_exec_state(const bff_exec_t *exec);
/** The required source whose failure ended the run (state FAILED). */
size_t bff_exec_failed_source(const bff_exec_t *exec);
/** 1 if an optional source failed or a for-each source lost items. */
int bff_exec_partial(const bff_exec_t *exec);
const bff_source_outcome_t *bff_exec_outcome(const bff_exec_t *exec, size_t source);
/** One item of a for-each source that failed while others did not (the source's outcome is
 * `partial` and the item is null in its list): why (a bff_err_*), the upstream's status when
 * one came (0 if none), and the client-safe detail (borrowed from the run). */
typedef struct st_bff_exec_item_failure_t {
    size_t index;
    const char *err;
    long status;
    const char *detail;
} bff_exec_item_failure_t;
/** The failed items of for-each source `source`, in order: fills at most `max`, returns how
 * many there are. */
size_t bff_exec_failed_items(const bff_exec_t *exec, size_t source, bff_exec_item_failure_t *out,
                             size_t max);
/** The items of for-each source `source` past its `max`, which no call fetched (counted up to
 * 1000 items). */
size_t bff_exec_items_left_out(const bff_exec_t *exec, size_t source);
/** The values to shape the response from (borrowed from the run: valid until destroy). */
bff_shape_env_t bff_exec_env(const bff_exec_t *exec);
/** What is wrong with a request value a source's URL needs. */
typedef enum en_bff_input_problem_t {
    BFF_INPUT_MISSING = 1, /* absent, null, an object or a list */
    BFF_INPUT_SEGMENT,     /* empty, "." or ".." where it is a whole path segment */
    BFF_INPUT_TOO_LONG,    /* the URL would be longer than 8192 bytes */
} bff_input_problem_t;
/** The first request value a source's URL cannot take, as written ("body.reason", "q",
 * "header.x-tenant"), or NULL; *problem (may be NULL) says why. Missing: a field of the client's
 * body anywhere in the URL, or an optional query parameter or header in the path part (in the
 * query, those drop out instead). Checked before any call goes out, so the client gets a 400
 * naming it, and a write is never half-sent. */
const char *bff_exec_missing_input(const bff_exec_t *exec, bff_input_problem_t *problem);
/** What the upstreams' Cache-Control said, over every call of the run: the shortest max-age
 * in seconds (-1 = none said one) and the BFF_CC_* flags any of them set. */
void bff_exec_cache_hints(const bff_exec_t *exec, int *max_age_s, unsigned *flags);
/** 1 while a required source has not succeeded yet (respond_by answers only without one). */
int bff_exec_required_pending(const bff_exec_t *exec);
/** 1 while sources wait for inputs or for-each items wait to start: the calls a departed
 * client would still cause. */
int bff_exec_has_unstarted_work(const bff_exec_t *exec);

#endif
