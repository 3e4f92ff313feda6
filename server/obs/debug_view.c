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

void bff_debug_explain(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                       size_t delivered)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 1024, MAX_HEADER);
    uint64_t now = bff_now_us();
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, H2O_STRLIT("sources"));
    bff_jwrite_open(&w, '[');
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_t *src = plan->sources + s;
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        bff_exec_call_stats_t st;
        bff_exec_call_stats(exec, s, &st);
        const char *upstream = r->profile->upstreams[src->upstream].name,
                   *state = state_name(o->state);
        bff_jwrite_open(&w, '{');
        bff_jwrite_key(&w, H2O_STRLIT("name"));
        bff_jwrite_str(&w, src->name, strlen(src->name));
        bff_jwrite_key(&w, H2O_STRLIT("upstream"));
        bff_jwrite_str(&w, upstream, strlen(upstream));
        bff_jwrite_key(&w, H2O_STRLIT("state"));
        bff_jwrite_str(&w, state, strlen(state));
        if (o->status != 0 || st.status != 0) {
            bff_jwrite_key(&w, H2O_STRLIT("status"));
            bff_jwrite_int(&w, o->status != 0 ? o->status : st.status);
        }
        if (o->err != NULL) {
            bff_jwrite_key(&w, H2O_STRLIT("reason"));
            bff_jwrite_str(&w, o->err, strlen(o->err));
        }
        if (o->state != BFF_SRC_WAITING) {
            uint64_t us = o->duration_us ? o->duration_us : now - o->started_us;
            bff_jwrite_key(&w, H2O_STRLIT("ms"));
            bff_jwrite_double(&w, (double)(us / 10) / 100.0);
        }
        bff_jwrite_key(&w, H2O_STRLIT("calls"));
        bff_jwrite_int(&w, st.calls);
        bff_jwrite_key(&w, H2O_STRLIT("attempts"));
        bff_jwrite_int(&w, st.attempts);
        bff_jwrite_key(&w, H2O_STRLIT("cached"));
        bff_jwrite_int(&w, st.cached);
        bff_jwrite_key(&w, H2O_STRLIT("bytes"));
        bff_jwrite_int(&w, (int64_t)st.bytes);
        bff_jwrite_close(&w, '}');
    }
    bff_jwrite_close(&w, ']');
    if (delivered != SIZE_MAX) {
        bff_jwrite_key(&w, H2O_STRLIT("delivered"));
        bff_jwrite_int(&w, (int64_t)delivered);
    }
    bff_jwrite_key(&w, H2O_STRLIT("ms"));
    bff_jwrite_double(&w, (double)((now - r->started_us) / 10) / 100.0);
    bff_jwrite_close(&w, '}');
    h2o_iovec_t v =
        bff_jwrite_done(&w) == 0
            ? h2o_strdup(&r->req->pool, w.buf, w.len)
            : h2o_strdup(&r->req->pool, H2O_STRLIT("{\"error\":\"too large for a header\"}"));
    bff_jwrite_dispose(&w);
    h2o_add_header_by_str(&r->req->pool, &r->req->res.headers, H2O_STRLIT("x-bffd-debug"), 0, NULL,
                          v.base, v.len);
}
