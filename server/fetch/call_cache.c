/* Cached upstream calls (call_cache.h). A cached call's handle is tagged in its lowest bit, so
 * cancel tells it from a plain bff_call_t without a lookup (both are malloc'ed: bit 0 is free). */
#include "server/fetch/call_cache.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/cache_policy.h"
#include "compose/mem.h"
#include "server/cache/entry.h"
#include "server/core/clock.h"
#include "server/core/digest.h"

#define MAX_LINES 64

typedef struct st_cached_call_t {
    bff_cache_t *cache;
    bff_upstream_t *up; /* retained */
    unsigned char key[32];
    int per_principal;
    uint64_t purges; /* bff_cache_purges when the call began */
    const bff_cache_policy_t *policy;
    /* The request, copied for a call that starts after a Redis read or a wait. */
    bff_fetch_req_t req;
    char *method, *path;
    char *lines[MAX_LINES];
    uint64_t deadline_at;
    bff_fetch_cb cb;
    void *data;
    void *l2;
    bff_call_t *call;
    bff_cache_fill_t *fill; /* this call fills it for waiters */
    bff_cache_waiter_t waiter;
    int waiting;
    bff_timer_t deliver; /* a hit is delivered from the loop, never inside start */
    bff_fetch_result_t hit;
} cached_call_t;

/* A "Name: value" line whose name carries a credential. */
static int is_credential_line(const char *line)
{
    const char *colon = strchr(line, ':');
    return colon != NULL && bff_cache_is_credential(line, (size_t)(colon - line));
}

static void compute_key(cached_call_t *cc, const bff_fetch_req_t *req)
{
    const bff_upstream_conf_t *conf = bff_upstream_conf(cc->up);
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, "call-v1", 8);
    bff_sha256_add(&h, conf->name, strlen(conf->name) + 1);
    bff_sha256_add(&h, req->method, strlen(req->method) + 1);
    bff_sha256_add(&h, req->path, strlen(req->path) + 1);
    /* The run's lines about the principal (claim headers: X-User-ID ...) shape the answer too. */
    for (size_t i = 0; i < req->own_headers_at && i < req->nheaders; ++i) {
        if (bff_cache_is_per_request_line(req->headers[i]) || cc->policy->shared)
            continue;
        cc->per_principal = 1;
        bff_sha256_add(&h, req->headers[i], strlen(req->headers[i]) + 1);
    }
    for (size_t i = req->own_headers_at; i < req->nheaders; ++i) {
        int credential = is_credential_line(req->headers[i]);
        cc->per_principal |= credential && !cc->policy->shared;
        if (credential && cc->policy->shared)
            continue;
        bff_sha256_add(&h, req->headers[i], strlen(req->headers[i]) + 1);
    }
    bff_sha256_end(&h, cc->key);
}

static void copy_request(cached_call_t *cc, const bff_fetch_req_t *req)
{
    cc->req = *req;
    cc->method = bff_strdup(req->method);
    cc->path = bff_strdup(req->path);
    size_t n = req->nheaders < MAX_LINES ? req->nheaders : MAX_LINES;
    for (size_t i = 0; i != n; ++i)
        cc->lines[i] = bff_strdup(req->headers[i]);
    cc->req.method = cc->method;
    cc->req.path = cc->path;
    cc->req.headers = (const char *const *)cc->lines;
    cc->req.nheaders = n;
    cc->req.body = NULL; /* GET */
    cc->req.body_len = 0;
}

static void free_call(cached_call_t *cc)
{
    bff_timer_cancel(&cc->deliver);
    free(cc->hit.body);
    free(cc->method);
    free(cc->path);
    for (size_t i = 0; i != cc->req.nheaders; ++i)
        free(cc->lines[i]);
    bff_upstream_release(cc->up);
    bff_cache_release(cc->cache);
    free(cc);
}

static void *tag(cached_call_t *cc)
{
    return (void *)((uintptr_t)cc | 1);
}

/* The stored answer as the executor's result: what was left of its freshness rides along as
 * max-age, so a composed answer never outlives a source's entry. */
