/* Stage: the profile's GraphQL endpoint (graph.yaml), per the GraphQL-over-HTTP specification:
 * GET (queries only) and POST with JSON, the answer as application/graphql-response+json when
 * the client accepts it (400 for a request that does not parse, validate or coerce) and as
 * application/json otherwise (200 with the errors); then the operation runs on the worker's
 * upstreams under the graph's deadline (compose/gql/run.h). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/parse.h"
#include "compose/mem.h"
#include "server/auth/principal.h"
#include "server/auth/upstream_auth.h"
#include "server/core/digest.h"
#include "server/fetch/call_cache.h"
#include "server/stage/cache.h"
#include "compose/gql/run.h"
#include "compose/gql/validate.h"
#include "compose/gql/values.h"
#include "server/core/clock.h"
#include "server/fetch/upstream.h"
#include "server/http/respond.h"
#include "server/http/trace.h"
#include "server/obs/debug_view.h"
#include "server/obs/request_metrics.h"
#include "server/obs/request_trace.h"
#include "server/core/digest.h"
#include "server/stage/graphql.h"
#include "server/stage/graphql_cache.h"
#include "server/stage/graphql_internal.h"
#include "server/stage/graphql_refresh.h"
#include "server/stage/graphql_rest.h"
#include "server/stage/graphql_request.h"
#include "server/stage/pipeline.h"

#define GQL_MAGIC 0xb1ff6a1u
#define MAX_RESPONSE ((size_t)64 << 20)

static const h2o_iovec_t type_json = {H2O_STRLIT("application/json")};
static const h2o_iovec_t type_gql = {H2O_STRLIT("application/graphql-response+json")};

typedef struct st_gql_state_t {
    uint32_t magic;
    bff_req_t *r;
    bff_conf_view_t *view; /* retained: the graph and upstreams live in it */
    bff_gql_cached_t *doc; /* a reference to the cached, validated document */
    bff_gql_run_t *run;    /* NULL once answered */
    int response_json;     /* answer as application/graphql-response+json */
    int rest;              /* a REST route running a stored operation: answer its data */
    gql_batch_t *batch;    /* an element of a batch: its answer goes there */
    size_t index;
    uint64_t deadline_at;
    bff_timer_t deadline_timer;
} gql_state_t;

/* ---- the run ---- */

static void *fetch_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                         const char **err)
{
    gql_state_t *s = host;
    bff_req_t *r = s->r;
    bff_upstream_t *up = s->view->upstreams[r->site->index][req->upstream];
    bff_authed_req_t authed = {0};
    if (r->profile->upstream_auth_any && r->principal != NULL) {
        bff_call_identity_t id = {r->principal->token.base, r->principal->token.len,
                                  r->principal->claims_json.base, r->principal->claims_json.len};
        req = bff_upstream_auth_apply(r->profile->upstream_auth + req->upstream, &id,
                                      &r->site->minted_tokens, req, &authed);
    }
    void *call = bff_cached_call_start(s->view->caches[r->site->index], up, req, s->deadline_at, cb,
                                       data, err);
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

static int host_client_gone(void *host)
{
    return bff_req_client_gone(((gql_state_t *)host)->r);
}

static const bff_fetch_ops_t fetch_ops = {fetch_start, fetch_cancel, host_now_us, host_client_gone};

static void stop(gql_state_t *s)
{
    bff_timer_cancel(&s->deadline_timer);
    bff_gql_run_destroy(s->run);
    s->run = NULL;
}

static void on_run_done(void *data, bff_gql_run_t *run)
{
    gql_state_t *s = data;
    assert(s->magic == GQL_MAGIC && s->run == run);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 4096, MAX_RESPONSE);
    bff_gql_run_write(run, &w);
    if (bff_jwrite_done(&w) != 0) {
        bff_jwrite_reset(&w);
        bff_jwrite_open(&w, '{');
        bff_jwrite_key(&w, H2O_STRLIT("data"));
        bff_jwrite_null(&w);
        bff_jwrite_key(&w, H2O_STRLIT("errors"));
        bff_jwrite_raw(&w, H2O_STRLIT("[{\"message\":\"The response is too large.\","
                                      "\"extensions\":{\"code\":\"RESPONSE_TOO_LARGE\"}}]"));
        bff_jwrite_close(&w, '}');
    }
    bff_tracing_note_graphql(s->r, run);
    bff_metrics_note_graphql(s->r, run);
    if (s->batch == NULL && bff_debug_requested(s->r))
        bff_debug_explain_graphql(s->r, run, s->rest ? SIZE_MAX : w.len);
    if (s->batch != NULL) { /* the batch answers when its last element is in */
        s->r->log_partial |= bff_gql_run_error_count(run) != 0;
        gql_batch_t *batch = s->batch;
        size_t index = s->index;
        stop(s);
        bff_gql_batch_put(batch, index, w.buf, w.len);
        bff_jwrite_dispose(&w);
        return;
    }
    s->r->log_partial = bff_gql_run_error_count(run) != 0;
    if (s->rest) {
        bff_answer_t a;
        bff_answer_init(&a);
        bff_graphql_rest_answer(w.buf, w.len, &a);
        bff_respond_answer(s->r->req, &a);
        bff_answer_dispose(&a);
    } else if (s->r->cache != NULL && s->r->log_partial && bff_cache_on_failed(s->r)) {
        /* a stale answer within stale_if_error */
    } else {
        int max_age;
        unsigned flags;
        bff_gql_run_cache_hints(run, &max_age, &flags);
        h2o_iovec_t body = h2o_iovec_init(w.buf, w.len);
        if (s->r->cache == NULL ||
            !bff_cache_on_answer(s->r, 200, s->response_json ? type_gql : type_json, body,
                                 !s->r->log_partial, max_age, flags))
            bff_gql_send_json(s->r->req, 200, s->response_json, &w);
    }
    bff_jwrite_dispose(&w);
    stop(s);
    bff_req_sent(s->r);
}

