/* Stage: composes the routed endpoint (and answers early at its respond_by deadline). From the
 * request doc (params.c), runs the endpoint's plan on the executor with the worker's upstreams as
 * its fetcher, bounds it by the endpoint's deadline, watches HTTP/1 clients that hang up, and
 * answers with the shaped response (compose_respond.c). */
#include "server/stage/compose.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "compose/exec.h"
#include "server/core/clock.h"
#include "server/fetch/call_cache.h"
#include "server/http/respond.h"
#include "server/http/trace.h"
#include "server/obs/request_trace.h"
#include "compose/mem.h"
#include "server/auth/principal.h"
#include "server/auth/upstream_auth.h"
#include "server/stage/cache.h"
#include "server/stage/cache_internal.h"
#include "server/stage/cache_validators.h"
#include "server/stage/graphql.h"
#include "server/stage/pipeline.h"

#define COMPOSE_MAGIC 0xb1ffc0deu
#define CLIENT_WATCH_MS 250 /* HTTP/1: how often to look for a client that hung up */

/* The stage's state for one request. Malloc'ed, not in the request's pool: after an answer at
 * `respond_by` the run goes on without the request, to fill the caches. The pool holds a
 * compose_ref_t whose dispose hook ends the run, or lets a late run finish on its own. */
typedef struct st_compose_t {
    uint32_t magic;
    bff_req_t *r;          /* NULL once the request is gone (a late run) */
    bff_conf_view_t *view; /* retained: the plan and the upstreams live in it */
    size_t site;
    bff_worker_t *worker;
    const bff_spec_t *spec;
    bff_exec_t *exec; /* NULL once answered (or, late, once complete) */
    uint64_t started_us;
    uint64_t deadline_at; /* loop time (ms) */
    bff_timer_t deadline_timer, client_watch, respond_by_timer;
    int late;              /* answered at respond_by; the run goes on */
    int respond_by_passed; /* with a required source still out then */
    /* The endpoint's cache entry a late run fills when it completes whole. */
    bff_cache_t *cache;
    uint64_t purges; /* bff_cache_purges when the request began */
    unsigned char key[32];
    int per_principal;
    /* The endpoint revalidates its entry: the calls and their validators (cache_validators.h). */
    int logging;
    bff_call_log_t log;
    bff_call_identity_t id; /* copies: a late run outlives the request's principal */
} compose_t;

typedef struct st_compose_ref_t {
    compose_t *c;
} compose_ref_t;

/* With respond_by, each call's result also re-arms the respond_by check once its moment has
 * passed: the answer goes out as soon as the last required source is in. */
typedef struct st_watched_call_t {
    compose_t *c;
    void *call;
    bff_fetch_cb cb;
    void *data;
} watched_call_t;

static void on_respond_by(bff_timer_t *timer);

/* PREFIX and VALUE as one header line for curl, VALUE cut to what fits in size. */
static void put_header_line(char *line, size_t size, const char *prefix, const char *value,
                            size_t len)
{
    size_t plen = strlen(prefix);
    if (len > size - 1 - plen)
        len = size - 1 - plen;
    memcpy(line, prefix, plen);
    memcpy(line + plen, value, len);
    line[plen + len] = '\0';
}

static void on_watched_result(void *p, bff_fetch_result_t *res)
{
    watched_call_t w = *(watched_call_t *)p;
    free(p);
    /* Armed before the executor runs (it may end the run and free c, which cancels it). */
    if (w.c->respond_by_passed && !w.c->late)
        bff_timer_start(&w.c->worker->timers, &w.c->respond_by_timer, 0, on_respond_by);
    w.cb(w.data, res);
}

/* A call through the source cache, logged when the endpoint revalidates. */
static void *call_start(compose_t *c, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                        const char **err)
{
    const bff_profile_t *profile = c->view->config->sites[c->site].profile;
    bff_upstream_t *up = c->view->upstreams[c->site][req->upstream];
    bff_cache_t *cache = c->view->caches[c->site];
    bff_authed_req_t authed = {0};
    if (profile->upstream_auth_any)
        req = bff_upstream_auth_apply(profile->upstream_auth + req->upstream, &c->id,
                                      &c->worker->sites[c->site].minted_tokens, req, &authed);
    void *call = c->logging ? bff_call_log_start(&c->log, profile->upstreams[req->upstream].name,
                                                 cache, up, req, c->deadline_at, cb, data, err)
                            : bff_cached_call_start(cache, up, req, c->deadline_at, cb, data, err);
    bff_authed_req_dispose(&authed);
    return call;
}

static void call_cancel(compose_t *c, void *call)
{
    if (c->logging)
        bff_call_log_cancel(call);
    else
        bff_cached_call_cancel(call);
}

static void *fetch_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                         const char **err)
{
    compose_t *c = host;
    if (c->spec->respond_by_ms == 0)
        return call_start(c, req, cb, data, err);
    watched_call_t *w = bff_malloc(sizeof(*w));
    *w = (watched_call_t){.c = c, .cb = cb, .data = data};
    if ((w->call = call_start(c, req, on_watched_result, w, err)) == NULL) {
        free(w);
        return NULL;
    }
    return w;
}

