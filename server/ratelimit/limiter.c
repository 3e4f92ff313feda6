/* GCRA in Redis with an in-process fallback (limiter.h). */
#include "server/ratelimit/limiter.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/core/clock.h"
#include "server/loop/redis_loop.h"

#define LOCAL_SLOTS 16384 /* in-process fallback: direct-mapped by key hash */

typedef struct st_local_slot_t {
    uint64_t hash, tat_us;
} local_slot_t;

struct st_bff_limiter_t {
    size_t refcnt;
    char *host, *password; /* the conf, copied */
    uint16_t port;
    unsigned db;
    uint64_t command_timeout_ms;
    int fail_closed;
    bff_timers_t *timers;
    bff_redis_t *redis;
    char sha[41]; /* the script's SHA-1, for EVALSHA */
    bff_timer_t free_timer;
    local_slot_t *local; /* LOCAL_SLOTS, allocated when first needed */
};

typedef struct st_limit_op_t {
    bff_limiter_t *l;
    const bff_rate_plan_t *plan;
    bff_redis_command_t *cmd;
    bff_limit_cb cb;
    void *data;
    char key[300];
    size_t keylen;
    int retried; /* EVAL after NOSCRIPT */
} limit_op_t;

/* KEYS[1]: the key. ARGV[1]: emission interval (us), ARGV[2]: burst. Server time, so every
 * instance agrees. Returns {allowed, remaining, reset_ms, retry_after_ms}. */
static const char gcra_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
    "local T = tonumber(ARGV[1]) "
    "local cap = T * tonumber(ARGV[2]) "
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now) "
    "if tat < now then tat = now end "
    "local new = tat + T "
    "if new - now > cap then "
    "  return {0, 0, math.ceil((tat - now) / 1000), math.ceil((new - now - cap) / 1000)} "
    "end "
    "redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1) "
    "return {1, math.floor((cap - (new - now)) / T), math.ceil((new - now) / 1000), 0}";

static uint64_t interval_us(const bff_rate_plan_t *plan)
{
    uint64_t t = plan->period_ms * 1000 / plan->limit;
    return t != 0 ? t : 1;
}

void bff_gcra(uint64_t now_us, uint64_t *tat_us, const bff_rate_plan_t *plan, bff_rate_verdict_t *v)
{
    uint64_t T = interval_us(plan), cap = T * plan->burst;
    uint64_t tat = *tat_us > now_us ? *tat_us : now_us, next = tat + T;
    memset(v, 0, sizeof(*v));
    if (next - now_us > cap) {
        v->reset_s = (tat - now_us + 999999) / 1000000;
        v->retry_after_s = (next - now_us - cap + 999999) / 1000000;
        return;
    }
    *tat_us = next;
    v->allowed = 1;
    v->remaining = (cap - (next - now_us)) / T;
    v->reset_s = (next - now_us + 999999) / 1000000;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int bff_limiter_same(const bff_limiter_t *l, const bff_limiter_conf_t *c)
{
    return same_str(l->host, c->host) && l->port == c->port && l->db == c->db &&
           same_str(l->password, c->password) && l->command_timeout_ms == c->command_timeout_ms &&
           l->fail_closed == c->fail_closed;
}

void bff_limiter_retain(bff_limiter_t *l)
{
    ++l->refcnt;
}

bff_limiter_t *bff_limiter_create(h2o_evloop_t *loop, bff_timers_t *timers,
                                  const bff_limiter_conf_t *conf)
{
    bff_limiter_t *l = bff_calloc(1, sizeof(*l));
    l->refcnt = 1;
    l->host = conf->host != NULL ? bff_strdup(conf->host) : NULL;
    l->password = conf->password != NULL ? bff_strdup(conf->password) : NULL;
    l->port = conf->port;
    l->db = conf->db;
    l->command_timeout_ms = conf->command_timeout_ms;
    l->fail_closed = conf->fail_closed;
    l->timers = timers;
    const char *host = conf->host, *password = conf->password;
    uint16_t port = conf->port;
    unsigned db = conf->db;
    unsigned char md[20];
    unsigned int mdlen = 0;
    EVP_Digest(gcra_lua, sizeof(gcra_lua) - 1, md, &mdlen, EVP_sha1(), NULL);
    for (unsigned i = 0; i != 20; ++i)
        snprintf(l->sha + 2 * i, 3, "%02x", md[i]);
    if (host != NULL) {
        l->redis = bff_redis_create(loop, host, port, conf->command_timeout_ms, 500);
        if (password != NULL || db != 0)
            bff_redis_set_setup(l->redis, password, db);
    }
    return l;
}

static void destroy(bff_limiter_t *l)
{
    bff_timer_cancel(&l->free_timer);
    bff_redis_destroy(l->redis);
    free(l->local);
    free(l->host);
    free(l->password);
    free(l);
}

static void on_free_timer(bff_timer_t *t)
{
    destroy(H2O_STRUCT_FROM_MEMBER(bff_limiter_t, free_timer, t));
}

void bff_limiter_release(bff_limiter_t *l)
{
    if (l == NULL || --l->refcnt != 0)
        return;
    if (l->redis != NULL && bff_redis_in_callback(l->redis))
        bff_timer_start(l->timers, &l->free_timer, 0, on_free_timer); /* not from inside it */
    else
        destroy(l);
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i != n; ++i)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h | 1; /* 0 marks an empty slot */
}

