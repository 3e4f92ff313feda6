/* Stale-while-revalidate: the request that found a stale entry is answered from it at once,
 * and a job runs the same work again in the background, off any client request, holding the
 * configuration view it started with, bounded by the endpoint's deadline: a REST endpoint's
 * plan on the executor (here), or a GraphQL query (graphql_refresh.c). The new entry goes to
 * both levels; identical misses meanwhile wait on it. With Redis, a short lock lets one
 * instance refresh a key while the others keep serving the stale entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/cache/entry.h"
#include "server/auth/principal.h"
#include "server/core/clock.h"
#include "server/fetch/call_cache.h"
#include "server/stage/cache_internal.h"
#include "server/stage/compose.h"

static void *fetch_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                         const char **err)
{
    bff_cache_refresh_t *f = host;
    const bff_profile_t *profile = f->view->config->sites[f->site].profile;
    bff_authed_req_t authed = {0};
    if (profile->upstream_auth_any)
        req = bff_upstream_auth_apply(profile->upstream_auth + req->upstream, &f->id,
                                      &f->worker->sites[f->site].minted_tokens, req, &authed);
    void *call = bff_cached_call_start(f->cache, f->view->upstreams[f->site][req->upstream], req,
                                       f->deadline_at, cb, data, err);
    bff_authed_req_dispose(&authed);
    return call;
}

static void fetch_cancel(void *host, void *call)
{
    bff_cached_call_cancel(call);
}

static uint64_t host_now_us(void *host)
{
    return bff_now_us();
}

const bff_fetch_ops_t bff_cache_refresh_fetch_ops = {fetch_start, fetch_cancel, host_now_us, NULL};

void bff_cache_i_refresh_done(bff_cache_refresh_t *f, const char *blob, size_t len)
{
    bff_timer_cancel(&f->deadline);
    if (f->fill != NULL)
        bff_cache_fill_end(f->cache, f->fill, blob, len); /* the waiters copy it */
    f->ops->dispose(f->job);
    for (size_t i = 0; i != f->nclaim_lines; ++i)
        free(f->claim_lines[i]);
    free(f->claim_lines);
    bff_call_identity_free(&f->id);
    bff_conf_view_release(f->view);
    free(f);
}

static void on_deadline(bff_timer_t *t)
{
    bff_cache_refresh_t *f = H2O_STRUCT_FROM_MEMBER(bff_cache_refresh_t, deadline, t);
    f->ops->expire(f->job);
}

static void run(bff_cache_refresh_t *f)
{
    f->deadline_at = h2o_now(f->worker->loop) + f->timeout_ms;
    bff_timer_start(&f->worker->timers, &f->deadline, f->timeout_ms, on_deadline);
    ++bff_cache_stats(f->cache)->refreshes;
    if (f->ops->start(f, f->job) != 0) /* else it reports through bff_cache_i_refresh_done */
        bff_cache_i_refresh_done(f, NULL, 0);
}

static void on_lock(void *data, int acquired)
{
    bff_cache_refresh_t *f = data;
    f->lock = NULL;
    if (acquired)
        run(f);
    else
        bff_cache_i_refresh_done(f, NULL, 0); /* another instance refreshes; stale serves */
}

void bff_cache_i_refresh_job(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                             int per_principal, uint64_t timeout_ms,
                             const bff_cache_refresh_ops_t *ops, void *job)
{
    if (bff_cache_fill_find(cache, key) != NULL) { /* a refresh or a miss composes it already */
        ops->dispose(job);
        return;
    }
    bff_cache_refresh_t *f = bff_calloc(1, sizeof(*f));
    f->view = r->view;
    bff_conf_view_retain(f->view);
    f->cache = cache;
    f->purges = bff_cache_purges(cache);
    f->worker = r->site->worker;
    f->site = r->site->index;
    memcpy(f->key, key, 32);
    f->per_principal = per_principal;
    f->timeout_ms = timeout_ms;
    f->ops = ops;
    f->job = job;
    const bff_principal_t *p = r->principal;
    if (p != NULL) { /* the refresh calls the upstreams as the request would have */
        f->claim_lines = bff_calloc(p->nupstream_headers + 1, sizeof(char *));
        for (size_t i = 0; i != p->nupstream_headers && i != BFF_MAX_CLAIM_HEADERS; ++i)
            f->claim_lines[f->nclaim_lines++] = bff_strdup(p->upstream_headers[i]);
        bff_call_identity_t id = {p->token.base, p->token.len, p->claims_json.base,
                                  p->claims_json.len};
        bff_call_identity_copy(&id, &f->id);
    }
    f->fill = bff_cache_fill_begin(cache, key);
    if ((f->lock = bff_cache_lock(cache, key, on_lock, f)) == NULL)
        run(f);
}

