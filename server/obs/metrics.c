/* Prometheus metrics (metrics.h). */
#include "server/obs/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/core/server.h"

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
        if (strcmp(c->route, route) == 0) {
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
    size_t b = 0;
    while (b != BFF_METRICS_BUCKETS - 1 && duration_us > bounds_us[b])
        ++b;
    atomic_fetch_add_explicit(&e->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->sum_us, duration_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->count, 1, memory_order_relaxed);
}

typedef struct st_out_t {
    char *buf;
    size_t len, cap;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap *= 2;
        o->buf = bff_realloc(o->buf, o->cap);
    }
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

/* The same route of one profile across workers, summed. */
typedef struct st_sum_t {
    char route[128];
    uint64_t codes[BFF_METRICS_CODES], buckets[BFF_METRICS_BUCKETS], sum_us, count;
} sum_t;

static void render_site(out_t *o, bff_server_t *s, size_t site, const char *profile, int pass)
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
                put(o, "bffd_requests_total{profile=\"%s\",route=\"%s\",code=\"%s\"} %llu\n", p, r,
                    code, (unsigned long long)sums[k].codes[c]);
            }
        } else {
            uint64_t cum = 0;
            for (size_t b = 0; b != BFF_METRICS_BUCKETS; ++b) {
                cum += sums[k].buckets[b];
                if (b != BFF_METRICS_BUCKETS - 1)
                    put(o,
                        "bffd_request_duration_seconds_bucket{profile=\"%s\",route=\"%s\","
                        "le=\"%g\"} %llu\n",
                        p, r, (double)bounds_us[b] / 1e6, (unsigned long long)cum);
                else
                    put(o,
                        "bffd_request_duration_seconds_bucket{profile=\"%s\",route=\"%s\","
                        "le=\"+Inf\"} %llu\n",
                        p, r, (unsigned long long)cum);
            }
            put(o, "bffd_request_duration_seconds_sum{profile=\"%s\",route=\"%s\"} %.6f\n", p, r,
                (double)sums[k].sum_us / 1e6);
            put(o, "bffd_request_duration_seconds_count{profile=\"%s\",route=\"%s\"} %llu\n", p, r,
                (unsigned long long)sums[k].count);
        }
    }
    free(sums);
}

char *bff_metrics_render(bff_server_t *s, size_t *len)
{
    out_t o = {.cap = 16384};
    o.buf = bff_malloc(o.cap);
    bff_config_t *config = bff_server_acquire_config(s);
    put(&o, "# HELP bffd_requests_total Requests answered, by profile, route template and "
            "status.\n# TYPE bffd_requests_total counter\n");
    for (size_t i = 0; i != s->nsites; ++i)
        render_site(&o, s, i, config->sites[i].profile->name, 0);
    put(&o, "# HELP bffd_request_duration_seconds Time from a request's arrival to its answer.\n"
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
        {"bffd_metrics_routes_dropped_total", "Requests whose route found no metrics slot.",
         "counter"},
    };
    for (size_t k = 0; k != sizeof(simple) / sizeof(simple[0]); ++k) {
        put(&o, "# HELP %s %s\n# TYPE %s %s\n", simple[k].name, simple[k].help, simple[k].name,
            simple[k].type);
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
            put(&o, "%s{profile=\"%s\"} %llu\n", simple[k].name,
                esc(config->sites[i].profile->name, p, sizeof(p)), (unsigned long long)v);
        }
    }
    put(&o,
        "# HELP bffd_reloads_total Configuration reloads, by result.\n"
        "# TYPE bffd_reloads_total counter\n"
        "bffd_reloads_total{result=\"ok\"} %llu\nbffd_reloads_total{result=\"rejected\"} %llu\n",
        (unsigned long long)atomic_load(&bff_metrics_reloads_ok),
        (unsigned long long)atomic_load(&bff_metrics_reloads_rejected));
    bff_config_release(config);
    *len = o.len;
    return o.buf;
}