static int result_from_blob(const char *blob, size_t len, bff_fetch_result_t *res)
{
    bff_cache_entry_t e;
    if (blob == NULL || bff_cache_entry_decode(blob, len, &e) != 0)
        return -1;
    uint64_t now = bff_wall_ms();
    if (now >= e.fresh_until_ms)
        return -1;
    memset(res, 0, sizeof(*res));
    res->status = (long)e.status;
    res->body = bff_malloc(e.body_len + 1);
    memcpy(res->body, e.body, e.body_len);
    res->body_len = e.body_len;
    snprintf(res->content_type, sizeof(res->content_type), "%.*s", (int)e.content_type_len,
             e.content_type);
    res->retry_after = -1;
    res->cache_max_age = (int)((e.fresh_until_ms - now) / 1000);
    res->cache_flags = BFF_CC_MAX_AGE | ((e.flags & BFF_CACHE_PRIVATE) ? BFF_CC_PRIVATE : 0);
    res->from_cache = 1;
    return 0;
}

static void on_deliver(bff_timer_t *t)
{
    cached_call_t *cc = H2O_STRUCT_FROM_MEMBER(cached_call_t, deliver, t);
    bff_fetch_result_t res = cc->hit;
    cc->hit.body = NULL; /* the receiver's now */
    bff_fetch_cb cb = cc->cb;
    void *data = cc->data;
    free_call(cc);
    cb(data, &res);
}

/* Stores a 2xx answer the upstream lets a shared cache keep, for the policy's ttl at most. */
static char *build_entry(cached_call_t *cc, const bff_fetch_result_t *res, size_t *len)
{
    if (res->err != NULL || res->status < 200 || res->status > 299 ||
        (res->cache_flags & BFF_CC_NO_STORE) != 0 ||
        ((res->cache_flags & BFF_CC_PRIVATE) != 0 && !cc->per_principal))
        return NULL;
    uint64_t ttl = cc->policy->ttl_ms;
    if ((res->cache_flags & BFF_CC_MAX_AGE) != 0 && (uint64_t)res->cache_max_age * 1000 < ttl)
        ttl = (uint64_t)res->cache_max_age * 1000;
    if (ttl == 0 || strlen(res->content_type) > 200)
        return NULL;
    uint64_t now = bff_wall_ms();
    bff_cache_entry_t e = {.stored_ms = now,
                           .fresh_until_ms = now + ttl,
                           .swr_until_ms = now + ttl,
                           .sie_until_ms = now + ttl,
                           .status = (unsigned)res->status,
                           .flags = cc->per_principal ? BFF_CACHE_PRIVATE : 0,
                           .etag = "",
                           .content_type = res->content_type,
                           .content_type_len = strlen(res->content_type),
                           .body = res->body,
                           .body_len = res->body_len};
    *len = bff_cache_entry_size(&e);
    char *blob = bff_malloc(*len);
    bff_cache_entry_encode(&e, blob);
    return blob;
}

static void on_upstream(void *data, bff_fetch_result_t *res)
{
    cached_call_t *cc = data;
    cc->call = NULL;
    if (cc->fill != NULL) {
        size_t len = 0;
        char *blob = build_entry(cc, res, &len);
        if (blob != NULL) {
            bff_cache_entry_t e;
            bff_cache_entry_decode(blob, len, &e);
            bff_cache_put(cc->cache, cc->key, blob, len, &e, cc->purges);
        }
        bff_cache_fill_end(cc->cache, cc->fill, blob, len);
        cc->fill = NULL;
        free(blob);
    }
    /* A per-principal call marks the answer private, as its cached copy would: an endpoint
     * that is not per principal must not store it, however it was fetched. */
    if (cc->per_principal)
        res->cache_flags |= BFF_CC_PRIVATE;
    bff_fetch_cb cb = cc->cb;
    void *d = cc->data;
    free_call(cc);
    cb(d, res);
}

/* After the start: a failure to start is a result like any other. */
static void deliver_start_error(cached_call_t *cc, const char *err)
{
    memset(&cc->hit, 0, sizeof(cc->hit));
    cc->hit.err = err;
    cc->hit.retry_after = -1;
    snprintf(cc->hit.detail, sizeof(cc->hit.detail), "the call could not start");
    bff_timer_start(bff_cache_timers(cc->cache), &cc->deliver, 0, on_deliver);
}

