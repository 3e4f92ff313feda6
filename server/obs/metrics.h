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

typedef struct st_bff_route_metrics_t {
    _Atomic int used; /* set (release) once `route` is written */
    char route[128];
    _Atomic uint64_t codes[BFF_METRICS_CODES];     /* by bff_metrics_code_index */
    _Atomic uint64_t buckets[BFF_METRICS_BUCKETS]; /* cumulative on output only */
    _Atomic uint64_t sum_us, count;
} bff_route_metrics_t;

/** One profile's metrics on one worker. */
typedef struct st_bff_site_metrics_t {
    bff_route_metrics_t routes[BFF_METRICS_ROUTES];
    _Atomic uint64_t rate_limited, auth_refused, overflow;
} bff_site_metrics_t;

/** Counts a finished request: its route label ("" = no route), status and duration. */
void bff_metrics_request(bff_site_metrics_t *m, const char *route, int status,
                         uint64_t duration_us);

struct st_bff_server_t;
/** The whole process's metrics as Prometheus text (malloc'ed; *len its length). Any thread. */
char *bff_metrics_render(struct st_bff_server_t *server, size_t *len);

/** Reloads, counted by the main thread. */
extern _Atomic uint64_t bff_metrics_reloads_ok, bff_metrics_reloads_rejected;

#endif
