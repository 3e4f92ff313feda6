/* Retry timing: jittered exponential back-off that must leave room for another attempt before
 * the caller's deadline. Pure: the caller supplies the time and the random bits. */
#ifndef BFF_SERVER_FETCH_BACKOFF_H
#define BFF_SERVER_FETCH_BACKOFF_H

#include <stdint.h>

#define BFF_BACKOFF_BASE_MS 25
#define BFF_MIN_ATTEMPT_MS 5 /* an attempt with less time than this is not started */

/** The wait after attempt number `attempt` (1-based) failed: a uniform pick in [d/2, d] where
 * d = BFF_BACKOFF_BASE_MS << (attempt - 1), from the random bits `rnd`. */
uint64_t bff_backoff_ms(unsigned attempt, uint64_t rnd);
/** 1 when waiting `backoff_ms` from `now` still leaves two minimal attempts' time before
 * `deadline_at` (0 = no deadline). */
int bff_backoff_fits(uint64_t now, uint64_t backoff_ms, uint64_t deadline_at);

#endif