static void on_waited(bff_cache_waiter_t *w, const char *blob, size_t len);

/* Calls the upstream, or waits for this worker's identical call. Returns 0, or -1 with *err
 * when the call could not start. */
static int go_upstream(cached_call_t *cc, const char **err)
{
    bff_cache_fill_t *f = bff_cache_fill_find(cc->cache, cc->key);
    if (f != NULL) {
        cc->waiter.cb = on_waited;
        cc->waiting = 1;
        bff_cache_fill_wait(f, &cc->waiter);
        return 0;
    }
    cc->call = bff_call_start(cc->up, &cc->req, cc->deadline_at, on_upstream, cc, err);
    if (cc->call == NULL)
        return -1;
    cc->fill = bff_cache_fill_begin(cc->cache, cc->key);
    return 0;
}

static void on_waited(bff_cache_waiter_t *w, const char *blob, size_t len)
{
    cached_call_t *cc = H2O_STRUCT_FROM_MEMBER(cached_call_t, waiter, w);
    cc->waiting = 0;
    if (result_from_blob(blob, len, &cc->hit) == 0) {
        on_deliver(&cc->deliver);
        return;
    }
    /* Nothing storable came of the other call: make our own (no fill: others do not wait). */
    const char *err = NULL;
    cc->call = bff_call_start(cc->up, &cc->req, cc->deadline_at, on_upstream, cc, &err);
    if (cc->call == NULL)
        deliver_start_error(cc, err);
}

static void on_l2(void *data, const char *blob, size_t len)
{
    cached_call_t *cc = data;
    cc->l2 = NULL;
    if (result_from_blob(blob, len, &cc->hit) == 0) {
        on_deliver(&cc->deliver);
        return;
    }
    const char *err = NULL;
    if (go_upstream(cc, &err) != 0)
        deliver_start_error(cc, err);
}

void *bff_cached_call_start(bff_cache_t *cache, bff_upstream_t *up, const bff_fetch_req_t *req,
                            uint64_t deadline_at, bff_fetch_cb cb, void *data, const char **err)
{
    if (cache == NULL || req->cache == NULL)
        return bff_call_start(up, req, deadline_at, cb, data, err);
    cached_call_t *cc = bff_calloc(1, sizeof(*cc));
    cc->cache = cache;
    cc->purges = bff_cache_purges(cache);
    bff_cache_retain(cache);
    cc->up = up;
    bff_upstream_retain(up);
    cc->policy = req->cache;
    cc->deadline_at = deadline_at;
    cc->cb = cb;
    cc->data = data;
    compute_key(cc, req);
    copy_request(cc, req);
    const char *blob;
    size_t len;
    if (bff_cache_l1_get(cache, cc->key, &blob, &len) == 0 &&
        result_from_blob(blob, len, &cc->hit) == 0) {
        ++bff_cache_stats(cache)->hits;
        bff_timer_start(bff_cache_timers(cache), &cc->deliver, 0, on_deliver);
        return tag(cc);
    }
    if ((cc->l2 = bff_cache_l2_get(cache, cc->key, on_l2, cc)) != NULL)
        return tag(cc);
    if (go_upstream(cc, err) != 0) {
        free_call(cc);
        return NULL;
    }
    return tag(cc);
}

void bff_cached_call_cancel(void *handle)
{
    if (((uintptr_t)handle & 1) == 0) {
        bff_call_cancel(handle);
        return;
    }
    cached_call_t *cc = (cached_call_t *)((uintptr_t)handle & ~(uintptr_t)1);
    if (cc->l2 != NULL)
        bff_cache_l2_cancel(cc->l2);
    if (cc->waiting)
        bff_cache_fill_unwait(&cc->waiter);
    if (cc->call != NULL)
        bff_call_cancel(cc->call);
    if (cc->fill != NULL) /* the waiters make their own calls */
        bff_cache_fill_end(cc->cache, cc->fill, NULL, 0);
    free_call(cc);
}
