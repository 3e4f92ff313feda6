#include "server/fetch/host_slots.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

struct st_bff_host_t {
    bff_host_slots_t *table;
    bff_host_t *next; /* in the table */
    char *key;
    size_t refcnt;
    unsigned held;
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

bff_host_t *bff_host_acquire(bff_host_slots_t *t, const char *key, size_t keylen)
{
    for (bff_host_t *h = t->hosts; h != NULL; h = h->next) {
        if (strlen(h->key) == keylen && memcmp(h->key, key, keylen) == 0) {
            ++h->refcnt;
            return h;
        }
    }
    bff_host_t *h = bff_calloc(1, sizeof(*h));
    h->table = t;
    h->key = bff_strndup(key, keylen);
    h->refcnt = 1;
    h->next = t->hosts;
    t->hosts = h;
    return h;
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
    free(h->key);
    free(h);
}

int bff_host_try_enter(bff_host_t *h, unsigned cap)
{
    /* Never ahead of those already waiting: arrival order is the fairness callers see. */
    if (h->held >= cap || h->first != NULL)
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

bff_host_wait_t *bff_host_next(bff_host_t *h, unsigned cap)
{
    bff_host_wait_t *w = h->first;
    if (w == NULL || h->held >= cap)
        return NULL;
    bff_host_unwait(w);
    ++h->held;
    return w;
}

bff_host_wait_t *bff_host_leave(bff_host_t *h, unsigned cap)
{
    assert(h->held != 0);
    --h->held;
    return bff_host_next(h, cap);
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
