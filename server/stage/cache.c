/* Stage: the response cache (cache.h). A request for a cached endpoint is keyed by its
 * endpoint's digest and its request doc, looked up in L1, then in Redis; a fresh entry is the
 * answer, a stale one within stale-while-revalidate is the answer while one refresh runs, and
 * a miss either waits for the same key's composition on this worker or composes itself. */
#include "server/stage/cache.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "compose/cache_policy.h"
#include "compose/gql/graph.h"
#include "server/auth/principal.h"
#include "server/cache/entry.h"
#include "server/core/clock.h"
#include "server/core/digest.h"
#include "server/http/params.h"
#include "server/http/respond.h"
#include "server/stage/cache_internal.h"
#include "server/stage/cache_validators.h"
#include "server/obs/metrics.h"
#include "server/stage/pipeline.h"

#define CACHE_REQ_MAGIC 0xb1ffcac4u

typedef struct st_bff_cache_req_t {
    uint32_t magic;
    bff_req_t *r;
    bff_cache_t *cache; /* the request's view holds it */
    unsigned char key[32];
    int per_principal;
    void *l2;               /* a Redis read in flight */
    bff_cache_fill_t *fill; /* this request composes for the waiters on it */
    bff_cache_waiter_t waiter;
    int waiting;
    h2o_iovec_t stale; /* an entry past fresh, kept for stale-if-error (pool) */
    h2o_iovec_t l1;    /* L1's stale entry while Redis is asked for a fresher one (pool) */
    const bff_cache_policy_t *policy;
    uint64_t purges;              /* bff_cache_purges when the request began */
    void *lock;                   /* asking Redis for the key's composition lock */
    int holds_lock;               /* this instance composes the key; released when it is done */
    bff_timer_t poll;             /* another instance composes: look for its entry */
    uint64_t wait_until;          /* loop time (ms): then compose anyway */
    void (*resume)(bff_req_t *r); /* a miss found asynchronously continues here */
    bff_cache_refresh_fn refresh; /* runs a stale-while-revalidate refresh; NULL: none */
    int rest;                     /* a REST endpoint (a late respond_by run fills its entry) */
    void *reval;                  /* conditional requests revalidating `old` */
    h2o_iovec_t old;              /* the entry being revalidated (pool) */
    h2o_iovec_t validators;       /* what compose logged, for the entry it stores (pool) */
} bff_cache_req_t;

/* The key: the endpoint's digest and the request doc (parameters and the headers the spec
 * reads, credentials included unless the endpoint is `shared`). */
int bff_cache_endpoint_key(const bff_spec_t *spec, const h2o_iovec_t *values, h2o_iovec_t query,
                           const h2o_headers_t *headers, h2o_iovec_t doc, h2o_mem_pool_t *pool,
                           unsigned char key[32], int *per_principal)
{
    int reads_credentials = spec->reads_auth; /* the doc holds the principal's claims */
    for (size_t i = 0; i != spec->nrequest_headers; ++i)
        reads_credentials |=
            bff_cache_is_credential(spec->request_headers[i], strlen(spec->request_headers[i]));
    bff_jwrite_t built = {0};
    if (doc.base == NULL || (reads_credentials && spec->cache.shared)) {
        /* The doc (again), without the credentials when shared: one entry for everybody. */
        const char *kept[BFF_SPEC_MAX_PATH_PARAMS];
        bff_spec_t view = *spec;
        if (spec->cache.shared) {
            view.request_headers = (char **)kept;
            view.nrequest_headers = 0;
            for (size_t i = 0; i != spec->nrequest_headers && i != BFF_SPEC_MAX_PATH_PARAMS; ++i)
                if (!bff_cache_is_credential(spec->request_headers[i],
                                             strlen(spec->request_headers[i])))
                    kept[view.nrequest_headers++] = spec->request_headers[i];
        }
        char msg[64];
        const char *bad;
        bff_jwrite_init(&built, 256, 64 * 1024);
        if (bff_params_build(&view, values, query, headers, h2o_iovec_init(NULL, 0), pool, &built,
                             msg, sizeof(msg), &bad) != 0 ||
            bff_jwrite_done(&built) != 0) {
            bff_jwrite_dispose(&built);
            return -1;
        }
        doc = h2o_iovec_init(built.buf, built.len);
    }
    *per_principal = reads_credentials && !spec->cache.shared;
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, "endpoint-v1", 12);
    bff_sha256_add(&h, spec->digest, sizeof(spec->digest));
    bff_sha256_add(&h, doc.base, doc.len);
    bff_sha256_end(&h, key);
    bff_jwrite_dispose(&built);
    return 0;
}

