/* The answer to a composed request: shaped body, partial errors, failed sources, timings. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "compose/json_write.h"
#include "server/core/clock.h"
#include "server/http/respond.h"
#include "server/stage/cache.h"
#include "server/stage/compose.h"
#include "server/obs/debug_view.h"
#include "server/obs/request_metrics.h"
#include "server/obs/request_trace.h"

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
    int early = bff_exec_state(exec) == BFF_EXEC_RUNNING; /* answered at respond_by */
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (early && (o->state == BFF_SRC_WAITING || o->state == BFF_SRC_RUNNING)) {
            /* Still out at respond_by: its call runs on and fills the caches. */
            bff_jwrite_open(w, '{');
            if (profile->errors == BFF_ERRORS_DETAILED) {
                bff_jwrite_key(w, H2O_STRLIT("source"));
                bff_jwrite_str(w, plan->sources[s].name, strlen(plan->sources[s].name));
            }
            bff_jwrite_key(w, H2O_STRLIT("reason"));
            bff_jwrite_str(w, H2O_STRLIT("pending"));
            bff_jwrite_close(w, '}');
            continue;
        }
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

/* The endpoint's own headers (Location, ...): rendered templates; one that cannot be rendered
 * or would smuggle a line break is left out. */
static void add_answer_headers(bff_req_t *r, const bff_shape_env_t *env)
{
    const bff_spec_t *spec = r->route.spec;
    h2o_req_t *req = r->req;
    for (size_t i = 0; i != spec->nheaders; ++i) {
        bff_jwrite_t v;
        bff_jwrite_init(&v, 128, 8192);
        if (bff_template_render(&spec->headers[i].value, env, 0, &v, NULL) == 0 && !v.overflow &&
            memchr(v.buf, '\r', v.len) == NULL && memchr(v.buf, '\n', v.len) == NULL &&
            memchr(v.buf, '\0', v.len) == NULL) {
            size_t namelen = strlen(spec->headers[i].name);
            char *name = h2o_mem_alloc_pool(&req->pool, namelen);
            for (size_t k = 0; k != namelen; ++k) /* HTTP/2 wants lower case */
                name[k] = (char)tolower((unsigned char)spec->headers[i].name[k]);
            h2o_add_header_by_str(&req->pool, &req->res.headers, name, namelen, 1, NULL,
                                  h2o_strdup(&req->pool, v.buf, v.len).base, v.len);
        }
        bff_jwrite_dispose(&v);
    }
}

/* The success status: declared, or rendered from a template (200 when it gives no status). */
static int answer_status(const bff_spec_t *spec, const bff_shape_env_t *env)
{
    if (spec->status_tmpl.nparts == 0)
        return (int)spec->status;
    bff_jwrite_t v;
    bff_jwrite_init(&v, 16, 64);
    int status = 200;
    if (bff_template_render(&spec->status_tmpl, env, 0, &v, NULL) == 0 && v.len == 3 &&
        isdigit((unsigned char)v.buf[0]) && isdigit((unsigned char)v.buf[1]) &&
        isdigit((unsigned char)v.buf[2])) {
        int s = (v.buf[0] - '0') * 100 + (v.buf[1] - '0') * 10 + (v.buf[2] - '0');
        if (s >= 200 && s <= 599)
            status = s;
    }
    bff_jwrite_dispose(&v);
    return status;
}

/* Partial: an optional source failed, or (at respond_by) one is still out. */
static int answer_partial(const bff_exec_t *exec)
{
    return bff_exec_partial(exec) || bff_exec_state(exec) == BFF_EXEC_RUNNING;
}

int bff_compose_render(const bff_profile_t *profile, const bff_spec_t *spec, const bff_exec_t *exec,
                       bff_jwrite_t *w, int *status)
{
    const bff_shape_t *shape = spec->response;
    bff_shape_env_t env = bff_exec_env(exec);
    bff_jwrite_init(w, 4096, MAX_RESPONSE_BYTES);
    if (shape->kind == BFF_SHAPE_OBJECT) {
        bff_jwrite_open(w, '{');
        for (size_t i = 0; i != shape->nfields; ++i) {
            bff_jwrite_key(w, shape->keys[i], strlen(shape->keys[i]));
            bff_shape_eval(shape->fields[i], &env, w);
        }
        if (answer_partial(exec))
            write_errors(profile, &spec->plan, exec, w);
        bff_jwrite_close(w, '}');
    } else {
        bff_shape_eval(shape, &env, w);
    }
    *status = answer_status(spec, &env);
    return bff_jwrite_done(w);
}

