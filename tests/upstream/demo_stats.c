/* The debug counters behind /__stats and /__reset (per-thread tables of requests by path, summed
 * when read) and the fail_first keys seen so far. */
#include "demo_upstream.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "h2o.h"

#define SEEN_SLOTS 8192

static _Atomic uint64_t stats_gen = 1;

/* fail_first keys seen since start/reset: test-knob path only, so a mutex is fine */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seen_keys[SEEN_SLOTS];
static size_t seen_used;

static void counter_bump(_Atomic uint64_t *c)
{
    /* single writer: a relaxed load+store is enough and avoids a locked RMW on the hot path */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void stats_clear(struct stats *s, uint64_t gen)
{
    for (size_t i = 0; i != STATS_SLOTS; ++i) {
        atomic_store_explicit(&s->slots[i].hash, 0, memory_order_relaxed);
        atomic_store_explicit(&s->slots[i].count, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&s->total, 0, memory_order_relaxed);
    atomic_store_explicit(&s->other, 0, memory_order_relaxed);
    s->used = 0;
    s->fail_every_seen = 0;
    atomic_store_explicit(&s->gen, gen, memory_order_release);
}

static uint64_t stats_hash(h2o_iovec_t path)
{
    return fnv1a(path.base, path.len) | 1; /* never 0, which marks an empty slot */
}

/* owner thread: find or insert; NULL if the path does not fit */
static struct stat_slot *stats_slot(struct stats *s, h2o_iovec_t path)
{
    uint64_t h;
    if (path.len >= STATS_PATH_MAX)
        return NULL;
    h = stats_hash(path);
    for (size_t i = h % STATS_SLOTS;; i = (i + 1) % STATS_SLOTS) {
        struct stat_slot *slot = &s->slots[i];
        uint64_t sh = atomic_load_explicit(&slot->hash, memory_order_relaxed);
        if (sh == h && slot->len == path.len && memcmp(slot->path, path.base, path.len) == 0)
            return slot;
        if (sh == 0) {
            if (s->used >= STATS_SLOTS / 4 * 3)
                return NULL; /* keeps a free slot, so probing always terminates */
            slot->len = (uint32_t)path.len;
            memcpy(slot->path, path.base, path.len);
            atomic_store_explicit(&slot->hash, h, memory_order_release);
            ++s->used;
            return slot;
        }
    }
}

void stats_count(struct stats *s, h2o_iovec_t path)
{
    uint64_t gen = atomic_load_explicit(&stats_gen, memory_order_acquire);
    struct stat_slot *slot;
    if (atomic_load_explicit(&s->gen, memory_order_relaxed) != gen)
        stats_clear(s, gen);
    counter_bump(&s->total);
    slot = stats_slot(s, path);
    counter_bump(slot != NULL ? &slot->count : &s->other);
}

/* any thread: read-only lookup in another thread's table */
static const struct stat_slot *stats_find(struct stats *s, uint64_t h, const struct stat_slot *key)
{
    for (size_t i = h % STATS_SLOTS, n = 0; n != STATS_SLOTS; i = (i + 1) % STATS_SLOTS, ++n) {
        const struct stat_slot *slot = &s->slots[i];
        uint64_t sh = atomic_load_explicit(&s->slots[i].hash, memory_order_acquire);
        if (sh == 0)
            return NULL;
        if (sh == h && slot->len == key->len && memcmp(slot->path, key->path, key->len) == 0)
            return slot;
    }
    return NULL;
}

static int stats_is_current(struct stats *s, uint64_t gen)
{
    return atomic_load_explicit(&s->gen, memory_order_acquire) == gen;
}

/* sums one path over all threads; returns 0 if an earlier thread already reported it */
static uint64_t stats_sum_path(unsigned owner, uint64_t gen, const struct stat_slot *slot,
                               uint64_t h)
{
    uint64_t sum = atomic_load_explicit(&slot->count, memory_order_relaxed);
    for (unsigned t = 0; t != opts.threads; ++t) {
        const struct stat_slot *other;
        if (t == owner || !stats_is_current(&workers[t].stats, gen))
            continue;
        if ((other = stats_find(&workers[t].stats, h, slot)) == NULL)
            continue;
        if (t < owner)
            return 0;
        sum += atomic_load_explicit(&other->count, memory_order_relaxed);
    }
    return sum;
}

static void write_stats_paths(jbuf_t *b, uint64_t gen, uint64_t other)
{
    int first = 1;
    for (unsigned t = 0; t != opts.threads; ++t) {
        struct stats *s = &workers[t].stats;
        if (!stats_is_current(s, gen))
            continue;
        for (size_t i = 0; i != STATS_SLOTS; ++i) {
            uint64_t h = atomic_load_explicit(&s->slots[i].hash, memory_order_acquire), sum;
            if (h == 0 || (sum = stats_sum_path(t, gen, &s->slots[i], h)) == 0)
                continue;
            if (!first)
                JB_LIT(b, ",");
            first = 0;
            jb_str(b, h2o_iovec_init(s->slots[i].path, s->slots[i].len));
            jb_fmt(b, ":%" PRIu64, sum);
        }
    }
    if (other != 0)
        jb_fmt(b, "%s\"(other)\":%" PRIu64, first ? "" : ",", other);
}

void write_stats(jbuf_t *b)
{
    uint64_t gen = atomic_load_explicit(&stats_gen, memory_order_acquire), total = 0, other = 0;
    for (unsigned t = 0; t != opts.threads; ++t) {
        struct stats *s = &workers[t].stats;
        if (!stats_is_current(s, gen))
            continue;
        total += atomic_load_explicit(&s->total, memory_order_relaxed);
        other += atomic_load_explicit(&s->other, memory_order_relaxed);
    }
    jb_fmt(b, "{\"requests\":%" PRIu64 ",\"paths\":{", total);
    write_stats_paths(b, gen, other);
    JB_LIT(b, "}}");
}

void stats_reset(void)
{
    /* every thread clears its own table lazily when it sees the new generation */
    atomic_fetch_add_explicit(&stats_gen, 1, memory_order_acq_rel);
    pthread_mutex_lock(&seen_lock);
    memset(seen_keys, 0, sizeof(seen_keys));
    seen_used = 0;
    pthread_mutex_unlock(&seen_lock);
}

/* fail_first: returns 1 the first time a key is seen since start/reset */
int seen_first_time(h2o_iovec_t key)
{
    uint64_t h = fnv1a(key.base, key.len) | 1;
    int first = 0;
    pthread_mutex_lock(&seen_lock);
    for (size_t i = h % SEEN_SLOTS;; i = (i + 1) % SEEN_SLOTS) {
        if (seen_keys[i] == h)
            break;
        if (seen_keys[i] == 0) {
            if (seen_used < SEEN_SLOTS / 4 * 3) { /* when full, keys count as already seen */
                seen_keys[i] = h;
                ++seen_used;
                first = 1;
            }
            break;
        }
    }
    pthread_mutex_unlock(&seen_lock);
    return first;
}
