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
    bff_redis_t *subscriber;   /* purges from other instances (one worker listens); or NULL */
    h2o_linklist_t fills;      /* in progress */
    h2o_linklist_t delivering; /* ended, waiters called next turn */
    bff_timer_t free_timer;    /* a release from inside a Redis callback */
    bff_cache_stats_t stats;
    uint64_t purges; /* applied to L1 (each purge reaches every worker's L1) */
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
    bff_cache_purge_cb purge_cb;
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
    bff_redis_destroy(c->subscriber);
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
    if ((c->redis != NULL && bff_redis_in_callback(c->redis)) ||
        (c->subscriber != NULL && bff_redis_in_callback(c->subscriber)))
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

/* The entry, and its key in each tag's set (which lives as long as its longest member), in one
 * atomic step: a purge by tag never misses an entry stored before it. */
static const char store_tagged_lua[] = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
                                       "for i = 2, #KEYS do "
                                       "  redis.call('SADD', KEYS[i], ARGV[3]) "
                                       "  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then "
                                       "    redis.call('PEXPIRE', KEYS[i], ARGV[2]) end "
                                       "end "
                                       "return 1";

#define MAX_TAGS 16

uint64_t bff_cache_purges(const bff_cache_t *c)
{
    return c->purges;
}

void bff_cache_put(bff_cache_t *c, const unsigned char key[32], const char *blob, size_t len,
                   const bff_cache_entry_t *e, uint64_t since)
{
    uint64_t now = bff_wall_ms(), expires_ms = bff_cache_entry_expires(e);
    if (expires_ms <= now || c->purges != since)
        return;
    ++c->stats.stores;
    bff_l1_put(c->l1, key, blob, len, expires_ms);
    if (c->redis == NULL)
        return;
    char rkey[256], px[24], hex[65];
    size_t rlen = redis_key(c, key, "", rkey, sizeof(rkey));
    int pxlen = snprintf(px, sizeof(px), "%llu", (unsigned long long)(expires_ms - now));
    /* The cache outlives the command: destroying the client cancels it first. */
    if (e->tags_len == 0) {
        const char *argv[] = {"SET", rkey, blob, "PX", px};
        size_t lens[] = {3, rlen, len, 2, (size_t)pxlen};
        bff_redis_command_start(c->redis, on_set_reply, c, 5, argv, lens);
        return;
    }
    char tagkeys[MAX_TAGS][300];
    const char *argv[4 + MAX_TAGS + 3];
    size_t lens[4 + MAX_TAGS + 3], ntags = 0;
    argv[0] = "EVAL", lens[0] = 4;
    argv[1] = store_tagged_lua, lens[1] = sizeof(store_tagged_lua) - 1;
    argv[3] = rkey, lens[3] = rlen;
    for (const char *p = e->tags, *end = e->tags + e->tags_len; p < end && ntags != MAX_TAGS;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);
        int k = snprintf(tagkeys[ntags], sizeof(tagkeys[ntags]), "%stag:%.*s", c->conf.prefix,
                         (int)n, p);
        argv[4 + ntags] = tagkeys[ntags];
        lens[4 + ntags] = k < (int)sizeof(tagkeys[0]) ? (size_t)k : sizeof(tagkeys[0]) - 1;
        ++ntags;
        p += n + 1;
    }
    char nkeys[8];
    snprintf(nkeys, sizeof(nkeys), "%zu", 1 + ntags);
    argv[2] = nkeys, lens[2] = strlen(nkeys);
    bff_hex32(key, hex);
    size_t at = 4 + ntags;
    argv[at] = blob, lens[at] = len;
    argv[at + 1] = px, lens[at + 1] = (size_t)pxlen;
    argv[at + 2] = hex, lens[at + 2] = 64;
    bff_redis_command_start(c->redis, on_set_reply, c, (int)(at + 3), argv, lens);
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

