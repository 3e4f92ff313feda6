/* Sends the answer to a composed request (decided in compose_answer.c): with Server-Timing, the
 * access log's account of failed sources, the cache's stale and 304 answers, the debug view. */
#include <stdio.h>
#include <string.h>

#include "compose/fmt.h"
#include "compose/json_write.h"
#include "server/core/clock.h"
#include "server/http/respond.h"
#include "server/stage/cache.h"
#include "server/stage/compose.h"
#include "server/obs/debug_view.h"
#include "server/obs/request_metrics.h"
#include "server/obs/request_trace.h"

/* ", NAME;dur=MS" (no comma first): one Server-Timing entry; at most 2 + namelen + 27 bytes. */
static char *put_timing(char *p, int comma, const char *name, size_t namelen, uint64_t us)
{
    if (comma) {
        memcpy(p, ", ", 2);
        p += 2;
    }
    memcpy(p, name, namelen);
    p += namelen;
    memcpy(p, ";dur=", 5);
    return bff_put_ms1(p + 5, us);
}

static void add_server_timing(h2o_req_t *req, const bff_plan_t *plan, const bff_exec_t *exec,
                              uint64_t started_us)
{
    /* Source names have no length cap: the entries that fit, then always the total. */
    char buf[2048];
    const size_t room = sizeof(buf) - 64;
    size_t len = 0;
    uint64_t now = bff_now_us();
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (o->state == BFF_SRC_WAITING)
            continue;
        uint64_t dur = o->duration_us ? o->duration_us : now - o->started_us;
        const char *name = plan->sources[s].name;
        size_t namelen = strlen(name);
        if (len + 2 + namelen + sizeof(";dur=") + 22 > room)
            break;
        len = (size_t)(put_timing(buf + len, len != 0, name, namelen, dur) - buf);
    }
    /* room keeps 64 bytes for this one */
    len = (size_t)(put_timing(buf + len, len != 0, "total", 5, now - started_us) - buf);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("server-timing"), 0, NULL,
                          h2o_strdup(&req->pool, buf, len).base, len);
}

/* The access log's account of the sources that failed: everything, for operators. */
static void note_for_log(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 256, 16384);
    bff_jwrite_open(&w, '[');
    size_t n = 0;
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (o->err == NULL)
            continue;
        const char *detail = o->log_detail[0] ? o->log_detail : o->detail;
        bff_jwrite_open(&w, '{');
        bff_jwrite_key(&w, H2O_STRLIT("source"));
        bff_jwrite_str(&w, plan->sources[s].name, strlen(plan->sources[s].name));
        bff_jwrite_key(&w, H2O_STRLIT("reason"));
        bff_jwrite_str(&w, o->err, strlen(o->err));
        if (o->status != 0) {
            bff_jwrite_key(&w, H2O_STRLIT("status"));
            bff_jwrite_int(&w, o->status);
        }
        bff_jwrite_key(&w, H2O_STRLIT("detail"));
        bff_jwrite_str(&w, detail, strlen(detail));
        bff_jwrite_close(&w, '}');
        ++n;
    }
    bff_jwrite_close(&w, ']');
    if (n != 0 && bff_jwrite_done(&w) == 0)
        r->log_failed = h2o_strdup(&r->req->pool, w.buf, w.len);
    bff_jwrite_dispose(&w);
}

void bff_compose_respond(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                         uint64_t started_us)
{
    h2o_req_t *req = r->req;
    note_for_log(r, plan, exec);
    bff_tracing_note_sources(r, plan, exec);
    bff_metrics_note_sources(r, plan, exec);
    int whole = bff_exec_state(exec) == BFF_EXEC_COMPLETE && !bff_exec_partial(exec);
    bff_answer_t a;
    bff_answer_init(&a);
    bff_compose_answer(r->profile, r->route.spec, exec, &a);
    /* Stale-if-error covers faults (a 5xx, a partial answer), not a 4xx a required source passed
     * on: a deleted resource or revoked access must not stay visible (RFC 5861's errors). */
    if (r->cache != NULL && !whole && (a.status < 400 || a.status >= 500) &&
        bff_cache_on_failed(r)) {
        bff_answer_dispose(&a);
        return; /* a stale answer within stale-if-error */
    }
    if (bff_exec_state(exec) == BFF_EXEC_FAILED && bff_debug_requested(r))
        bff_debug_explain(r, plan, exec, SIZE_MAX); /* an error answer: explained all the same */
    add_server_timing(req, plan, exec, started_us);
    if (!a.composed) {
        bff_respond_answer(req, &a);
        bff_answer_dispose(&a);
        return;
    }
    r->log_partial = bff_answer_header(&a, "bff-partial") != NULL;
    bff_respond_add_headers(req, &a);
    h2o_iovec_t body = h2o_strdup(&req->pool, a.body, a.body_len);
    int status = a.status;
    bff_answer_dispose(&a);
    if (bff_debug_requested(r))
        bff_debug_explain(r, plan, exec, body.len);
    if (r->cache != NULL && bff_cache_on_composed(r, status, body, exec))
        return; /* 304 */
    bff_respond_json(req, status, bff_status_reason(status), body);
}
