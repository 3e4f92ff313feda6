/* The shared per-upstream call limiter (call_rate.h). */
#include "server/fetch/call_rate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

struct st_bff_call_rate_t {
    _Atomic uint64_t tat_us; /* when the next call is due if none came early; 0 = never used */
    uint64_t interval_us, cap_us;
    char *profile, *upstream;
    uint64_t limit, period_ms, burst;
    size_t refcnt; /* under registry_lock */
    bff_call_rate_t *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static bff_call_rate_t *registry;

bff_call_rate_t *bff_call_rate_acquire(const char *profile, const char *upstream, uint64_t limit,
                                       uint64_t period_ms, uint64_t burst)
{
    pthread_mutex_lock(&registry_lock);
    bff_call_rate_t *r = registry;
    while (r != NULL && !(strcmp(r->profile, profile) == 0 && strcmp(r->upstream, upstream) == 0 &&
                          r->limit == limit && r->period_ms == period_ms && r->burst == burst))
        r = r->next;
    if (r == NULL) {
        r = bff_calloc(1, sizeof(*r));
        r->profile = bff_strdup(profile);
        r->upstream = bff_strdup(upstream);
        r->limit = limit, r->period_ms = period_ms, r->burst = burst;
        r->interval_us = period_ms * 1000 / limit;
        if (r->interval_us == 0)
            r->interval_us = 1;
        r->cap_us = r->interval_us * burst;
        r->next = registry;
        registry = r;
    }
    ++r->refcnt;
    pthread_mutex_unlock(&registry_lock);
    return r;
}

void bff_call_rate_release(bff_call_rate_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--r->refcnt == 0) {
        bff_call_rate_t **p = &registry;
        while (*p != r)
            p = &(*p)->next;
        *p = r->next;
        free(r->profile);
        free(r->upstream);
        free(r);
    }
    pthread_mutex_unlock(&registry_lock);
}

int bff_call_rate_take(bff_call_rate_t *r, uint64_t now_us)
{
    uint64_t tat = atomic_load_explicit(&r->tat_us, memory_order_relaxed);
    for (;;) {
        uint64_t next = (tat > now_us ? tat : now_us) + r->interval_us;
        if (next - now_us > r->cap_us)
            return 0;
        /* Another thread moved it first: decide again against its value. */
        if (atomic_compare_exchange_weak_explicit(&r->tat_us, &tat, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
}
