/* A circuit breaker for one upstream on one worker: closed, open after too many failures (in a
 * row, or as a share of a window), half-open after a cooldown, when exactly one trial call
 * decides whether it closes again. Pure state: the caller supplies the time. */
#ifndef BFF_SERVER_FETCH_BREAKER_H
#define BFF_SERVER_FETCH_BREAKER_H

#include <stdint.h>

#include "server/core/profile.h"

typedef enum en_bff_breaker_state_t {
    BFF_BREAKER_CLOSED,
    BFF_BREAKER_OPEN,
    BFF_BREAKER_HALF_OPEN
} bff_breaker_state_t;

typedef struct st_bff_breaker_t {
    bff_breaker_state_t state;
    unsigned consecutive_failures;
    uint64_t opened_at;
    uint64_t window_start;
    unsigned window_calls, window_failures;
    const void *trial; /* half-open: the one call allowed through, until it ends */
} bff_breaker_t;

/** Whether `call` may go out at `now` (ms). In half-open it becomes the trial. */
int bff_breaker_allows(bff_breaker_t *b, const bff_breaker_conf_t *conf, const void *call,
                       uint64_t now);
/** Records a call's verdict (`failed`: the upstream's fault). A half-open trial's verdict
 * closes or reopens the breaker. */
void bff_breaker_record(bff_breaker_t *b, const bff_breaker_conf_t *conf, int failed, uint64_t now);
/** `call` ended without a verdict (cancelled): if it was the trial, the next call may try. */
void bff_breaker_forget(bff_breaker_t *b, const void *call);

#endif
