/* Prometheus metrics (metrics.h). */
#include "server/obs/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/mem.h"
#include "compose/text.h"
#include "server/core/heap.h"
#include "server/core/server.h"
#include "server/fetch/breaker.h"

_Atomic uint64_t bff_metrics_reloads_ok, bff_metrics_reloads_rejected;

static const int codes[BFF_METRICS_CODES - 1] = {200, 201, 202, 204, 206, 301, 302, 304,
                                                 400, 401, 403, 404, 405, 409, 413, 415,
                                                 422, 429, 431, 499, 500, 502, 503};
/* le of each bucket, in microseconds; the last is +Inf */
static const uint64_t bounds_us[BFF_METRICS_BUCKETS - 1] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

static size_t code_index(int status)
{
    for (size_t i = 0; i != BFF_METRICS_CODES - 1; ++i)
        if (codes[i] == status)
            return i;
    return BFF_METRICS_CODES - 1; /* 504 and anything else: "other" buckets by class below */
}

/* One duration into a histogram: its bucket, the sum and the count. */
static void observe(_Atomic uint64_t *buckets, _Atomic uint64_t *sum_us, _Atomic uint64_t *count,
                    uint64_t duration_us)
{
    size_t b = 0;
    while (b != BFF_METRICS_BUCKETS - 1 && duration_us > bounds_us[b])
        ++b;
    atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(sum_us, duration_us, memory_order_relaxed);
    atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; ++s)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

