#include "server/fetch/host_slots.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

struct st_bff_host_t {
    bff_host_slots_t *table;
    bff_host_t *next; /* in the table */
    char *owner, *authority;
    size_t authority_len;
    size_t refcnt;
    unsigned cap, held;
    bff_host_wait_t *first, *last;
};

struct st_bff_host_slots_t {
    bff_host_t *hosts; /* a handful per worker: a list is enough */
};

bff_host_slots_t *bff_host_slots_create(void)
{
    return bff_calloc(1, sizeof(bff_host_slots_t));
}

void bff_host_slots_destroy(bff_host_slots_t *t)
{
    if (t == NULL)
        return;
    assert(t->hosts == NULL);
    free(t);
}

static int same_authority(const bff_host_t *a, const char *authority, size_t len)
{
    return a->authority_len == len && memcmp(a->authority, authority, len) == 0;
}

bff_host_t *bff_host_acquire(bff_host_slots_t *t, const char *owner, const char *authority,
                             size_t authority_len, unsigned cap)
{
    for (bff_host_t *h = t->hosts; h != NULL; h = h->next) {
        if (same_authority(h, authority, authority_len) && strcmp(h->owner, owner) == 0) {
            ++h->refcnt;
            bff_host_set_cap(h, cap);
            return h;
        }
    }
    bff_host_t *h = bff_calloc(1, sizeof(*h));
    h->table = t;
    h->owner = bff_strdup(owner);
    h->authority = bff_strndup(authority, authority_len);
    h->authority_len = authority_len;
    h->refcnt = 1;
    bff_host_set_cap(h, cap);
    h->next = t->hosts;
    t->hosts = h;
    return h;
}

void bff_host_set_cap(bff_host_t *h, unsigned cap)
{
    h->cap = cap > 0 ? cap : 1;
}

void bff_host_slots_sum(const bff_host_slots_t *t, bff_host_slots_sum_t *out)
{
    *out = (bff_host_slots_sum_t){0};
    for (const bff_host_t *h = t->hosts; h != NULL; h = h->next) {
        out->total += h->cap;
        const bff_host_t *o = t->hosts; /* each authority counted at its first line in the list */
        while (o != h && !same_authority(o, h->authority, h->authority_len))
            o = o->next;
        if (o != h)
            continue;
        unsigned long sum = 0;
        size_t lines = 0;
        for (; o != NULL; o = o->next)
            if (same_authority(o, h->authority, h->authority_len)) {
                sum += o->cap;
                ++lines;
            }
        if (sum > out->peak) {
            out->peak = sum;
            out->authority = h->authority;
            out->authority_len = h->authority_len;
            out->lines = lines;
        }
    }
}

unsigned bff_host_slots_peak(const bff_host_slots_t *t)
{
    bff_host_slots_sum_t sum;
    bff_host_slots_sum(t, &sum);
    return (unsigned)sum.peak;
}

void bff_host_release(bff_host_t *h)
{
    if (h == NULL || --h->refcnt != 0)
        return;
    assert(h->first == NULL && h->held == 0);
    bff_host_t **p = &h->table->hosts;
    while (*p != h)
        p = &(*p)->next;
    *p = h->next;
    free(h->owner);
    free(h->authority);
    free(h);
}

int bff_host_try_enter(bff_host_t *h)
{
    /* Never ahead of those already waiting: arrival order is the fairness callers see. */
    if (h->held >= h->cap || h->first != NULL)
        return 0;
    ++h->held;
    return 1;
}

void bff_host_wait(bff_host_t *h, bff_host_wait_t *w)
{
    assert(w->host == NULL);
    w->host = h;
    w->next = NULL;
    w->prev = h->last;
    if (h->last != NULL)
        h->last->next = w;
    else
        h->first = w;
    h->last = w;
}

void bff_host_unwait(bff_host_wait_t *w)
{
    bff_host_t *h = w->host;
    assert(h != NULL);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        h->first = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        h->last = w->prev;
    w->prev = w->next = NULL;
    w->host = NULL;
}

bff_host_wait_t *bff_host_next(bff_host_t *h)
{
    bff_host_wait_t *w = h->first;
    if (w == NULL || h->held >= h->cap)
        return NULL;
    bff_host_unwait(w);
    ++h->held;
    return w;
}

bff_host_wait_t *bff_host_leave(bff_host_t *h)
{
    assert(h->held != 0);
    --h->held;
    return bff_host_next(h);
}

unsigned bff_host_held(const bff_host_t *h)
{
    return h->held;
}

size_t bff_host_waiting(const bff_host_t *h)
{
    size_t n = 0;
    for (const bff_host_wait_t *w = h->first; w != NULL; w = w->next)
        ++n;
    return n;
}
