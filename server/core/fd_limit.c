/* systemd and login shells start processes with 1024 open files (soft), fewer than one worker's
 * upstream connections may take: past it, accept() and curl's socket() fail with EMFILE and
 * calls fail as connection errors. Like Redis and Go's runtime, bffd raises the soft limit to
 * the hard one at start, and says so when even that is under what its configuration may use. */
#include "server/core/fd_limit.h"

#include <stdio.h>
#include <sys/resource.h>

#include "server/fetch/upstream.h"

/* The kernel's default fs.nr_open: a soft limit above it is refused. */
#define FD_LIMIT_CAP ((rlim_t)1 << 20)

uint64_t bff_fd_limit_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_LIMIT_CAP ? FD_LIMIT_CAP : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        struct rlimit raised = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

uint64_t bff_fd_need(const bff_config_t *config, unsigned nthreads)
{
    uint64_t per_thread = 0;
    for (size_t i = 0; i != config->nsites; ++i) {
        const bff_profile_t *p = config->sites[i].profile;
        bff_upstream_connections_t sum;
        bff_upstream_connection_sum(p, &sum);
        /* each upstream's curl multi handle (curl_loop.h) holds a socket pair of its own */
        per_thread += sum.total + p->max_inflight + 2 * p->nupstreams;
    }
    return per_thread * nthreads + 64;
}

void bff_fd_limit_check(const bff_config_t *config, unsigned nthreads, uint64_t limit)
{
    uint64_t need = bff_fd_need(config, nthreads);
    if (limit != 0 && limit < need)
        fprintf(stderr,
                "bffd: warning: the open-files limit is %llu, under the %llu descriptors this "
                "configuration may use at once (%u worker thread%s x (the upstreams' "
                "max_connections + limits.max_inflight + 2 per upstream) + 64); past it "
                "connections fail with "
                "\"too many open files\": raise the limit (ulimit -n, systemd LimitNOFILE) or "
                "lower those caps\n",
                (unsigned long long)limit, (unsigned long long)need, nthreads,
                nthreads == 1 ? "" : "s");
}