/* Redis could not say: the in-process limiter (fail open), or 503 (fail closed). */
static void decide_locally(bff_limiter_t *l, const bff_rate_plan_t *plan, const char *key,
                           size_t keylen, bff_rate_verdict_t *v)
{
    if (l->fail_closed) {
        memset(v, 0, sizeof(*v));
        v->unavailable = 1;
        v->retry_after_s = 1;
        return;
    }
    if (l->local == NULL)
        l->local = bff_calloc(LOCAL_SLOTS, sizeof(*l->local));
    uint64_t h = fnv1a(key, keylen);
    size_t slot = (size_t)(h % LOCAL_SLOTS);
    if (l->local[slot].hash != h) { /* a newcomer takes the slot */
        l->local[slot].hash = h;
        l->local[slot].tat_us = 0;
    }
    bff_gcra(bff_now_us(), &l->local[slot].tat_us, plan, v);
    v->local = 1;
}

static bff_redis_command_t *send_check(limit_op_t *op, int eval);

static void on_reply(void *data, const char *err, const redisReply *reply)
{
    limit_op_t *op = data;
    bff_rate_verdict_t v;
    if (err == NULL && reply->type == REDIS_REPLY_ERROR && !op->retried &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        op->retried = 1;
        if ((op->cmd = send_check(op, 1)) != NULL)
            return; /* the same op, once more with the script's text */
    }
    if (err == NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4) {
        memset(&v, 0, sizeof(v));
        v.allowed = reply->element[0]->integer == 1;
        v.remaining = (uint64_t)reply->element[1]->integer;
        v.reset_s = ((uint64_t)reply->element[2]->integer + 999) / 1000;
        v.retry_after_s = ((uint64_t)reply->element[3]->integer + 999) / 1000;
    } else {
        decide_locally(op->l, op->plan, op->key, op->keylen, &v);
    }
    op->cb(op->data, &v);
    free(op);
}

static bff_redis_command_t *send_check(limit_op_t *op, int eval)
{
    char interval[32], burst[32];
    int ilen =
        snprintf(interval, sizeof(interval), "%llu", (unsigned long long)interval_us(op->plan));
    int blen = snprintf(burst, sizeof(burst), "%llu", (unsigned long long)op->plan->burst);
    const char *argv[] = {
        eval ? "EVAL" : "EVALSHA", eval ? gcra_lua : op->l->sha, "1", op->key, interval, burst};
    size_t lens[] = {eval ? 4u : 7u, eval ? sizeof(gcra_lua) - 1 : 40, 1, op->keylen, (size_t)ilen,
                     (size_t)blen};
    return bff_redis_command_start(op->l->redis, on_reply, op, 6, argv, lens);
}

void *bff_limiter_check(bff_limiter_t *l, const bff_rate_plan_t *plan, const char *key,
                        size_t keylen, bff_limit_cb cb, void *data, bff_rate_verdict_t *now)
{
    if (l->redis != NULL && keylen < sizeof(((limit_op_t *)0)->key)) {
        limit_op_t *op = bff_calloc(1, sizeof(*op));
        *op = (limit_op_t){.l = l, .plan = plan, .cb = cb, .data = data, .keylen = keylen};
        memcpy(op->key, key, keylen);
        if ((op->cmd = send_check(op, 0)) != NULL)
            return op;
        free(op);
    }
    decide_locally(l, plan, key, keylen, now);
    return NULL;
}

void bff_limiter_cancel(void *p)
{
    limit_op_t *op = p;
    bff_redis_command_cancel(op->cmd);
    free(op);
}
