/* GCRA in Redis with an in-process fallback (limiter.h). */
#include "server/ratelimit/limiter.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/core/clock.h"
#include "server/loop/redis_loop.h"

#define LOCAL_SLOTS 16384    /* in-process fallback: direct-mapped by key hash */
#define LEASE_SLOTS 1024     /* allowances taken from Redis: direct-mapped by key hash */
#define LEASE_MAX 64         /* requests one round trip may take at most */
#define LEASE_SHARE 20       /* ... and at most 1/20 (5%) of what the key has left */
#define LEASE_LIFE_US 250000 /* what is not used by then lapses */

typedef struct st_local_slot_t {
    uint64_t hash, tat_us;
} local_slot_t;

/* An allowance: requests Redis has already counted for this worker, admitted here without a
 * round trip. A key far from its limit (100 left, 6000 left) and asked about again within an
 * allowance's life needs no exact count of each request; one near it (fewer than
 * 2 * LEASE_SHARE left), or asked about seldom, is asked about every request. Taken requests
 * are charged in Redis when taken, so instances together never admit more than the plan; what
 * lapses unused is given back with the key's next round trip (rate, and quota within the same
 * window), so only a key's last allowance before it goes quiet (at most 5% of what was left)
 * stays spent. */
typedef struct st_lease_slot_t {
    uint64_t hash;
    const bff_rate_plan_t *plan;
    uint64_t expires_us;
    uint64_t quota_end_us; /* the quota window the allowance was charged to ends (0: none) */
    uint64_t last_us;      /* the key's last check here: an allowance only for a busy key */
    uint32_t left;         /* requests still to admit */
    uint32_t want;         /* the next round trip asks for this many (1 until Redis said more) */
    int pending;           /* a round trip asking for an allowance is out */
    bff_rate_verdict_t v;  /* Redis's verdict when it was taken (remaining: after all of it) */
} lease_slot_t;

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
    local_slot_t *local;  /* LOCAL_SLOTS, allocated when first needed */
    lease_slot_t *leases; /* LEASE_SLOTS, allocated when first needed */
};

typedef struct st_limit_op_t {
    bff_limiter_t *l;
    const bff_rate_plan_t *plan;
    bff_redis_command_t *cmd;
    bff_limit_cb cb;
    void *data;
    char key[310]; /* the rate's key, then ":quota" for the quota's */
    size_t keylen;
    int retried;   /* EVAL after NOSCRIPT */
    unsigned cost; /* requests this one counts as (a batch of GraphQL operations: several) */
    unsigned refund, refund_quota; /* a lapsed allowance's unused requests, given back first */
    unsigned want; /* requests asked for: this one's cost, and an allowance for the next */
    uint64_t hash; /* of the key, for the allowance's slot */
} limit_op_t;

/* KEYS[1]: the rate's key; KEYS[2]: the quota's. ARGV[1]: emission interval (us), ARGV[2]:
 * burst, ARGV[3]: quota (0 = none), ARGV[4]: "d" or "m" (its UTC window), ARGV[5]: requests
 * wanted (this one's cost and an allowance; 1 when absent), ARGV[6]: this one's cost (1 when
 * absent; at most the burst), ARGV[7] and ARGV[8]: requests of a lapsed allowance to give back to
 * the rate and the quota before deciding (0 when absent). Server time, so every instance
 * agrees. A quota refusal wins over
 * a rate refusal (its Retry-After is the useful one) and still reports what the rate has left;
 * neither refusal counts. Admitted, it takes
 * as many of those wanted as the rate and the quota leave, at least the cost. Returns {allowed,
 * remaining, reset_ms, retry_after_ms, refused by (0, 1 rate, 2 quota), quota remaining, quota
 * reset_ms, taken}. The month's end is computed from the civil date, as bff_quota_window_end does.
 */