static void on_deadline(bff_timer_t *timer)
{
    gql_state_t *s = H2O_STRUCT_FROM_MEMBER(gql_state_t, deadline_timer, timer);
    assert(s->magic == GQL_MAGIC);
    bff_gql_run_expire(s->run);
}

static void on_dispose(void *p)
{
    gql_state_t *s = p;
    stop(s);
    bff_gql_cache_release(s->doc);
    bff_conf_view_release(s->view);
    s->magic = 0;
}

/* The principal's claim headers (X-User-ID: ...) sent with every call, after lines[0..n). */
static size_t add_claim_lines(const bff_req_t *r, const char **lines, size_t n)
{
    for (size_t i = 0;
         r->principal != NULL && i != r->principal->nupstream_headers && i != BFF_MAX_CLAIM_HEADERS;
         ++i)
        lines[n++] = r->principal->upstream_headers[i];
    return n;
}

static uint64_t run_timeout(const bff_req_t *r, const bff_gql_graph_t *g, int rest)
{
    if (rest && r->route.spec->timeout_ms != 0)
        return r->route.spec->timeout_ms;
    return g->timeout_ms ? g->timeout_ms : r->profile->request_timeout_ms;
}

/* Runs `op` of `doc` with the coerced variables; `entry` (may be NULL) is a cache reference
 * the run keeps until the request ends. */
