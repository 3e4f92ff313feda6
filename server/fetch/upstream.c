/* Upstream calls on a worker's curl multi handle, with the resilience policies of their
 * upstream's definition. */
#include "server/fetch/upstream.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compose/cache_policy.h"
#include "compose/fmt.h"
#include "compose/json_write.h"

#include "server/core/clock.h"
#include "server/core/random.h"
#include "server/fetch/backoff.h"
#include "server/fetch/balance.h"
#include "server/fetch/breaker.h"
#include "server/fetch/call_rate.h"
#include "server/fetch/host_slots.h"
#include "server/fetch/upstream_url.h"

#define CALL_MAGIC 0xb1ffca11u
#define FREE_HANDLES_MAX 256

struct st_bff_fetcher_t {
    h2o_evloop_t *loop;
    bff_curl_loop_t *curl;
    bff_timers_t *timers;
    CURL **free_handles;
    size_t nfree;
    CURLSH *tls_sessions; /* the worker's TLS sessions, shared by all its handles */
    bff_host_slots_t *hosts;
    size_t nupstreams; /* alive: must be 0 at destroy */
};

struct st_bff_upstream_t {
    bff_fetcher_t *fetcher;
    size_t refcnt;
    bff_upstream_conf_t conf; /* own copy */
    bff_instance_t *instances;
    CURLU **bases;      /* per instance: its URL parsed once (parse_base), or NULL */
    uint8_t *addressed; /* per instance: its host is an IP address (see configure) */
    bff_host_t **hosts; /* per instance: its host's line (host_slots.h); NULL for HTTP/2 */
    unsigned lane;      /* its curl lane, by profile, name and instance URLs (curl_loop.h) */
    unsigned inflight;
    bff_breaker_t breaker;
    bff_call_rate_t *rate;           /* its rate_limit, shared by the workers; NULL = none */
    bff_upstream_metrics_t *metrics; /* the worker's slot for this upstream's name; may be NULL */
};

struct st_bff_call_t {
    uint32_t magic;
    bff_upstream_t *up; /* retained while the call lives */
    bff_instance_t *inst;
    CURL *easy;
    struct curl_slist *headers;
    char method[8];
    char *path, *body;
    size_t body_len;
    uint64_t timeout_ms, deadline_at;
    unsigned retries;
    int idempotent; /* by method, or by the client's Idempotency-Key */
    int want_headers;
    int want_validators;
    char content_type[64];
    char etag[128], last_modified[40];
    int retry_after;
    int cache_max_age; /* from its Cache-Control (compose/cache_policy.h) */
    unsigned cache_flags;
    char *headers_json;
    char *url;
    CURLU *uh; /* url, parsed: its instance's base plus path and query; NULL = curl parses url */
    struct curl_slist *connect_to; /* tls.server_name: where the URL's host really is */
    bff_fetch_cb cb;
    void *data;
    bff_timer_t retry_timer; /* a retry's back-off; or a call that ran out of time in its line */
    bff_host_wait_t wait;    /* in its host's line, waiting for a slot */
    bff_host_t *slot;        /* the host whose slot the attempt holds, while in curl */
    int in_line;             /* counted in up->inflight but not in curl: waiting, or late */
    uint64_t attempt_deadline;
    uint64_t started_us;
    unsigned attempt;
    char *resp;
    size_t resp_len, resp_cap, resp_max;
    int too_large;
};

/* ---- fetcher and upstreams ---- */

