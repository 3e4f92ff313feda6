/* The one clock for durations: CLOCK_MONOTONIC, which never jumps with NTP or an operator's
 * `date`. The wall clock is for log timestamps (obs/access_log.c) and
 * cache entries other instances read (bff_wall_ms). */
#ifndef BFF_SERVER_CORE_CLOCK_H
#define BFF_SERVER_CORE_CLOCK_H

#include <stdint.h>

/** Microseconds since an arbitrary fixed point. */
uint64_t bff_now_us(void);
/** Milliseconds since the epoch (CLOCK_REALTIME): only where instances must agree on a moment,
 * as cache entries shared through Redis do (their freshness and Age). */
uint64_t bff_wall_ms(void);

#endif