static bff_stage_result_t run_now(const gql_out_t *o, const bff_gql_graph_t *g,
                                  bff_gql_cached_t *entry, const bff_gql_document_t *doc,
                                  const bff_gql_operation_t *op, const char *vars, size_t vars_len,
                                  int rest)
{
    bff_req_t *r = o->r;
    int rj = o->response_json;
    h2o_req_t *req = r->req;
    gql_state_t *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_dispose);
    memset(s, 0, sizeof(*s));
    s->magic = GQL_MAGIC;
    s->r = r;
    s->view = r->view;
    bff_conf_view_retain(s->view);
    s->doc = entry;
    s->response_json = rj;
    s->rest = rest;
    s->batch = o->batch;
    s->index = o->index;
    char id_line[160], trace_line[80];
    const char *traceparent = bff_req_traceparent(r);
    snprintf(id_line, sizeof(id_line), "X-Request-ID: %.*s", (int)r->request_id.len,
             r->request_id.base);
    snprintf(trace_line, sizeof(trace_line), "traceparent: %s", traceparent);
    const char *lines[3 + BFF_MAX_CLAIM_HEADERS] = {id_line, trace_line};
    size_t nlines = 2;
    char state_line[560];
    if (bff_trace_tracestate_line(req, state_line, sizeof(state_line)))
        lines[nlines++] = state_line;
    nlines = add_claim_lines(r, lines, nlines);
    bff_jwrite_t hdrs;
    bff_jwrite_init(&hdrs, 128, 64 * 1024);
    bff_gql_headers_json(g, &r->req->headers, &hdrs);
    bff_gql_run_conf_t conf = {.graph = g,
                               .doc = doc,
                               .op = op,
                               .variables = vars,
                               .variables_len = vars_len,
                               .headers = hdrs.buf,
                               .headers_len = hdrs.len,
                               .auth = r->principal != NULL ? r->principal->claims_json.base : NULL,
                               .auth_len = r->principal != NULL ? r->principal->claims_json.len : 0,
                               .scopes = r->principal != NULL ? r->principal->scopes.base : NULL,
                               .scopes_len = r->principal != NULL ? r->principal->scopes.len : 0,
                               .call_headers = lines,
                               .ncall_headers = nlines,
                               .safe_errors = r->profile->errors == BFF_ERRORS_SAFE,
                               .ops = &fetch_ops,
                               .host = s,
                               .on_done = on_run_done,
                               .data = s};
    s->run = bff_gql_run_create(&conf);
    bff_jwrite_dispose(&hdrs);
    if (s->run == NULL) {
        bff_gql_answer_message(o, 400, 1, "BAD_REQUEST", "The variables could not be read.");
        return BFF_STAGE_RESPONDED;
    }
    bff_worker_t *w = r->site->worker;
    uint64_t timeout = run_timeout(r, g, rest), now = h2o_now(w->loop);
    if (o->batch != NULL) { /* a batch, however long, has one deadline: the graph's timeout */
        uint64_t batch_deadline = bff_gql_batch_deadline(o->batch);
        timeout = batch_deadline > now ? batch_deadline - now : 0;
        if (timeout > run_timeout(r, g, rest))
            timeout = run_timeout(r, g, rest);
    }
    s->deadline_at = now + timeout;
    bff_timer_start(&w->timers, &s->deadline_timer, timeout, on_deadline);
    bff_gql_run_start(s->run); /* may answer at once (nothing to fetch) */
    return BFF_STAGE_PENDING;
}

/* ---- the response cache: query operations, when graph.yaml turns it on ---- */

/* A query waiting for the cache's verdict (a Redis read, or an identical query in progress). */
typedef struct st_gql_pending_t {
    const bff_gql_graph_t *g;
    bff_gql_cached_t *entry; /* a reference, handed to the run */
    const bff_gql_document_t *doc;
    const bff_gql_operation_t *op;
    h2o_iovec_t vars;
    int rj;
} gql_pending_t;

static void on_pending_dispose(void *p)
{
    gql_pending_t *gp = p;
    bff_gql_cache_release(gp->entry);
}

static bff_stage_result_t run_pending(bff_req_t *r)
{
    gql_pending_t *gp = r->graphql;
    bff_gql_cached_t *entry = gp->entry;
    gp->entry = NULL;
    gql_out_t out = {.r = r, .response_json = gp->rj};
    return run_now(&out, gp->g, entry, gp->doc, gp->op, gp->vars.base, gp->vars.len, 0);
}

static void resume_pending(bff_req_t *r)
{
    if (run_pending(r) == BFF_STAGE_RESPONDED)
        bff_req_sent(r);
}