bff_fetcher_t *bff_fetcher_create(h2o_evloop_t *loop, bff_curl_loop_t *curl, bff_timers_t *timers)
{
    bff_fetcher_t *f = bff_calloc(1, sizeof(*f));
    f->loop = loop;
    f->curl = curl;
    f->timers = timers;
    f->free_handles = bff_calloc(FREE_HANDLES_MAX, sizeof(CURL *));
    f->hosts = bff_host_slots_create();
    /* One worker, one thread: the share needs no lock callbacks. */
    f->tls_sessions = curl_share_init();
    if (f->tls_sessions != NULL)
        curl_share_setopt(f->tls_sessions, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return f;
}

void bff_fetcher_destroy(bff_fetcher_t *f)
{
    assert(f->nupstreams == 0);
    for (size_t i = 0; i != f->nfree; ++i)
        curl_easy_cleanup(f->free_handles[i]);
    curl_share_cleanup(f->tls_sessions); /* after every handle that used it */
    bff_host_slots_destroy(f->hosts);
    free(f->free_handles);
    free(f);
}

unsigned bff_fetcher_host_peak(const bff_fetcher_t *f)
{
    return bff_host_slots_peak(f->hosts);
}

bff_upstream_t *bff_upstream_create(bff_fetcher_t *fetcher, const char *profile,
                                    const bff_upstream_conf_t *conf)
{
    bff_upstream_t *up = bff_calloc(1, sizeof(*up));
    up->fetcher = fetcher;
    up->refcnt = 1;
    bff_upstream_conf_copy(&up->conf, conf);
    up->instances = bff_calloc(up->conf.ninstances, sizeof(*up->instances));
    up->bases = bff_calloc(up->conf.ninstances, sizeof(*up->bases));
    up->addressed = bff_calloc(up->conf.ninstances, sizeof(*up->addressed));
    up->hosts = bff_calloc(up->conf.ninstances, sizeof(*up->hosts));
    for (size_t i = 0; i != up->conf.ninstances; ++i) {
        up->instances[i].conf = up->conf.instances + i;
        up->bases[i] = bff_url_parse_base(up->conf.instances[i].url);
        up->addressed[i] = (uint8_t)bff_url_host_is_address(up->bases[i]);
    }
    bff_upstream_acquire_lines(fetcher->hosts, profile, &up->conf, up->hosts);
    /* Where its calls go is part of the key: a reload that moves the upstream elsewhere starts
     * a new pool, and the old one closes with the old definition. */
    size_t keylen = strlen(profile) + strlen(conf->name) + 2;
    for (size_t i = 0; i != up->conf.ninstances; ++i)
        keylen += strlen(up->conf.instances[i].url) + 1;
    char *key = bff_malloc(keylen);
    size_t at = (size_t)snprintf(key, keylen, "%s/%s", profile, conf->name);
    for (size_t i = 0; i != up->conf.ninstances; ++i)
        at += (size_t)snprintf(key + at, keylen - at, " %s", up->conf.instances[i].url);
    up->lane = bff_curl_loop_lane(fetcher->curl, key);
    free(key);
    if (conf->rate_limit.limit != 0)
        up->rate = bff_call_rate_acquire(profile, conf->name, conf->rate_limit.limit,
                                         conf->rate_limit.period_ms, conf->rate_limit.burst);
    ++fetcher->nupstreams;
    return up;
}

void bff_upstream_retain(bff_upstream_t *up)
{
    ++up->refcnt;
}

void bff_upstream_release(bff_upstream_t *up)
{
    if (up == NULL || --up->refcnt != 0)
        return;
    assert(up->inflight == 0);
    --up->fetcher->nupstreams;
    bff_curl_loop_lane_release(up->fetcher->curl, up->lane);
    bff_call_rate_release(up->rate);
    for (size_t i = 0; i != up->conf.ninstances; ++i) {
        curl_url_cleanup(up->bases[i]);
        bff_host_release(up->hosts[i]);
    }
    free(up->bases);
    free(up->addressed);
    free(up->hosts);
    free(up->instances);
    bff_upstream_conf_dispose(&up->conf);
    free(up);
}

void bff_upstream_set_metrics(bff_upstream_t *up, bff_upstream_metrics_t *metrics)
{
    up->metrics = metrics;
    bff_metrics_breaker(metrics, (int)up->breaker.state);
}

const bff_upstream_conf_t *bff_upstream_conf(const bff_upstream_t *up)
{
    return &up->conf;
}

/* ---- curl handles ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    bff_call_t *call = userdata;
    size_t n = size * nmemb;
    if (call->resp_len + n > call->resp_max) {
        call->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (call->resp_len + n > call->resp_cap) {
        size_t cap = call->resp_cap ? call->resp_cap : 16384;
        while (cap < call->resp_len + n)
            cap *= 2;
        call->resp = bff_realloc(call->resp, cap);
        call->resp_cap = cap;
    }
    memcpy(call->resp + call->resp_len, ptr, n);
    call->resp_len += n;
    return n;
}

/* What every call sets alike, once per handle (and again after a curl_easy_reset): a string
 * option set on every use would be copied and freed each time. */
static void set_common_options(CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_PROXY, ""); /* no proxy, and no proxy variables read */
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
    /* The URL bffd built is the URL the upstream gets, byte for byte: no dot-segment removal. */
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
}

