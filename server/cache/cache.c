/* A profile's two-level cache on one worker (cache.h). */
#include "server/cache/cache.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/cache/entry.h"
#include "server/cache/l1.h"
#include "server/core/clock.h"
#include "server/core/digest.h"

struct st_bff_cache_t {
    size_t refcnt;
    bff_cache_conf_t conf;
    bff_timers_t *timers;
    bff_l1_t *l1;
    bff_redis_t *redis;        /* NULL = no second level */
    h2o_linklist_t fills;      /* in progress */
    h2o_linklist_t delivering; /* ended, waiters called next turn */
    bff_timer_t free_timer;    /* a release from inside a Redis callback */
    bff_cache_stats_t stats;
};

struct st_bff_cache_fill_t {
    unsigned char key[32];
    h2o_linklist_t link;
    h2o_linklist_t waiters;
    bff_timer_t deliver;
    bff_cache_t *cache;
    char *blob; /* the result, for the waiters */
    size_t len;
};

typedef struct st_l2_op_t {
    bff_cache_t *cache;
    unsigned char key[32];
    bff_redis_command_t *cmd;
    bff_cache_l2_cb get_cb;
    bff_cache_lock_cb lock_cb;
    void *data;
} l2_op_t;

bff_cache_t *bff_cache_create(h2o_evloop_t *loop, bff_timers_t *timers,
                              const bff_cache_conf_t *conf)
{
    bff_cache_t *c = bff_calloc(1, sizeof(*c));
    c->refcnt = 1;
    c->timers = timers;
    bff_cache_conf_copy(&c->conf, conf);
    c->l1 = bff_l1_create(conf->memory_bytes);
    h2o_linklist_init_anchor(&c->fills);
    h2o_linklist_init_anchor(&c->delivering);
    if (conf->redis_host != NULL) {
        c->redis = bff_redis_create(loop, conf->redis_host, conf->redis_port,
                                    conf->command_timeout_ms, conf->connect_timeout_ms);
        if (conf->redis_password != NULL || conf->redis_db != 0)
            bff_redis_set_setup(c->redis, conf->redis_password, conf->redis_db);
    }
    return c;
}

static void free_fill(bff_cache_fill_t *f)
{
    bff_timer_cancel(&f->deliver);
    if (h2o_linklist_is_linked(&f->link))
        h2o_linklist_unlink(&f->link);
    while (!h2o_linklist_is_empty(&f->waiters)) /* only when the cache goes: none are left */
        h2o_linklist_unlink(f->waiters.next);
    free(f->blob);
    free(f);
}

static void destroy(bff_cache_t *c)
{
    bff_timer_cancel(&c->free_timer);
    while (!h2o_linklist_is_empty(&c->fills))
        free_fill(H2O_STRUCT_FROM_MEMBER(bff_cache_fill_t, link, c->fills.next));
    while (!h2o_linklist_is_empty(&c->delivering))
        free_fill(H2O_STRUCT_FROM_MEMBER(bff_cache_fill_t, link, c->delivering.next));
    bff_redis_destroy(c->redis);
    bff_l1_destroy(c->l1);
    bff_cache_conf_dispose(&c->conf);
    free(c);
}

static void on_free_timer(bff_timer_t *t)
{
    destroy(H2O_STRUCT_FROM_MEMBER(bff_cache_t, free_timer, t));
}

void bff_cache_retain(bff_cache_t *c)
{
    ++c->refcnt;
}

void bff_cache_release(bff_cache_t *c)
{
    if (c == NULL || --c->refcnt != 0)
        return;
    if (c->redis != NULL && bff_redis_in_callback(c->redis))
        bff_timer_start(c->timers, &c->free_timer, 0, on_free_timer);
    else
        destroy(c);
}

const bff_cache_conf_t *bff_cache_conf(const bff_cache_t *c)
{
    return &c->conf;
}

bff_cache_stats_t *bff_cache_stats(bff_cache_t *c)
{
    return &c->stats;
}

bff_timers_t *bff_cache_timers(bff_cache_t *c)
{
    return c->timers;
}

int bff_cache_degraded(bff_cache_t *c)
{
    return c->redis != NULL && !bff_redis_is_connected(c->redis);
}

int bff_cache_l1_get(bff_cache_t *c, const unsigned char key[32], const char **blob, size_t *len)
{
    return bff_l1_get(c->l1, key, bff_wall_ms(), blob, len);
}