/* Stale-while-revalidate: the pending query runs again in the background. */
static void refresh_pending(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                            int per_principal)
{
    gql_pending_t *gp = r->graphql;
    char id_line[160];
    snprintf(id_line, sizeof(id_line), "X-Request-ID: %.*s", (int)r->request_id.len,
             r->request_id.base);
    const char *lines[1 + BFF_MAX_CLAIM_HEADERS] = {id_line};
    size_t nlines = add_claim_lines(r, lines, 1);
    bff_jwrite_t hdrs;
    bff_jwrite_init(&hdrs, 128, 64 * 1024);
    bff_gql_headers_json(gp->g, &r->req->headers, &hdrs);
    bff_gql_run_conf_t conf = {.graph = gp->g,
                               .doc = gp->doc,
                               .op = gp->op,
                               .variables = gp->vars.base,
                               .variables_len = gp->vars.len,
                               .headers = hdrs.buf,
                               .headers_len = hdrs.len,
                               .auth = r->principal != NULL ? r->principal->claims_json.base : NULL,
                               .auth_len = r->principal != NULL ? r->principal->claims_json.len : 0,
                               .scopes = r->principal != NULL ? r->principal->scopes.base : NULL,
                               .scopes_len = r->principal != NULL ? r->principal->scopes.len : 0,
                               .call_headers = lines,
                               .ncall_headers = nlines,
                               .safe_errors = r->profile->errors == BFF_ERRORS_SAFE};
    bff_gql_cache_retain(gp->entry);
    bff_gql_refresh(r, cache, key, per_principal, run_timeout(r, gp->g, 0), &conf, gp->entry,
                    gp->rj ? type_gql : type_json);
    bff_jwrite_dispose(&hdrs);
}

/* The key: the graph's digest, the document, the operation, its coerced variables, the media
 * type asked for, and the request headers the graph reads (credentials only when not shared). */
static int query_key(bff_req_t *r, const bff_gql_graph_t *g, const bff_gql_cached_t *entry,
                     const bff_gql_operation_t *op, const char *vars, size_t vars_len, int rj,
                     unsigned char key[32])
{
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, "graphql-v1", 11);
    bff_sha256_add(&h, g->digest, sizeof(g->digest));
    bff_sha256_add(&h, entry->hash, 65);
    const char *name = op->name != NULL ? op->name : "";
    bff_sha256_add(&h, name, strlen(name) + 1);
    bff_sha256_add(&h, vars, vars_len);
    bff_sha256_add(&h, rj ? "\1" : "\0", 1);
    int per_principal = 0;
    /* Resolvers read the principal's claims, or upstreams hear who the client is (claim
     * headers, a relayed or translated token): one entry per principal. */
    if (g->reads_auth || g->has_guards ||
        (r->principal != NULL && !g->cache.shared &&
         (r->profile->auth.nclaim_headers != 0 || r->profile->upstream_auth_any))) {
        per_principal = 1;
        if (r->principal != NULL)
            bff_sha256_add(&h, r->principal->claims_json.base, r->principal->claims_json.len);
    }
    for (size_t i = 0; i != g->nrequest_headers; ++i) {
        const char *hname = g->request_headers[i];
        if (bff_cache_is_credential(hname, strlen(hname))) {
            if (g->cache.shared)
                continue;
            per_principal = 1;
        }
        ssize_t at = h2o_find_header_by_str(&r->req->headers, hname, strlen(hname), -1);
        bff_sha256_add(&h, hname, strlen(hname) + 1);
        if (at >= 0)
            bff_sha256_add(&h, r->req->headers.entries[at].value.base,
                           r->req->headers.entries[at].value.len);
        bff_sha256_add(&h, "", 1);
    }
    bff_sha256_end(&h, key);
    return per_principal;
}

/* A query of a graph with `cache:` is looked up first; anything else runs now. */
static bff_stage_result_t start_run(bff_req_t *r, const bff_gql_graph_t *g, bff_gql_cached_t *entry,
                                    const bff_gql_document_t *doc, const bff_gql_operation_t *op,
                                    const char *vars, size_t vars_len, int rj, int rest)
{
    bff_cache_t *cache = r->view->caches[r->site->index];
    if (rest || entry == NULL || cache == NULL || !g->cache.enabled || op->kind != BFF_GQL_QUERY) {
        gql_out_t out = {.r = r, .response_json = rj};
        return run_now(&out, g, entry, doc, op, vars, vars_len, rest);
    }
    unsigned char key[32];
    int per_principal = query_key(r, g, entry, op, vars, vars_len, rj, key);
    gql_pending_t *gp = h2o_mem_alloc_shared(&r->req->pool, sizeof(*gp), on_pending_dispose);
    *gp = (gql_pending_t){.g = g,
                          .entry = entry,
                          .doc = doc,
                          .op = op,
                          .vars = h2o_strdup(&r->req->pool, vars, vars_len),
                          .rj = rj};
    r->graphql = gp;
    bff_stage_result_t res =
        bff_cache_lookup(r, cache, &g->cache, key, per_principal, resume_pending,
                         g->cache.has_swr ? refresh_pending : NULL);
    return res == BFF_STAGE_NEXT ? run_pending(r) : res;
}

