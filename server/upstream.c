/* Upstream calls on a worker's curl multi handle, with the resilience policies of the
 * profile. It moves bytes and statuses; it never parses bodies. */
#include "server/upstream.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "server/curl_loop.h"
#include "server/server.h"
#include "server/timer.h"

const char bff_err_upstream_timeout[] = "timeout";
const char bff_err_upstream_connect[] = "connection failed";
const char bff_err_upstream_status[] = "bad status";
const char bff_err_upstream_too_large[] = "response too large";
const char bff_err_upstream_transport[] = "transfer failed";
const char bff_err_circuit_open[] = "circuit open";
const char bff_err_bulkhead_full[] = "too many concurrent calls";

#define BACKOFF_BASE_MS 25
#define MIN_ATTEMPT_MS 5
#define FREE_HANDLES_MAX 256

typedef enum { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN } breaker_state_t;

typedef struct st_instance_t {
    const bff_instance_conf_t *conf;
    unsigned outstanding;
    unsigned consecutive_failures;
    uint64_t ejected_until;
    int64_t current_weight; /* smooth weighted round robin */
} instance_t;

typedef struct st_upstream_t {
    const bff_upstream_conf_t *conf;
    instance_t *instances;
    unsigned inflight;
    struct {
        breaker_state_t state;
        unsigned consecutive_failures;
        uint64_t opened_at;
        uint64_t window_start;
        unsigned window_calls, window_failures;
        bff_call_t *trial; /* half-open: the one call allowed through, until it ends */
    } breaker;
} upstream_t;

struct st_bff_upstreams_t {
    bff_worker_t *worker;
    upstream_t **by_profile; /* [profile][upstream] */
    bff_timers_t *timers;
    CURL **free_handles;
    size_t nfree;
};

struct st_bff_call_t {
    bff_upstreams_t *ups;
    upstream_t *up;
    instance_t *inst;
    CURL *easy;
    struct curl_slist *headers;
    bff_call_req_t req;
    char *url;
    bff_call_cb cb;
    void *data;
    bff_timer_t retry_timer;
    uint64_t started_us;
    unsigned attempt;
    char *body;
    size_t body_len, body_cap, body_max;
    int too_large;
};

static uint64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

static uint64_t loop_now(bff_upstreams_t *ups)
{
    return h2o_now(ups->worker->loop);
}

bff_upstreams_t *bff_upstreams_create(bff_worker_t *worker, bff_profile_t **profiles, size_t n)
{
    bff_upstreams_t *ups = bff_calloc(1, sizeof(*ups));
    ups->worker = worker;
    ups->timers = &worker->timers;
    ups->by_profile = bff_calloc(n, sizeof(upstream_t *));
    ups->free_handles = bff_calloc(FREE_HANDLES_MAX, sizeof(CURL *));
    for (size_t p = 0; p != n; ++p) {
        ups->by_profile[p] = bff_calloc(profiles[p]->nupstreams, sizeof(upstream_t));
        for (size_t u = 0; u != profiles[p]->nupstreams; ++u) {
            upstream_t *up = ups->by_profile[p] + u;
            up->conf = profiles[p]->upstreams + u;
            up->instances = bff_calloc(up->conf->ninstances, sizeof(instance_t));
            for (size_t i = 0; i != up->conf->ninstances; ++i)
                up->instances[i].conf = up->conf->instances + i;
        }
    }
    return ups;
}

/* ---- breaker ---- */

/* Whether `call` may go out now; in half-open, it becomes the trial. */
static int breaker_allows(upstream_t *up, bff_call_t *call, uint64_t now)
{
    switch (up->breaker.state) {
    case BREAKER_CLOSED:
        return 1;
    case BREAKER_OPEN:
        if (now < up->breaker.opened_at + up->conf->breaker.cooldown_ms)
            return 0;
        up->breaker.state = BREAKER_HALF_OPEN;
        up->breaker.trial = NULL;
        /* fallthrough */
    case BREAKER_HALF_OPEN:
        if (up->breaker.trial != NULL)
            return 0;
        up->breaker.trial = call; /* exactly one trial call decides */
        return 1;
    }
    return 1;
}

static void breaker_open(upstream_t *up, uint64_t now)
{
    up->breaker.state = BREAKER_OPEN;
    up->breaker.opened_at = now;
    up->breaker.trial = NULL;
}

