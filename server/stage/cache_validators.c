/* Logging a composition's calls with their validators, and revalidating them
 * (cache_validators.h). */
#include "server/stage/cache_validators.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/cache_policy.h"
#include "compose/mem.h"
#include "server/cache/cache_conf.h"
#include "server/fetch/call_cache.h"

#define LOG_MAX (64 * 1024) /* validators kept with one entry */
#define MAX_CALLS 64
#define MAX_LINES 24

/* ---- the log ---- */

typedef struct st_logged_call_t {
    bff_call_log_t *log;
    void *call;
    bff_fetch_cb cb;
    void *data;
    bff_jwrite_t record; /* {"u":..,"m":..,"p":..,"h":[..], the validators still to come */
} logged_call_t;

void bff_call_log_init(bff_call_log_t *log)
{
    bff_jwrite_init(&log->w, 512, LOG_MAX);
    bff_jwrite_open(&log->w, '[');
    log->broken = 0;
    log->ncalls = 0;
}

void bff_call_log_dispose(bff_call_log_t *log)
{
    bff_jwrite_dispose(&log->w);
}

static void on_logged_result(void *p, bff_fetch_result_t *res)
{
    logged_call_t *lc = p;
    bff_call_log_t *log = lc->log;
    if (res->err != NULL || res->status != 200 ||
        (res->etag[0] == '\0' && res->last_modified[0] == '\0')) {
        log->broken = 1;
    } else {
        bff_jwrite_key(&lc->record, H2O_STRLIT("e"));
        bff_jwrite_str(&lc->record, res->etag, strlen(res->etag));
        bff_jwrite_key(&lc->record, H2O_STRLIT("l"));
        bff_jwrite_str(&lc->record, res->last_modified, strlen(res->last_modified));
        bff_jwrite_close(&lc->record, '}');
        if (bff_jwrite_done(&lc->record) == 0) {
            bff_jwrite_raw(&log->w, lc->record.buf, lc->record.len);
            ++log->ncalls;
        } else
            log->broken = 1;
    }
    bff_fetch_cb cb = lc->cb;
    void *data = lc->data;
    bff_jwrite_dispose(&lc->record);
    free(lc);
    cb(data, res);
}

void *bff_call_log_start(bff_call_log_t *log, const char *upstream, bff_cache_t *cache,
                         bff_upstream_t *up, const bff_fetch_req_t *req, uint64_t deadline_at,
                         bff_fetch_cb cb, void *data, const char **err)
{
    logged_call_t *lc = bff_calloc(1, sizeof(*lc));
    *lc = (logged_call_t){.log = log, .cb = cb, .data = data};
    bff_jwrite_init(&lc->record, 256, LOG_MAX);
    bff_jwrite_open(&lc->record, '{');
    bff_jwrite_key(&lc->record, H2O_STRLIT("u"));
    bff_jwrite_str(&lc->record, upstream, strlen(upstream));
    bff_jwrite_key(&lc->record, H2O_STRLIT("m"));
    bff_jwrite_str(&lc->record, req->method, strlen(req->method));
    bff_jwrite_key(&lc->record, H2O_STRLIT("p"));
    bff_jwrite_str(&lc->record, req->path, strlen(req->path));
    bff_jwrite_key(&lc->record, H2O_STRLIT("h"));
    bff_jwrite_open(&lc->record, '[');
    for (size_t i = 0; i != req->nheaders; ++i) {
        const char *line = req->headers[i], *colon = strchr(line, ':');
        if (bff_cache_is_per_request_line(line)) /* each request makes its own */
            continue;
        /* A relayed credential would have to be kept in the entry (in Redis) to be sent again:
         * such a call is not revalidated. */
        if (colon == NULL || bff_cache_is_credential(line, (size_t)(colon - line)))
            log->broken = 1;
        bff_jwrite_str(&lc->record, line, strlen(line));
    }
    bff_jwrite_close(&lc->record, ']');
    bff_fetch_req_t asked = *req;
    asked.want_validators = 1;
    if ((lc->call = bff_cached_call_start(cache, up, &asked, deadline_at, on_logged_result, lc,
                                          err)) == NULL) {
        log->broken = 1;
        bff_jwrite_dispose(&lc->record);
        free(lc);
        return NULL;
    }
    return lc;
}

void bff_call_log_cancel(void *handle)
{
    logged_call_t *lc = handle;
    lc->log->broken = 1;
    bff_cached_call_cancel(lc->call);
    bff_jwrite_dispose(&lc->record);
    free(lc);
}

h2o_iovec_t bff_call_log_result(bff_call_log_t *log)
{
    if (log->broken || log->ncalls == 0)
        return h2o_iovec_init(NULL, 0);
    bff_jwrite_close(&log->w, ']');
    int ok = bff_jwrite_done(&log->w) == 0;
    if (!ok)
        log->broken = 1;
    return ok ? h2o_iovec_init(log->w.buf, log->w.len) : h2o_iovec_init(NULL, 0);
}

/* ---- revalidation ---- */

typedef struct st_reval_t reval_t;

