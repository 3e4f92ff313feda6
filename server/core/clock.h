/* The one clock for durations: CLOCK_MONOTONIC, which never jumps with NTP or an operator's
 * `date`. The wall clock is for log timestamps only (obs/access_log.c). */
#ifndef BFF_SERVER_CORE_CLOCK_H
#define BFF_SERVER_CORE_CLOCK_H

#include <stdint.h>

/** Microseconds since an arbitrary fixed point. */
uint64_t bff_now_us(void);

#endif
