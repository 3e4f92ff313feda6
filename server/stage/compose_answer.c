/* What a finished run answers, as data (server/http/answer.h): the shaped body with `errors`
 * and `bff-partial` when optional sources failed, the status a source decided (on_status), or
 * 502/504 naming the required source that failed. No h2o request: compose_respond.c sends it
 * (with Server-Timing, caching and the debug view), `bffd test` compares it. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "compose/json_write.h"
#include "server/http/respond.h"
#include "server/stage/compose.h"

#define MAX_RESPONSE_BYTES (8u << 20)
#define STRLIT(s) (s), (sizeof(s) - 1)

static void write_status(bff_jwrite_t *w, long status)
{
    if (status != 0) {
        bff_jwrite_key(w, STRLIT("status"));
        bff_jwrite_int(w, status);
    }
}

/* One failed source as a client sees it: members only, the caller writes the braces. */
static void write_failure(bff_jwrite_t *w, const bff_profile_t *profile, const bff_source_t *src,
                          const bff_source_outcome_t *o, int with_upstream)
{
    if (profile->errors == BFF_ERRORS_SAFE) {
        const char *code = bff_err_safe_code(o->err);
        bff_jwrite_key(w, STRLIT("reason"));
        bff_jwrite_str(w, code, strlen(code));
        write_status(w, o->status);
        return;
    }
    bff_jwrite_key(w, STRLIT("source"));
    bff_jwrite_str(w, src->name, strlen(src->name));
    if (with_upstream) {
        const char *upstream = profile->upstreams[src->upstream].name;
        bff_jwrite_key(w, STRLIT("upstream"));
        bff_jwrite_str(w, upstream, strlen(upstream));
    }
    bff_jwrite_key(w, STRLIT("reason"));
    bff_jwrite_str(w, o->err, strlen(o->err));
    write_status(w, o->status);
}

static void write_errors(const bff_profile_t *profile, const bff_plan_t *plan,
                         const bff_exec_t *exec, bff_jwrite_t *w)
{
    bff_jwrite_key(w, STRLIT("errors"));
    bff_jwrite_open(w, '[');
    int early = bff_exec_state(exec) == BFF_EXEC_RUNNING; /* answered at respond_by */
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (early && (o->state == BFF_SRC_WAITING || o->state == BFF_SRC_RUNNING)) {
            /* Still out at respond_by: its call runs on and fills the caches. */
            bff_jwrite_open(w, '{');
            if (profile->errors == BFF_ERRORS_DETAILED) {
                bff_jwrite_key(w, STRLIT("source"));
                bff_jwrite_str(w, plan->sources[s].name, strlen(plan->sources[s].name));
            }
            bff_jwrite_key(w, STRLIT("reason"));
            bff_jwrite_str(w, STRLIT("pending"));
            bff_jwrite_close(w, '}');
            continue;
        }
        if (o->err == NULL)
            continue;
        bff_jwrite_open(w, '{');
        write_failure(w, profile, plan->sources + s, o, 0);
        if (profile->errors == BFF_ERRORS_DETAILED) {
            bff_jwrite_key(w, STRLIT("message"));
            bff_jwrite_str(w, o->detail, strlen(o->detail));
        }
        bff_jwrite_close(w, '}');
    }
    bff_jwrite_close(w, ']');
}

/* The endpoint's own headers (Location, ...): rendered templates; one that cannot be rendered
 * or would smuggle a line break is left out. */
