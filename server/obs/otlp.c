/* The OTLP/HTTP span exporter (otlp.h). */
#include "server/obs/otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/json_write.h"
#include "compose/mem.h"

struct st_bff_otlp_t {
    bff_curl_loop_t *curl;
    bff_timers_t *timers;
    bff_tracing_conf_t conf;
    bff_site_metrics_t *metrics;
    char *spans; /* comma-separated span objects waiting */
    size_t len, cap, nspans;
    bff_timer_t flush_timer;
    CURL *easy; /* the export out, if any */
    char *body;
    size_t body_spans;
    struct curl_slist *headers;
};

static void count(bff_otlp_t *x, int exported, size_t n)
{
    if (x->metrics != NULL)
        atomic_fetch_add_explicit(exported ? &x->metrics->spans_exported
                                           : &x->metrics->spans_dropped,
                                  n, memory_order_relaxed);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *data)
{
    (void)ptr, (void)data;
    return size * nmemb;
}

static void end_export(bff_otlp_t *x)
{
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    free(x->body);
    x->body = NULL;
    curl_slist_free_all(x->headers);
    x->headers = NULL;
}

static void export_now(bff_otlp_t *x);

static void on_flush_timer(bff_timer_t *t)
{
    bff_otlp_t *x = H2O_STRUCT_FROM_MEMBER(bff_otlp_t, flush_timer, t);
    if (x->easy == NULL)
        export_now(x);
}

/* After an export: the next batch goes when full, else when its interval passes. */
static void schedule(bff_otlp_t *x)
{
    if (x->nspans >= x->conf.batch_spans)
        export_now(x);
    else if (x->nspans != 0 && !bff_timer_is_armed(&x->flush_timer))
        bff_timer_start(x->timers, &x->flush_timer, x->conf.flush_interval_ms, on_flush_timer);
}

static void on_done(CURL *easy, CURLcode code, void *data)
{
    bff_otlp_t *x = data;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    int ok = code == CURLE_OK && status >= 200 && status <= 299;
    count(x, ok, x->body_spans);
    end_export(x);
    schedule(x);
}

static void export_now(bff_otlp_t *x)
{
    if (x->nspans == 0 || x->easy != NULL)
        return;
    bff_timer_cancel(&x->flush_timer);
    bff_jwrite_t w;
    bff_jwrite_init(&w, x->len + 512, x->len + 4096);
    /* The envelope is verbatim bytes around one tracked value, the escaped service name. */
    bff_jwrite_bytes(&w, H2O_STRLIT("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                                    "\"service.name\",\"value\":{\"stringValue\":"));
    bff_jwrite_str(&w, x->conf.service_name, strlen(x->conf.service_name));
    bff_jwrite_bytes(&w,
                     H2O_STRLIT("}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"bffd\"},\"spans\":["));
    bff_jwrite_bytes(&w, x->spans, x->len);
    bff_jwrite_bytes(&w, H2O_STRLIT("]}]}]}"));
    x->body = bff_strndup(w.buf, w.len);
    size_t body_len = w.len;
    bff_jwrite_dispose(&w);
    x->body_spans = x->nspans;
    x->len = x->nspans = 0;
    x->easy = curl_easy_init();
    x->headers = curl_slist_append(NULL, "Content-Type: application/json");
    x->headers = curl_slist_append(x->headers, "Expect:");
    curl_easy_setopt(x->easy, CURLOPT_URL, x->conf.endpoint);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)x->conf.timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (bff_curl_loop_start(x->curl, x->easy, on_done, x) != 0) {
        count(x, 0, x->body_spans);
        end_export(x);
    }
}

bff_otlp_t *bff_otlp_create(bff_curl_loop_t *curl, bff_timers_t *timers,
                            const bff_tracing_conf_t *conf, bff_site_metrics_t *m)
{
    bff_otlp_t *x = bff_calloc(1, sizeof(*x));
    x->curl = curl;
    x->timers = timers;
    x->conf = *conf;
    x->conf.endpoint = bff_strdup(conf->endpoint);
    x->conf.service_name = bff_strdup(conf->service_name);
    x->metrics = m;
    return x;
}

void bff_otlp_destroy(bff_otlp_t *x)
{
    if (x == NULL)
        return;
    bff_timer_cancel(&x->flush_timer);
    if (x->easy != NULL) {
        bff_curl_loop_cancel(x->curl, x->easy);
        count(x, 0, x->body_spans);
        end_export(x);
    }
    count(x, 0, x->nspans);
    free(x->spans);
    bff_tracing_conf_dispose(&x->conf);
    free(x);
}

const bff_tracing_conf_t *bff_otlp_conf(const bff_otlp_t *x)
{
    return &x->conf;
}

void bff_otlp_add(bff_otlp_t *x, const char *span, size_t len)
{
    if (x->nspans >= x->conf.max_queue_spans) {
        count(x, 0, 1);
        return;
    }
    if (x->len + len + 1 > x->cap) {
        x->cap = (x->len + len + 1) * 2;
        x->spans = bff_realloc(x->spans, x->cap);
    }
    if (x->nspans != 0)
        x->spans[x->len++] = ',';
    memcpy(x->spans + x->len, span, len);
    x->len += len;
    ++x->nspans;
    if (x->easy == NULL)
        schedule(x);
}

int bff_otlp_flush(bff_otlp_t *x)
{
    export_now(x);
    return x->easy != NULL;
}
