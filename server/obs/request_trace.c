/* The request's spans (request_trace.h) and the end hook that exports them. */
#include "server/obs/request_trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compose/errors.h"
#include "compose/json_write.h"
#include "compose/plan.h"
#include "server/core/clock.h"
#include "server/core/random.h"
#include "server/http/trace.h"
#include "server/obs/otlp.h"
#include "server/stage/pipeline.h"

typedef struct st_bff_traced_source_t {
    const char *name, *upstream;
    uint64_t started_us, duration_us; /* bff_now_us clock */
    long status;
    const char *err;
} bff_traced_source_t;

const char *bff_req_traceparent(bff_req_t *r)
{
    if (r->traceparent[0] == '\0') {
        const bff_tracing_conf_t *tc = &r->profile->tracing;
        int sample =
            tc->endpoint == NULL || bff_random_u64() % 1000000 < (uint64_t)tc->sample_per_million;
        bff_trace_traceparent(r->req, sample, r->traceparent);
        memcpy(r->trace_id, r->traceparent + 3, 32); /* version-TRACEID-parent-flags */
        r->trace_id[32] = '\0';
    }
    return r->traceparent;
}

void bff_tracing_note_sources(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec)
{
    if (r->profile->tracing.endpoint == NULL || plan->nsources == 0)
        return;
    r->traced = h2o_mem_alloc_pool(&r->req->pool, sizeof(*r->traced) * plan->nsources);
    r->ntraced = 0;
    uint64_t now = bff_now_us();
    for (size_t s = 0; s != plan->nsources; ++s) {
        const bff_source_outcome_t *o = bff_exec_outcome(exec, s);
        if (o->state == BFF_SRC_WAITING)
            continue;
        r->traced[r->ntraced++] = (bff_traced_source_t){
            .name = plan->sources[s].name,
            .upstream = r->profile->upstreams[plan->sources[s].upstream].name,
            .started_us = o->started_us,
            .duration_us = o->duration_us ? o->duration_us : now - o->started_us,
            .status = o->status,
            .err = o->state == BFF_SRC_FAILED ? o->err : NULL};
    }
}

void bff_tracing_note_graphql(bff_req_t *r, const bff_gql_run_t *run)
{
    size_t n;
    const bff_gql_call_record_t *recs = bff_gql_run_records(run, &n);
    if (r->profile->tracing.endpoint == NULL || n == 0)
        return;
    bff_traced_source_t *all = h2o_mem_alloc_pool(&r->req->pool, sizeof(*all) * (r->ntraced + n));
    if (r->ntraced != 0)
        memcpy(all, r->traced, sizeof(*all) * r->ntraced);
    for (size_t i = 0; i != n; ++i)
        all[r->ntraced + i] =
            (bff_traced_source_t){.name = recs[i].resolver,
                                  .upstream = r->profile->upstreams[recs[i].upstream].name,
                                  .started_us = recs[i].started_us,
                                  .duration_us = recs[i].duration_us,
                                  .status = recs[i].status,
                                  .err = recs[i].err};
    r->traced = all;
    r->ntraced += n;
}

static void attr_str(bff_jwrite_t *w, const char *key, const char *v, size_t len)
{
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("key"));
    bff_jwrite_str(w, key, strlen(key));
    bff_jwrite_key(w, H2O_STRLIT("value"));
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("stringValue"));
    bff_jwrite_str(w, v, len);
    bff_jwrite_close(w, '}');
    bff_jwrite_close(w, '}');
}

static void attr_int(bff_jwrite_t *w, const char *key, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("key"));
    bff_jwrite_str(w, key, strlen(key));
    bff_jwrite_key(w, H2O_STRLIT("value"));
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("intValue"));
    bff_jwrite_str(w, num, (size_t)n); /* int64 as a string, as OTLP/JSON writes it */
    bff_jwrite_close(w, '}');
    bff_jwrite_close(w, '}');
}

/* The span's head: ids, name, kind and times (ns since the epoch, as strings). */
static void span_head(bff_jwrite_t *w, const char *trace_id, const char *span_id,
                      const char *parent, const char *name, size_t name_len, int kind,
                      uint64_t start_ns, uint64_t end_ns)
{
    char t[24];
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("traceId"));
    bff_jwrite_str(w, trace_id, 32);
    bff_jwrite_key(w, H2O_STRLIT("spanId"));
    bff_jwrite_str(w, span_id, 16);
    if (parent != NULL) {
        bff_jwrite_key(w, H2O_STRLIT("parentSpanId"));
        bff_jwrite_str(w, parent, 16);
    }
    bff_jwrite_key(w, H2O_STRLIT("name"));
    bff_jwrite_str(w, name, name_len);
    bff_jwrite_key(w, H2O_STRLIT("kind"));
    bff_jwrite_int(w, kind);
    bff_jwrite_key(w, H2O_STRLIT("startTimeUnixNano"));
    bff_jwrite_str(w, t, (size_t)snprintf(t, sizeof(t), "%" PRIu64, start_ns));
    bff_jwrite_key(w, H2O_STRLIT("endTimeUnixNano"));
    bff_jwrite_str(w, t, (size_t)snprintf(t, sizeof(t), "%" PRIu64, end_ns));
}