static CURL *take_handle(bff_fetcher_t *f)
{
    /* No curl_easy_reset: configure() sets every other option a call may have changed. */
    if (f->nfree != 0)
        return f->free_handles[--f->nfree];
    /* A handle keeps its share through curl_easy_reset. Shared, a new connection to an upstream
     * resumes the TLS session any handle of the worker made, instead of a full handshake. */
    CURL *easy = curl_easy_init();
    if (easy == NULL)
        return NULL;
    if (f->tls_sessions != NULL)
        curl_easy_setopt(easy, CURLOPT_SHARE, f->tls_sessions);
    set_common_options(easy);
    return easy;
}

/* Whether the upstream's calls set TLS options, which a reused handle would carry into calls to
 * other upstreams: such handles are reset before they are reused. */
static int has_tls_options(const bff_upstream_conf_t *conf)
{
    return conf->tls.ca != NULL || conf->tls.certificate != NULL || conf->tls.server_name != NULL ||
           !conf->tls.verify;
}

static void give_back_handle(bff_fetcher_t *f, CURL *easy, const bff_upstream_conf_t *conf)
{
    if (has_tls_options(conf)) {
        curl_easy_reset(easy);
        set_common_options(easy);
    }
    if (f->nfree < FREE_HANDLES_MAX)
        f->free_handles[f->nfree++] = easy;
    else
        curl_easy_cleanup(easy);
}

/* With a server_name, the URL names that host (so curl verifies it and sends it as SNI) and
 * CURLOPT_CONNECT_TO sends the connection to the instance's own address. */
static void set_url_and_tls(bff_call_t *call)
{
    const bff_upstream_conf_t *conf = &call->up->conf;
    CURL *e = call->easy;
    const char *base = call->inst->conf->url, *host = strstr(base, "://") + 3;
    size_t pathlen = strlen(call->path);
    curl_url_cleanup(call->uh);
    call->uh = NULL;
    if (conf->tls.server_name == NULL) {
        size_t baselen = strlen(base);
        call->url = bff_realloc(call->url, baselen + pathlen + 1);
        memcpy(call->url, base, baselen);
        memcpy(call->url + baselen, call->path, pathlen + 1);
        call->uh = bff_url_with_target(call->up->bases[call->inst - call->up->instances],
                                       call->url + bff_url_authority_len(base));
    } else {
        const char *end = host[0] == '[' ? strchr(host, ']') : host;
        const char *colon = strchr(end != NULL ? end : host, ':');
        const char *port = colon ? colon + 1 : "443";
        size_t hostlen = colon ? (size_t)(colon - host) : strlen(host);
        size_t n = strlen(conf->tls.server_name) + strlen(port) + pathlen + 16;
        call->url = bff_realloc(call->url, n);
        snprintf(call->url, n, "https://%s:%s%s", conf->tls.server_name, port, call->path);
        char connect_to[512];
        snprintf(connect_to, sizeof(connect_to), "%s:%s:%.*s:%s", conf->tls.server_name, port,
                 (int)hostlen, host, port);
        curl_slist_free_all(call->connect_to);
        call->connect_to = curl_slist_append(NULL, connect_to);
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, call->connect_to);
    }
    /* Both: curl takes host, port and target from the CURLU and keeps the string as the URL it
     * reports, instead of parsing the string and rebuilding it from the parts. Set on every use:
     * curl reads it only when a transfer starts, so a pooled handle may keep a freed one. */
    curl_easy_setopt(e, CURLOPT_URL, call->url);
    curl_easy_setopt(e, CURLOPT_CURLU, call->uh);
    if (conf->tls.ca != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, conf->tls.ca);
    if (conf->tls.certificate != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, conf->tls.certificate);
        curl_easy_setopt(e, CURLOPT_SSLKEY, conf->tls.key);
    }
    if (!conf->tls.verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static void configure(bff_call_t *call, uint64_t attempt_ms)
{
    const bff_upstream_conf_t *conf = &call->up->conf;
    CURL *e = call->easy;
    set_url_and_tls(call);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)attempt_ms);
    uint64_t connect_ms =
        conf->connect_timeout_ms < attempt_ms ? conf->connect_timeout_ms : attempt_ms;
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    /* curl 7.88 walks its whole DNS cache after every transfer to drop stale names (about 900
     * instructions a call); an IP address goes stale never. Set on every use: handles are
     * shared by upstreams, and a name keeps curl's default of 60 s. */
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT,
                     call->up->addressed[call->inst - call->up->instances] ? -1L : 60L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->max_body_bytes);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     conf->http2 ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                 : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, conf->http2 ? 1L : 0L);
    if (call->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)call->body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* also clears a previous use's body */
    }
    /* Named HEAD alone, curl would wait for the body a Content-Length announces. After the
     * body options, which clear it; set on every use since handles are reused. */
    curl_easy_setopt(e, CURLOPT_NOBODY, strcmp(call->method, "HEAD") == 0 ? 1L : 0L);
    /* A body makes curl send POST unless told otherwise: name every method but a plain GET. */
    int plain_get = strcmp(call->method, "GET") == 0 && call->body == NULL;
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, plain_get ? NULL : call->method);
}

