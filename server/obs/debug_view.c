/* The operators' debug view (debug_view.h). */
#include "server/obs/debug_view.h"

#include <openssl/crypto.h>
#include <string.h>

#include "compose/json_write.h"
#include "compose/plan.h"
#include "server/core/clock.h"
#include "server/core/server.h"

#define MAX_HEADER 8192 /* a view that would not fit says so instead */

int bff_debug_requested(bff_req_t *r)
{
    const char *token = r->site->worker->server->admin_token;
    if (token == NULL)
        return 0;
    ssize_t i = h2o_find_header_by_str(&r->req->headers, H2O_STRLIT("x-bffd-debug"), -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = r->req->headers.entries[i].value;
    size_t len = strlen(token);
    return v.len == len && CRYPTO_memcmp(v.base, token, len) == 0;
}

static const char *state_name(bff_source_state_t s)
{
    return s == BFF_SRC_DONE      ? "done"
           : s == BFF_SRC_FAILED  ? "failed"
           : s == BFF_SRC_RUNNING ? "running"
                                  : "not run";
}

/* One source's line of the view. */
typedef struct st_debug_source_t {
    const char *name, *upstream, *state, *reason;
    long status;
    int ran;
    uint64_t us;
    unsigned parents; /* GraphQL: parents one call served; 0 = leave out */
    bff_exec_call_stats_t st;
} debug_source_t;

static void write_source(bff_jwrite_t *w, const debug_source_t *d)
{
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("name"));
    bff_jwrite_str(w, d->name, strlen(d->name));
    bff_jwrite_key(w, H2O_STRLIT("upstream"));
    bff_jwrite_str(w, d->upstream, strlen(d->upstream));
    bff_jwrite_key(w, H2O_STRLIT("state"));
    bff_jwrite_str(w, d->state, strlen(d->state));
    if (d->status != 0) {
        bff_jwrite_key(w, H2O_STRLIT("status"));
        bff_jwrite_int(w, d->status);
    }
    if (d->reason != NULL) {
        bff_jwrite_key(w, H2O_STRLIT("reason"));
        bff_jwrite_str(w, d->reason, strlen(d->reason));
    }
    if (d->ran) {
        bff_jwrite_key(w, H2O_STRLIT("ms"));
        bff_jwrite_double(w, (double)(d->us / 10) / 100.0);
    }
    if (d->parents != 0) {
        bff_jwrite_key(w, H2O_STRLIT("parents"));
        bff_jwrite_int(w, d->parents);
    }
    bff_jwrite_key(w, H2O_STRLIT("calls"));
    bff_jwrite_int(w, d->st.calls);
    bff_jwrite_key(w, H2O_STRLIT("attempts"));
    bff_jwrite_int(w, d->st.attempts);
    bff_jwrite_key(w, H2O_STRLIT("cached"));
    bff_jwrite_int(w, d->st.cached);
    bff_jwrite_key(w, H2O_STRLIT("bytes"));
    bff_jwrite_int(w, (int64_t)d->st.bytes);
    bff_jwrite_close(w, '}');
}

/* Opens the view and its sources list. */
static void start(bff_jwrite_t *w)
{
    bff_jwrite_init(w, 1024, MAX_HEADER);
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("sources"));
    bff_jwrite_open(w, '[');
}

/* Closes the view (the sources list is open) and adds it as the response header. */
static void finish(bff_req_t *r, bff_jwrite_t *w, size_t delivered, uint64_t now)
{
    bff_jwrite_close(w, ']');
    if (delivered != SIZE_MAX) {
        bff_jwrite_key(w, H2O_STRLIT("delivered"));
        bff_jwrite_int(w, (int64_t)delivered);
    }
    bff_jwrite_key(w, H2O_STRLIT("ms"));
    bff_jwrite_double(w, (double)((now - r->started_us) / 10) / 100.0);
    bff_jwrite_close(w, '}');
    h2o_iovec_t v =
        bff_jwrite_done(w) == 0
            ? h2o_strdup(&r->req->pool, w->buf, w->len)
            : h2o_strdup(&r->req->pool, H2O_STRLIT("{\"error\":\"too large for a header\"}"));
    bff_jwrite_dispose(w);
    h2o_add_header_by_str(&r->req->pool, &r->req->res.headers, H2O_STRLIT("x-bffd-debug"), 0, NULL,
                          v.base, v.len);
}

void bff_debug_explain(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                       size_t delivered)
{
    bff_jwrite_t w;
    start(&w);
    uint64_t now = bff_now_us();
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_t *src = plan->sources + s;
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        debug_source_t d = {.name = src->name,
                            .upstream = r->profile->upstreams[src->upstream].name,
                            .state = state_name(o->state),
                            .reason = o->err,
                            .ran = o->state != BFF_SRC_WAITING,
                            .us = o->duration_us ? o->duration_us : now - o->started_us};
        bff_exec_call_stats(exec, s, &d.st);
        d.status = o->status != 0 ? o->status : d.st.status;
        write_source(&w, &d);
    }
    finish(r, &w, delivered, now);
}

void bff_debug_explain_graphql(bff_req_t *r, const bff_gql_run_t *run, size_t delivered)
{
    bff_jwrite_t w;
    start(&w);
    uint64_t now = bff_now_us();
    size_t n;
    const bff_gql_call_record_t *recs = bff_gql_run_records(run, &n);
    for (size_t i = 0; i != n; ++i) {
        const bff_gql_call_record_t *c = recs + i;
        debug_source_t d = {.name = c->resolver,
                            .upstream = r->profile->upstreams[c->upstream].name,
                            .state = c->err != NULL ? "failed" : "done",
                            .reason = c->err,
                            .status = c->status != 0 ? c->status : c->stats.status,
                            .ran = 1,
                            .us = c->duration_us,
                            .parents = c->parents,
                            .st = c->stats};
        write_source(&w, &d);
    }
    finish(r, &w, delivered, now);
}
