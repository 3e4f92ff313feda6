/* The open-files limit against what a configuration may hold open. */
#ifndef BFF_FD_LIMIT_H
#define BFF_FD_LIMIT_H

#include <stdint.h>

#include "server/core/config.h"

/** Raises the soft RLIMIT_NOFILE to the hard limit (at most 2^20); returns the soft limit now
 * in force (UINT64_MAX for none, 0 when it cannot be read). */
uint64_t bff_fd_limit_raise(void);
/** The descriptors `config` may hold at once with `nthreads` workers: per thread, each profile's
 * upstream connections (the HTTP/1.1 caps' sum) and client requests in flight
 * (limits.max_inflight), plus 64 for listeners, loops, Redis and logs. An upper bound. */
uint64_t bff_fd_need(const bff_config_t *config, unsigned nthreads);
/** Warns on stderr when `limit` is under bff_fd_need. */
void bff_fd_limit_check(const bff_config_t *config, unsigned nthreads, uint64_t limit);

#endif
