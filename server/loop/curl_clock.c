/* clock_gettime() for libcurl, see curl_clock.h. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "server/loop/curl_clock.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

typedef int (*clock_fn)(clockid_t, struct timespec *);

static __thread int frozen;
static __thread struct timespec frozen_at;
static clock_fn real_clock; /* resolved on first use: a library may read the clock early */

static clock_fn real(void)
{
    clock_fn fn = __atomic_load_n(&real_clock, __ATOMIC_RELAXED);
    if (fn == NULL) {
        *(void **)&fn = dlsym(RTLD_NEXT, "clock_gettime");
        if (fn == NULL)
            abort();
        __atomic_store_n(&real_clock, fn, __ATOMIC_RELAXED);
    }
    return fn;
}

void bff_curl_clock_freeze(void)
{
    real()(CLOCK_MONOTONIC, &frozen_at);
    frozen = 1;
}

void bff_curl_clock_thaw(void)
{
    frozen = 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (frozen && id == CLOCK_MONOTONIC) {
        *ts = frozen_at;
        return 0;
    }
    return real()(id, ts);
}
