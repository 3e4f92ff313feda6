/* Admission in front of curl, one line per upstream and host:port: at most `cap` (the
 * upstream's max_connections) of its calls in curl at once, later ones wait here in arrival
 * order. curl 7.88 has one connection cap for all hosts and keeps transfers beyond it in a pending
 * list that it walks every time any transfer is removed, which halved throughput at 1,024 calls
 * for 256 connections; a list here costs O(1) per call, and each upstream gets its own cap. One
 * table per worker thread (not thread-safe); pure bookkeeping, no curl. */
#ifndef BFF_SERVER_FETCH_HOST_SLOTS_H
#define BFF_SERVER_FETCH_HOST_SLOTS_H

#include <stddef.h>

typedef struct st_bff_host_slots_t bff_host_slots_t;
typedef struct st_bff_host_t bff_host_t;

/** A call waiting for its host's slot; embedded in the caller's call. */
typedef struct st_bff_host_wait_t {
    struct st_bff_host_wait_t *prev, *next;
    bff_host_t *host; /* non-NULL while queued */
} bff_host_wait_t;

bff_host_slots_t *bff_host_slots_create(void);
/** Every host must have been released. */
void bff_host_slots_destroy(bff_host_slots_t *t);

/**
 * The line of `owner` (e.g. "profile\nupstream") to the host:port `authority` (e.g.
 * "http://10.0.0.7:8080"; `authority_len` bytes), created on first use; counted reference. Its
 * cap becomes `cap`: the newest configuration's value wins while an older one drains.
 */
bff_host_t *bff_host_acquire(bff_host_slots_t *t, const char *owner, const char *authority,
                             size_t authority_len, unsigned cap);
/** Drops a reference; the last one frees the line (it must be empty). */
void bff_host_release(bff_host_t *h);
/** Changes the cap. A smaller one holds the line until enough slots come back; after a larger
 * one, bff_host_next hands out the new slots. */
void bff_host_set_cap(bff_host_t *h, unsigned cap);
/** The caps of a table's lines added up: over all of them, and over the lines to the busiest
 * authority (its name, not NUL-terminated, and how many lines go there). */
typedef struct st_bff_host_slots_sum_t {
    unsigned long total, peak;
    const char *authority;
    size_t authority_len, lines;
} bff_host_slots_sum_t;
void bff_host_slots_sum(const bff_host_slots_t *t, bff_host_slots_sum_t *out);
/** The most connections the lines let one host:port have at once (the sum's peak). curl's own
 * per-host cap must allow that many, or admitted calls would wait in curl's pending list. */
unsigned bff_host_slots_peak(const bff_host_slots_t *t);

/** Takes a slot if fewer than the cap are held; returns 1 if it did, 0 if the caller must wait. */
int bff_host_try_enter(bff_host_t *h);
/** Queues `w` at the end of the host's line (after bff_host_try_enter said no). */
void bff_host_wait(bff_host_t *h, bff_host_wait_t *w);
/** Leaves the line before getting a slot (cancelled, or out of time). */
void bff_host_unwait(bff_host_wait_t *w);
/** Gives back a slot. While fewer than the cap are held after that, the first waiter is handed
 * one and returned (dequeued); NULL when nobody waits or the line is still at its cap. */
bff_host_wait_t *bff_host_leave(bff_host_t *h);
/** Hands a slot to the first waiter, as bff_host_leave does, without giving one back: for a cap
 * that grew. NULL when nobody waits or no slot is free. */
bff_host_wait_t *bff_host_next(bff_host_t *h);

unsigned bff_host_held(const bff_host_t *h);
/** Counts the line (for tests and diagnostics: it walks it). */
size_t bff_host_waiting(const bff_host_t *h);

#endif