static int compute_key(bff_cache_req_t *cr)
{
    bff_req_t *r = cr->r;
    h2o_req_t *req = r->req;
    h2o_iovec_t query =
        req->query_at != SIZE_MAX
            ? h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1)
            : h2o_iovec_init(NULL, 0);
    const bff_spec_t *spec = r->route.spec;
    if (bff_cache_endpoint_key(spec, r->route.values, query, &req->headers, r->doc, &req->pool,
                               cr->key, &cr->per_principal) != 0)
        return -1;
    /* Upstreams hear who the client is (claim headers, a relayed or translated token): their
     * answers are the principal's, whatever the spec reads. */
    if (r->principal != NULL && !cr->per_principal && !spec->cache.shared &&
        (r->profile->auth.nclaim_headers != 0 || r->profile->upstream_auth_any)) {
        bff_sha256_t h;
        bff_sha256_begin(&h);
        bff_sha256_add(&h, cr->key, 32);
        bff_sha256_add(&h, r->principal->claims_json.base, r->principal->claims_json.len);
        bff_sha256_end(&h, cr->key);
        cr->per_principal = 1;
    }
    return 0;
}

#define BFF_VARY_MAX 32 /* header names listed in Vary */

static void add_header(h2o_req_t *req, const char *name, size_t namelen, const char *value,
                       size_t len)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, namelen, 0, NULL,
                          h2o_strdup(&req->pool, value, len).base, len);
}

/* Cache-Control for the client: never looser than the entry (private when per principal),
 * max-age at most what is left of its freshness and the endpoint's client_max_age. */
static void add_client_control(bff_req_t *r, int private_, uint64_t fresh_left_ms)
{
    uint64_t client = r->cache->policy->client_ms;
    uint64_t age = (client < fresh_left_ms ? client : fresh_left_ms) / 1000;
    char v[64];
    int n = age != 0 ? snprintf(v, sizeof(v), "%s, max-age=%llu", private_ ? "private" : "public",
                                (unsigned long long)age)
                     : snprintf(v, sizeof(v), "%s, no-cache", private_ ? "private" : "public");
    add_header(r->req, H2O_STRLIT("cache-control"), v, (size_t)n);
    /* The entry is keyed by the request headers the endpoint (or the graph) reads: a shared
     * cache must be too. */
    const bff_spec_t *spec = r->route.spec;
    const bff_gql_graph_t *g = r->profile->graph;
    char *const *read = spec != NULL ? spec->request_headers
                        : g != NULL  ? g->request_headers
                                     : NULL;
    size_t nread = spec != NULL ? spec->nrequest_headers : g != NULL ? g->nrequest_headers : 0;
    if (nread != 0) {
        h2o_iovec_t names[2 * BFF_VARY_MAX];
        size_t k = 0;
        for (size_t i = 0; i != nread && i != BFF_VARY_MAX; ++i) {
            if (k != 0)
                names[k++] = h2o_iovec_init(H2O_STRLIT(", "));
            names[k++] = h2o_iovec_init(read[i], strlen(read[i]));
        }
        h2o_iovec_t vary = h2o_concat_list(&r->req->pool, names, k);
        h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_VARY, NULL, vary.base,
                       vary.len);
    }
}

