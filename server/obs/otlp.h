/* Exporting spans to an OTLP/HTTP collector (JSON encoding), per worker and profile, through
 * the worker's curl loop: spans gather in a batch that goes out when it is full or its flush
 * interval passed, one export at a time. While one is out, spans wait up to the queue's size;
 * past it they are dropped and counted, never queued without bound, so a collector that is
 * down costs memory bounded by max_queue and no request time. */
#ifndef BFF_SERVER_OBS_OTLP_H
#define BFF_SERVER_OBS_OTLP_H

#include <stddef.h>

#include "server/loop/curl_loop.h"
#include "server/loop/timer.h"
#include "server/obs/metrics.h"
#include "server/obs/tracing_conf.h"

typedef struct st_bff_otlp_t bff_otlp_t;

/** An exporter for `conf` (copied); counts in `m` (the worker's, may be NULL). */
bff_otlp_t *bff_otlp_create(bff_curl_loop_t *curl, bff_timers_t *timers,
                            const bff_tracing_conf_t *conf, bff_site_metrics_t *m);
/** Cancels an export in flight; spans not sent are dropped (counted). */
void bff_otlp_destroy(bff_otlp_t *x);
const bff_tracing_conf_t *bff_otlp_conf(const bff_otlp_t *x);
/** Adds one span: a whole OTLP JSON span object. */
void bff_otlp_add(bff_otlp_t *x, const char *span, size_t len);
/** Sends what is waiting now (draining); 1 while an export is out. */
int bff_otlp_flush(bff_otlp_t *x);

#endif