static const char gcra_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
    "local T = tonumber(ARGV[1]) "
    "local cap = T * tonumber(ARGV[2]) "
    "local Q = tonumber(ARGV[3] or 0) "
    "local want = tonumber(ARGV[5] or 1) "
    "local c = tonumber(ARGV[6] or 1) "
    "local rr, qr = tonumber(ARGV[7] or 0), tonumber(ARGV[8] or 0) "
    "if rr > 0 then "
    "  local t0 = tonumber(redis.call('GET', KEYS[1]) or 0) "
    "  if t0 > now then "
    "    local t1 = math.max(t0 - rr * T, now) "
    "    redis.call('SET', KEYS[1], string.format('%d', t1), 'PX', "
    "               math.ceil((t1 - now) / 1000) + 1) "
    "  end "
    "end "
    "if qr > 0 and Q > 0 then "
    "  local u = tonumber(redis.call('GET', KEYS[2]) or 0) "
    "  if u > 0 then redis.call('DECRBY', KEYS[2], math.min(qr, u)) end "
    "end "
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now) "
    "if tat < now then tat = now end "
    "local new = tat + c * T "
    "local used, qend, qleft = 0, 0, 0 "
    "if Q > 0 then "
    "  local day = math.floor(tonumber(t[1]) / 86400) "
    "  local last = day + 1 "
    "  if ARGV[4] == 'm' then "
    "    local z = day + 719468 "
    "    local era = math.floor(z / 146097) "
    "    local doe = z - era * 146097 "
    "    local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - "
    "                math.floor(doe / 146096)) / 365) "
    "    local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100)) "
    "    local mp = math.floor((5 * doy + 2) / 153) "
    "    local mday = doy - math.floor((153 * mp + 2) / 5) + 1 "
    "    local m = mp < 10 and mp + 3 or mp - 9 "
    "    local y = yoe + era * 400 + (m <= 2 and 1 or 0) "
    "    local len = ({31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31})[m] "
    "    if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then len = 29 end "
    "    last = day - (mday - 1) + len "
    "  end "
    "  qend = last * 86400000 "
    "  qleft = qend - math.floor(now / 1000) "
    "  used = tonumber(redis.call('GET', KEYS[2]) or 0) "
    "  if used + c > Q then "
    "    return {0, math.max(math.floor((cap - (tat - now)) / T), 0), "
    "            math.ceil((tat - now) / 1000), qleft, 2, "
    "            math.max(Q - used, 0), qleft} "
    "  end "
    "end "
    "if new - now > cap then "
    "  return {0, math.floor((cap - (tat - now)) / T), math.ceil((tat - now) / 1000), "
    "          math.ceil((new - now - cap) / 1000), 1, "
    "          Q - used, qleft} "
    "end "
    "local n = math.min(want, math.floor((cap - (new - now)) / T) + c) "
    "if Q > 0 then n = math.min(n, Q - used) end "
    "new = tat + n * T "
    "redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1) "
    "if Q > 0 then "
    "  used = redis.call('INCRBY', KEYS[2], n) "
    "  if used == n then redis.call('PEXPIREAT', KEYS[2], qend) end "
    "end "
    "return {1, math.floor((cap - (new - now)) / T), math.ceil((new - now) / 1000), 0, 0, "
    "        Q - used, qleft, n}";

static uint64_t interval_us(const bff_rate_plan_t *plan)
{
    uint64_t t = plan->period_ms * 1000 / plan->limit;
    return t != 0 ? t : 1;
}

void bff_gcra(uint64_t now_us, uint64_t *tat_us, const bff_rate_plan_t *plan, unsigned cost,
              bff_rate_verdict_t *v)
{
    uint64_t T = interval_us(plan), cap = T * plan->burst;
    uint64_t tat = *tat_us > now_us ? *tat_us : now_us, next = tat + T * cost;
    memset(v, 0, sizeof(*v));
    if (next - now_us > cap) {
        v->remaining =
            tat - now_us < cap ? (cap - (tat - now_us)) / T : 0; /* a smaller cost fits */
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
    free(l->leases);
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
                           size_t keylen, unsigned cost, bff_rate_verdict_t *v)
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
    bff_gcra(bff_now_us(), &l->local[slot].tat_us, plan, cost, v);
    v->local = 1;
}