static void breaker_record(upstream_t *up, int failed, uint64_t now)
{
    const bff_upstream_conf_t *c = up->conf;
    if (up->breaker.state == BREAKER_HALF_OPEN) {
        up->breaker.trial = NULL;
        if (failed) {
            breaker_open(up, now);
        } else {
            up->breaker.state = BREAKER_CLOSED;
            up->breaker.consecutive_failures = 0;
            up->breaker.window_calls = up->breaker.window_failures = 0;
            up->breaker.window_start = now;
        }
        return;
    }
    if (now >= up->breaker.window_start + c->breaker.window_ms) {
        up->breaker.window_start = now;
        up->breaker.window_calls = up->breaker.window_failures = 0;
    }
    ++up->breaker.window_calls;
    if (!failed) {
        up->breaker.consecutive_failures = 0;
        return;
    }
    ++up->breaker.window_failures;
    ++up->breaker.consecutive_failures;
    int by_count = c->breaker.consecutive_failures != 0 &&
                   up->breaker.consecutive_failures >= c->breaker.consecutive_failures;
    int by_ratio = c->breaker.error_ratio_percent != 0 &&
                   up->breaker.window_calls >= c->breaker.min_calls &&
                   up->breaker.window_failures * 100 >=
                       c->breaker.error_ratio_percent * up->breaker.window_calls;
    if (up->breaker.state == BREAKER_CLOSED && (by_count || by_ratio))
        breaker_open(up, now);
}

/* ---- instance choice ---- */

static int instance_usable(const instance_t *inst, uint64_t now)
{
    return inst->conf->weight != 0 && inst->ejected_until <= now;
}

static instance_t *pick_instance(upstream_t *up, uint64_t now)
{
    size_t n = up->conf->ninstances;
    if (n == 1)
        return up->instances;
    instance_t *best = NULL;
    if (up->conf->lb == BFF_LB_LEAST_OUTSTANDING) {
        for (size_t i = 0; i != n; ++i) {
            instance_t *in = up->instances + i;
            /* Compare outstanding/weight without division. */
            if (instance_usable(in, now) &&
                (best == NULL || (uint64_t)in->outstanding * best->conf->weight <
                                     (uint64_t)best->outstanding * in->conf->weight))
                best = in;
        }
    } else { /* smooth weighted round robin (as nginx) */
        int64_t total = 0;
        for (size_t i = 0; i != n; ++i) {
            instance_t *in = up->instances + i;
            if (!instance_usable(in, now))
                continue;
            in->current_weight += in->conf->weight;
            total += in->conf->weight;
            if (best == NULL || in->current_weight > best->current_weight)
                best = in;
        }
        if (best != NULL)
            best->current_weight -= total;
    }
    if (best != NULL)
        return best;
    /* Every instance ejected: rather than failing everything, use the one back soonest. */
    best = up->instances;
    for (size_t i = 1; i != n; ++i)
        if (up->instances[i].ejected_until < best->ejected_until)
            best = up->instances + i;
    return best;
}

static void instance_record(upstream_t *up, instance_t *inst, int failed, uint64_t now)
{
    if (!failed) {
        inst->consecutive_failures = 0;
        return;
    }
    if (++inst->consecutive_failures >= up->conf->passive_health.consecutive_failures &&
        up->conf->ninstances > 1) {
        inst->ejected_until = now + up->conf->passive_health.ejection_ms;
        inst->consecutive_failures = 0;
    }
}

/* ---- curl handles ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    bff_call_t *call = userdata;
    size_t n = size * nmemb;
    if (call->body_len + n > call->body_max) {
        call->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (call->body_len + n > call->body_cap) {
        size_t cap = call->body_cap ? call->body_cap : 16384;
        while (cap < call->body_len + n)
            cap *= 2;
        call->body = bff_realloc(call->body, cap);
        call->body_cap = cap;
    }
    memcpy(call->body + call->body_len, ptr, n);
    call->body_len += n;
    return n;
}

static CURL *take_handle(bff_upstreams_t *ups)
{
    /* No curl_easy_reset: configure() sets every option a call may have changed. */
    if (ups->nfree != 0)
        return ups->free_handles[--ups->nfree];
    return curl_easy_init();
}

static void give_back_handle(bff_upstreams_t *ups, CURL *easy)
{
    if (ups->nfree < FREE_HANDLES_MAX)
        ups->free_handles[ups->nfree++] = easy;
    else
        curl_easy_cleanup(easy);
}