void bff_cache_unlock(bff_cache_t *c, const unsigned char key[32])
{
    if (c->redis == NULL)
        return;
    char rkey[256];
    size_t rlen = redis_key(c, key, "lock:", rkey, sizeof(rkey));
    const char *argv[] = {"DEL", rkey};
    size_t lens[] = {3, rlen};
    bff_redis_command_start(c->redis, on_set_reply, c, 2, argv, lens);
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

/* ---- purging ---- */

static int entry_has_tag(void *data, const char *blob, size_t len)
{
    const h2o_iovec_t *tag = data;
    bff_cache_entry_t e;
    return bff_cache_entry_decode(blob, len, &e) == 0 &&
           bff_cache_entry_has_tag(&e, tag->base, tag->len);
}

size_t bff_cache_purge_l1(bff_cache_t *c, char kind, const char *what, size_t len)
{
    ++c->purges; /* compositions begun before it do not store */
    switch (kind) {
    case BFF_PURGE_KEY: {
        unsigned char key[32];
        if (len != 64 || bff_unhex32(what, key) != 0)
            return 0;
        size_t before = bff_l1_count(c->l1);
        bff_l1_remove(c->l1, key);
        return before - bff_l1_count(c->l1);
    }
    case BFF_PURGE_TAG: {
        h2o_iovec_t tag = h2o_iovec_init(what, len);
        return bff_l1_remove_if(c->l1, entry_has_tag, &tag);
    }
    default: {
        size_t n = bff_l1_count(c->l1);
        bff_l1_clear(c->l1);
        return n;
    }
    }
}

/* Deletes every entry of a tag and the tag's set, in one step. */
static const char purge_tag_lua[] = "local keys = redis.call('SMEMBERS', KEYS[1]) "
                                    "local n = 0 "
                                    "for _, k in ipairs(keys) do "
                                    "  n = n + redis.call('DEL', ARGV[1] .. k) "
                                    "end "
                                    "redis.call('DEL', KEYS[1]) "
                                    "return n";

static void on_purge_reply(void *data, const char *err, const redisReply *reply)
{
    l2_op_t *op = data;
    long long n = err == NULL && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (n < 0)
        ++op->cache->stats.l2_errors;
    op->purge_cb(op->data, n);
    free(op);
}

void *bff_cache_l2_purge(bff_cache_t *c, char kind, const char *what, size_t len,
                         bff_cache_purge_cb cb, void *data)
{
    if (c->redis == NULL || (kind != BFF_PURGE_KEY && kind != BFF_PURGE_TAG))
        return NULL;
    l2_op_t *op = bff_calloc(1, sizeof(*op));
    op->cache = c;
    op->purge_cb = cb;
    op->data = data;
    char rkey[400];
    if (kind == BFF_PURGE_KEY) {
        int n = snprintf(rkey, sizeof(rkey), "%s%.*s", c->conf.prefix, (int)len, what);
        const char *argv[] = {"DEL", rkey};
        size_t lens[] = {3, (size_t)n < sizeof(rkey) ? (size_t)n : sizeof(rkey) - 1};
        op->cmd = bff_redis_command_start(c->redis, on_purge_reply, op, 2, argv, lens);
    } else {
        int n = snprintf(rkey, sizeof(rkey), "%stag:%.*s", c->conf.prefix, (int)len, what);
        const char *argv[] = {"EVAL", purge_tag_lua, "1", rkey, c->conf.prefix};
        size_t lens[] = {4, sizeof(purge_tag_lua) - 1, 1,
                         (size_t)n < sizeof(rkey) ? (size_t)n : sizeof(rkey) - 1,
                         strlen(c->conf.prefix)};
        op->cmd = bff_redis_command_start(c->redis, on_purge_reply, op, 5, argv, lens);
    }
    if (op->cmd == NULL) {
        free(op);
        return NULL;
    }
    return op;
}

void bff_cache_publish(bff_cache_t *c, const char *msg, size_t len)
{
    if (c->redis == NULL)
        return;
    char channel[300];
    int n = snprintf(channel, sizeof(channel), "%spurge", c->conf.prefix);
    const char *argv[] = {"PUBLISH", channel, msg};
    size_t lens[] = {7, (size_t)n < sizeof(channel) ? (size_t)n : sizeof(channel) - 1, len};
    bff_redis_command_start(c->redis, on_set_reply, c, 3, argv, lens);
}

int bff_cache_listen(bff_cache_t *c, h2o_evloop_t *loop, bff_redis_message_cb on_message,
                     bff_redis_subscribed_cb on_subscribed, void *data)
{
    if (c->redis == NULL || c->subscriber != NULL)
        return -1;
    c->subscriber = bff_redis_create(loop, c->conf.redis_host, c->conf.redis_port,
                                     c->conf.command_timeout_ms, c->conf.connect_timeout_ms);
    if (c->conf.redis_password != NULL)
        bff_redis_set_setup(c->subscriber, c->conf.redis_password, 0);
    char channel[300];
    snprintf(channel, sizeof(channel), "%spurge", c->conf.prefix);
    bff_redis_subscribe(c->subscriber, channel, on_message, on_subscribed, data);
    return 0;
}