/* Answers from an entry: hit, stale, or 304 when the client has it. */
static void serve(bff_cache_req_t *cr, const bff_cache_entry_t *e, const char *how)
{
    bff_req_t *r = cr->r;
    h2o_req_t *req = r->req;
    uint64_t now = bff_wall_ms();
    char age[24];
    int n = snprintf(age, sizeof(age), "%llu",
                     (unsigned long long)(now > e->stored_ms ? (now - e->stored_ms) / 1000 : 0));
    add_header(req, H2O_STRLIT("age"), age, (size_t)n);
    add_header(req, H2O_STRLIT("x-cache"), how, strlen(how));
    bff_site_metrics_t *m = r->site->metrics;
    atomic_fetch_add_explicit(how[0] == 'h'   ? &m->cache_hit
                              : how[0] == 's' ? &m->cache_stale
                                              : &m->cache_revalidated,
                              1, memory_order_relaxed);
    char timing[64];
    n = snprintf(timing, sizeof(timing), "cache;desc=%s;dur=%.1f", how,
                 (double)(bff_now_us() - r->started_us) / 1000.0);
    add_header(req, H2O_STRLIT("server-timing"), timing, (size_t)n);
    if (e->etag_len != 0)
        add_header(req, H2O_STRLIT("etag"), e->etag, e->etag_len);
    add_client_control(r, (e->flags & BFF_CACHE_PRIVATE) != 0,
                       e->fresh_until_ms > now ? e->fresh_until_ms - now : 0);
    if (bff_if_none_match(req, e->etag, e->etag_len)) {
        bff_respond_typed(req, 304, "Not Modified", h2o_iovec_init(NULL, 0),
                          h2o_iovec_init(NULL, 0));
        return;
    }
    h2o_iovec_t type = h2o_strdup(&req->pool, e->content_type, e->content_type_len);
    h2o_iovec_t body = h2o_strdup(&req->pool, e->body, e->body_len);
    bff_respond_typed(req, (int)e->status, bff_status_reason((int)e->status), type, body);
}

static void end_fill(bff_cache_req_t *cr, const char *blob, size_t len)
{
    if (cr->fill != NULL) {
        bff_cache_fill_end(cr->cache, cr->fill, blob, len);
        cr->fill = NULL;
    }
    if (cr->holds_lock) { /* others need not wait out the lock: the entry is there, or won't be */
        bff_cache_unlock(cr->cache, cr->key);
        cr->holds_lock = 0;
    }
}

static void on_dispose(void *p)
{
    bff_cache_req_t *cr = p;
    if (cr->l2 != NULL)
        bff_cache_l2_cancel(cr->l2);
    if (cr->lock != NULL)
        bff_cache_l2_cancel(cr->lock);
    if (cr->reval != NULL)
        bff_reval_cancel(cr->reval);
    bff_timer_cancel(&cr->poll);
    if (cr->waiting)
        bff_cache_fill_unwait(&cr->waiter);
    end_fill(cr, NULL, 0); /* the client left first: the waiters compose on their own */
    cr->magic = 0;
}

static void on_fill_done(bff_cache_waiter_t *w, const char *blob, size_t len);
static void on_miss_lock(void *data, int acquired);

/* Nothing usable: wait for this worker's composition of the key, or be it. */
static bff_stage_result_t miss(bff_cache_req_t *cr)
{
    ++bff_cache_stats(cr->cache)->misses;
    bff_cache_fill_t *f = bff_cache_fill_find(cr->cache, cr->key);
    if (f != NULL) {
        cr->waiter.cb = on_fill_done;
        cr->waiting = 1;
        bff_cache_fill_wait(f, &cr->waiter);
        return BFF_STAGE_PENDING;
    }
    cr->fill = bff_cache_fill_begin(cr->cache, cr->key);
    /* Across instances: the one holding the key's lock composes, the others wait (bounded) for
     * its entry in Redis. */
    if ((cr->lock = bff_cache_lock(cr->cache, cr->key, on_miss_lock, cr)) != NULL)
        return BFF_STAGE_PENDING;
    return BFF_STAGE_NEXT;
}

#define LOCK_POLL_MS 25

static void on_lock_poll(bff_timer_t *t);