static void span_end(bff_jwrite_t *w, int error, const char *message)
{
    bff_jwrite_key(w, H2O_STRLIT("status"));
    bff_jwrite_open(w, '{');
    bff_jwrite_key(w, H2O_STRLIT("code"));
    bff_jwrite_int(w, error ? 2 : 0);
    if (error && message != NULL) {
        bff_jwrite_key(w, H2O_STRLIT("message"));
        bff_jwrite_str(w, message, strlen(message));
    }
    bff_jwrite_close(w, '}');
    bff_jwrite_close(w, '}');
}

static bff_otlp_t *exporter(bff_req_t *r)
{
    bff_site_ctx_t *site = r->site;
    const bff_tracing_conf_t *tc = &r->profile->tracing;
    if (site->otlp != NULL && !bff_tracing_conf_same(bff_otlp_conf(site->otlp), tc)) {
        bff_otlp_destroy(site->otlp); /* a reload moved the collector */
        site->otlp = NULL;
    }
    if (site->otlp == NULL)
        site->otlp = bff_otlp_create(site->worker->curl, &site->worker->timers, tc, site->metrics);
    return site->otlp;
}

void bff_tracing_on_end(bff_req_t *r)
{
    if (r->profile->tracing.endpoint == NULL)
        return;
    const char *tp = bff_req_traceparent(r);
    if (((tp[54] >= 'a' ? tp[54] - 'a' + 10 : tp[54] - '0') & 1) == 0)
        return; /* not sampled */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_us = bff_now_us();
    uint64_t end_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    /* monotonic -> wall: this moment in both clocks */
#define WALL_NS(mono_us) (end_ns - (now_us - (mono_us)) * 1000u)
    h2o_req_t *req = r->req;
    bff_otlp_t *x = exporter(r);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 1024, 64 * 1024);
    const char *route = r->route.spec != NULL ? r->route.spec->route : NULL;
    char name[300];
    int n = snprintf(name, sizeof(name), "%.*s%s%s", (int)req->method.len, req->method.base,
                     route != NULL ? " " : "", route != NULL ? route : "");
    span_head(&w, tp + 3, tp + 36, bff_trace_client_parent(req), name, (size_t)n, 2,
              WALL_NS(r->started_us), end_ns);
    bff_jwrite_key(&w, H2O_STRLIT("attributes"));
    bff_jwrite_open(&w, '[');
    attr_str(&w, "http.request.method", req->method.base, req->method.len);
    if (route != NULL)
        attr_str(&w, "http.route", route, strlen(route));
    attr_int(&w, "http.response.status_code", req->res.status);
    attr_str(&w, "bff.profile", r->profile->name, strlen(r->profile->name));
    attr_str(&w, "bff.request_id", r->request_id.base, r->request_id.len);
    bff_jwrite_close(&w, ']');
    span_end(&w, req->res.status >= 500, NULL);
    if (bff_jwrite_done(&w) == 0)
        bff_otlp_add(x, w.buf, w.len);
    for (size_t i = 0; i != r->ntraced; ++i) {
        const bff_traced_source_t *s = r->traced + i;
        char id[17];
        snprintf(id, sizeof(id), "%016" PRIx64, bff_random_u64() | 1);
        bff_jwrite_reset(&w);
        span_head(&w, tp + 3, id, tp + 36, s->name, strlen(s->name), 3, WALL_NS(s->started_us),
                  WALL_NS(s->started_us + s->duration_us));
        bff_jwrite_key(&w, H2O_STRLIT("attributes"));
        bff_jwrite_open(&w, '[');
        attr_str(&w, "bff.source", s->name, strlen(s->name));
        attr_str(&w, "bff.upstream", s->upstream, strlen(s->upstream));
        if (s->status != 0)
            attr_int(&w, "http.response.status_code", s->status);
        if (s->err != NULL)
            attr_str(&w, "error.type", bff_err_safe_code(s->err),
                     strlen(bff_err_safe_code(s->err)));
        bff_jwrite_close(&w, ']');
        span_end(&w, s->err != NULL, s->err);
        if (bff_jwrite_done(&w) == 0)
            bff_otlp_add(x, w.buf, w.len);
    }
#undef WALL_NS
    bff_jwrite_dispose(&w);
}