/* The allowance slot of `hash`, taken over (emptied) when another key or plan held it. */
static lease_slot_t *lease_slot(bff_limiter_t *l, uint64_t hash, const bff_rate_plan_t *plan)
{
    if (l->leases == NULL)
        l->leases = bff_calloc(LEASE_SLOTS, sizeof(*l->leases));
    lease_slot_t *s = l->leases + hash % LEASE_SLOTS;
    if (s->hash != hash || s->plan != plan)
        *s = (lease_slot_t){.hash = hash, .plan = plan, .want = 1};
    return s;
}

/* Redis answered `op` with `v` (allowed or not) and took `taken` requests: op's cost of them is
 * op's, the rest become the key's allowance; the next round trip asks for a share of what is
 * left. */
static void lease_answered(limit_op_t *op, bff_rate_verdict_t *v, unsigned taken)
{
    lease_slot_t *s = lease_slot(op->l, op->hash, op->plan);
    if (op->want > op->cost)
        s->pending = 0;
    if (!v->allowed) {
        s->left = 0;
        s->want = 1;
        return;
    }
    uint64_t room = v->remaining;
    if (v->quota_known && v->quota_remaining < room)
        room = v->quota_remaining;
    s->want = (uint32_t)(room / LEASE_SHARE < LEASE_MAX ? room / LEASE_SHARE : LEASE_MAX);
    if (s->want == 0)
        s->want = 1;
    if (taken > op->cost) {
        s->left = taken - op->cost;
        s->expires_us = bff_now_us() + LEASE_LIFE_US;
        s->quota_end_us = v->quota_known ? bff_now_us() + v->quota_reset_s * 1000000 : 0;
        s->v = *v;
        v->remaining += s->left; /* what this worker holds is left for the key too */
        v->quota_remaining += v->quota_known ? s->left : 0;
    }
}

static bff_redis_command_t *send_check(limit_op_t *op, int eval);

static void on_reply(void *data, const char *err, const redisReply *reply)
{
    limit_op_t *op = data;
    bff_rate_verdict_t v;
    unsigned taken = op->cost;
    if (err == NULL && reply->type == REDIS_REPLY_ERROR && !op->retried &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        op->retried = 1;
        if ((op->cmd = send_check(op, 1)) != NULL)
            return; /* the same op, once more with the script's text */
    }
    if (err == NULL && reply->type == REDIS_REPLY_ARRAY &&
        (reply->elements == 7 || reply->elements == 8)) { /* a refusal takes nothing */
        long long e[8] = {0};
        for (size_t i = 0; i != reply->elements;
             ++i) /* Lua numbers arrive as integers, never negative here */
            e[i] = reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer > 0
                       ? reply->element[i]->integer
                       : 0;
        memset(&v, 0, sizeof(v));
        v.allowed = e[0] == 1;
        v.remaining = (uint64_t)e[1];
        v.reset_s = ((uint64_t)e[2] + 999) / 1000;
        v.retry_after_s = ((uint64_t)e[3] + 999) / 1000;
        v.quota_known = op->plan->quota != 0;
        v.quota_exhausted = e[4] == 2;
        v.quota_remaining = (uint64_t)e[5];
        v.quota_reset_s = ((uint64_t)e[6] + 999) / 1000;
        taken = e[7] > op->cost && e[7] <= op->want ? (unsigned)e[7] : op->cost;
        lease_answered(op, &v, taken);
    } else {
        if (op->want > op->cost)
            lease_slot(op->l, op->hash, op->plan)->pending = 0;
        decide_locally(op->l, op->plan, op->key, op->keylen, op->cost, &v);
    }
    op->cb(op->data, &v);
    free(op);
}