bff_stage_result_t bff_gql_run_prepared(const gql_out_t *out, const bff_gql_graph_t *g,
                                        bff_gql_cached_t *entry, const bff_gql_operation_t *op,
                                        const char *vars, size_t vars_len)
{
    return run_now(out, g, entry, entry->doc, op, vars, vars_len, 0);
}

bff_stage_result_t bff_graphql_rest(bff_req_t *r, const char *request_doc, size_t len)
{
    const bff_spec_t *spec = r->route.spec;
    const bff_gql_graph_t *g = r->profile->graph;
    bff_jwrite_t vars;
    bff_jwrite_init(&vars, 256, 1u << 20);
    bff_answer_t a;
    bff_answer_init(&a);
    if (bff_graphql_rest_variables(g, spec, request_doc, len, &vars, &a) != 0) {
        bff_respond_answer(r->req, &a);
        bff_answer_dispose(&a);
        bff_jwrite_dispose(&vars);
        return BFF_STAGE_RESPONDED;
    }
    bff_answer_dispose(&a);
    bff_stage_result_t res =
        start_run(r, g, NULL, spec->graphql_doc, spec->graphql_op, vars.buf, vars.len, 0, 1);
    bff_jwrite_dispose(&vars);
    return res;
}

bff_stage_result_t bff_stage_graphql(bff_req_t *r)
{
    const bff_gql_graph_t *g = r->profile->graph;
    h2o_req_t *req = r->req;
    if (g == NULL || !h2o_memis(r->route_path.base, r->route_path.len, g->path, strlen(g->path)))
        return BFF_STAGE_NEXT;
    int rj = bff_gql_wants_response_json(req);
    int is_get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
    if (!is_get && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       H2O_STRLIT("GET, POST"));
        gql_out_t out = {.r = r, .response_json = rj};
        bff_gql_answer_message(&out, 405, 1, "METHOD_NOT_ALLOWED",
                               "GraphQL is served over GET and POST.");
        return BFF_STAGE_RESPONDED;
    }
    if (!is_get && req->entity.len > r->profile->max_body_bytes) {
        gql_out_t out = {.r = r, .response_json = rj};
        bff_gql_answer_message(&out, 413, 1, "BAD_REQUEST",
                               "The request body is larger than %llu bytes.",
                               (unsigned long long)r->profile->max_body_bytes);
        return BFF_STAGE_RESPONDED;
    }
    bff_gql_params_t params;
    size_t batch;
    char msg[256];
    gql_out_t out = {.r = r, .response_json = rj};
    int status = bff_gql_read_params(req, -1, &batch, &params, msg, sizeof(msg));
    if (status == 0 && batch != 0 && g->batch_max == 0) {
        status = 400;
        snprintf(msg, sizeof(msg),
                 "Batched operations are not enabled on this endpoint: send one "
                 "operation per request.");
    } else if (status == 0 && batch > g->batch_max) {
        status = 400;
        snprintf(msg, sizeof(msg), "A batch holds at most %u operations on this endpoint.",
                 g->batch_max);
    }
    if (status != 0) {
        bff_gql_answer_message(&out, status, 1, "BAD_REQUEST", "%s", msg);
        return BFF_STAGE_RESPONDED;
    }
    if (batch != 0)
        return bff_gql_batch_start(r, g, batch, rj, is_get);
    gql_prepared_t p;
    if (bff_gql_prepare(&out, g, &params, is_get, &p) != 0)
        return BFF_STAGE_RESPONDED;
    bff_stage_result_t res =
        start_run(r, g, p.entry, p.entry->doc, p.op, p.vars.buf, p.vars.len, rj, 0);
    bff_jwrite_dispose(&p.vars);
    return res;
}