static int is_idempotent(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

static void on_transfer_done(CURL *easy, CURLcode code, void *data);

static void configure(bff_call_t *call, uint64_t attempt_ms)
{
    const bff_upstream_conf_t *conf = call->up->conf;
    CURL *e = call->easy;
    size_t baselen = strlen(call->inst->conf->url), pathlen = strlen(call->req.path);
    call->url = bff_realloc(call->url, baselen + pathlen + 1);
    memcpy(call->url, call->inst->conf->url, baselen);
    memcpy(call->url + baselen, call->req.path, pathlen + 1);
    curl_easy_setopt(e, CURLOPT_URL, call->url);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* no proxy environment lookup per transfer */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)attempt_ms);
    uint64_t connect_ms =
        conf->connect_timeout_ms < attempt_ms ? conf->connect_timeout_ms : attempt_ms;
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->max_body_bytes);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     conf->http2 ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                 : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, conf->http2 ? 1L : 0L);
    if (call->req.body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->req.body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)call->req.body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* also clears a previous use's body */
    }
    /* Named HEAD alone, curl would wait for the body a Content-Length announces. After the
     * body options, which clear it; set on every use since handles are reused. */
    curl_easy_setopt(e, CURLOPT_NOBODY, strcmp(call->req.method, "HEAD") == 0 ? 1L : 0L);
    /* A body makes curl send POST unless told otherwise: name every method but a plain GET. */
    int plain_get = strcmp(call->req.method, "GET") == 0 && call->req.body == NULL;
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, plain_get ? NULL : call->req.method);
}

static int start_attempt(bff_call_t *call)
{
    bff_upstreams_t *ups = call->ups;
    uint64_t now = loop_now(ups);
    uint64_t attempt_ms = call->req.timeout_ms ? call->req.timeout_ms : call->up->conf->timeout_ms;
    if (call->req.deadline_at != 0) {
        if (call->req.deadline_at <= now + MIN_ATTEMPT_MS)
            return -1;
        if (call->req.deadline_at - now < attempt_ms)
            attempt_ms = call->req.deadline_at - now;
    }
    call->inst = pick_instance(call->up, now);
    call->easy = take_handle(ups);
    call->body_len = 0;
    call->too_large = 0;
    configure(call, attempt_ms);
    ++call->attempt;
    ++call->inst->outstanding;
    ++call->up->inflight;
    if (bff_curl_loop_start(ups->worker->curl, call->easy, on_transfer_done, call) != 0) {
        --call->inst->outstanding;
        --call->up->inflight;
        give_back_handle(ups, call->easy);
        call->easy = NULL;
        return -1;
    }
    return 0;
}

/* Everything a call owns; the curl handle has been given back already. A trial that ends
 * without a verdict (cancelled, or out of time before its retry) lets the next call try. */
static void call_free(bff_call_t *call)
{
    if (call->up->breaker.trial == call)
        call->up->breaker.trial = NULL;
    curl_slist_free_all(call->headers);
    free((char *)call->req.path);
    free((char *)call->req.body);
    free(call->body);
    free(call->url);
    free(call);
}

static void finish(bff_call_t *call, const char *err, long status, const char *detail)
{
    bff_call_result_t res = {.err = err,
                             .status = status,
                             .attempts = call->attempt,
                             .duration_us = now_us() - call->started_us};
    if (err == NULL) {
        res.body = call->body;
        res.body_len = call->body_len;
        call->body = NULL;
    }
    snprintf(res.detail, sizeof(res.detail), "%s", detail ? detail : "");
    bff_call_cb cb = call->cb;
    void *data = call->data;
    call_free(call);
    cb(data, &res);
}

static void on_retry_timer(bff_timer_t *timer)
{
    bff_call_t *call = H2O_STRUCT_FROM_MEMBER(bff_call_t, retry_timer, timer);
    if (start_attempt(call) != 0)
        finish(call, bff_err_upstream_timeout, 0, "deadline reached before the retry could start");
}

/* Per-thread xorshift64 seeded from the kernel: jitter must differ between replicas (an
 * unseeded rand() gives every process the same "random" back-offs). */
