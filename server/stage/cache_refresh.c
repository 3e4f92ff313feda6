/* Stale-while-revalidate: the request that found a stale entry is answered from it at once,
 * and this composes the endpoint again in the background, off any client request: its own
 * run on the executor, holding the configuration view it started with, bounded by the
 * endpoint's deadline. The new entry goes to both levels; identical misses meanwhile wait on
 * it. With Redis, a short lock lets one instance refresh a key while the others keep serving
 * the stale entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/cache/entry.h"
#include "server/core/clock.h"
#include "server/fetch/call_cache.h"
#include "server/stage/cache_internal.h"
#include "server/stage/compose.h"

typedef struct st_refresh_t {
    bff_conf_view_t *view; /* retained */
    bff_cache_t *cache;    /* view->caches[site] */
    bff_worker_t *worker;
    size_t site;
    const bff_spec_t *spec;
    unsigned char key[32];
    int per_principal;
    char *doc;
    size_t doc_len;
    char id_line[160];
    bff_cache_fill_t *fill;
    void *lock;
    bff_exec_t *exec;
    uint64_t deadline_at;
    bff_timer_t deadline;
} refresh_t;

static void *fetch_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                         const char **err)
{
    refresh_t *f = host;
    return bff_cached_call_start(f->cache, f->view->upstreams[f->site][req->upstream], req,
                                 f->deadline_at, cb, data, err);
}

static void fetch_cancel(void *host, void *call)
{
    bff_cached_call_cancel(call);
}

static uint64_t host_now_us(void *host)
{
    return bff_now_us();
}

static const bff_fetch_ops_t fetch_ops = {fetch_start, fetch_cancel, host_now_us, NULL};

static void finish(refresh_t *f, const char *blob, size_t len)
{
    bff_timer_cancel(&f->deadline);
    if (f->fill != NULL)
        bff_cache_fill_end(f->cache, f->fill, blob, len);
    bff_exec_destroy(f->exec);
    free(f->doc);
    bff_conf_view_release(f->view);
    free(f);
}

char *bff_cache_i_store_run(bff_cache_t *cache, const unsigned char key[32], int per_principal,
                            const bff_profile_t *profile, const bff_spec_t *spec,
                            const bff_exec_t *exec, size_t *len)
{
    bff_jwrite_t w = {0};
    int status;
    char *blob = NULL;
    if (bff_exec_state(exec) == BFF_EXEC_COMPLETE &&
        bff_compose_render(profile, spec, exec, &w, &status) == 0) {
        int max_age;
        unsigned flags;
        bff_exec_cache_hints(exec, &max_age, &flags);
        char tags[BFF_CACHE_TAGS_MAX];
        size_t ntags = bff_cache_i_tags(spec, exec, tags, sizeof(tags));
        blob = bff_cache_i_build(&spec->cache, per_principal, status,
                                 h2o_iovec_init(H2O_STRLIT("application/json")),
                                 h2o_iovec_init(w.buf, w.len), h2o_iovec_init(tags, ntags),
                                 !bff_exec_partial(exec), max_age, flags, len);
    }
    bff_jwrite_dispose(&w);
    if (blob != NULL) {
        bff_cache_entry_t e;
        bff_cache_entry_decode(blob, *len, &e);
        bff_cache_put(cache, key, blob, *len, &e);
    }
    return blob;
}

static void on_done(void *data, bff_exec_t *exec)
{
    refresh_t *f = data;
    size_t len = 0;
    char *blob =
        bff_cache_i_store_run(f->cache, f->key, f->per_principal,
                              f->view->config->sites[f->site].profile, f->spec, exec, &len);
    finish(f, blob, len); /* the waiters copy it */
    free(blob);
}

static void on_deadline(bff_timer_t *t)
{
    refresh_t *f = H2O_STRUCT_FROM_MEMBER(refresh_t, deadline, t);
    bff_exec_expire(f->exec, "the endpoint's deadline passed first");
}

static void run(refresh_t *f)
{
    const char *lines[] = {f->id_line};
    bff_exec_conf_t conf = {.plan = &f->spec->plan,
                            .request_doc = f->doc,
                            .request_doc_len = f->doc_len,
                            .headers = lines,
                            .nheaders = 1,
                            .ops = &fetch_ops,
                            .host = f,
                            .on_done = on_done,
                            .data = f};
    if ((f->exec = bff_exec_create(&conf)) == NULL || bff_exec_missing_input(f->exec) != NULL) {
        finish(f, NULL, 0);
        return;
    }
    ++bff_cache_stats(f->cache)->refreshes;
    const bff_profile_t *profile = f->view->config->sites[f->site].profile;
    uint64_t timeout = f->spec->timeout_ms ? f->spec->timeout_ms : profile->request_timeout_ms;
    f->deadline_at = h2o_now(f->worker->loop) + timeout;
    bff_timer_start(&f->worker->timers, &f->deadline, timeout, on_deadline);
    bff_exec_start(f->exec); /* may finish at once */
}

static void on_lock(void *data, int acquired)
{
    refresh_t *f = data;
    f->lock = NULL;
    if (acquired)
        run(f);
    else
        finish(f, NULL, 0); /* another instance refreshes; the stale entry serves meanwhile */
}

void bff_cache_i_refresh(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                         int per_principal)
{
    if (bff_cache_fill_find(cache, key) != NULL)
        return; /* a refresh or a miss is composing this key already */
    refresh_t *f = bff_calloc(1, sizeof(*f));
    f->view = r->view;
    bff_conf_view_retain(f->view);
    f->cache = cache;
    f->worker = r->site->worker;
    f->site = r->site->index;
    f->spec = r->route.spec;
    memcpy(f->key, key, 32);
    f->per_principal = per_principal;
    f->doc = bff_malloc(r->doc.len + 1);
    memcpy(f->doc, r->doc.base, r->doc.len);
    f->doc_len = r->doc.len;
    snprintf(f->id_line, sizeof(f->id_line), "X-Request-ID: %.*s", (int)r->request_id.len,
             r->request_id.base);
    f->fill = bff_cache_fill_begin(cache, key);
    if ((f->lock = bff_cache_lock(cache, key, on_lock, f)) == NULL)
        run(f);
}