static void respond_composed(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                             uint64_t started_us)
{
    h2o_req_t *req = r->req;
    bff_shape_env_t env = bff_exec_env(exec);
    int partial = answer_partial(exec), status;
    bff_jwrite_t w;
    int rendered = bff_compose_render(r->profile, r->route.spec, exec, &w, &status);
    add_server_timing(req, plan, exec, started_us);
    if (rendered != 0) {
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
    add_answer_headers(r, &env);
    if (bff_debug_requested(r))
        bff_debug_explain(r, plan, exec, body.len);
    if (r->cache != NULL && bff_cache_on_composed(r, status, body, exec))
        return; /* 304 */
    bff_respond_json(req, status, bff_status_reason(status), body);
}

/* A source's status decided the answer (on_status, or the defaults for a required source):
 * the upstream's error body shaped as the rule says, or bffd's error body. */
static void respond_decided(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                            uint64_t started_us)
{
    h2o_req_t *req = r->req;
    size_t s = bff_exec_failed_source(exec);
    const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
    const bff_source_t *src = plan->sources + s;
    int status = (int)o->respond_status;
    add_server_timing(req, plan, exec, started_us);
    if (o->retry_after >= 0 || status == 503) {
        char buf[24]; /* the upstream's advice, else a second (RFC 9110 10.2.3) */
        int n = snprintf(buf, sizeof(buf), "%d", o->retry_after >= 0 ? o->retry_after : 1);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                       h2o_strdup(&req->pool, buf, (size_t)n).base, (size_t)n);
    }
    if (o->respond_rule != NULL && o->respond_rule->body != NULL) {
        bff_shape_env_t env = bff_exec_env(exec);
        bff_jwrite_t w;
        bff_jwrite_init(&w, 1024, MAX_RESPONSE_BYTES);
        bff_shape_eval(o->respond_rule->body, &env, &w);
        if (bff_jwrite_done(&w) == 0) {
            h2o_iovec_t body = h2o_strdup(&req->pool, w.buf, w.len);
            bff_jwrite_dispose(&w);
            bff_respond_json(req, status, bff_status_reason(status), body);
            return;
        }
        bff_jwrite_dispose(&w);
    }
    char msg[300];
    if (r->profile->errors == BFF_ERRORS_SAFE)
        snprintf(msg, sizeof(msg), "the request could not be completed");
    else if (status == 503 && o->status == 429)
        snprintf(msg, sizeof(msg),
                 "source '%s' is being throttled by its upstream; try again later", src->name);
    else
        snprintf(msg, sizeof(msg), "source '%s' answered %ld", src->name, o->status);
    bff_jwrite_t extra;
    bff_jwrite_init(&extra, 256, 64 * 1024);
    bff_jwrite_open(&extra, '{');
    write_failure(&extra, r->profile, src, o, 1);
    bff_jwrite_close(&extra, '}');
    int have_extra = bff_jwrite_done(&extra) == 0;
    if (have_extra)
        extra.buf[extra.len - 1] = '\0';
    bff_respond_error(req, status, bff_code_for_status(status), msg,
                      have_extra ? extra.buf + 1 : NULL);
    bff_jwrite_dispose(&extra);
}

static void respond_failed_source(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                                  uint64_t started_us)
{
    size_t s = bff_exec_failed_source(exec);
    const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
    const bff_source_t *src = plan->sources + s;
    int timeout = o->err == bff_err_upstream_timeout;
    if (o->err == bff_err_overloaded) { /* bffd's own queue is full: come back shortly */
        add_server_timing(r->req, plan, exec, started_us);
        h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                       H2O_STRLIT("1"));
        bff_respond_error(r->req, 503, bff_code_overloaded,
                          "too many requests in progress; "
                          "try again shortly",
                          NULL);
        return;
    }
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
    bff_tracing_note_sources(r, plan, exec);
    bff_metrics_note_sources(r, plan, exec);
    int whole = bff_exec_state(exec) == BFF_EXEC_COMPLETE && !bff_exec_partial(exec);
    if (r->cache != NULL && !whole && bff_cache_on_failed(r))
        return; /* a stale answer within stale-if-error */
    if (bff_exec_state(exec) == BFF_EXEC_FAILED && bff_debug_requested(r))
        bff_debug_explain(r, plan, exec, SIZE_MAX); /* an error answer: explained all the same */
    if (bff_exec_state(exec) != BFF_EXEC_FAILED)
        respond_composed(r, plan, exec, started_us);
    else if (bff_exec_outcome(exec, bff_exec_failed_source(exec))->respond_status != 0)
        respond_decided(r, plan, exec, started_us);
    else
        respond_failed_source(r, plan, exec, started_us);
}