static uint64_t jitter_random(void)
{
    static __thread uint64_t state;
    if (state == 0) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
            state = now_us() ^ ((uint64_t)getpid() << 32);
        state |= 1; /* xorshift never leaves 0 */
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* Jittered exponential back-off that must leave time for the next attempt. */
static int schedule_retry(bff_call_t *call)
{
    uint64_t now = loop_now(call->ups);
    uint64_t backoff = (uint64_t)BACKOFF_BASE_MS << (call->attempt - 1);
    backoff = backoff / 2 + jitter_random() % (backoff / 2 + 1);
    if (call->req.deadline_at != 0 && now + backoff + MIN_ATTEMPT_MS * 2 >= call->req.deadline_at)
        return -1;
    bff_timer_start(call->ups->timers, &call->retry_timer, backoff, on_retry_timer);
    return 0;
}

static const char *classify(CURLcode code, bff_call_t *call, char *detail, size_t size)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(detail, size, "no response within the time allowed");
        return bff_err_upstream_timeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(detail, size, "cannot connect to %s", call->inst->conf->url);
        return bff_err_upstream_connect;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (call->too_large || code == CURLE_FILESIZE_EXCEEDED) {
            snprintf(detail, size, "response body larger than %llu bytes",
                     (unsigned long long)call->up->conf->max_body_bytes);
            return bff_err_upstream_too_large;
        }
        /* fallthrough */
    default:
        snprintf(detail, size, "%s", curl_easy_strerror(code));
        return bff_err_upstream_transport;
    }
}

static void on_transfer_done(CURL *easy, CURLcode code, void *data)
{
    bff_call_t *call = data;
    bff_upstreams_t *ups = call->ups;
    uint64_t now = loop_now(ups);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    give_back_handle(ups, easy);
    call->easy = NULL;
    --call->inst->outstanding;
    --call->up->inflight;

    char detail[160] = "";
    const char *err = NULL;
    if (code != CURLE_OK) {
        err = classify(code, call, detail, sizeof(detail));
    } else if (status < 200 || status > 299) {
        err = bff_err_upstream_status;
        snprintf(detail, sizeof(detail), "upstream answered %ld", status);
    }
    /* 4xx is the caller's problem, not the upstream's: it neither trips nor retries. */
    int upstream_fault = err != NULL && !(err == bff_err_upstream_status && status < 500) &&
                         err != bff_err_upstream_too_large;
    breaker_record(call->up, upstream_fault, now);
    instance_record(call->up, call->inst, upstream_fault, now);
    if (upstream_fault && call->attempt <= call->req.retries && is_idempotent(call->req.method) &&
        breaker_allows(call->up, call, now) && schedule_retry(call) == 0)
        return;
    finish(call, err, status, detail);
}

bff_call_t *bff_call_start(bff_worker_t *worker, const bff_call_req_t *req, bff_call_cb cb,
                           void *data, const char **err)
{
    bff_upstreams_t *ups = worker->upstreams;
    upstream_t *up = ups->by_profile[req->profile] + req->upstream;
    uint64_t now = loop_now(ups);
    if (up->conf->max_concurrent != 0 && up->inflight >= up->conf->max_concurrent) {
        *err = bff_err_bulkhead_full;
        return NULL;
    }
    bff_call_t *call = bff_calloc(1, sizeof(*call));
    if (!breaker_allows(up, call, now)) {
        free(call);
        *err = bff_err_circuit_open;
        return NULL;
    }
    call->ups = ups;
    call->up = up;
    call->req = *req;
    call->cb = cb;
    call->data = data;
    call->started_us = now_us();
    call->body_max = up->conf->max_body_bytes;
    for (size_t i = 0; i != req->nheaders; ++i)
        call->headers = curl_slist_append(call->headers, req->headers[i]);
    call->headers = curl_slist_append(call->headers, "Expect:");
    /* The request's strings must outlive retries: keep our own copies. */
    call->req.method = req->method;
    call->req.path = bff_strdup(req->path);
    if (req->body != NULL)
        call->req.body = bff_strndup(req->body, req->body_len);
    if (start_attempt(call) != 0) {
        *err = bff_err_upstream_timeout;
        call_free(call);
        return NULL;
    }
    return call;
}

void bff_call_cancel(bff_call_t *call)
{
    bff_upstreams_t *ups = call->ups;
    bff_timer_cancel(&call->retry_timer);
    if (call->easy != NULL) {
        bff_curl_loop_cancel(ups->worker->curl, call->easy);
        give_back_handle(ups, call->easy);
        --call->inst->outstanding;
        --call->up->inflight;
    }
    call_free(call);
}
