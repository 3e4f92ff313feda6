/* Answers the executor's calls from recordings (replay.h). */
#include "server/spectest/replay.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/errors.h"
#include "compose/json_write.h"
#include "compose/mem.h"

struct st_bff_st_pending_t {
    bff_st_pending_t *next;
    bff_st_replay_t *replay;
    bff_st_record_t *rec;
    bff_fetch_cb cb;
    void *data;
    int want_headers, want_validators, cancelled;
};

void bff_st_replay_init(bff_st_replay_t *r, const bff_profile_t *profile, bff_st_case_t *c)
{
    memset(r, 0, sizeof(*r));
    r->profile = profile;
    r->c = c;
    r->now_us = 1000000;
    for (size_t i = 0; i != c->nrecords; ++i)
        c->records[i].used = 0;
}

void bff_st_replay_problem(bff_st_replay_t *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r->problems = bff_realloc(r->problems, (r->nproblems + 1) * sizeof(*r->problems));
    r->problems[r->nproblems++] = bff_strndup(buf, strlen(buf));
}

/* The first unused recording of this call, else the last used one (a call the executor makes
 * twice, e.g. no longer coalesced, is answered the same). */
static bff_st_record_t *find_record(bff_st_case_t *c, const bff_fetch_req_t *req)
{
    bff_st_record_t *reused = NULL;
    for (size_t i = 0; i != c->nrecords; ++i) {
        bff_st_record_t *rec = c->records + i;
        if (rec->upstream != req->upstream || strcmp(rec->method, req->method) != 0 ||
            strcmp(rec->path, req->path) != 0)
            continue;
        if (rec->used == 0)
            return rec;
        reused = rec;
    }
    return reused;
}

/* The recorded request body, compared as JSON with what the call sends. */
static void check_request_body(bff_st_replay_t *r, const bff_st_record_t *rec,
                               const bff_fetch_req_t *req)
{
    if (rec->request_body == NULL)
        return;
    json_t *want = json_loads(rec->request_body, JSON_DECODE_ANY, NULL);
    json_t *got = req->body ? json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL) : NULL;
    if (want == NULL || got == NULL || !json_equal(want, got))
        bff_st_replay_problem(r, "%s %s %s sent the body %.*s, the recording expects %s",
                              rec->upstream_name, req->method, req->path,
                              req->body ? (int)req->body_len : 6, req->body ? req->body : "(none)",
                              rec->request_body);
    json_decref(want);
    json_decref(got);
}

static void *replay_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                          const char **err)
{
    bff_st_replay_t *r = host;
    bff_st_record_t *rec = find_record(r->c, req);
    if (rec == NULL) {
        bff_st_replay_problem(r, "unrecorded call: %s %s on upstream %s", req->method, req->path,
                              r->profile->upstreams[req->upstream].name);
        *err = bff_err_upstream_connect; /* the source fails as if the upstream were down */
        return NULL;
    }
    ++rec->used;
    check_request_body(r, rec, req);
    bff_st_pending_t *p = bff_calloc(1, sizeof(*p));
    *p = (bff_st_pending_t){.replay = r,
                            .rec = rec,
                            .cb = cb,
                            .data = data,
                            .want_headers = req->want_headers,
                            .want_validators = req->want_validators};
    if (r->tail != NULL)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    return p;
}

static void replay_cancel(void *host, void *call)
{
    ((bff_st_pending_t *)call)->cancelled = 1; /* freed when its turn comes */
}

static uint64_t replay_now_us(void *host)
{
    bff_st_replay_t *r = host;
    return r->now_us += 1000; /* every look at the clock: a millisecond later */
}

static const char *record_header(const bff_st_record_t *rec, const char *name)
{
    for (size_t i = 0; i != rec->nheaders; ++i)
        if (strcasecmp(rec->headers[i].name, name) == 0)
            return rec->headers[i].value;
    return NULL;
}

static char *headers_json(const bff_st_record_t *rec)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 256, 1 << 20);
    bff_jwrite_open(&w, '{');
    for (size_t i = 0; i != rec->nheaders; ++i) {
        char name[256];
        size_t n = strlen(rec->headers[i].name);
        if (n >= sizeof(name))
            continue;
        for (size_t k = 0; k <= n; ++k)
            name[k] = (char)(rec->headers[i].name[k] >= 'A' && rec->headers[i].name[k] <= 'Z'
                                 ? rec->headers[i].name[k] + 32
                                 : rec->headers[i].name[k]);
        bff_jwrite_key(&w, name, n);
        bff_jwrite_str(&w, rec->headers[i].value, strlen(rec->headers[i].value));
    }
    bff_jwrite_close(&w, '}');
    char *s = bff_strndup(w.buf, w.len);
    bff_jwrite_dispose(&w);
    return s;
}

static void deliver(bff_st_pending_t *p)
{
    const bff_st_record_t *rec = p->rec;
    bff_fetch_result_t res = {
        .attempts = 1, .retry_after = -1, .cache_max_age = -1, .duration_us = 1000};
    if (rec->error != NULL) {
        res.err = rec->error;
        bff_err_describe(res.err, 0, res.detail, sizeof(res.detail));
        p->cb(p->data, &res);
        return;
    }
    res.status = rec->status;
    if (rec->status < 200 || rec->status > 299) {
        res.err = bff_err_upstream_status;
        bff_err_describe(res.err, res.status, res.detail, sizeof(res.detail));
    }
    if (rec->body != NULL) {
        res.body = bff_strndup(rec->body, rec->body_len);
        res.body_len = rec->body_len;
    }
    const char *ct = record_header(rec, "content-type"), *v;
    snprintf(res.content_type, sizeof(res.content_type), "%s", ct ? ct : "application/json");
    if ((v = record_header(rec, "retry-after")) != NULL)
        res.retry_after = atoi(v);
    if (p->want_headers)
        res.headers_json = headers_json(rec);
    if (p->want_validators) {
        if ((v = record_header(rec, "etag")) != NULL)
            snprintf(res.etag, sizeof(res.etag), "%s", v);
        if ((v = record_header(rec, "last-modified")) != NULL)
            snprintf(res.last_modified, sizeof(res.last_modified), "%s", v);
    }
    p->cb(p->data, &res); /* the receiver owns body and headers_json */
}

void bff_st_replay_drain(bff_st_replay_t *r)
{
    while (r->head != NULL) {
        bff_st_pending_t *p = r->head;
        if ((r->head = p->next) == NULL)
            r->tail = NULL;
        if (!p->cancelled)
            deliver(p);
        free(p);
    }
}

void bff_st_replay_dispose(bff_st_replay_t *r)
{
    while (r->head != NULL) {
        bff_st_pending_t *p = r->head;
        r->head = p->next;
        free(p);
    }
    r->tail = NULL;
    for (size_t i = 0; i != r->nproblems; ++i)
        free(r->problems[i]);
    free(r->problems);
    r->problems = NULL;
    r->nproblems = 0;
}

const bff_fetch_ops_t bff_st_replay_ops = {replay_start, replay_cancel, replay_now_us, NULL};