static void on_transfer_done(CURL *easy, CURLcode code, void *data);
static void finish(bff_call_t *call, const char *err, long status, const char *detail,
                   const char *log_detail);

/* Hands the attempt to curl, with `attempt_ms` left of its time. */
static int launch(bff_call_t *call, uint64_t attempt_ms)
{
    bff_fetcher_t *f = call->up->fetcher;
    call->easy = take_handle(f);
    call->resp_len = 0;
    call->too_large = 0;
    configure(call, attempt_ms);
    ++call->attempt;
    ++call->inst->outstanding;
    if (bff_curl_loop_start_in(f->curl, call->up->lane, call->easy, on_transfer_done, call) != 0) {
        --call->inst->outstanding;
        give_back_handle(f, call->easy, &call->up->conf);
        call->easy = NULL;
        return -1;
    }
    return 0;
}

/* A call that will not go to curl after all leaves its host's line (if it still stands in it) and
 * stops counting as in flight. */
static void leave_line(bff_call_t *call)
{
    if (call->wait.host != NULL) {
        bff_host_unwait(&call->wait);
        bff_metrics_waiting(call->up->metrics, -1);
    }
    if (call->in_line) {
        call->in_line = 0;
        --call->up->inflight;
    }
}

/* A call whose time ran out in its host's line (or that could not start when its turn came). */
static void on_line_timeout(bff_timer_t *timer)
{
    bff_call_t *call = H2O_STRUCT_FROM_MEMBER(bff_call_t, retry_timer, timer);
    assert(call->magic == CALL_MAGIC && call->in_line);
    leave_line(call);
    char detail[160];
    bff_err_describe(bff_err_upstream_timeout, 0, detail, sizeof(detail));
    finish(call, bff_err_upstream_timeout, 0, detail,
           "no connection to the upstream came free in time (calls beyond max_connections wait)");
}

/* Gives back the slot an attempt held and lets the first in line go, and as many more as there
 * are free slots (a reload may have raised the cap). Calls nobody back: a call whose time ran out
 * while it waited is finished from a timer, on the next turn of the loop. */
static void give_back_slot(bff_fetcher_t *f, bff_host_t *host)
{
    if (host == NULL)
        return;
    bff_host_wait_t *w = bff_host_leave(host);
    while (w != NULL) {
        bff_call_t *next = H2O_STRUCT_FROM_MEMBER(bff_call_t, wait, w);
        bff_metrics_waiting(next->up->metrics, -1);
        bff_timer_cancel(&next->retry_timer);
        uint64_t now = h2o_now(f->loop);
        if (next->attempt_deadline > now + BFF_MIN_ATTEMPT_MS) {
            next->slot = host;
            if (launch(next, next->attempt_deadline - now) == 0) {
                next->in_line = 0;
                w = bff_host_next(host);
                continue;
            }
            next->slot = NULL;
        }
        bff_timer_start(f->timers, &next->retry_timer, 0, on_line_timeout);
        w = bff_host_leave(host); /* the slot it was handed goes on down the line */
    }
}

