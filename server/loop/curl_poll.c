/* poll() for libcurl, see curl_poll.h. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "server/loop/curl_poll.h"

#include <dlfcn.h>
#include <poll.h>
#include <stdlib.h>

/* glibc declares poll's array write-only (__attr_access), so reading `events` warns; it is read. */
#if !defined(__clang__) /* clang has no such warning (and would warn about the pragma) */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define READ_EVENTS (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND)

static __thread bff_curl_loop_t *scope;
static int (*real_poll)(struct pollfd *, nfds_t, int);

__attribute__((constructor)) static void find_real(void)
{
    *(void **)&real_poll = dlsym(RTLD_NEXT, "poll");
    if (real_poll == NULL)
        abort();
}

void bff_curl_poll_scope(bff_curl_loop_t *cl)
{
    scope = cl;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (scope != NULL && nfds == 1 && timeout == 0 && (fds[0].events & ~READ_EVENTS) == 0 &&
        bff_curl_loop_fd_quiet(scope, fds[0].fd)) {
        fds[0].revents = 0;
        return 0;
    }
    return real_poll(fds, nfds, timeout);
}