static void on_poll_l2(void *data, const char *blob, size_t len)
{
    bff_cache_req_t *cr = data;
    assert(cr->magic == CACHE_REQ_MAGIC);
    cr->l2 = NULL;
    bff_cache_entry_t e;
    if (blob != NULL && bff_cache_entry_decode(blob, len, &e) == 0 &&
        bff_wall_ms() < e.fresh_until_ms) {
        serve(cr, &e, "hit");
        end_fill(cr, blob, len); /* this worker's waiters get it too */
        bff_req_sent(cr->r);
        return;
    }
    bff_timers_t *timers = bff_cache_timers(cr->cache);
    if (h2o_now(timers->loop) >= cr->wait_until) {
        cr->resume(cr->r); /* waited long enough: compose here too */
        return;
    }
    bff_timer_start(timers, &cr->poll, LOCK_POLL_MS, on_lock_poll);
}

static void on_lock_poll(bff_timer_t *t)
{
    bff_cache_req_t *cr = H2O_STRUCT_FROM_MEMBER(bff_cache_req_t, poll, t);
    assert(cr->magic == CACHE_REQ_MAGIC);
    if ((cr->l2 = bff_cache_l2_get(cr->cache, cr->key, on_poll_l2, cr)) == NULL)
        cr->resume(cr->r); /* Redis went away: compose */
}

static void on_miss_lock(void *data, int acquired)
{
    bff_cache_req_t *cr = data;
    assert(cr->magic == CACHE_REQ_MAGIC);
    cr->lock = NULL;
    if (acquired) {
        cr->holds_lock = 1;
        cr->resume(cr->r);
        return;
    }
    bff_timers_t *timers = bff_cache_timers(cr->cache);
    cr->wait_until = h2o_now(timers->loop) + bff_cache_conf(cr->cache)->lock_wait_ms;
    bff_timer_start(timers, &cr->poll, LOCK_POLL_MS, on_lock_poll);
}

static void continue_with(bff_cache_req_t *cr, bff_stage_result_t res);

static void on_reval(void *data, int unchanged, int max_age, unsigned flags)
{
    bff_cache_req_t *cr = data;
    assert(cr->magic == CACHE_REQ_MAGIC);
    cr->reval = NULL;
    bff_cache_entry_t e, renewed;
    size_t len = 0;
    char *blob = NULL;
    if (unchanged && bff_cache_entry_decode(cr->old.base, cr->old.len, &e) == 0)
        blob = bff_cache_i_build(cr->policy, cr->per_principal, (int)e.status,
                                 h2o_iovec_init(e.content_type, e.content_type_len),
                                 h2o_iovec_init(e.body, e.body_len),
                                 h2o_iovec_init(e.tags, e.tags_len), 1, max_age, flags,
                                 h2o_iovec_init(e.validators, e.validators_len), &len);
    if (blob == NULL) { /* changed upstream (or it said no-store now): compose, as this fill */
        ++bff_cache_stats(cr->cache)->misses;
        cr->resume(cr->r);
        return;
    }
    ++bff_cache_stats(cr->cache)->revalidated;
    bff_cache_entry_decode(blob, len, &renewed);
    bff_cache_put(cr->cache, cr->key, blob, len, &renewed, cr->purges);
    serve(cr, &renewed, "revalidated");
    end_fill(cr, blob, len);
    free(blob);
    bff_req_sent(cr->r);
}

/* Past fresh with the upstream calls' validators: ask the upstreams whether anything changed
 * (conditional requests) before composing; identical requests meanwhile wait on this one. */
static bff_stage_result_t revalidate(bff_cache_req_t *cr, const char *blob, size_t len)
{
    if (bff_cache_fill_find(cr->cache, cr->key) != NULL)
        return miss(cr); /* this worker revalidates or composes the key already: wait for it */
    bff_req_t *r = cr->r;
    cr->old = h2o_strdup(&r->req->pool, blob, len);
    bff_cache_entry_t e;
    bff_cache_entry_decode(cr->old.base, cr->old.len, &e);
    const bff_spec_t *spec = r->route.spec;
    uint64_t timeout = spec->timeout_ms ? spec->timeout_ms : r->profile->request_timeout_ms;
    cr->reval =
        bff_reval_start(r, h2o_iovec_init(e.validators, e.validators_len), timeout, on_reval, cr);
    if (cr->reval == NULL)
        return miss(cr);
    cr->fill = bff_cache_fill_begin(cr->cache, cr->key);
    return BFF_STAGE_PENDING;
}