static int start_attempt(bff_call_t *call)
{
    bff_fetcher_t *f = call->up->fetcher;
    uint64_t now = h2o_now(f->loop);
    uint64_t attempt_ms = call->timeout_ms ? call->timeout_ms : call->up->conf.timeout_ms;
    if (call->deadline_at != 0) {
        if (call->deadline_at <= now + BFF_MIN_ATTEMPT_MS)
            return -1;
        if (call->deadline_at - now < attempt_ms)
            attempt_ms = call->deadline_at - now;
    }
    call->inst =
        bff_balance_pick(call->up->instances, call->up->conf.ninstances, call->up->conf.lb, now);
    /* Beyond the host's cap a call waits in bffd's line, not in curl's pending list. Its time
     * there counts: what is left of attempt_ms when its turn comes is what curl gets. */
    call->attempt_deadline = now + attempt_ms;
    ++call->up->inflight; /* waiting or in curl: what the bulkhead and the shedding count */
    bff_host_t *host = call->up->hosts[call->inst - call->up->instances];
    if (host != NULL && !bff_host_try_enter(host)) {
        bff_host_wait(host, &call->wait);
        bff_metrics_waiting(call->up->metrics, 1); /* a reload keeps an upstream's slot */
        call->in_line = 1;
        bff_timer_start(f->timers, &call->retry_timer, attempt_ms, on_line_timeout);
        return 0;
    }
    call->slot = host;
    if (launch(call, attempt_ms) != 0) {
        --call->up->inflight;
        call->slot = NULL;
        give_back_slot(f, host);
        return -1;
    }
    return 0;
}

/* Everything a call owns; the curl handle has been given back already. A trial that ends
 * without a verdict (cancelled, or out of time before its retry) lets the next call try. */
static void call_free(bff_call_t *call)
{
    bff_breaker_forget(&call->up->breaker, call);
    curl_slist_free_all(call->headers);
    free(call->path);
    free(call->body);
    free(call->resp);
    free(call->url);
    curl_url_cleanup(call->uh);
    free(call->headers_json);
    curl_slist_free_all(call->connect_to);
    bff_upstream_release(call->up);
    call->magic = 0;
    free(call);
}

static void finish(bff_call_t *call, const char *err, long status, const char *detail,
                   const char *log_detail)
{
    if (call->cb == NULL) { /* a detached trial: its verdict is recorded, nobody waits */
        call_free(call);
        return;
    }
    uint64_t took_us = bff_now_us() - call->started_us;
    bff_metrics_call(call->up->metrics, err, status, took_us);
    bff_fetch_result_t res = {.err = err,
                              .status = status,
                              .duration_us = took_us,
                              .attempts = call->attempt,
                              .retry_after = call->retry_after,
                              .cache_max_age = call->cache_max_age,
                              .cache_flags = call->cache_flags};
    if (err == NULL || err == bff_err_upstream_status) { /* an answer, maybe an error body */
        res.body = call->resp;
        res.body_len = call->resp_len;
        call->resp = NULL;
        res.headers_json = call->headers_json;
        call->headers_json = NULL;
        memcpy(res.content_type, call->content_type, sizeof(res.content_type));
        memcpy(res.etag, call->etag, sizeof(res.etag));
        memcpy(res.last_modified, call->last_modified, sizeof(res.last_modified));
    }
    bff_copy_str(res.detail, sizeof(res.detail), detail ? detail : "");
    bff_copy_str(res.log_detail, sizeof(res.log_detail), log_detail ? log_detail : "");
    bff_fetch_cb cb = call->cb;
    void *data = call->data;
    call_free(call);
    cb(data, &res);
}

