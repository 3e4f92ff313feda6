/* The answer to a composed request: shaped body, partial errors, failed sources, timings. */
#include <stdio.h>
#include <string.h>

#include "compose/json_write.h"
#include "server/core/clock.h"
#include "server/http/respond.h"
#include "server/stage/compose.h"

#define MAX_RESPONSE_BYTES (8u << 20)

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
        int n = snprintf(buf + len, room - len, "%s%s;dur=%.1f", len ? ", " : "",
                         plan->sources[s].name, (double)dur / 1000.0);
        if (n < 0 || (size_t)n >= room - len)
            break;
        len += (size_t)n;
    }
    int n = snprintf(buf + len, sizeof(buf) - len, "%stotal;dur=%.1f", len ? ", " : "",
                     (double)(now - started_us) / 1000.0);
    if (n > 0 && (size_t)n < sizeof(buf) - len)
        len += (size_t)n;
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("server-timing"), 0, NULL,
                          h2o_strdup(&req->pool, buf, len).base, len);
}

static void write_status(bff_jwrite_t *w, long status)
{
    if (status != 0) {
        bff_jwrite_key(w, H2O_STRLIT("status"));
        bff_jwrite_int(w, status);
    }
}

/* One failed source as a client sees it: members only, the caller writes the braces. */
static void write_failure(bff_jwrite_t *w, const bff_profile_t *profile, const bff_source_t *src,
                          const bff_source_outcome_t *o, int with_upstream)
{
    if (profile->errors == BFF_ERRORS_SAFE) {
        const char *code = bff_err_safe_code(o->err);
        bff_jwrite_key(w, H2O_STRLIT("reason"));
        bff_jwrite_str(w, code, strlen(code));
        write_status(w, o->status);
        return;
    }
    bff_jwrite_key(w, H2O_STRLIT("source"));
    bff_jwrite_str(w, src->name, strlen(src->name));
    if (with_upstream) {
        const char *upstream = profile->upstreams[src->upstream].name;
        bff_jwrite_key(w, H2O_STRLIT("upstream"));
        bff_jwrite_str(w, upstream, strlen(upstream));
    }
    bff_jwrite_key(w, H2O_STRLIT("reason"));
    bff_jwrite_str(w, o->err, strlen(o->err));
    write_status(w, o->status);
}

static void write_errors(const bff_profile_t *profile, const bff_plan_t *plan,
                         const bff_exec_t *exec, bff_jwrite_t *w)
{
    bff_jwrite_key(w, H2O_STRLIT("errors"));
    bff_jwrite_open(w, '[');
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (o->err == NULL)
            continue;
        bff_jwrite_open(w, '{');
        write_failure(w, profile, plan->sources + s, o, 0);
        if (profile->errors == BFF_ERRORS_DETAILED) {
            bff_jwrite_key(w, H2O_STRLIT("message"));
            bff_jwrite_str(w, o->detail, strlen(o->detail));
        }
        bff_jwrite_close(w, '}');
    }
    bff_jwrite_close(w, ']');
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
        write_status(&w, o->status);
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

static void respond_composed(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                             uint64_t started_us)
{
    h2o_req_t *req = r->req;
    const bff_shape_t *shape = r->route.spec->response;
    bff_shape_env_t env = bff_exec_env(exec);
    int partial = bff_exec_partial(exec);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 4096, MAX_RESPONSE_BYTES);
    if (shape->kind == BFF_SHAPE_OBJECT) {
        bff_jwrite_open(&w, '{');
        for (size_t i = 0; i != shape->nfields; ++i) {
            bff_jwrite_key(&w, shape->keys[i], strlen(shape->keys[i]));
            bff_shape_eval(shape->fields[i], &env, &w);
        }
        if (partial)
            write_errors(r->profile, plan, exec, &w);
        bff_jwrite_close(&w, '}');
    } else {
        bff_shape_eval(shape, &env, &w);
    }
    add_server_timing(req, plan, exec, started_us);
    if (bff_jwrite_done(&w) != 0) {
        bff_jwrite_dispose(&w);
        bff_respond_error(req, 500, bff_code_response_too_large,
                          "the composed response exceeds the size limit", NULL);
        return;
    }
    if (partial)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("bff-partial"), 0, NULL,
                              H2O_STRLIT("true"));
    r->log_partial = partial;
    h2o_iovec_t body = h2o_strdup(&req->pool, w.buf, w.len);
    bff_jwrite_dispose(&w);
    bff_respond_json(req, 200, "OK", body);
}

static void respond_failed_source(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                                  uint64_t started_us)
{
    size_t s = bff_exec_failed_source(exec);
    const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
    const bff_source_t *src = plan->sources + s;
    int timeout = o->err == bff_err_upstream_timeout;
    char msg[400];
    if (r->profile->errors == BFF_ERRORS_SAFE)
        snprintf(msg, sizeof(msg), "a required source failed");
    else
        snprintf(msg, sizeof(msg), "required source '%s' failed: %s", src->name, o->detail);
    /* Names come from the profile as written: escape them. */
    bff_jwrite_t extra;
    bff_jwrite_init(&extra, 256, 64 * 1024);
    bff_jwrite_open(&extra, '{');
    write_failure(&extra, r->profile, src, o, 1);
    bff_jwrite_close(&extra, '}');
    int have_extra = bff_jwrite_done(&extra) == 0;
    if (have_extra)
        extra.buf[extra.len - 1] = '\0'; /* the members without the braces */
    add_server_timing(r->req, plan, exec, started_us);
    bff_respond_error(r->req, timeout ? 504 : 502,
                      timeout ? bff_code_upstream_timeout : bff_code_upstream_failed, msg,
                      have_extra ? extra.buf + 1 : NULL);
    bff_jwrite_dispose(&extra);
}

void bff_compose_respond(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                         uint64_t started_us)
{
    note_for_log(r, plan, exec);
    if (bff_exec_state(exec) == BFF_EXEC_FAILED)
        respond_failed_source(r, plan, exec, started_us);
    else
        respond_composed(r, plan, exec, started_us);
}