/* Decides with the entry found (or none): the stage's result. */
static bff_stage_result_t decide(bff_cache_req_t *cr, const char *blob, size_t len)
{
    bff_cache_entry_t e;
    if (blob == NULL || bff_cache_entry_decode(blob, len, &e) != 0)
        return miss(cr);
    uint64_t now = bff_wall_ms();
    bff_cache_stats_t *stats = bff_cache_stats(cr->cache);
    if (now < e.fresh_until_ms) {
        ++stats->hits;
        serve(cr, &e, "hit");
        return BFF_STAGE_RESPONDED;
    }
    if (now < e.swr_until_ms && cr->refresh != NULL) {
        ++stats->stale;
        serve(cr, &e, "stale");
        cr->refresh(cr->r, cr->cache, cr->key, cr->per_principal);
        return BFF_STAGE_RESPONDED;
    }
    if (now < e.sie_until_ms)
        cr->stale = h2o_strdup(&cr->r->req->pool, blob, len);
    if (cr->rest && e.validators_len != 0 && now < e.reval_until_ms)
        return revalidate(cr, blob, len);
    return miss(cr);
}

static void continue_with(bff_cache_req_t *cr, bff_stage_result_t res)
{
    if (res == BFF_STAGE_NEXT)
        cr->resume(cr->r);
    else if (res == BFF_STAGE_RESPONDED)
        bff_req_sent(cr->r);
}

static void on_fill_done(bff_cache_waiter_t *w, const char *blob, size_t len)
{
    bff_cache_req_t *cr = H2O_STRUCT_FROM_MEMBER(bff_cache_req_t, waiter, w);
    assert(cr->magic == CACHE_REQ_MAGIC);
    cr->waiting = 0;
    bff_cache_entry_t e;
    if (blob != NULL && bff_cache_entry_decode(blob, len, &e) == 0) {
        serve(cr, &e, "hit");
        bff_req_sent(cr->r);
        return;
    }
    /* Nothing cacheable came of it: compose for this request (no new fill: the next miss
     * leads one). */
    cr->resume(cr->r);
}

static void on_l2(void *data, const char *blob, size_t len)
{
    bff_cache_req_t *cr = data;
    assert(cr->magic == CACHE_REQ_MAGIC);
    cr->l2 = NULL;
    if (blob == NULL) /* Redis has none (or is down): L1's stale copy still serves */
        blob = cr->l1.base, len = cr->l1.len;
    continue_with(cr, decide(cr, blob, len));
}

static bff_cache_req_t *create(bff_req_t *r, bff_cache_t *cache, const bff_cache_policy_t *policy,
                               void (*resume)(bff_req_t *r))
{
    bff_cache_req_t *cr = h2o_mem_alloc_shared(&r->req->pool, sizeof(*cr), on_dispose);
    memset(cr, 0, sizeof(*cr));
    cr->magic = CACHE_REQ_MAGIC;
    cr->r = r;
    cr->cache = cache;
    cr->purges = bff_cache_purges(cache);
    cr->policy = policy;
    cr->resume = resume;
    return cr;
}

static bff_stage_result_t lookup(bff_cache_req_t *cr)
{
    bff_req_t *r = cr->r;
    bff_cache_t *cache = cr->cache;
    r->cache = cr;
    const char *blob;
    size_t len;
    if (bff_cache_l1_get(cache, cr->key, &blob, &len) == 0) {
        bff_cache_entry_t e;
        /* A fresh L1 entry answers; a stale one may be fresher in Redis (another instance). */
        if (bff_cache_entry_decode(blob, len, &e) == 0 && bff_wall_ms() < e.fresh_until_ms)
            return decide(cr, blob, len);
        cr->l1 = h2o_strdup(&r->req->pool, blob, len);
        if ((cr->l2 = bff_cache_l2_get(cache, cr->key, on_l2, cr)) != NULL)
            return BFF_STAGE_PENDING;
        return decide(cr, cr->l1.base, cr->l1.len);
    }
    if ((cr->l2 = bff_cache_l2_get(cache, cr->key, on_l2, cr)) != NULL)
        return BFF_STAGE_PENDING;
    return decide(cr, NULL, 0);
}