static void on_retry_timer(bff_timer_t *timer)
{
    bff_call_t *call = H2O_STRUCT_FROM_MEMBER(bff_call_t, retry_timer, timer);
    assert(call->magic == CALL_MAGIC);
    /* A retry takes its slot of the upstream's rate_limit when it goes out, not when it was
     * scheduled: retries waiting out a backoff must not add to a burst. */
    if (call->up->rate != NULL && !bff_call_rate_take(call->up->rate, bff_now_us())) {
        char detail[160];
        bff_err_describe(bff_err_upstream_rate_limited, 0, detail, sizeof(detail));
        finish(call, bff_err_upstream_rate_limited, 0, detail, NULL);
        return;
    }
    if (start_attempt(call) != 0)
        finish(call, bff_err_upstream_timeout, 0, "deadline reached before the retry could start",
               NULL);
}

static int schedule_retry(bff_call_t *call)
{
    bff_fetcher_t *f = call->up->fetcher;
    uint64_t backoff = bff_backoff_ms(call->attempt, bff_random_u64());
    if (call->retry_after >= 0 && (uint64_t)call->retry_after * 1000 > backoff)
        backoff = (uint64_t)call->retry_after * 1000; /* as the upstream asked, if time allows */
    if (!bff_backoff_fits(h2o_now(f->loop), backoff, call->deadline_at))
        return -1;
    bff_timer_start(f->timers, &call->retry_timer, backoff, on_retry_timer);
    return 0;
}

/* What went wrong, twice: `detail` for clients (no URL, host, address or libcurl wording: a
 * partner must not learn the topology behind bffd), `log` with everything, for operators. */
static const char *classify(CURLcode code, bff_call_t *call, char *detail, size_t size, char *log,
                            size_t logsize)
{
    char url[256];
    bff_url_redacted(call->inst->conf->url, strlen(call->inst->conf->url), url, sizeof(url));
    snprintf(log, logsize, "%.*s: %s", (int)strnlen(url, sizeof(url)), url,
             curl_easy_strerror(code));
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        bff_err_describe(bff_err_upstream_timeout, 0, detail, size);
        return bff_err_upstream_timeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        bff_err_describe(bff_err_upstream_connect, 0, detail, size);
        return bff_err_upstream_connect;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (call->too_large || code == CURLE_FILESIZE_EXCEEDED) {
            snprintf(detail, size, "response body larger than %llu bytes",
                     (unsigned long long)call->up->conf.max_body_bytes);
            return bff_err_upstream_too_large;
        }
        /* fallthrough */
    default:
        bff_err_describe(bff_err_upstream_transport, 0, detail, size);
        return bff_err_upstream_transport;
    }
}

/* Retry-After as delta-seconds or an HTTP-date; -1 when absent or unreadable. */
static int read_retry_after(CURL *easy)
{
    struct curl_header *h;
    if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return -1;
    char *end;
    long v = strtol(h->value, &end, 10);
    if (end != h->value && *end == '\0' && v >= 0)
        return v > 86400 ? 86400 : (int)v;
    time_t at = curl_getdate(h->value, NULL);
    time_t now = time(NULL);
    if (at == -1)
        return -1;
    return at <= now ? 0 : at - now > 86400 ? 86400 : (int)(at - now);
}

/* The response's headers as a JSON object with lower-cased names (the last of a repeated name
 * wins), for sources whose `$headers` a template reads. */
static char *headers_as_json(CURL *easy)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 512, 64 * 1024);
    bff_jwrite_open(&w, '{');
    struct curl_header *h = NULL;
    while ((h = curl_easy_nextheader(easy, CURLH_HEADER, -1, h)) != NULL) {
        char name[128];
        size_t n = strlen(h->name);
        if (n >= sizeof(name))
            continue;
        for (size_t i = 0; i != n; ++i)
            name[i] = (char)tolower((unsigned char)h->name[i]);
        bff_jwrite_key(&w, name, n);
        bff_jwrite_str(&w, h->value, strlen(h->value));
    }
    bff_jwrite_close(&w, '}');
    char *json = bff_jwrite_done(&w) == 0 ? bff_strndup(w.buf, w.len) : bff_strdup("{}");
    bff_jwrite_dispose(&w);
    return json;
}

/* ETag and Last-Modified, for an endpoint whose entry revalidates with conditional requests;
 * a value that does not fit (or carries a control byte) counts as absent. */