/* prefix + 64 hex digits (+ a suffix). */
static size_t redis_key(const bff_cache_t *c, const unsigned char key[32], const char *suffix,
                        char *out, size_t size)
{
    char hex[65];
    bff_hex32(key, hex);
    int n = snprintf(out, size, "%s%s%s", c->conf.prefix, suffix, hex);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void on_get_reply(void *data, const char *err, const redisReply *reply)
{
    l2_op_t *op = data;
    bff_cache_t *c = op->cache;
    const char *blob = NULL;
    size_t len = 0;
    if (err != NULL || reply->type == REDIS_REPLY_ERROR) {
        ++c->stats.l2_errors;
    } else if (reply->type == REDIS_REPLY_STRING) {
        bff_cache_entry_t e;
        if (bff_cache_entry_decode(reply->str, reply->len, &e) == 0) {
            blob = reply->str, len = reply->len;
            ++c->stats.l2_hits;
            bff_l1_put(c->l1, op->key, blob, len, bff_cache_entry_expires(&e));
        }
    }
    op->get_cb(op->data, blob, len);
    free(op);
}

void *bff_cache_l2_get(bff_cache_t *c, const unsigned char key[32], bff_cache_l2_cb cb, void *data)
{
    if (c->redis == NULL)
        return NULL;
    char rkey[256];
    size_t rlen = redis_key(c, key, "", rkey, sizeof(rkey));
    l2_op_t *op = bff_calloc(1, sizeof(*op));
    op->cache = c;
    memcpy(op->key, key, 32);
    op->get_cb = cb;
    op->data = data;
    const char *argv[] = {"GET", rkey};
    size_t lens[] = {3, rlen};
    if ((op->cmd = bff_redis_command_start(c->redis, on_get_reply, op, 2, argv, lens)) == NULL) {
        free(op);
        return NULL;
    }
    return op;
}

void bff_cache_l2_cancel(void *p)
{
    l2_op_t *op = p;
    bff_redis_command_cancel(op->cmd);
    free(op);
}

static void on_set_reply(void *data, const char *err, const redisReply *reply)
{
    bff_cache_t *c = data;
    if (err != NULL || reply->type == REDIS_REPLY_ERROR)
        ++c->stats.l2_errors;
}

void bff_cache_put(bff_cache_t *c, const unsigned char key[32], const char *blob, size_t len,
                   uint64_t expires_ms)
{
    uint64_t now = bff_wall_ms();
    if (expires_ms <= now)
        return;
    ++c->stats.stores;
    bff_l1_put(c->l1, key, blob, len, expires_ms);
    if (c->redis == NULL)
        return;
    char rkey[256], px[24];
    size_t rlen = redis_key(c, key, "", rkey, sizeof(rkey));
    int pxlen = snprintf(px, sizeof(px), "%llu", (unsigned long long)(expires_ms - now));
    const char *argv[] = {"SET", rkey, blob, "PX", px};
    size_t lens[] = {3, rlen, len, 2, (size_t)pxlen};
    /* The cache outlives the command: destroying the client cancels it first. */
    bff_redis_command_start(c->redis, on_set_reply, c, 5, argv, lens);
}

static void on_lock_reply(void *data, const char *err, const redisReply *reply)
{
    l2_op_t *op = data;
    /* OK: ours. Nil: another instance refreshes. No answer: refresh rather than serve stale
     * forever. */
    int acquired = err != NULL || reply->type != REDIS_REPLY_NIL;
    op->lock_cb(op->data, acquired);
    free(op);
}

void *bff_cache_lock(bff_cache_t *c, const unsigned char key[32], bff_cache_lock_cb cb, void *data)
{
    if (c->redis == NULL)
        return NULL;
    char rkey[256], px[24];
    size_t rlen = redis_key(c, key, "lock:", rkey, sizeof(rkey));
    int pxlen = snprintf(px, sizeof(px), "%llu", (unsigned long long)c->conf.lock_ms);
    l2_op_t *op = bff_calloc(1, sizeof(*op));
    op->cache = c;
    op->lock_cb = cb;
    op->data = data;
    const char *argv[] = {"SET", rkey, "1", "NX", "PX", px};
    size_t lens[] = {3, rlen, 1, 2, 2, (size_t)pxlen};
    if ((op->cmd = bff_redis_command_start(c->redis, on_lock_reply, op, 6, argv, lens)) == NULL) {
        free(op);
        return NULL;
    }
    return op;
}

bff_cache_fill_t *bff_cache_fill_find(bff_cache_t *c, const unsigned char key[32])
{
    for (h2o_linklist_t *l = c->fills.next; l != &c->fills; l = l->next) {
        bff_cache_fill_t *f = H2O_STRUCT_FROM_MEMBER(bff_cache_fill_t, link, l);
        if (memcmp(f->key, key, 32) == 0)
            return f;
    }
    return NULL;
}

bff_cache_fill_t *bff_cache_fill_begin(bff_cache_t *c, const unsigned char key[32])
{
    assert(bff_cache_fill_find(c, key) == NULL);
    bff_cache_fill_t *f = bff_calloc(1, sizeof(*f));
    memcpy(f->key, key, 32);
    f->cache = c;
    h2o_linklist_init_anchor(&f->waiters);
    h2o_linklist_insert(&c->fills, &f->link);
    return f;
}

void bff_cache_fill_wait(bff_cache_fill_t *f, bff_cache_waiter_t *w)
{
    ++f->cache->stats.coalesced;
    h2o_linklist_insert(&f->waiters, &w->_link);
}

void bff_cache_fill_unwait(bff_cache_waiter_t *w)
{
    if (h2o_linklist_is_linked(&w->_link))
        h2o_linklist_unlink(&w->_link);
}

static void on_deliver(bff_timer_t *t)
{
    bff_cache_fill_t *f = H2O_STRUCT_FROM_MEMBER(bff_cache_fill_t, deliver, t);
    /* A callback may dispose of other waiters (unlinking them): take one at a time. */
    while (!h2o_linklist_is_empty(&f->waiters)) {
        bff_cache_waiter_t *w = H2O_STRUCT_FROM_MEMBER(bff_cache_waiter_t, _link, f->waiters.next);
        h2o_linklist_unlink(&w->_link);
        w->cb(w, f->blob, f->len);
    }
    free_fill(f);
}

void bff_cache_fill_end(bff_cache_t *c, bff_cache_fill_t *f, const char *blob, size_t len)
{
    h2o_linklist_unlink(&f->link);
    if (h2o_linklist_is_empty(&f->waiters)) {
        free_fill(f);
        return;
    }
    if (blob != NULL) {
        f->blob = bff_malloc(len ? len : 1);
        memcpy(f->blob, blob, len);
        f->len = len;
    }
    h2o_linklist_insert(&c->delivering, &f->link);
    bff_timer_start(c->timers, &f->deliver, 0, on_deliver);
}