bff_stage_result_t bff_stage_cache(bff_req_t *r)
{
    const bff_spec_t *spec = r->route.spec;
    if (!spec->cache.enabled || spec->graphql_op != NULL)
        return BFF_STAGE_NEXT;
    bff_cache_t *cache = r->view->caches[r->site->index];
    if (cache == NULL)
        return BFF_STAGE_NEXT;
    bff_cache_req_t *cr = create(r, cache, &spec->cache, bff_pipeline_resume);
    cr->refresh = bff_cache_i_refresh;
    cr->rest = 1;
    if (compute_key(cr) != 0)
        return BFF_STAGE_NEXT; /* params accepted it once; should it not again, do not cache */
    return lookup(cr);
}

bff_stage_result_t bff_cache_lookup(bff_req_t *r, bff_cache_t *cache,
                                    const bff_cache_policy_t *policy, const unsigned char key[32],
                                    int per_principal, void (*resume)(bff_req_t *r),
                                    bff_cache_refresh_fn refresh)
{
    bff_cache_req_t *cr = create(r, cache, policy, resume);
    cr->refresh = refresh;
    memcpy(cr->key, key, 32);
    cr->per_principal = per_principal;
    return lookup(cr);
}

/* A strong ETag: the body's SHA-256, shortened (collisions need 2^64 work). */
static size_t make_etag(h2o_iovec_t body, char out[36])
{
    unsigned char md[32];
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, body.base, body.len);
    bff_sha256_end(&h, md);
    char hex[65];
    bff_hex32(md, hex);
    out[0] = '"';
    memcpy(out + 1, hex, 32);
    out[33] = '"';
    out[34] = '\0';
    return 34;
}

size_t bff_cache_i_tags(const bff_spec_t *spec, const bff_exec_t *exec, char *buf, size_t size)
{
    size_t len = 0;
    bff_shape_env_t env = bff_exec_env(exec);
    for (size_t i = 0; i != spec->ncache_tags; ++i) {
        bff_jwrite_t v;
        bff_jwrite_init(&v, 128, 256);
        if (bff_template_render(spec->cache_tags + i, &env, 0, &v, NULL) == 0 && !v.overflow &&
            v.len != 0 && v.len <= 200 && memchr(v.buf, '\n', v.len) == NULL &&
            len + v.len + 1 <= size) {
            if (len != 0)
                buf[len++] = '\n';
            memcpy(buf + len, v.buf, v.len);
            len += v.len;
        }
        bff_jwrite_dispose(&v);
    }
    return len;
}

char *bff_cache_i_build(const bff_cache_policy_t *policy, int per_principal, int status,
                        h2o_iovec_t type, h2o_iovec_t body, h2o_iovec_t tags, int whole,
                        int max_age, unsigned flags, h2o_iovec_t validators, size_t *len)
{
    if (status != 200 || !whole || (flags & BFF_CC_NO_STORE) != 0 ||
        ((flags & BFF_CC_PRIVATE) != 0 && !per_principal) || type.len > 200)
        return NULL;
    uint64_t ttl = policy->ttl_ms;
    if ((flags & BFF_CC_MAX_AGE) != 0 && (uint64_t)max_age * 1000 < ttl)
        ttl = (uint64_t)max_age * 1000; /* an upstream may shorten, never lengthen */
    if (ttl == 0)
        return NULL;
    char etag[36];
    uint64_t now = bff_wall_ms();
    bff_cache_entry_t e = {.stored_ms = now,
                           .fresh_until_ms = now + ttl,
                           .swr_until_ms = now + ttl + policy->swr_ms,
                           .sie_until_ms = now + ttl + policy->sie_ms,
                           .status = (unsigned)status,
                           .flags = per_principal ? BFF_CACHE_PRIVATE : 0,
                           .etag = etag,
                           .etag_len = make_etag(body, etag),
                           .content_type = type.base,
                           .content_type_len = type.len,
                           .tags = tags.base,
                           .tags_len = tags.len,
                           .body = body.base,
                           .body_len = body.len};
    if (policy->reval_ms != 0 && validators.len != 0) {
        e.reval_until_ms = now + ttl + policy->reval_ms;
        e.validators = validators.base;
        e.validators_len = validators.len;
    }
    *len = bff_cache_entry_size(&e);
    char *blob = h2o_mem_alloc(*len);
    bff_cache_entry_encode(&e, blob);
    return blob;
}