static void fetch_cancel(void *host, void *call)
{
    compose_t *c = host;
    if (c->spec->respond_by_ms == 0) {
        call_cancel(c, call);
        return;
    }
    watched_call_t *w = call;
    call_cancel(c, w->call);
    free(w);
}

static uint64_t host_now_us(void *host)
{
    return bff_now_us();
}

static int host_client_gone(void *host)
{
    compose_t *c = host;
    /* A late run has answered already: it runs on for the caches whoever is listening. */
    return c->r != NULL && !c->late && bff_req_client_gone(c->r);
}

static const bff_fetch_ops_t fetch_ops = {fetch_start, fetch_cancel, host_now_us, host_client_gone};

/* Ends the run; the answer is the caller's. */
static void stop(compose_t *c)
{
    bff_timer_cancel(&c->deadline_timer);
    bff_timer_cancel(&c->client_watch);
    bff_timer_cancel(&c->respond_by_timer);
    bff_exec_destroy(c->exec);
    c->exec = NULL;
}

static void free_compose(compose_t *c)
{
    stop(c);
    if (c->logging)
        bff_call_log_dispose(&c->log);
    bff_call_identity_free(&c->id);
    bff_conf_view_release(c->view);
    c->magic = 0;
    free(c);
}

static void abandon(compose_t *c)
{
    h2o_req_t *req = c->r->req;
    stop(c);
    req->http1_is_persistent = 0;
    /* Nobody reads it; sending it lets h2o close the connection and free the request. */
    bff_respond_error(req, 499, bff_code_client_closed_request, "the client closed the connection",
                      NULL);
    bff_req_sent(c->r);
}

/* A late run is over: a whole answer fills the endpoint's cache entry, so the next request is
 * whole (its late sources' own cache entries, if any, were filled as their calls landed). */
static void finish_late(compose_t *c, bff_exec_t *exec)
{
    size_t len;
    if (c->cache != NULL)
        free(bff_cache_i_store_run(c->cache, c->purges, c->key, c->per_principal,
                                   c->view->config->sites[c->site].profile, c->spec, exec, &len));
    stop(c);
    if (c->r == NULL) /* the request is gone: nobody else frees it */
        free_compose(c);
}

static void on_exec_done(void *data, bff_exec_t *exec)
{
    compose_t *c = data;
    assert(c->magic == COMPOSE_MAGIC && c->exec == exec);
    if (c->late) {
        finish_late(c, exec);
        return;
    }
    if (bff_exec_state(exec) == BFF_EXEC_ABANDONED) {
        abandon(c);
        return;
    }
    if (c->logging)
        bff_cache_note_validators(c->r, bff_call_log_result(&c->log));
    bff_compose_respond(c->r, &c->spec->plan, exec, c->started_us);
    stop(c);
    bff_req_sent(c->r);
}

static void on_deadline(bff_timer_t *timer)
{
    compose_t *c = H2O_STRUCT_FROM_MEMBER(compose_t, deadline_timer, timer);
    assert(c->magic == COMPOSE_MAGIC);
    bff_exec_expire(c->exec, "the endpoint's deadline passed first");
}

/* respond_by: when only optional sources are still out, answer now with what is in (the late
 * ones listed as pending) and let the run go on to its deadline. */
static void on_respond_by(bff_timer_t *timer)
{
    compose_t *c = H2O_STRUCT_FROM_MEMBER(compose_t, respond_by_timer, timer);
    assert(c->magic == COMPOSE_MAGIC);
    if (c->exec == NULL || bff_exec_state(c->exec) != BFF_EXEC_RUNNING)
        return;
    if (bff_exec_required_pending(c->exec)) { /* the answer waits for the required sources */
        c->respond_by_passed = 1;
        return;
    }
    c->cache = bff_cache_req_target(c->r, c->key, &c->per_principal);
    if (c->cache != NULL)
        c->purges = bff_cache_purges(c->cache);
    c->late = 1;
    bff_timer_cancel(&c->client_watch);
    bff_compose_respond(c->r, &c->spec->plan, c->exec, c->started_us);
    bff_req_sent(c->r);
}

static void on_client_watch(bff_timer_t *timer)
{
    compose_t *c = H2O_STRUCT_FROM_MEMBER(compose_t, client_watch, timer);
    assert(c->magic == COMPOSE_MAGIC);
    if (bff_req_client_gone(c->r)) {
        abandon(c);
        return;
    }
    bff_timer_start(&c->worker->timers, &c->client_watch, CLIENT_WATCH_MS, on_client_watch);
}

static void on_dispose(void *p)
{
    compose_t *c = ((compose_ref_t *)p)->c;
    if (c->late && c->exec != NULL) { /* answered at respond_by: the run goes on alone */
        c->r = NULL;
        return;
    }
    free_compose(c); /* the client went away, or the response is done */
}