typedef struct st_reval_call_t {
    reval_t *rv;
    bff_call_t *call;
} reval_call_t;

struct st_reval_t {
    bff_reval_cb cb;
    void *data;
    size_t pending;
    int max_age;
    unsigned flags;
    size_t ncalls;
    reval_call_t calls[MAX_CALLS];
};

static void cancel_rest(reval_t *rv)
{
    for (size_t i = 0; i != rv->ncalls; ++i)
        if (rv->calls[i].call != NULL) {
            bff_call_cancel(rv->calls[i].call);
            rv->calls[i].call = NULL;
        }
}

static void on_reval_result(void *p, bff_fetch_result_t *res)
{
    reval_call_t *rc = p;
    reval_t *rv = rc->rv;
    rc->call = NULL;
    free(res->body);
    free(res->headers_json);
    int unchanged = res->status == 304;
    if (unchanged && (res->cache_flags & BFF_CC_MAX_AGE) != 0 &&
        ((rv->flags & BFF_CC_MAX_AGE) == 0 || res->cache_max_age < rv->max_age))
        rv->max_age = res->cache_max_age;
    rv->flags |= res->cache_flags;
    if (unchanged && --rv->pending != 0)
        return;
    if (!unchanged) /* one changed: the entry is composed again, the others need not answer */
        cancel_rest(rv);
    bff_reval_cb cb = rv->cb;
    void *data = rv->data;
    int max_age = rv->max_age;
    unsigned flags = rv->flags;
    free(rv);
    cb(data, unchanged, max_age, flags);
}

static ssize_t upstream_index(const bff_profile_t *profile, const char *name)
{
    for (size_t i = 0; i != profile->nupstreams; ++i)
        if (strcmp(profile->upstreams[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

/* One logged call, sent with its validators; 0, or -1 when it cannot go out. */
static int send_one(reval_t *rv, bff_req_t *r, json_t *rec, uint64_t deadline_at)
{
    const char *u = json_string_value(json_object_get(rec, "u"));
    const char *m = json_string_value(json_object_get(rec, "m"));
    const char *path = json_string_value(json_object_get(rec, "p"));
    const char *e = json_string_value(json_object_get(rec, "e"));
    const char *l = json_string_value(json_object_get(rec, "l"));
    json_t *h = json_object_get(rec, "h");
    ssize_t idx = u != NULL ? upstream_index(r->profile, u) : -1;
    if (idx < 0 || m == NULL || path == NULL || e == NULL || l == NULL || !json_is_array(h) ||
        json_array_size(h) > MAX_LINES || rv->ncalls == MAX_CALLS)
        return -1;
    char inm[160], ims[80], id[160];
    const char *lines[MAX_LINES + 3];
    size_t n = 0;
    /* The run's own line first (own_headers_at 1): the upstream's `propagate` may hold it back. */
    snprintf(id, sizeof(id), "X-Request-ID: %.*s", (int)r->request_id.len, r->request_id.base);
    lines[n++] = id;
    for (size_t i = 0; i != json_array_size(h); ++i)
        if ((lines[n] = json_string_value(json_array_get(h, i))) != NULL)
            ++n;
    if (e[0] != '\0') {
        snprintf(inm, sizeof(inm), "If-None-Match: %s", e);
        lines[n++] = inm;
    }
    if (l[0] != '\0') {
        snprintf(ims, sizeof(ims), "If-Modified-Since: %s", l);
        lines[n++] = ims;
    }
    bff_fetch_req_t req = {
        .method = m, .path = path, .headers = lines, .nheaders = n, .own_headers_at = 1};
    reval_call_t *rc = rv->calls + rv->ncalls;
    rc->rv = rv;
    const char *err;
    bff_upstream_t *up = r->view->upstreams[r->site->index][idx];
    if ((rc->call = bff_call_start(up, &req, deadline_at, on_reval_result, rc, &err)) == NULL)
        return -1;
    ++rv->ncalls;
    ++rv->pending;
    return 0;
}

void *bff_reval_start(bff_req_t *r, h2o_iovec_t validators, uint64_t timeout_ms, bff_reval_cb cb,
                      void *data)
{
    json_t *arr = json_loadb(validators.base, validators.len, 0, NULL);
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_CALLS) {
        json_decref(arr);
        return NULL;
    }
    reval_t *rv = bff_calloc(1, sizeof(*rv));
    rv->cb = cb;
    rv->data = data;
    rv->max_age = -1;
    uint64_t deadline_at = h2o_now(r->site->worker->loop) + timeout_ms;
    int ok = 1;
    for (size_t i = 0; ok && i != json_array_size(arr); ++i)
        ok = json_is_object(json_array_get(arr, i)) &&
             send_one(rv, r, json_array_get(arr, i), deadline_at) == 0;
    json_decref(arr);
    if (!ok) {
        cancel_rest(rv);
        free(rv);
        return NULL;
    }
    return rv;
}

void bff_reval_cancel(void *p)
{
    reval_t *rv = p;
    cancel_rest(rv);
    free(rv);
}