static int answer(bff_req_t *r, int status, h2o_iovec_t type, h2o_iovec_t body, h2o_iovec_t tags,
                  int whole, int max_age, unsigned flags);

int bff_cache_on_composed(bff_req_t *r, int status, h2o_iovec_t body, const bff_exec_t *exec)
{
    int max_age;
    unsigned flags;
    bff_exec_cache_hints(exec, &max_age, &flags);
    int whole = bff_exec_state(exec) == BFF_EXEC_COMPLETE && !bff_exec_partial(exec);
    char tags[BFF_CACHE_TAGS_MAX];
    size_t ntags = bff_cache_i_tags(r->route.spec, exec, tags, sizeof(tags));
    return answer(r, status, h2o_iovec_init(H2O_STRLIT("application/json")), body,
                  h2o_iovec_init(tags, ntags), whole, max_age, flags);
}

int bff_cache_on_answer(bff_req_t *r, int status, h2o_iovec_t type, h2o_iovec_t body, int whole,
                        int max_age, unsigned flags)
{
    return answer(r, status, type, body, h2o_iovec_init(NULL, 0), whole, max_age, flags);
}

static int answer(bff_req_t *r, int status, h2o_iovec_t type, h2o_iovec_t body, h2o_iovec_t tags,
                  int whole, int max_age, unsigned flags)
{
    bff_cache_req_t *cr = r->cache;
    h2o_req_t *req = r->req;
    size_t len;
    char *blob = bff_cache_i_build(cr->policy, cr->per_principal, status, type, body, tags, whole,
                                   max_age, flags, cr->validators, &len);
    add_header(req, H2O_STRLIT("x-cache"), H2O_STRLIT("miss"));
    atomic_fetch_add_explicit(&r->site->metrics->cache_miss, 1, memory_order_relaxed);
    if (blob == NULL) {
        add_header(req, H2O_STRLIT("cache-control"), H2O_STRLIT("no-store"));
        end_fill(cr, NULL, 0);
        return 0;
    }
    bff_cache_entry_t e;
    bff_cache_entry_decode(blob, len, &e);
    bff_cache_put(cr->cache, cr->key, blob, len, &e, cr->purges);
    end_fill(cr, blob, len);
    add_header(req, H2O_STRLIT("etag"), e.etag, e.etag_len);
    add_client_control(r, cr->per_principal, e.fresh_until_ms - e.stored_ms);
    int not_modified = bff_if_none_match(req, e.etag, e.etag_len);
    free(blob);
    if (not_modified)
        bff_respond_typed(req, 304, "Not Modified", h2o_iovec_init(NULL, 0),
                          h2o_iovec_init(NULL, 0));
    return not_modified;
}

void bff_cache_note_validators(bff_req_t *r, h2o_iovec_t validators)
{
    bff_cache_req_t *cr = r->cache;
    if (cr != NULL && validators.len != 0)
        cr->validators = h2o_strdup(&r->req->pool, validators.base, validators.len);
}

int bff_cache_on_failed(bff_req_t *r)
{
    bff_cache_req_t *cr = r->cache;
    end_fill(cr, NULL, 0);
    bff_cache_entry_t e;
    if (cr->stale.base == NULL || bff_cache_entry_decode(cr->stale.base, cr->stale.len, &e) != 0 ||
        bff_wall_ms() >= e.sie_until_ms)
        return 0;
    ++bff_cache_stats(cr->cache)->stale;
    serve(cr, &e, "stale");
    return 1;
}

bff_cache_t *bff_cache_req_target(bff_req_t *r, unsigned char key[32], int *per_principal)
{
    bff_cache_req_t *cr = r->cache;
    if (cr == NULL || !cr->rest) /* REST endpoints only */
        return NULL;
    memcpy(key, cr->key, 32);
    *per_principal = cr->per_principal;
    return cr->cache;
}
