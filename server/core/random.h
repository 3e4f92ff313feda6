/* The one random generator: per thread, seeded once from the kernel, so every process (every
 * replica, every restart) has its own sequence. For ids, trace contexts and back-off jitter;
 * not for secrets. */
#ifndef BFF_SERVER_CORE_RANDOM_H
#define BFF_SERVER_CORE_RANDOM_H

#include <stdint.h>

/** 64 random bits (splitmix64). */
uint64_t bff_random_u64(void);

#endif
