/* One profile's cache on one worker: the in-process level (l1.h), the Redis level through the
 * worker's loop (loop/redis_loop.h), and the fills in progress that identical misses wait on.
 * Refcounted and held by the worker's configuration views, so a reload that keeps the same
 * store keeps L1's entries and the Redis connection, and a request or background refresh
 * keeps the cache it started with alive.
 *
 * Redis is optional at every step: an operation that cannot start (no Redis configured, not
 * connected) reports so at once, and one that times out or loses its connection completes as
 * a miss. Nothing here ever fails a request. */
#ifndef BFF_SERVER_CACHE_CACHE_H
#define BFF_SERVER_CACHE_CACHE_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

#include "server/cache/cache_conf.h"
#include "server/cache/entry.h"
#include "server/loop/redis_loop.h"
#include "server/loop/timer.h"

typedef struct st_bff_cache_t bff_cache_t;
typedef struct st_bff_cache_fill_t bff_cache_fill_t;

typedef struct st_bff_cache_stats_t {
    uint64_t hits, stale, misses, stores, l2_hits, l2_errors, coalesced, refreshes, revalidated;
} bff_cache_stats_t;

/** A cache for `conf` (copied) on the worker's loop; connects to Redis when conf names one. */
bff_cache_t *bff_cache_create(h2o_evloop_t *loop, bff_timers_t *timers,
                              const bff_cache_conf_t *conf);
void bff_cache_retain(bff_cache_t *c);
/** The last release frees it (deferred a loop turn when called from a Redis callback). */
void bff_cache_release(bff_cache_t *c);
const bff_cache_conf_t *bff_cache_conf(const bff_cache_t *c);
bff_cache_stats_t *bff_cache_stats(bff_cache_t *c);
/** The worker's timers the cache was created with. */
bff_timers_t *bff_cache_timers(bff_cache_t *c);

/** 1 when a Redis level is configured but not connected (requests go to the upstreams). */
int bff_cache_degraded(bff_cache_t *c);

/** L1: the blob under `key` (borrowed until the next put), or -1. */
int bff_cache_l1_get(bff_cache_t *c, const unsigned char key[32], const char **blob, size_t *len);

/** L2 read. The callback gets the blob (borrowed for the call) or NULL on a miss, a timeout
 * or a lost connection. Returns NULL when Redis cannot be asked now: the callback never runs.
 * An answer also fills L1. */
typedef void (*bff_cache_l2_cb)(void *data, const char *blob, size_t len);
void *bff_cache_l2_get(bff_cache_t *c, const unsigned char key[32], bff_cache_l2_cb cb, void *data);
void bff_cache_l2_cancel(void *op);

/** Stores a blob (`e` is its decoded form) in both levels until the entry expires; Redis's
 * copy, and the key's membership in each of the entry's tag sets, are written in the
 * background, their outcome only counted. `since` is bff_cache_purges() when the composition
 * began: a purge since then (on this worker, or announced by another instance) voids the store,
 * so an answer composed from data the purge meant to retire is not kept. */
void bff_cache_put(bff_cache_t *c, const unsigned char key[32], const char *blob, size_t len,
                   const bff_cache_entry_t *e, uint64_t since);
/** How many purges this cache has applied (a count compositions note when they begin). */
uint64_t bff_cache_purges(const bff_cache_t *c);

/** Asks Redis for the refresh lock of `key` (SET NX PX lock). The callback gets 1 when this
 * instance should refresh (it got the lock, or Redis could not say), 0 when another instance
 * holds it. Returns NULL when Redis cannot be asked: refresh (the callback never runs). */
typedef void (*bff_cache_lock_cb)(void *data, int acquired);
void *bff_cache_lock(bff_cache_t *c, const unsigned char key[32], bff_cache_lock_cb cb, void *data);

/* Purging: what an operator asks (server/admin), applied to this worker's L1, to Redis, and
 * announced to other instances. A key is 64 hex digits; a tag is a rendered cache tag. */
#define BFF_PURGE_KEY 'k'
#define BFF_PURGE_TAG 't'
#define BFF_PURGE_ALL 'a' /* L1 only: after missed announcements */
/** Drops the matching L1 entries; returns how many. */
size_t bff_cache_purge_l1(bff_cache_t *c, char kind, const char *what, size_t len);
/** Deletes the key, or every entry of the tag, in Redis. The callback gets how many entries
 * went, or -1 when Redis did not answer. Returns NULL (no callback) without Redis. */
typedef void (*bff_cache_purge_cb)(void *data, long long deleted);
void *bff_cache_l2_purge(bff_cache_t *c, char kind, const char *what, size_t len,
                         bff_cache_purge_cb cb, void *data);
/** Announces a purge on the profile's channel (PREFIXpurge) to the other instances. */
void bff_cache_publish(bff_cache_t *c, const char *msg, size_t len);
/** Subscribes to the profile's purge channel on a connection of its own (one worker per
 * process does). Returns -1 without Redis or when already listening. */
int bff_cache_listen(bff_cache_t *c, h2o_evloop_t *loop, bff_redis_message_cb on_message,
                     bff_redis_subscribed_cb on_subscribed, void *data);

/** Releases the lock of `key` (bff_cache_lock) once its composition is done. */
void bff_cache_unlock(bff_cache_t *c, const unsigned char key[32]);

/* Fills: identical misses on this worker wait for one composition. */
typedef struct st_bff_cache_waiter_t bff_cache_waiter_t;
struct st_bff_cache_waiter_t {
    /* Called from a timer a loop turn after the fill ends: with the stored blob, or NULL when
     * the fill produced nothing cacheable (the waiter then composes on its own). */
    void (*cb)(bff_cache_waiter_t *w, const char *blob, size_t len);
    h2o_linklist_t _link;
};
/** The fill in progress for `key`, or NULL. */
bff_cache_fill_t *bff_cache_fill_find(bff_cache_t *c, const unsigned char key[32]);
/** Starts a fill for `key` (none may be in progress). */
bff_cache_fill_t *bff_cache_fill_begin(bff_cache_t *c, const unsigned char key[32]);
void bff_cache_fill_wait(bff_cache_fill_t *f, bff_cache_waiter_t *w);
/** A waiter that goes away before its callback (its request was disposed). */
void bff_cache_fill_unwait(bff_cache_waiter_t *w);
/** Ends a fill: every waiter gets `blob` (copied; NULL = nothing cacheable) next loop turn. */
void bff_cache_fill_end(bff_cache_t *c, bff_cache_fill_t *f, const char *blob, size_t len);

#endif
