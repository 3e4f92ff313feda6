/* Prometheus metrics: counted per worker and profile without locks (each worker writes its own
 * tables, relaxed atomics let the scraper read them) and summed across workers when the admin
 * listener's GET /metrics asks, in the Prometheus text format (written here: Debian has no
 * maintained C client). Labels are bounded: the route template, never the raw path. */
#ifndef BFF_SERVER_OBS_METRICS_H
#define BFF_SERVER_OBS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BFF_METRICS_ROUTES 256 /* distinct route labels per profile and worker */
#define BFF_METRICS_CODES 24
#define BFF_METRICS_BUCKETS 12
#define BFF_METRICS_UPSTREAMS 64 /* distinct upstream names per profile and worker */
#define BFF_METRICS_OUTCOMES 12  /* see bff_metrics_outcomes */
#define BFF_METRICS_SOURCES 256  /* distinct (route, source) labels per profile and worker */

typedef struct st_bff_route_metrics_t {
    _Atomic int used; /* set (release) once `route` is written */
    char route[128];
    _Atomic uint64_t codes[BFF_METRICS_CODES];     /* by bff_metrics_code_index */
    _Atomic uint64_t buckets[BFF_METRICS_BUCKETS]; /* cumulative on output only */
    _Atomic uint64_t sum_us, count;
} bff_route_metrics_t;

/* One upstream of a profile on one worker: its calls by outcome and duration, and its breaker. */
typedef struct st_bff_upstream_metrics_t {
    _Atomic int used; /* set (release) once `name` is written */
    char name[64];
    _Atomic uint64_t outcomes[BFF_METRICS_OUTCOMES];
    _Atomic uint64_t buckets[BFF_METRICS_BUCKETS];
    _Atomic uint64_t sum_us, count;
    _Atomic int breaker;             /* this worker's breaker: a bff_breaker_state_t */
    _Atomic uint64_t breaker_opened; /* transitions to open */
    _Atomic int64_t waiting;         /* calls in the line of the upstream's host (host_slots.h) */
} bff_upstream_metrics_t;

/* One source of one route (a GraphQL resolver of the GraphQL path) on one worker: how long it
 * took, and how often it failed. */
typedef struct st_bff_source_metrics_t {
    _Atomic int used; /* set (release) once `route` and `source` are written */
    char route[128], source[64];
    _Atomic uint64_t buckets[BFF_METRICS_BUCKETS];
    _Atomic uint64_t sum_us, count, failed;
} bff_source_metrics_t;

/* The outcome labels of upstream calls, by index. */
extern const char *const bff_metrics_outcomes[BFF_METRICS_OUTCOMES];

/** One profile's metrics on one worker. */
typedef struct st_bff_site_metrics_t {
    bff_route_metrics_t routes[BFF_METRICS_ROUTES];
    bff_upstream_metrics_t upstreams[BFF_METRICS_UPSTREAMS];
    bff_source_metrics_t sources[BFF_METRICS_SOURCES];
    _Atomic uint64_t rate_limited, auth_refused, overflow;
    /* Answers of cached endpoints and GraphQL queries. */
    _Atomic uint64_t cache_hit, cache_stale, cache_revalidated, cache_miss;
    _Atomic int redis; /* 0: no Redis, 1: configured but down, 2: connected (last request) */
    _Atomic uint64_t spans_exported, spans_dropped; /* tracing (otlp.h) */
} bff_site_metrics_t;

/** The slot of upstream `name` (created on first use), or NULL when the table is full. Only
 * the owning worker calls it. */
bff_upstream_metrics_t *bff_metrics_upstream(bff_site_metrics_t *m, const char *name);
/** Counts an upstream call's end: `err` NULL (a 2xx) or its bff_err_* reason, with the status
 * when one came. `u` may be NULL. */
void bff_metrics_call(bff_upstream_metrics_t *u, const char *err, long status,
                      uint64_t duration_us);
/** The worker's breaker of `u` is now in `state` (counts a transition to open). */
void bff_metrics_breaker(bff_upstream_metrics_t *u, int state);
/** A call of the upstream joined (+1) or left (-1) its host's line. */
void bff_metrics_waiting(bff_upstream_metrics_t *u, int delta);

/** Counts a source of `route` that ran: its time (calls, retries and waits included) and
 * whether it failed. Only the owning worker calls it. */
void bff_metrics_source(bff_site_metrics_t *m, const char *route, const char *source,
                        uint64_t duration_us, int failed);

/** Counts a finished request: its route label ("" = no route), status and duration. */
void bff_metrics_request(bff_site_metrics_t *m, const char *route, int status,
                         uint64_t duration_us);

struct st_bff_server_t;
/** The whole process's metrics as Prometheus text (malloc'ed; *len its length). Any thread. */
char *bff_metrics_render(struct st_bff_server_t *server, size_t *len);

/** Reloads, counted by the main thread. */
extern _Atomic uint64_t bff_metrics_reloads_ok, bff_metrics_reloads_rejected;

#endif