/* 400 naming what the request lacks: a body field, a parameter or a header. */
static void respond_missing_input(h2o_req_t *req, const char *ref, bff_input_problem_t problem)
{
    bff_answer_t a;
    bff_answer_init(&a);
    bff_compose_answer_missing_input(ref, problem, &a);
    bff_respond_answer(req, &a);
    bff_answer_dispose(&a);
}

/* A client's Idempotency-Key is forwarded, and makes retrying a write safe (drafted in the IETF
 * httpapi group; Stripe's convention). Returns the header line in `line`, or 0. */
static int idempotency_line(h2o_req_t *req, char *line, size_t size)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len == 0 || v.len > 255)
        return 0;
    for (size_t k = 0; k != v.len; ++k)
        if (v.base[k] < 0x20 || v.base[k] == 0x7f)
            return 0;
    put_header_line(line, size, "Idempotency-Key: ", v.base, v.len);
    return 1;
}

bff_stage_result_t bff_stage_compose(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    const bff_spec_t *spec = r->route.spec;
    if (spec->graphql_op != NULL) /* a stored GraphQL operation: the parameters are its variables */
        return bff_graphql_rest(r, r->doc.base, r->doc.len);
    compose_t *c = bff_calloc(1, sizeof(*c));
    c->magic = COMPOSE_MAGIC;
    c->r = r;
    c->view = r->view;
    bff_conf_view_retain(c->view);
    c->site = r->site->index;
    c->worker = r->site->worker;
    c->spec = spec;
    if (r->profile->upstream_auth_any && r->principal != NULL) {
        bff_call_identity_t id = {r->principal->token.base, r->principal->token.len,
                                  r->principal->claims_json.base, r->principal->claims_json.len};
        bff_call_identity_copy(&id, &c->id);
    }
    if (spec->cache.reval_ms != 0 && r->cache != NULL) {
        c->logging = 1;
        bff_call_log_init(&c->log);
    }
    compose_ref_t *ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), on_dispose);
    ref->c = c;
    c->started_us = bff_now_us();
    /* Sent with every upstream call: the request id and the trace context. */
    char id_line[160], trace_line[80], key_line[300];
    const char *traceparent = bff_req_traceparent(r);
    put_header_line(id_line, sizeof(id_line), "X-Request-ID: ", r->request_id.base,
                    r->request_id.len);
    put_header_line(trace_line, sizeof(trace_line), "traceparent: ", traceparent,
                    strlen(traceparent));
    const char *lines[4 + BFF_MAX_CLAIM_HEADERS];
    char state_line[560];
    size_t nlines = 0;
    lines[nlines++] = id_line;
    lines[nlines++] = trace_line;
    if (bff_trace_tracestate_line(req, state_line, sizeof(state_line)))
        lines[nlines++] = state_line;
    int keyed = idempotency_line(req, key_line, sizeof(key_line));
    if (keyed)
        lines[nlines++] = key_line;
    for (size_t i = 0;
         r->principal != NULL && i != r->principal->nupstream_headers && i != BFF_MAX_CLAIM_HEADERS;
         ++i)
        lines[nlines++] = r->principal->upstream_headers[i]; /* X-User-ID: ... */
    bff_exec_conf_t conf = {.plan = &spec->plan,
                            .request_doc = r->doc.base,
                            .request_doc_len = r->doc.len,
                            .headers = lines,
                            .nheaders = nlines,
                            .idempotency_key = keyed,
                            .ops = &fetch_ops,
                            .host = c,
                            .on_done = on_exec_done,
                            .data = c};
    c->exec = bff_exec_create(&conf);
    if (c->exec == NULL) { /* params.c writes valid JSON; should a byte slip by, say so */
        bff_respond_error(req, 400, bff_code_bad_parameter, "request values could not be encoded",
                          NULL);
        return BFF_STAGE_RESPONDED;
    }
    bff_input_problem_t problem;
    const char *missing = bff_exec_missing_input(c->exec, &problem);
    if (missing != NULL) { /* before any call: a write is never half-sent */
        stop(c);
        respond_missing_input(req, missing, problem);
        return BFF_STAGE_RESPONDED;
    }

    bff_worker_t *w = r->site->worker;
    uint64_t timeout = spec->timeout_ms ? spec->timeout_ms : r->profile->request_timeout_ms;
    c->deadline_at = h2o_now(w->loop) + timeout;
    bff_timer_start(&w->timers, &c->deadline_timer, timeout, on_deadline);
    if (spec->respond_by_ms != 0 && spec->respond_by_ms < timeout)
        bff_timer_start(&w->timers, &c->respond_by_timer, spec->respond_by_ms, on_respond_by);
    if (req->version < 0x200)
        bff_timer_start(&w->timers, &c->client_watch, CLIENT_WATCH_MS, on_client_watch);
    bff_exec_start(c->exec); /* may answer at once (every source failed fast) */
    return BFF_STAGE_PENDING;
}