/* ---- a REST endpoint's job ---- */

typedef struct st_rest_job_t {
    bff_cache_refresh_t *f;
    const bff_spec_t *spec;
    char *doc;
    size_t doc_len;
    char id_line[160];
    bff_exec_t *exec;
} rest_job_t;

char *bff_cache_i_store_run(bff_cache_t *cache, uint64_t since, const unsigned char key[32],
                            int per_principal, const bff_profile_t *profile, const bff_spec_t *spec,
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
        blob = bff_cache_i_build(
            &spec->cache, per_principal, status, h2o_iovec_init(H2O_STRLIT("application/json")),
            h2o_iovec_init(w.buf, w.len), h2o_iovec_init(tags, ntags), !bff_exec_partial(exec),
            max_age, flags, h2o_iovec_init(NULL, 0), len);
    }
    bff_jwrite_dispose(&w);
    if (blob != NULL) {
        bff_cache_entry_t e;
        bff_cache_entry_decode(blob, *len, &e);
        bff_cache_put(cache, key, blob, *len, &e, since);
    }
    return blob;
}

static void rest_on_done(void *data, bff_exec_t *exec)
{
    rest_job_t *j = data;
    bff_cache_refresh_t *f = j->f;
    size_t len = 0;
    char *blob =
        bff_cache_i_store_run(f->cache, f->purges, f->key, f->per_principal,
                              f->view->config->sites[f->site].profile, j->spec, exec, &len);
    bff_cache_i_refresh_done(f, blob, len);
    free(blob);
}

static int rest_start(bff_cache_refresh_t *f, void *job)
{
    rest_job_t *j = job;
    j->f = f;
    const char *lines[1 + BFF_MAX_CLAIM_HEADERS] = {j->id_line};
    size_t nlines = 1;
    for (size_t i = 0; i != f->nclaim_lines; ++i)
        lines[nlines++] = f->claim_lines[i]; /* X-User-ID: ... */
    bff_exec_conf_t conf = {.plan = &j->spec->plan,
                            .request_doc = j->doc,
                            .request_doc_len = j->doc_len,
                            .headers = lines,
                            .nheaders = nlines,
                            .ops = &bff_cache_refresh_fetch_ops,
                            .host = f,
                            .on_done = rest_on_done,
                            .data = j};
    if ((j->exec = bff_exec_create(&conf)) == NULL || bff_exec_missing_input(j->exec, NULL) != NULL)
        return -1;
    bff_exec_start(j->exec); /* may finish at once */
    return 0;
}

static void rest_expire(void *job)
{
    rest_job_t *j = job;
    bff_exec_expire(j->exec, "the endpoint's deadline passed first");
}

static void rest_dispose(void *job)
{
    rest_job_t *j = job;
    bff_exec_destroy(j->exec);
    free(j->doc);
    free(j);
}

static const bff_cache_refresh_ops_t rest_ops = {rest_start, rest_expire, rest_dispose};

void bff_cache_i_refresh(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                         int per_principal)
{
    rest_job_t *j = bff_calloc(1, sizeof(*j));
    j->spec = r->route.spec;
    j->doc = bff_malloc(r->doc.len + 1);
    memcpy(j->doc, r->doc.base, r->doc.len);
    j->doc_len = r->doc.len;
    snprintf(j->id_line, sizeof(j->id_line), "X-Request-ID: %.*s", (int)r->request_id.len,
             r->request_id.base);
    uint64_t timeout = j->spec->timeout_ms ? j->spec->timeout_ms : r->profile->request_timeout_ms;
    bff_cache_i_refresh_job(r, cache, key, per_principal, timeout, &rest_ops, j);
}