void bff_metrics_request(bff_site_metrics_t *m, const char *route, int status, uint64_t duration_us)
{
    size_t start = (size_t)(fnv(route) % BFF_METRICS_ROUTES), i = start;
    bff_route_metrics_t *e = NULL;
    do { /* the owner worker alone inserts: no race on `used` from writers */
        bff_route_metrics_t *c = m->routes + i;
        if (!atomic_load_explicit(&c->used, memory_order_relaxed)) {
            snprintf(c->route, sizeof(c->route), "%s", route);
            atomic_store_explicit(&c->used, 1, memory_order_release);
            e = c;
            break;
        }
        if (strncmp(c->route, route, sizeof(c->route) - 1) == 0) { /* as stored: truncated */
            e = c;
            break;
        }
        i = (i + 1) % BFF_METRICS_ROUTES;
    } while (i != start);
    if (e == NULL) {
        atomic_fetch_add_explicit(&m->overflow, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&e->codes[code_index(status)], 1, memory_order_relaxed);
    observe(e->buckets, &e->sum_us, &e->count, duration_us);
}

void bff_metrics_source(bff_site_metrics_t *m, const char *route, const char *source,
                        uint64_t duration_us, int failed)
{
    if (m == NULL)
        return;
    size_t start = (size_t)((fnv(route) ^ fnv(source)) % BFF_METRICS_SOURCES), i = start;
    bff_source_metrics_t *e = NULL;
    do {
        bff_source_metrics_t *c = m->sources + i;
        if (!atomic_load_explicit(&c->used, memory_order_relaxed)) {
            snprintf(c->route, sizeof(c->route), "%s", route);
            snprintf(c->source, sizeof(c->source), "%s", source);
            atomic_store_explicit(&c->used, 1, memory_order_release);
            e = c;
            break;
        }
        if (strncmp(c->source, source, sizeof(c->source) - 1) == 0 &&
            strncmp(c->route, route, sizeof(c->route) - 1) == 0) {
            e = c;
            break;
        }
        i = (i + 1) % BFF_METRICS_SOURCES;
    } while (i != start);
    if (e == NULL) {
        atomic_fetch_add_explicit(&m->overflow, 1, memory_order_relaxed);
        return;
    }
    observe(e->buckets, &e->sum_us, &e->count, duration_us);
    if (failed)
        atomic_fetch_add_explicit(&e->failed, 1, memory_order_relaxed);
}

const char *const bff_metrics_outcomes[BFF_METRICS_OUTCOMES] = {
    "ok",        "status_4xx",   "status_5xx",    "timeout",    "connect",      "transport",
    "too_large", "circuit_open", "bulkhead_full", "overloaded", "rate_limited", "other"};

bff_upstream_metrics_t *bff_metrics_upstream(bff_site_metrics_t *m, const char *name)
{
    if (m == NULL)
        return NULL;
    size_t start = (size_t)(fnv(name) % BFF_METRICS_UPSTREAMS), i = start;
    do {
        bff_upstream_metrics_t *u = m->upstreams + i;
        if (!atomic_load_explicit(&u->used, memory_order_relaxed)) {
            snprintf(u->name, sizeof(u->name), "%s", name);
            atomic_store_explicit(&u->used, 1, memory_order_release);
            return u;
        }
        if (strncmp(u->name, name, sizeof(u->name) - 1) == 0)
            return u;
        i = (i + 1) % BFF_METRICS_UPSTREAMS;
    } while (i != start);
    return NULL;
}

static size_t outcome_index(const char *err, long status)
{
    if (err == NULL)
        return 0;
    if (err == bff_err_upstream_status)
        return status >= 500 ? 2 : 1;
    static const char *const reasons[] = {
        bff_err_upstream_timeout,   bff_err_upstream_connect,     bff_err_upstream_transport,
        bff_err_upstream_too_large, bff_err_circuit_open,         bff_err_bulkhead_full,
        bff_err_overloaded,         bff_err_upstream_rate_limited};
    for (size_t i = 0; i != sizeof(reasons) / sizeof(reasons[0]); ++i)
        if (err == reasons[i])
            return 3 + i;
    return BFF_METRICS_OUTCOMES - 1;
}

void bff_metrics_call(bff_upstream_metrics_t *u, const char *err, long status, uint64_t duration_us)
{
    if (u == NULL)
        return;
    atomic_fetch_add_explicit(&u->outcomes[outcome_index(err, status)], 1, memory_order_relaxed);
    observe(u->buckets, &u->sum_us, &u->count, duration_us);
}

void bff_metrics_breaker(bff_upstream_metrics_t *u, int state)
{
    if (u == NULL || atomic_load_explicit(&u->breaker, memory_order_relaxed) == state)
        return;
    if (state == BFF_BREAKER_OPEN)
        atomic_fetch_add_explicit(&u->breaker_opened, 1, memory_order_relaxed);
    atomic_store_explicit(&u->breaker, state, memory_order_relaxed);
}

void bff_metrics_waiting(bff_upstream_metrics_t *u, int delta)
{
    if (u != NULL)
        atomic_fetch_add_explicit(&u->waiting, delta, memory_order_relaxed);
}

/* A label value: backslash, quote and newline escaped. */
static const char *esc(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    for (; *s && o + 3 < size; ++s) {
        if (*s == '\\' || *s == '"')
            buf[o++] = '\\', buf[o++] = *s;
        else if (*s == '\n')
            buf[o++] = '\\', buf[o++] = 'n';
        else
            buf[o++] = *s;
    }
    buf[o] = '\0';
    return buf;
}

/* One histogram's lines: cumulative buckets, sum and count, `labels` (already escaped) on each. */
static void put_histogram(bff_text_t *o, const char *name, const char *labels,
                          const uint64_t *buckets, uint64_t sum_us, uint64_t count)
{
    uint64_t cum = 0;
    for (size_t b = 0; b != BFF_METRICS_BUCKETS; ++b) {
        cum += buckets[b];
        char le[24];
        if (b != BFF_METRICS_BUCKETS - 1)
            snprintf(le, sizeof(le), "%g", (double)bounds_us[b] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        bff_text_printf(o, "%s_bucket{%s,le=\"%s\"} %llu\n", name, labels, le,
                        (unsigned long long)cum);
    }
    bff_text_printf(o, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, (double)sum_us / 1e6,
                    name, labels, (unsigned long long)count);
}

/* The same route of one profile across workers, summed. */
typedef struct st_sum_t {
    char route[128];
    uint64_t codes[BFF_METRICS_CODES], buckets[BFF_METRICS_BUCKETS], sum_us, count;
} sum_t;

static void render_site(bff_text_t *o, bff_server_t *s, size_t site, const char *profile, int pass)
{
    sum_t *sums = bff_calloc(BFF_METRICS_ROUTES, sizeof(*sums));
    size_t nsums = 0;
    for (unsigned w = 0; w != s->nworkers; ++w) {
        bff_site_metrics_t *m = s->workers[w].sites[site].metrics;
        if (m == NULL)
            continue;
        for (size_t i = 0; i != BFF_METRICS_ROUTES; ++i) {
            bff_route_metrics_t *e = m->routes + i;
            if (!atomic_load_explicit(&e->used, memory_order_acquire))
                continue;
            sum_t *t = NULL;
            for (size_t k = 0; k != nsums && t == NULL; ++k)
                if (strcmp(sums[k].route, e->route) == 0)
                    t = sums + k;
            if (t == NULL) {
                if (nsums == BFF_METRICS_ROUTES)
                    continue;
                t = sums + nsums++;
                snprintf(t->route, sizeof(t->route), "%s", e->route);
            }
            for (size_t c = 0; c != BFF_METRICS_CODES; ++c)
                t->codes[c] += atomic_load_explicit(&e->codes[c], memory_order_relaxed);
            for (size_t b = 0; b != BFF_METRICS_BUCKETS; ++b)
                t->buckets[b] += atomic_load_explicit(&e->buckets[b], memory_order_relaxed);
            t->sum_us += atomic_load_explicit(&e->sum_us, memory_order_relaxed);
            t->count += atomic_load_explicit(&e->count, memory_order_relaxed);
        }
    }
    char p[160], r[260];
    esc(profile, p, sizeof(p));
    for (size_t k = 0; k != nsums; ++k) {
        esc(sums[k].route, r, sizeof(r));
        if (pass == 0) {
            for (size_t c = 0; c != BFF_METRICS_CODES; ++c) {
                if (sums[k].codes[c] == 0)
                    continue;
                char code[8];
                if (c != BFF_METRICS_CODES - 1)
                    snprintf(code, sizeof(code), "%d", codes[c]);
                else
                    snprintf(code, sizeof(code), "other");
                bff_text_printf(
                    o, "bffd_requests_total{profile=\"%s\",route=\"%s\",code=\"%s\"} %llu\n", p, r,
                    code, (unsigned long long)sums[k].codes[c]);
            }
        } else {
            char labels[440];
            snprintf(labels, sizeof(labels), "profile=\"%s\",route=\"%s\"", p, r);
            put_histogram(o, "bffd_request_duration_seconds", labels, sums[k].buckets,
                          sums[k].sum_us, sums[k].count);
        }
    }
    free(sums);
}

/* One profile's upstreams summed across workers, written as the upstream metrics. */
typedef struct st_up_sum_t {
    char name[64];
    uint64_t outcomes[BFF_METRICS_OUTCOMES], buckets[BFF_METRICS_BUCKETS], sum_us, count;
    uint64_t breakers_open, opened;
    int64_t waiting;
} up_sum_t;

static size_t sum_upstreams(bff_server_t *s, size_t site, up_sum_t *sums)
{
    size_t n = 0;
    for (unsigned w = 0; w != s->nworkers; ++w) {
        bff_site_metrics_t *m = s->workers[w].sites[site].metrics;
        for (size_t i = 0; m != NULL && i != BFF_METRICS_UPSTREAMS; ++i) {
            bff_upstream_metrics_t *u = m->upstreams + i;
            if (!atomic_load_explicit(&u->used, memory_order_acquire))
                continue;
            up_sum_t *t = NULL;
            for (size_t k = 0; k != n && t == NULL; ++k)
                if (strcmp(sums[k].name, u->name) == 0)
                    t = sums + k;
            if (t == NULL) {
                t = sums + n++;
                memset(t, 0, sizeof(*t));
                snprintf(t->name, sizeof(t->name), "%s", u->name);
            }
            for (size_t c = 0; c != BFF_METRICS_OUTCOMES; ++c)
                t->outcomes[c] += atomic_load_explicit(&u->outcomes[c], memory_order_relaxed);
            for (size_t b = 0; b != BFF_METRICS_BUCKETS; ++b)
                t->buckets[b] += atomic_load_explicit(&u->buckets[b], memory_order_relaxed);
            t->sum_us += atomic_load_explicit(&u->sum_us, memory_order_relaxed);
            t->count += atomic_load_explicit(&u->count, memory_order_relaxed);
            t->breakers_open +=
                atomic_load_explicit(&u->breaker, memory_order_relaxed) != BFF_BREAKER_CLOSED;
            t->opened += atomic_load_explicit(&u->breaker_opened, memory_order_relaxed);
            t->waiting += atomic_load_explicit(&u->waiting, memory_order_relaxed);
        }
    }
    return n;
}

static void render_upstreams(bff_text_t *o, bff_server_t *s, bff_config_t *config)
{
    up_sum_t *sums = bff_calloc(BFF_METRICS_UPSTREAMS * s->nworkers + 1, sizeof(*sums));
    static const char *const heads[] = {
        "# HELP bffd_upstream_calls_total Upstream calls by final outcome (retries are part of "
        "their call; fast failures count with no time).\n"
        "# TYPE bffd_upstream_calls_total counter\n",
        "# HELP bffd_upstream_call_duration_seconds Time of upstream calls, retries included.\n"
        "# TYPE bffd_upstream_call_duration_seconds histogram\n",
        "# HELP bffd_upstream_breakers_open Worker threads whose breaker for the upstream is "
        "open or half-open.\n# TYPE bffd_upstream_breakers_open gauge\n",
        "# HELP bffd_upstream_breaker_opened_total Times a worker's breaker opened.\n"
        "# TYPE bffd_upstream_breaker_opened_total counter\n",
        "# HELP bffd_upstream_calls_waiting Calls waiting for a connection to the upstream's host "
        "(beyond max_connections).\n# TYPE bffd_upstream_calls_waiting gauge\n"};
    for (int kind = 0; kind != 5; ++kind) {
        bff_text_printf(o, "%s", heads[kind]);
        for (size_t site = 0; site != s->nsites; ++site) {
            char p[160], u[160];
            esc(config->sites[site].profile->name, p, sizeof(p));
            size_t n = sum_upstreams(s, site, sums);
            for (size_t k = 0; k != n; ++k) {
                up_sum_t *t = sums + k;
                esc(t->name, u, sizeof(u));
                if (kind == 0) {
                    for (size_t c = 0; c != BFF_METRICS_OUTCOMES; ++c)
                        if (t->outcomes[c] != 0)
                            bff_text_printf(
                                o,
                                "bffd_upstream_calls_total{profile=\"%s\",upstream=\"%s\","
                                "outcome=\"%s\"} %llu\n",
                                p, u, bff_metrics_outcomes[c], (unsigned long long)t->outcomes[c]);
                } else if (kind == 1) {
                    char labels[360];
                    snprintf(labels, sizeof(labels), "profile=\"%s\",upstream=\"%s\"", p, u);
                    put_histogram(o, "bffd_upstream_call_duration_seconds", labels, t->buckets,
                                  t->sum_us, t->count);
                } else if (kind == 4) {
                    bff_text_printf(
                        o, "bffd_upstream_calls_waiting{profile=\"%s\",upstream=\"%s\"} %lld\n", p,
                        u, (long long)t->waiting);
                } else {
                    bff_text_printf(o, "%s{profile=\"%s\",upstream=\"%s\"} %llu\n",
                                    kind == 2 ? "bffd_upstream_breakers_open"
                                              : "bffd_upstream_breaker_opened_total",
                                    p, u,
                                    (unsigned long long)(kind == 2 ? t->breakers_open : t->opened));
                }
            }
        }
    }
    free(sums);
}

/* One profile's (route, source) pairs summed across workers. */
typedef struct st_src_sum_t {
    char route[128], source[64];
    uint64_t buckets[BFF_METRICS_BUCKETS], sum_us, count, failed;
} src_sum_t;

static size_t sum_sources(bff_server_t *s, size_t site, src_sum_t *sums)
{
    size_t n = 0;
    for (unsigned w = 0; w != s->nworkers; ++w) {
        bff_site_metrics_t *m = s->workers[w].sites[site].metrics;
        for (size_t i = 0; m != NULL && i != BFF_METRICS_SOURCES; ++i) {
            bff_source_metrics_t *e = m->sources + i;
            if (!atomic_load_explicit(&e->used, memory_order_acquire))
                continue;
            src_sum_t *t = NULL;
            for (size_t k = 0; k != n && t == NULL; ++k)
                if (strcmp(sums[k].source, e->source) == 0 && strcmp(sums[k].route, e->route) == 0)
                    t = sums + k;
            if (t == NULL) {
                t = sums + n++;
                memset(t, 0, sizeof(*t));
                snprintf(t->route, sizeof(t->route), "%s", e->route);
                snprintf(t->source, sizeof(t->source), "%s", e->source);
            }
            for (size_t b = 0; b != BFF_METRICS_BUCKETS; ++b)
                t->buckets[b] += atomic_load_explicit(&e->buckets[b], memory_order_relaxed);
            t->sum_us += atomic_load_explicit(&e->sum_us, memory_order_relaxed);
            t->count += atomic_load_explicit(&e->count, memory_order_relaxed);
            t->failed += atomic_load_explicit(&e->failed, memory_order_relaxed);
        }
    }
    return n;
}

static void render_sources(bff_text_t *o, bff_server_t *s, bff_config_t *config)
{
    src_sum_t *sums = bff_calloc(BFF_METRICS_SOURCES * s->nworkers + 1, sizeof(*sums));
    static const char *const heads[] = {
        "# HELP bffd_source_duration_seconds Time of a route's sources (GraphQL: its resolvers' "
        "calls), from their start to their value, retries included.\n"
        "# TYPE bffd_source_duration_seconds histogram\n",
        "# HELP bffd_source_failures_total A route's sources that failed (an optional one leaves "
        "a partial answer).\n# TYPE bffd_source_failures_total counter\n"};
    for (int kind = 0; kind != 2; ++kind) {
        bff_text_printf(o, "%s", heads[kind]);
        for (size_t site = 0; site != s->nsites; ++site) {
            char p[160], r[260], src[140];
            esc(config->sites[site].profile->name, p, sizeof(p));
            size_t n = sum_sources(s, site, sums);
            for (size_t k = 0; k != n; ++k) {
                src_sum_t *t = sums + k;
                esc(t->route, r, sizeof(r));
                esc(t->source, src, sizeof(src));
                if (kind == 1) {
                    bff_text_printf(
                        o,
                        "bffd_source_failures_total{profile=\"%s\",route=\"%s\",source=\"%s\"} "
                        "%llu\n",
                        p, r, src, (unsigned long long)t->failed);
                    continue;
                }
                char labels[600];
                snprintf(labels, sizeof(labels), "profile=\"%s\",route=\"%s\",source=\"%s\"", p, r,
                         src);
                put_histogram(o, "bffd_source_duration_seconds", labels, t->buckets, t->sum_us,
                              t->count);
            }
        }
    }
    free(sums);
}

/* Cached answers by result, and Redis's state as the workers last saw it. */
static void render_cache(bff_text_t *o, bff_server_t *s, bff_config_t *config)
{
    static const char *const results[] = {"hit", "stale", "revalidated", "miss"};
    bff_text_printf(
        o, "# HELP bffd_cache_answers_total Requests of cached endpoints and GraphQL queries, by "
           "how the cache answered.\n# TYPE bffd_cache_answers_total counter\n");
    for (size_t site = 0; site != s->nsites; ++site) {
        if (!config->sites[site].profile->cache.present)
            continue;
        uint64_t v[4] = {0};
        for (unsigned w = 0; w != s->nworkers; ++w) {
            bff_site_metrics_t *m = s->workers[w].sites[site].metrics;
            if (m == NULL)
                continue;
            v[0] += atomic_load_explicit(&m->cache_hit, memory_order_relaxed);
            v[1] += atomic_load_explicit(&m->cache_stale, memory_order_relaxed);
            v[2] += atomic_load_explicit(&m->cache_revalidated, memory_order_relaxed);
            v[3] += atomic_load_explicit(&m->cache_miss, memory_order_relaxed);
        }
        char p[160];
        esc(config->sites[site].profile->name, p, sizeof(p));
        for (size_t k = 0; k != 4; ++k)
            bff_text_printf(o, "bffd_cache_answers_total{profile=\"%s\",result=\"%s\"} %llu\n", p,
                            results[k], (unsigned long long)v[k]);
    }
    bff_text_printf(
        o, "# HELP bffd_redis_connected Worker threads whose Redis connection was up at their "
           "last request, per profile with Redis.\n# TYPE bffd_redis_connected gauge\n");
    for (size_t site = 0; site != s->nsites; ++site) {
        if (config->sites[site].profile->cache.redis_host == NULL)
            continue;
        uint64_t up = 0;
        for (unsigned w = 0; w != s->nworkers; ++w) {
            bff_site_metrics_t *m = s->workers[w].sites[site].metrics;
            up += m != NULL && atomic_load_explicit(&m->redis, memory_order_relaxed) == 2;
        }
        char p[160];
        bff_text_printf(o, "bffd_redis_connected{profile=\"%s\"} %llu\n",
                        esc(config->sites[site].profile->name, p, sizeof(p)),
                        (unsigned long long)up);
    }
}

char *bff_metrics_render(bff_server_t *s, size_t *len)
{
    bff_text_t o = {.buf = bff_malloc(16384), .cap = 16384};
    bff_config_t *config = bff_server_acquire_config(s);
    bff_text_printf(&o,
                    "# HELP bffd_requests_total Requests answered, by profile, route template and "
                    "status.\n# TYPE bffd_requests_total counter\n");
    for (size_t i = 0; i != s->nsites; ++i)
        render_site(&o, s, i, config->sites[i].profile->name, 0);
    bff_text_printf(
        &o, "# HELP bffd_request_duration_seconds Time from a request's arrival to its answer.\n"
            "# TYPE bffd_request_duration_seconds histogram\n");
    for (size_t i = 0; i != s->nsites; ++i)
        render_site(&o, s, i, config->sites[i].profile->name, 1);
    /* Per profile: what each worker counts, summed. */
    static const struct {
        const char *name, *help, *type;
    } simple[] = {
        {"bffd_inflight_requests", "Requests in progress.", "gauge"},
        {"bffd_shed_total", "Requests answered 503 because too many were in progress.", "counter"},
        {"bffd_rate_limited_total", "Requests refused by a rate limit (429).", "counter"},
        {"bffd_auth_refused_total", "Requests refused for their credentials (401, 403).",
         "counter"},
        {"bffd_metrics_routes_dropped_total",
         "Requests (or their sources) whose route (or route and source) found no metrics slot.",
         "counter"},
    };
    for (size_t k = 0; k != sizeof(simple) / sizeof(simple[0]); ++k) {
        bff_text_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", simple[k].name, simple[k].help,
                        simple[k].name, simple[k].type);
        for (size_t i = 0; i != s->nsites; ++i) {
            uint64_t v = 0;
            for (unsigned w = 0; w != s->nworkers; ++w) {
                bff_site_ctx_t *sc = s->workers[w].sites + i;
                bff_site_metrics_t *m = sc->metrics;
                v += k == 0      ? (uint64_t)sc->inflight
                     : k == 1    ? sc->shed
                     : m == NULL ? 0
                     : k == 2    ? atomic_load_explicit(&m->rate_limited, memory_order_relaxed)
                     : k == 3    ? atomic_load_explicit(&m->auth_refused, memory_order_relaxed)
                                 : atomic_load_explicit(&m->overflow, memory_order_relaxed);
            }
            char p[160];
            bff_text_printf(&o, "%s{profile=\"%s\"} %llu\n", simple[k].name,
                            esc(config->sites[i].profile->name, p, sizeof(p)),
                            (unsigned long long)v);
        }
    }
    render_upstreams(&o, s, config);
    render_sources(&o, s, config);
    render_cache(&o, s, config);
    bff_text_printf(
        &o, "# HELP bffd_trace_spans_total Spans sent to the OTLP collector, or dropped (collector "
            "down or slow, queue full).\n# TYPE bffd_trace_spans_total counter\n");
    for (size_t i = 0; i != s->nsites; ++i) {
        if (config->sites[i].profile->tracing.endpoint == NULL)
            continue;
        uint64_t sent = 0, dropped = 0;
        for (unsigned w = 0; w != s->nworkers; ++w) {
            bff_site_metrics_t *m = s->workers[w].sites[i].metrics;
            sent += m ? atomic_load_explicit(&m->spans_exported, memory_order_relaxed) : 0;
            dropped += m ? atomic_load_explicit(&m->spans_dropped, memory_order_relaxed) : 0;
        }
        char p[160];
        esc(config->sites[i].profile->name, p, sizeof(p));
        bff_text_printf(&o,
                        "bffd_trace_spans_total{profile=\"%s\",result=\"exported\"} %llu\n"
                        "bffd_trace_spans_total{profile=\"%s\",result=\"dropped\"} %llu\n",
                        p, (unsigned long long)sent, p, (unsigned long long)dropped);
    }
    bff_text_printf(
        &o,
        "# HELP bffd_reloads_total Configuration reloads, by result.\n"
        "# TYPE bffd_reloads_total counter\n"
        "bffd_reloads_total{result=\"ok\"} %llu\nbffd_reloads_total{result=\"rejected\"} %llu\n",
        (unsigned long long)atomic_load(&bff_metrics_reloads_ok),
        (unsigned long long)atomic_load(&bff_metrics_reloads_rejected));
    bff_text_printf(&o,
                    "# HELP bffd_configurations_alive Configuration snapshots in memory: 1 once "
                    "every worker and request left the older ones.\n"
                    "# TYPE bffd_configurations_alive gauge\nbffd_configurations_alive %zu\n",
                    bff_config_alive());
    bff_heap_stats_t heap;
    bff_heap_stats(&heap);
    bff_text_printf(
        &o,
        "# HELP bffd_heap_allocated_bytes Memory the process has allocated and not freed.\n"
        "# TYPE bffd_heap_allocated_bytes gauge\nbffd_heap_allocated_bytes{allocator=\"%s\"} %zu\n"
        "# HELP bffd_heap_held_bytes Memory the allocator holds, its caches of freed blocks "
        "included.\n# TYPE bffd_heap_held_bytes gauge\nbffd_heap_held_bytes{allocator=\"%s\"} "
        "%zu\n",
        heap.allocator, heap.allocated, heap.allocator, heap.held);
    bff_config_release(config);
    *len = o.len;
    return o.buf;
}