static bff_redis_command_t *send_check(limit_op_t *op, int eval)
{
    const bff_rate_plan_t *plan = op->plan;
    char interval[24], burst[24], quota[24], want[16], cost[16], refund[16], refund_quota[16];
    char qkey[sizeof(op->key) + 8];
    const char *argv[13];
    size_t lens[13], n = 0;
#define ARG(s, len) (argv[n] = (s), lens[n++] = (size_t)(len))
    ARG(eval ? "EVAL" : "EVALSHA", eval ? 4 : 7);
    ARG(eval ? gcra_lua : op->l->sha, eval ? sizeof(gcra_lua) - 1 : 40);
    ARG(plan->quota != 0 ? "2" : "1", 1);
    ARG(op->key, op->keylen);
    if (plan->quota != 0) {
        /* The window's kind is part of the key: a plan moved from a monthly to a daily quota
         * starts a fresh count instead of inheriting the month's (and its month-end expiry). */
        memcpy(qkey, op->key, op->keylen);
        memcpy(qkey + op->keylen, plan->quota_window == BFF_QUOTA_MONTH ? ":quota:m" : ":quota:d",
               8);
        ARG(qkey, op->keylen + 8);
    }
    ARG(interval,
        snprintf(interval, sizeof(interval), "%llu", (unsigned long long)interval_us(plan)));
    ARG(burst, snprintf(burst, sizeof(burst), "%llu", (unsigned long long)plan->burst));
    ARG(quota, snprintf(quota, sizeof(quota), "%llu", (unsigned long long)plan->quota));
    ARG(plan->quota_window == BFF_QUOTA_MONTH ? "m" : "d", 1);
    ARG(want, snprintf(want, sizeof(want), "%u", op->want));
    ARG(cost, snprintf(cost, sizeof(cost), "%u", op->cost));
    ARG(refund, snprintf(refund, sizeof(refund), "%u", op->refund));
    ARG(refund_quota, snprintf(refund_quota, sizeof(refund_quota), "%u", op->refund_quota));
#undef ARG
    return bff_redis_command_start(op->l->redis, on_reply, op, (int)n, argv, lens);
}

void *bff_limiter_check(bff_limiter_t *l, const bff_rate_plan_t *plan, const char *key,
                        size_t keylen, unsigned cost, bff_limit_cb cb, void *data,
                        bff_rate_verdict_t *now)
{
    if (cost == 0)
        cost = 1;
    if (cost > plan->burst) /* more could never pass */
        cost = (unsigned)plan->burst;
    if (l->redis != NULL && keylen < sizeof(((limit_op_t *)0)->key)) {
        uint64_t hash = fnv1a(key, keylen);
        lease_slot_t *s = lease_slot(l, hash, plan);
        uint64_t t = bff_now_us();
        int busy = s->last_us != 0 && t - s->last_us < LEASE_LIFE_US;
        s->last_us = t;
        if (s->left >= cost && t < s->expires_us) { /* from this worker's allowance */
            s->left -= cost;
            *now = s->v;
            now->remaining += s->left;
            now->quota_remaining += now->quota_known ? s->left : 0;
            return NULL;
        }
        /* What is left of a lapsed (or too small) allowance goes back with this round trip. */
        unsigned refund = s->left, refund_quota = t < s->quota_end_us ? s->left : 0;
        s->left = 0;
        limit_op_t *op = bff_calloc(1, sizeof(*op));
        *op = (limit_op_t){.l = l,
                           .plan = plan,
                           .cb = cb,
                           .data = data,
                           .keylen = keylen,
                           .cost = cost,
                           .refund = refund,
                           .refund_quota = refund_quota,
                           /* one allowance out at a time, and only for a key in use */
                           .want = cost + (s->pending || !busy ? 0 : s->want - 1),
                           .hash = hash};
        memcpy(op->key, key, keylen);
        if ((op->cmd = send_check(op, 0)) != NULL) {
            s->pending |= op->want > op->cost;
            return op;
        }
        free(op);
    }
    decide_locally(l, plan, key, keylen, cost, now);
    return NULL;
}

void bff_limiter_cancel(void *p)
{
    limit_op_t *op = p;
    bff_redis_command_cancel(op->cmd);
    if (op->want > op->cost) /* what Redis takes for it lapses; the next may ask again */
        lease_slot(op->l, op->hash, op->plan)->pending = 0;
    free(op);
}
