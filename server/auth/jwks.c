/* A JWKS fetched over HTTP on the worker's loop (jwks.h). */
#include "server/auth/jwks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

#define MAX_JWKS_BYTES (1u << 20)
#define FETCH_TIMEOUT_MS 5000

struct st_bff_jwks_t {
    bff_curl_loop_t *curl;
    bff_timers_t *timers;
    char *url;
    uint64_t refresh_ms, min_interval_ms;
    bff_jwk_set_t keys;
    CURL *easy; /* a fetch in flight */
    char *body;
    size_t len;
    int too_large;
    uint64_t last_fetch_ms; /* loop time of the last start */
    uint64_t fetches, version;
    h2o_linklist_t waiters;
    bff_timer_t refresh_timer;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *data)
{
    bff_jwks_t *j = data;
    size_t add = size * n;
    if (j->len + add > MAX_JWKS_BYTES) {
        j->too_large = 1;
        return 0; /* aborts the transfer */
    }
    j->body = bff_realloc(j->body, j->len + add + 1);
    memcpy(j->body + j->len, ptr, add);
    j->len += add;
    return add;
}

static void wake_waiters(bff_jwks_t *j)
{
    while (!h2o_linklist_is_empty(&j->waiters)) {
        bff_jwks_waiter_t *w = H2O_STRUCT_FROM_MEMBER(bff_jwks_waiter_t, _link, j->waiters.next);
        h2o_linklist_unlink(&w->_link);
        w->cb(w);
    }
}

static void on_done(CURL *easy, CURLcode code, void *data)
{
    bff_jwks_t *j = data;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    j->easy = NULL;
    if (code == CURLE_OK && status == 200 && !j->too_large) {
        bff_jwk_set_t fresh = {0};
        char err[256];
        if (bff_jwk_set_parse(&fresh, j->body != NULL ? j->body : "", j->len, err, sizeof(err)) ==
            0) {
            bff_jwk_set_dispose(&j->keys);
            j->keys = fresh;
            ++j->version;
        } else {
            fprintf(stderr, "bffd: JWKS from %s refused, the keys there were stay: %s\n", j->url,
                    err);
        }
    } else {
        fprintf(stderr,
                "bffd: JWKS from %s not fetched (%s, status %ld): the keys there were "
                "stay\n",
                j->url, j->too_large ? "larger than 1 MiB" : curl_easy_strerror(code), status);
    }
    free(j->body);
    j->body = NULL;
    j->len = 0;
    wake_waiters(j);
}

static int start_fetch(bff_jwks_t *j)
{
    if (j->easy != NULL)
        return 0;
    CURL *e = curl_easy_init();
    if (e == NULL)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)FETCH_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    j->too_large = 0;
    if (bff_curl_loop_start(j->curl, e, on_done, j) != 0) {
        curl_easy_cleanup(e);
        return -1;
    }
    j->easy = e;
    j->last_fetch_ms = h2o_now(j->timers->loop);
    ++j->fetches;
    return 0;
}

static void on_refresh_timer(bff_timer_t *t)
{
    bff_jwks_t *j = H2O_STRUCT_FROM_MEMBER(bff_jwks_t, refresh_timer, t);
    start_fetch(j);
    bff_timer_start(j->timers, &j->refresh_timer, j->refresh_ms, on_refresh_timer);
}

bff_jwks_t *bff_jwks_create(bff_curl_loop_t *curl, bff_timers_t *timers, const char *url,
                            uint64_t refresh_ms, uint64_t min_interval_ms)
{
    bff_jwks_t *j = bff_calloc(1, sizeof(*j));
    j->curl = curl;
    j->timers = timers;
    j->url = bff_strdup(url);
    j->refresh_ms = refresh_ms != 0 ? refresh_ms : 600000;
    j->min_interval_ms = min_interval_ms;
    h2o_linklist_init_anchor(&j->waiters);
    start_fetch(j);
    bff_timer_start(timers, &j->refresh_timer, j->refresh_ms, on_refresh_timer);
    return j;
}

void bff_jwks_destroy(bff_jwks_t *j)
{
    if (j == NULL)
        return;
    bff_timer_cancel(&j->refresh_timer);
    if (j->easy != NULL) {
        bff_curl_loop_cancel(j->curl, j->easy);
        curl_easy_cleanup(j->easy);
    }
    wake_waiters(j);
    bff_jwk_set_dispose(&j->keys);
    free(j->body);
    free(j->url);
    free(j);
}

const char *bff_jwks_url(const bff_jwks_t *j)
{
    return j->url;
}

const bff_jwk_set_t *bff_jwks_keys(const bff_jwks_t *j)
{
    return &j->keys;
}

int bff_jwks_refresh(bff_jwks_t *j, bff_jwks_waiter_t *w)
{
    if (j->easy == NULL) {
        if (j->fetches != 0 && h2o_now(j->timers->loop) < j->last_fetch_ms + j->min_interval_ms)
            return -1;
        if (start_fetch(j) != 0)
            return -1;
    }
    h2o_linklist_insert(&j->waiters, &w->_link);
    return 0;
}

void bff_jwks_unwait(bff_jwks_waiter_t *w)
{
    if (h2o_linklist_is_linked(&w->_link))
        h2o_linklist_unlink(&w->_link);
}

uint64_t bff_jwks_version(const bff_jwks_t *j)
{
    return j->version;
}

uint64_t bff_jwks_fetches(const bff_jwks_t *j)
{
    return j->fetches;
}