static void add_answer_headers(const bff_spec_t *spec, const bff_shape_env_t *env, bff_answer_t *a)
{
    for (size_t i = 0; i != spec->nheaders; ++i) {
        bff_jwrite_t v;
        bff_jwrite_init(&v, 128, 8192);
        if (bff_template_render(&spec->headers[i].value, env, 0, &v, NULL) == 0 && !v.overflow &&
            memchr(v.buf, '\r', v.len) == NULL && memchr(v.buf, '\n', v.len) == NULL &&
            memchr(v.buf, '\0', v.len) == NULL)
            bff_answer_add_header(a, spec->headers[i].name, strlen(spec->headers[i].name), v.buf,
                                  v.len);
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
        if (s >= 200 && s <= 299) /* a success's status: failures have their own (4.6) */
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

static void answer_composed(const bff_profile_t *profile, const bff_spec_t *spec,
                            const bff_exec_t *exec, bff_answer_t *a)
{
    bff_shape_env_t env = bff_exec_env(exec);
    int status;
    bff_jwrite_t w;
    if (bff_compose_render(profile, spec, exec, &w, &status) != 0) {
        bff_jwrite_dispose(&w);
        bff_answer_error(a, 500, bff_code_response_too_large,
                         "the composed response exceeds the size limit", NULL);
        return;
    }
    if (answer_partial(exec))
        bff_answer_add_header(a, STRLIT("bff-partial"), STRLIT("true"));
    a->status = status;
    a->composed = 1;
    bff_answer_set_body(a, w.buf, w.len);
    bff_jwrite_dispose(&w);
    add_answer_headers(spec, &env, a);
}

/* The members of a failed source for an error body, without the braces (NULL: too large). */
static char *failure_members(const bff_profile_t *profile, const bff_source_t *src,
                             const bff_source_outcome_t *o)
{
    bff_jwrite_t extra;
    bff_jwrite_init(&extra, 256, 64 * 1024);
    bff_jwrite_open(&extra, '{');
    write_failure(&extra, profile, src, o, 1);
    bff_jwrite_close(&extra, '}');
    char *members = NULL;
    if (bff_jwrite_done(&extra) == 0)
        members = bff_strndup(extra.buf + 1, extra.len - 2);
    bff_jwrite_dispose(&extra);
    return members;
}

/* A source's status decided the answer (on_status, or the defaults for a required source):
 * the upstream's error body shaped as the rule says, or bffd's error body. */
static void answer_decided(const bff_profile_t *profile, const bff_plan_t *plan,
                           const bff_exec_t *exec, bff_answer_t *a)
{
    size_t s = bff_exec_failed_source(exec);
    const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
    const bff_source_t *src = plan->sources + s;
    int status = (int)o->respond_status;
    if (o->retry_after >= 0 || status == 503) {
        char buf[24]; /* the upstream's advice, else a second (RFC 9110 10.2.3) */
        int n = snprintf(buf, sizeof(buf), "%d", o->retry_after >= 0 ? o->retry_after : 1);
        bff_answer_add_header(a, STRLIT("retry-after"), buf, (size_t)n);
    }
    if (o->respond_rule != NULL && o->respond_rule->body != NULL) {
        bff_shape_env_t env = bff_exec_env(exec);
        bff_jwrite_t w;
        bff_jwrite_init(&w, 1024, MAX_RESPONSE_BYTES);
        bff_shape_eval(o->respond_rule->body, &env, &w);
        if (bff_jwrite_done(&w) == 0) {
            a->status = status;
            bff_answer_set_body(a, w.buf, w.len);
            bff_jwrite_dispose(&w);
            return;
        }
        bff_jwrite_dispose(&w);
    }
    char msg[300];
    if (profile->errors == BFF_ERRORS_SAFE)
        snprintf(msg, sizeof(msg), "the request could not be completed");
    else if (status == 503 && o->status == 429)
        snprintf(msg, sizeof(msg),
                 "source '%s' is being throttled by its upstream; try again later", src->name);
    else
        snprintf(msg, sizeof(msg), "source '%s' answered %ld", src->name, o->status);
    char *extra = failure_members(profile, src, o);
    bff_answer_error(a, status, bff_code_for_status(status), msg, extra);
    free(extra);
}

static void answer_failed_source(const bff_profile_t *profile, const bff_plan_t *plan,
                                 const bff_exec_t *exec, bff_answer_t *a)
{
    size_t s = bff_exec_failed_source(exec);
    const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
    const bff_source_t *src = plan->sources + s;
    int timeout = o->err == bff_err_upstream_timeout;
    if (o->err == bff_err_overloaded) { /* bffd's own queue is full: come back shortly */
        bff_answer_add_header(a, STRLIT("retry-after"), STRLIT("1"));
        bff_answer_error(a, 503, bff_code_overloaded,
                         "too many requests in progress; try again shortly", NULL);
        return;
    }
    char msg[400];
    if (profile->errors == BFF_ERRORS_SAFE)
        snprintf(msg, sizeof(msg), "a required source failed");
    else
        snprintf(msg, sizeof(msg), "required source '%s' failed: %s", src->name, o->detail);
    char *extra = failure_members(profile, src, o); /* names as written: escaped */
    bff_answer_error(a, timeout ? 504 : 502,
                     timeout ? bff_code_upstream_timeout : bff_code_upstream_failed, msg, extra);
    free(extra);
}

void bff_compose_answer(const bff_profile_t *profile, const bff_spec_t *spec,
                        const bff_exec_t *exec, bff_answer_t *a)
{
    if (bff_exec_state(exec) != BFF_EXEC_FAILED)
        answer_composed(profile, spec, exec, a);
    else if (bff_exec_outcome(exec, bff_exec_failed_source(exec))->respond_status != 0)
        answer_decided(profile, &spec->plan, exec, a);
    else
        answer_failed_source(profile, &spec->plan, exec, a);
}

void bff_compose_answer_missing_input(const char *ref, bff_input_problem_t problem, bff_answer_t *a)
{
    char msg[300], extra[300];
    const char *what = "parameter", *name = ref, *code = bff_code_bad_parameter;
    if (strncmp(ref, "body.", 5) == 0)
        what = "field", name = ref + 5, code = bff_code_bad_body;
    else if (strncmp(ref, "header.", 7) == 0)
        what = "header", name = ref + 7;
    const char *kind = what[0] == 'f'   ? "the body's field"
                       : what[0] == 'h' ? "header"
                                        : "parameter";
    if (problem == BFF_INPUT_SEGMENT)
        snprintf(msg, sizeof(msg),
                 "%s '%s' cannot be empty, '.' or '..': it is a segment of an upstream path", kind,
                 name);
    else if (problem == BFF_INPUT_TOO_LONG)
        snprintf(msg, sizeof(msg), "%s '%s' is too long: the upstream URL would pass 8192 bytes",
                 kind, name);
    else if (what[0] == 'f')
        snprintf(msg, sizeof(msg), "the request body lacks '%s', which this endpoint needs", name);
    else if (what[0] == 'h')
        snprintf(msg, sizeof(msg), "the request lacks the header '%s', which this endpoint needs",
                 name);
    else
        snprintf(msg, sizeof(msg), "query parameter '%s' is required by this endpoint", name);
    bff_jwrite_t f;
    bff_jwrite_init(&f, 64, 256);
    bff_jwrite_str(&f, name, strlen(name));
    int fits = bff_jwrite_done(&f) == 0;
    snprintf(extra, sizeof(extra), "\"%s\":%.*s", what, (int)f.len, f.buf);
    bff_jwrite_dispose(&f);
    bff_answer_error(a, 400, code, msg, fits ? extra : NULL);
}