static void read_validators(CURL *easy, bff_call_t *call)
{
    static const char *const names[] = {"ETag", "Last-Modified"};
    char *const outs[] = {call->etag, call->last_modified};
    const size_t sizes[] = {sizeof(call->etag), sizeof(call->last_modified)};
    for (int i = 0; i != 2; ++i) {
        struct curl_header *h;
        outs[i][0] = '\0';
        if (curl_easy_header(easy, names[i], 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
            continue;
        size_t n = strlen(h->value);
        int clean = n != 0 && n < sizes[i];
        for (size_t k = 0; clean && k != n; ++k)
            clean = (unsigned char)h->value[k] >= 0x20 && h->value[k] != 0x7f;
        if (clean)
            memcpy(outs[i], h->value, n + 1);
    }
}

static void on_transfer_done(CURL *easy, CURLcode code, void *data)
{
    bff_call_t *call = data;
    assert(call->magic == CALL_MAGIC);
    bff_upstream_t *up = call->up;
    uint64_t now = h2o_now(up->fetcher->loop);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200) /* an interim answer (103) and then nothing is no answer */
        status = 0;
    char *ct = NULL;
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
    bff_copy_str(call->content_type, sizeof(call->content_type), ct ? ct : "");
    call->retry_after = status == 429 || status == 503 ? read_retry_after(easy) : -1;
    struct curl_header *cc;
    call->cache_flags = 0;
    if (curl_easy_header(easy, "Cache-Control", 0, CURLH_HEADER, -1, &cc) == CURLHE_OK)
        bff_cache_control_parse(cc->value, &call->cache_max_age, &call->cache_flags);
    free(call->headers_json);
    call->headers_json = call->want_headers && status != 0 ? headers_as_json(easy) : NULL;
    if (call->want_validators)
        read_validators(easy, call);
    give_back_handle(up->fetcher, easy, &up->conf);
    call->easy = NULL;
    --call->inst->outstanding;
    --up->inflight;
    give_back_slot(up->fetcher, call->slot); /* the next in line goes before this one's answer */
    call->slot = NULL;

    char detail[160] = "", log[200] = "";
    const char *err = NULL;
    if (code != CURLE_OK) {
        err = classify(code, call, detail, sizeof(detail), log, sizeof(log));
    } else if (status < 200 || status > 299) {
        err = bff_err_upstream_status;
        bff_err_describe(err, status, detail, sizeof(detail));
    }
    /* 4xx is the caller's problem, not the upstream's: it neither trips nor retries; but a 429
     * (bffd is being throttled) is worth another try later, like a 503. */
    int upstream_fault = err != NULL && !(err == bff_err_upstream_status && status < 500) &&
                         err != bff_err_upstream_too_large;
    bff_breaker_record(&up->breaker, &up->conf.breaker, upstream_fault, now);
    bff_metrics_breaker(up->metrics, (int)up->breaker.state);
    bff_balance_record(call->inst, up->conf.ninstances, &up->conf.passive_health, upstream_fault,
                       now);
    if ((upstream_fault || status == 429) && call->cb != NULL && call->attempt <= call->retries &&
        call->idempotent && bff_breaker_allows(&up->breaker, &up->conf.breaker, call, now) &&
        schedule_retry(call) == 0)
        return;
    finish(call, err, status, detail, log);
}

static bff_call_t *call_start(bff_upstream_t *up, const bff_fetch_req_t *req, uint64_t deadline_at,
                              bff_fetch_cb cb, void *data, const char **err);

bff_call_t *bff_call_start(bff_upstream_t *up, const bff_fetch_req_t *req, uint64_t deadline_at,
                           bff_fetch_cb cb, void *data, const char **err)
{
    bff_call_t *call = call_start(up, req, deadline_at, cb, data, err);
    if (call == NULL) /* failed fast: counted as a call that took no time */
        bff_metrics_call(up->metrics, *err, 0, 0);
    bff_metrics_breaker(up->metrics, (int)up->breaker.state);
    return call;
}

/* Whether one of the run's own lines (request id, trace context, claims, Idempotency-Key) goes to
 * an upstream whose `propagate` is `propagate`; a source's own headers always go. */
static int propagates(unsigned propagate, const char *line)
{
    if (strncasecmp(line, "X-Request-ID:", 13) == 0)
        return (propagate & BFF_PROPAGATE_REQUEST_ID) != 0;
    if (strncasecmp(line, "traceparent:", 12) == 0 || strncasecmp(line, "tracestate:", 11) == 0)
        return (propagate & BFF_PROPAGATE_TRACE_CONTEXT) != 0;
    return 1;
}

static bff_call_t *call_start(bff_upstream_t *up, const bff_fetch_req_t *req, uint64_t deadline_at,
                              bff_fetch_cb cb, void *data, const char **err)
{
    uint64_t now = h2o_now(up->fetcher->loop);
    if (up->conf.max_concurrent != 0 && up->inflight >= up->conf.max_concurrent) {
        *err = bff_err_bulkhead_full;
        return NULL;
    }
    /* Past what its connections carry plus the queue allowed, a call would only wait: shed. */
    if (up->inflight >=
        (uint64_t)up->conf.max_connections * up->conf.ninstances + up->conf.max_queued) {
        *err = bff_err_overloaded;
        return NULL;
    }
    bff_call_t *call = bff_calloc(1, sizeof(*call));
    if (!bff_breaker_allows(&up->breaker, &up->conf.breaker, call, now)) {
        free(call);
        *err = bff_err_circuit_open;
        return NULL;
    }
    /* After the breaker, which forgets a trial refused here; never queued: a call over the
     * rate fails at once, like one the breaker or the bulkhead refuses. */
    if (up->rate != NULL && !bff_call_rate_take(up->rate, bff_now_us())) {
        bff_breaker_forget(&up->breaker, call);
        free(call);
        *err = bff_err_upstream_rate_limited;
        return NULL;
    }
    call->magic = CALL_MAGIC;
    call->up = up;
    bff_upstream_retain(up);
    call->cb = cb;
    call->data = data;
    call->started_us = bff_now_us();
    call->resp_max = up->conf.max_body_bytes;
    call->timeout_ms = req->timeout_ms;
    call->deadline_at = deadline_at;
    call->retries = req->retries;
    call->idempotent = req->idempotent || bff_method_is_idempotent(req->method);
    call->want_headers = req->want_headers;
    call->want_validators = req->want_validators;
    call->retry_after = -1;
    /* Our own copies: retries outlive the caller's strings. */
    bff_copy_str(call->method, sizeof(call->method), req->method);
    call->path = bff_strdup(req->path);
    if (req->body != NULL) {
        call->body = bff_strndup(req->body, req->body_len);
        call->body_len = req->body_len;
    }
    unsigned propagate = up->conf.propagate;
    for (size_t i = 0; i != req->nheaders; ++i)
        if (propagate == BFF_PROPAGATE_ALL || i >= req->own_headers_at ||
            propagates(propagate, req->headers[i]))
            call->headers = curl_slist_append(call->headers, req->headers[i]);
    if (call->body != NULL) /* no "Expect: 100-continue" round trip; curl checks each header */
        call->headers = curl_slist_append(call->headers, "Expect:");
    if (start_attempt(call) != 0) {
        *err = bff_err_upstream_timeout;
        call_free(call);
        return NULL;
    }
    return call;
}

void bff_call_cancel(bff_call_t *call)
{
    assert(call->magic == CALL_MAGIC && call->cb != NULL);
    if (call->up->breaker.trial == call && call->easy != NULL) {
        /* The half-open trial decides whether the breaker closes. Cancelled, it would leave no
         * verdict, and a request whose other call to the same upstream was refused meanwhile
         * would cancel every trial it gets: the breaker would never close. So it runs on,
         * detached, to its own timeout. */
        call->cb = NULL;
        return;
    }
    bff_timer_cancel(&call->retry_timer);
    leave_line(call);
    if (call->easy != NULL) {
        bff_curl_loop_cancel(call->up->fetcher->curl, call->easy);
        give_back_handle(call->up->fetcher, call->easy, &call->up->conf);
        --call->inst->outstanding;
        --call->up->inflight;
        give_back_slot(call->up->fetcher, call->slot);
        call->slot = NULL;
    }
    call_free(call);
}
