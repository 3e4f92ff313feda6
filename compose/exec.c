/* Runs a plan: launches sources as their inputs resolve, coalesces identical calls, completes
 * single calls through the sources' status rules, and decides when the run is over. For-each
 * and batch sources are exec_items.c's. */
#include "compose/exec.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cache_policy.h"
#include "compose/errors.h"
#include "compose/fmt.h"
#include "compose/json_write.h"
#include "compose/shape.h"

/* Bytes of an upstream call's path and query, as rendered (spec reference 8.5). */
#define MAX_URL_PATH 8192

#include "compose/exec_internal.h"

uint64_t bff_exec_i_now(bff_exec_t *exec)
{
    return exec->conf.ops->now_us(exec->conf.host);
}

static int resolved(const bff_exec_t *exec, size_t s)
{
    return exec->out[s].state == BFF_SRC_DONE || exec->out[s].state == BFF_SRC_FAILED;
}

bff_shape_env_t bff_exec_i_env(const bff_exec_t *exec, const bff_jdoc_t *item_doc,
                               uint32_t item_tok)
{
    bff_shape_env_t env = {.source_docs = exec->docs,
                           .source_roots = exec->roots,
                           .nsources = exec->plan->nsources,
                           .request_doc = &exec->reqdoc,
                           .item_doc = item_doc,
                           .item_tok = item_tok,
                           .source_meta = exec->meta};
    return env;
}

/* ---- calls ---- */

static size_t find_or_add_rec(bff_exec_t *exec, const char *key, int *is_new)
{
    for (size_t i = 0; i != exec->nrecs; ++i) {
        if (strcmp(exec->recs[i].key, key) == 0) {
            *is_new = 0;
            return i;
        }
    }
    if (exec->nrecs == exec->recs_cap) {
        exec->recs_cap = exec->recs_cap ? exec->recs_cap * 2 : 8;
        exec->recs = bff_realloc(exec->recs, exec->recs_cap * sizeof(*exec->recs));
    }
    memset(exec->recs + exec->nrecs, 0, sizeof(exec->recs[0]));
    exec->recs[exec->nrecs].key = bff_strdup(key);
    *is_new = 1;
    return exec->nrecs++;
}

static void on_call_done(void *data, bff_fetch_result_t *res);

/* 1 when `v` (n bytes) may be a header field's value: no control characters but tab. */
static int field_value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Renders and starts (or joins) one call for source `s`; returns the record index, or SIZE_MAX
 * with the source's detail set when the request cannot be built. */
size_t bff_exec_i_start_call(bff_exec_t *exec, size_t s, const bff_jdoc_t *item_doc,
                             uint32_t item_tok, int item_preencoded)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    bff_shape_env_t env = bff_exec_i_env(exec, item_doc, item_tok);
    env.item_preencoded = item_preencoded;
    bff_jwrite_t path, body = {0};
    bff_jwrite_init(&path, 256, MAX_URL_PATH);
    bff_template_miss_t miss = {NULL, 0};
    if (bff_template_render(&src->path, &env, 1, &path, &miss) != 0 || path.overflow) {
        if (path.overflow)
            snprintf(out->detail, sizeof(out->detail),
                     "cannot build the URL: it would be longer than %d bytes", MAX_URL_PATH);
        else if (miss.bad_segment)
            snprintf(out->detail, sizeof(out->detail),
                     "cannot build the URL: '%s' is empty, '.' or '..' where it would be a whole "
                     "path segment",
                     miss.ref);
        else
            snprintf(out->detail, sizeof(out->detail), "cannot build the URL: '%s' has no value",
                     miss.ref ? miss.ref : "?");
        bff_jwrite_dispose(&path);
        return SIZE_MAX;
    }
    bff_jwrite_char(&path, '\0');
    if (src->body != NULL) {
        bff_jwrite_init(&body, 256, 1 << 20);
        bff_shape_eval(src->body, &env, &body);
        if (bff_jwrite_done(&body) != 0) { /* what is there is cut short: never send it */
            snprintf(out->detail, sizeof(out->detail), "cannot build the request body%s",
                     body.overflow ? ": larger than 1 MiB" : "");
            bff_jwrite_dispose(&body);
            bff_jwrite_dispose(&path);
            return SIZE_MAX;
        }
    }
    /* Headers: the run's own (request id, trace context) first, then the source's. */
    const char *lines[MAX_COMMON_HEADERS + 1 + MAX_HEADER_LINES];
    size_t nlines = 0;
    char *owned[MAX_HEADER_LINES];
    size_t nowned = 0;
    for (size_t i = 0; i != exec->nheaders && nlines < MAX_COMMON_HEADERS; ++i)
        lines[nlines++] = exec->headers[i];
    size_t own_headers_at = nlines;
    if (src->body != NULL)
        lines[nlines++] = "Content-Type: application/json";
    /* The coalescing key covers everything that makes two calls differ: upstream, method, URL,
     * the source's own headers (e.g. Authorization) and the body. */
    bff_jwrite_t key;
    bff_jwrite_init(&key, 256, 1 << 21);
    char num[24], *end = bff_put_u64(num, src->upstream);
    *end++ = '\n';
    bff_jwrite_bytes(&key, num, (size_t)(end - num));
    bff_jwrite_bytes(&key, src->method, strlen(src->method));
    bff_jwrite_char(&key, '\n');
    bff_jwrite_bytes(&key, path.buf, strlen(path.buf));
    for (size_t i = 0; i != src->nheaders && nowned < MAX_HEADER_LINES; ++i) {
        bff_jwrite_t line;
        size_t namelen = strlen(src->headers[i].name);
        bff_jwrite_init(&line, namelen + 128, 16384);
        bff_jwrite_bytes(&line, src->headers[i].name, namelen);
        bff_jwrite_bytes(&line, ": ", 2);
        bff_template_render(&src->headers[i].value, &env, 0, &line, NULL);
        bff_jwrite_char(&line, '\0');
        /* A value with CR/LF would smuggle headers, a NUL would cut it short, and no other
         * control character belongs in a field value (RFC 9110 5.5): such a header is dropped. */
        if (!line.overflow && field_value_ok(line.buf + namelen + 2, line.len - namelen - 3)) {
            lines[nlines++] = owned[nowned++] = bff_strdup(line.buf);
            bff_jwrite_char(&key, '\n');
            bff_jwrite_bytes(&key, line.buf, line.len - 1);
        }
        bff_jwrite_dispose(&line);
    }
    bff_jwrite_char(&key, '\n');
    if (body.buf != NULL)
        bff_jwrite_bytes(&key, body.buf, body.len);
    bff_jwrite_char(&key, '\0');
    int is_new;
    size_t rec = find_or_add_rec(exec, key.buf, &is_new);
    bff_jwrite_dispose(&key);
    if (is_new) {
        bff_fetch_req_t req = {
            .upstream = src->upstream,
            .method = src->method,
            .path = path.buf,
            .headers = lines,
            .nheaders = nlines,
            .body = body.buf,
            .body_len = body.len,
            .timeout_ms = src->timeout_ms,
            .retries = src->retries,
            .idempotent = exec->conf.idempotency_key,
            .want_headers = src->wants_headers,
            .cache = src->cache.enabled && !src->wants_headers ? &src->cache : NULL,
            .own_headers_at = own_headers_at,
        };
        call_ctx_t *cc = bff_malloc(sizeof(*cc));
        cc->exec = exec;
        cc->rec = rec;
        const char *err = NULL;
        call_rec_t *cr = exec->recs + rec;
        cr->call = exec->conf.ops->start(exec->conf.host, &req, on_call_done, cc, &err);
        if (cr->call != NULL) {
            cr->ctx = cc;
        } else {
            free(cc);
            cr->done = 1;
            cr->err = err;
            snprintf(cr->detail, sizeof(cr->detail), "%s", err);
        }
    }
    for (size_t i = 0; i != nowned; ++i)
        free(owned[i]);
    bff_jwrite_dispose(&path);
    bff_jwrite_dispose(&body);
    return rec;
}

static void cancel_all(bff_exec_t *exec)
{
    for (size_t i = 0; i != exec->nrecs; ++i) {
        call_rec_t *cr = exec->recs + i;
        if (cr->call != NULL) {
            exec->conf.ops->cancel(exec->conf.host, cr->call); /* its callback will not run */
            cr->call = NULL;
            free(cr->ctx);
            cr->ctx = NULL;
        }
    }
}

/* ---- source outcomes ---- */

void bff_exec_i_fail(bff_exec_t *exec, size_t s, const char *err, long status, const char *detail)
{
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    out->state = BFF_SRC_FAILED;
    out->err = err;
    out->status = status;
    if (detail != out->detail)
        snprintf(out->detail, sizeof(out->detail), "%s", detail);
    out->duration_us = bff_exec_i_now(exec) - out->started_us;
    exec->docs[s] = NULL;
    const char *fallback = exec->plan->sources[s].fallback_json;
    if (fallback != NULL &&
        bff_jdoc_scan(&sr->doc, fallback, strlen(fallback), 0, 0, NULL, NULL) == 0) {
        exec->docs[s] = &sr->doc;
        exec->roots[s] = 0;
    }
}

int bff_exec_i_scan(bff_exec_t *exec, size_t s, const char *body, size_t len, long status)
{
    src_run_t *sr = exec->src + s;
    const char *err;
    size_t off;
    if (bff_jdoc_scan(&sr->doc, body, len, MAX_UPSTREAM_TOKENS, 0, &err, &off) != 0) {
        char detail[200];
        snprintf(detail, sizeof(detail), "upstream sent invalid JSON: %s at byte %zu", err, off);
        bff_exec_i_fail(exec, s, bff_err_invalid_json, status, detail);
        return -1;
    }
    exec->docs[s] = &sr->doc;
    exec->roots[s] = 0;
    exec->out[s].status = status; /* a success's status too (spans, the debug view) */
    return 0;
}

/* What a record's answer reads as: no body (HEAD, 204, or empty) is null. */
void bff_exec_i_body_of(const call_rec_t *cr, const char **body, size_t *len)
{
    if (cr->body_len == 0) {
        *body = "null", *len = 4;
        return;
    }
    *body = cr->body, *len = cr->body_len;
}

/* A JSON media type: application/json, or any type with a +json suffix (RFC 6839). */
static int is_json_type(const char *ct)
{
    size_t n = strcspn(ct, "; \t");
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* Where the source expects JSON, a body declared as anything else (an HTML error page a proxy
 * sent with 200) is not data. Returns 1 when the body is acceptable. */
int bff_exec_i_content_type_ok(const bff_source_t *src, const call_rec_t *cr)
{
    return src->any_content_type || cr->body_len == 0 || cr->content_type[0] == '\0' ||
           is_json_type(cr->content_type);
}

/* A Content-Type fit for a client to read: its type/subtype alone, when that is a pair of
 * RFC 9110 tokens; its parameters and anything else are the upstream's text (a host, a URL). */
static const char *media_type(const char *ct, char *out, size_t size)
{
    size_t n = 0, slashes = 0;
    for (; ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ' && n + 1 < size; ++n) {
        unsigned char c = (unsigned char)ct[n];
        slashes += c == '/';
        if (!(isalnum(c) || strchr("!#$&^_.+-/", c) != NULL) || slashes > 1)
            return "an unreadable media type";
        out[n] = (char)c;
    }
    out[n] = '\0';
    if (slashes != 1 || out[0] == '/' || out[n - 1] == '/' ||
        (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
        return "an unreadable media type";
    return out;
}

static void build_meta(bff_exec_t *exec, size_t s, const call_rec_t *cr)
{
    src_run_t *sr = exec->src + s;
    const char *headers = cr->headers_json ? cr->headers_json : "{}";
    size_t n = strlen(headers) + 48;
    free(sr->meta_json);
    sr->meta_json = bff_malloc(n);
    int len = snprintf(sr->meta_json, n, "{\"$status\":%ld,\"$headers\":%s}", cr->status, headers);
    if (bff_jdoc_scan(&sr->meta, sr->meta_json, (size_t)len, 0, 0, NULL, NULL) == 0)
        exec->meta[s] = &sr->meta;
}

/* A status that is not a success, as the source's rules read it. Returns 1 when the source is
 * resolved by it (null value, or the answer's status decided). */
static int apply_status_rule(bff_exec_t *exec, size_t s, const call_rec_t *cr)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    const bff_status_rule_t *rule;
    unsigned respond_status = 0;
    switch (bff_source_status_action(src, cr->status, &rule, &respond_status)) {
    case BFF_STATUS_NULL:
        if (bff_exec_i_scan(exec, s, "null", 4, cr->status) == 0)
            out->state = BFF_SRC_DONE;
        return 1;
    case BFF_STATUS_RESPOND:
        bff_exec_i_fail(exec, s, bff_err_upstream_status, cr->status, cr->detail);
        out->respond_status = respond_status;
        out->respond_rule = rule;
        out->retry_after = cr->retry_after;
        /* The upstream's error body, to shape the answer from (when it is JSON). */
        exec->docs[s] = NULL;
        if (cr->body_len != 0 && bff_exec_i_content_type_ok(src, cr) &&
            bff_jdoc_scan(&exec->src[s].doc, cr->body, cr->body_len, MAX_UPSTREAM_TOKENS, 0, NULL,
                          NULL) == 0) {
            exec->docs[s] = &exec->src[s].doc;
            exec->roots[s] = 0;
        }
        return 1;
    case BFF_STATUS_FAIL:
        break;
    }
    return 0;
}

void bff_exec_i_complete_single(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    call_rec_t *cr = exec->recs + exec->src[s].recs[0];
    out->duration_us = cr->duration_us ? cr->duration_us : bff_exec_i_now(exec) - out->started_us;
    if (cr->status != 0 && src->wants_meta)
        build_meta(exec, s, cr);
    int answered = cr->err == NULL || cr->err == bff_err_upstream_status;
    if (answered && !bff_source_is_success(src, cr->status)) {
        if (apply_status_rule(exec, s, cr))
            return;
        char detail[160];
        snprintf(detail, sizeof(detail), "upstream answered %ld", cr->status);
        bff_exec_i_fail(exec, s, bff_err_upstream_status, cr->status, detail);
        snprintf(out->log_detail, sizeof(out->log_detail), "%s", cr->log_detail);
        return;
    }
    if (!answered) {
        bff_exec_i_fail(exec, s, cr->err, cr->status, cr->detail);
        snprintf(out->log_detail, sizeof(out->log_detail), "%s", cr->log_detail);
        return;
    }
    if (!bff_exec_i_content_type_ok(src, cr)) {
        char detail[200], type[65];
        snprintf(detail, sizeof(detail), "upstream sent %s, not JSON",
                 media_type(cr->content_type, type, sizeof(type)));
        bff_exec_i_fail(exec, s, bff_err_invalid_json, cr->status, detail);
        snprintf(out->log_detail, sizeof(out->log_detail), "upstream sent %.100s, not JSON",
                 cr->content_type); /* the log may have it all */
        return;
    }
    const char *body;
    size_t len;
    bff_exec_i_body_of(cr, &body, &len);
    if (bff_exec_i_scan(exec, s, body, len, cr->status) == 0)
        out->state = BFF_SRC_DONE;
}

static void start_source(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    out->state = BFF_SRC_RUNNING;
    out->started_us = bff_exec_i_now(exec);
    if (src->mode != BFF_SOURCE_ONCE && src->items_binding >= 0 &&
        exec->docs[src->items_binding] == NULL) {
        /* The list to iterate over is missing: that is a failure, not an empty list. */
        char detail[200];
        snprintf(detail, sizeof(detail), "its input source '%s' failed",
                 exec->plan->sources[src->items_binding].name);
        bff_exec_i_fail(exec, s, bff_err_input_failed, 0, detail);
        return;
    }
    if (src->mode != BFF_SOURCE_ONCE) {
        bff_exec_i_start_items(exec, s);
        return;
    }
    size_t rec = bff_exec_i_start_call(exec, s, NULL, 0, 0);
    if (rec == SIZE_MAX) {
        bff_exec_i_fail(exec, s, bff_err_bad_request, 0, out->detail);
        return;
    }
    sr->recs = bff_malloc(sizeof(size_t));
    sr->recs[0] = rec;
    sr->nrecs = 1;
    sr->pending = exec->recs[rec].done ? 0 : 1;
    if (sr->pending == 0)
        bff_exec_i_complete_single(exec, s);
}

/* Starts every source whose inputs are resolved; repeats because a source can resolve at once
 * (coalesced with a finished call, or failing fast). */
static void launch_ready(bff_exec_t *exec)
{
    const bff_plan_t *plan = exec->plan;
    int progress = 1;
    while (progress && exec->state == BFF_EXEC_RUNNING) {
        progress = 0;
        uint64_t resolved_mask = 0;
        for (size_t i = 0; i != plan->nsources; ++i)
            if (resolved(exec, i))
                resolved_mask |= (uint64_t)1 << i;
        for (size_t k = 0; k != plan->nsources; ++k) {
            size_t s = plan->order[k];
            if (exec->out[s].state != BFF_SRC_WAITING || (plan->sources[s].deps & ~resolved_mask))
                continue;
            start_source(exec, s);
            if (resolved(exec, s))
                progress = 1;
        }
    }
}

/* Every source waiting on record `rec` makes progress. */
static void on_rec_done(bff_exec_t *exec, size_t rec)
{
    for (size_t s = 0; s != exec->plan->nsources; ++s) {
        src_run_t *sr = exec->src + s;
        if (exec->out[s].state != BFF_SRC_RUNNING)
            continue;
        int for_each = exec->plan->sources[s].mode == BFF_SOURCE_FOR_EACH, hit = 0;
        for (size_t i = 0; i != sr->nrecs; ++i) {
            if (sr->recs[i] != rec)
                continue;
            hit = 1;
            --sr->pending;
            if (for_each)
                --sr->inflight;
        }
        if (exec->plan->sources[s].mode != BFF_SOURCE_ONCE)
            bff_exec_i_items_progress(exec, s);
        else if (hit && sr->pending == 0)
            bff_exec_i_complete_single(exec, s);
    }
}

/* Ends the run when a required source failed or every source resolved. on_done is the last
 * thing that happens: the callee may destroy the run. */
static void finish_or_continue(bff_exec_t *exec)
{
    if (exec->state != BFF_EXEC_RUNNING)
        return;
    const bff_plan_t *plan = exec->plan;
    int all_resolved = 1;
    for (size_t s = 0; s != plan->nsources; ++s) {
        if (exec->out[s].state == BFF_SRC_FAILED &&
            (!plan->sources[s].optional || exec->out[s].respond_status != 0)) {
            exec->state = BFF_EXEC_FAILED;
            exec->failed_source = s;
            break;
        }
        all_resolved &= resolved(exec, s);
    }
    if (exec->state == BFF_EXEC_RUNNING && !all_resolved)
        return;
    if (exec->state == BFF_EXEC_RUNNING)
        exec->state = BFF_EXEC_COMPLETE;
    cancel_all(exec);
    exec->conf.on_done(exec->conf.data, exec);
}

static void on_call_done(void *data, bff_fetch_result_t *res)
{
    call_ctx_t *cc = data;
    bff_exec_t *exec = cc->exec;
    assert(exec->magic == EXEC_MAGIC);
    size_t rec = cc->rec;
    call_rec_t *cr = exec->recs + rec;
    free(cc);
    cr->call = NULL;
    cr->ctx = NULL;
    cr->done = 1;
    cr->err = res->err;
    cr->status = res->status;
    cr->body = res->body;
    cr->body_len = res->body_len;
    cr->duration_us = res->duration_us;
    bff_copy_str(cr->detail, sizeof(cr->detail), res->detail);
    bff_copy_str(cr->log_detail, sizeof(cr->log_detail), res->log_detail);
    cr->headers_json = res->headers_json;
    bff_copy_str(cr->content_type, sizeof(cr->content_type), res->content_type);
    cr->retry_after = res->retry_after;
    cr->attempts = res->attempts;
    cr->from_cache = res->from_cache;
    if ((res->cache_flags & BFF_CC_MAX_AGE) != 0 &&
        (exec->cache_max_age < 0 || res->cache_max_age < exec->cache_max_age))
        exec->cache_max_age = res->cache_max_age;
    exec->cache_flags |= res->cache_flags;
    if (exec->conf.ops->client_gone != NULL && bff_exec_has_unstarted_work(exec) &&
        exec->conf.ops->client_gone(exec->conf.host)) {
        exec->state = BFF_EXEC_ABANDONED; /* no further calls for a client that left */
        cancel_all(exec);
        exec->conf.on_done(exec->conf.data, exec);
        return;
    }
    on_rec_done(exec, rec);
    launch_ready(exec);
    finish_or_continue(exec);
}

void bff_exec_call_stats(const bff_exec_t *exec, size_t s, bff_exec_call_stats_t *out)
{
    *out = (bff_exec_call_stats_t){0};
    const src_run_t *sr = exec->src + s;
    for (size_t i = 0; i != sr->nrecs; ++i) {
        if (sr->recs[i] == SIZE_MAX) /* a for-each item not started */
            continue;
        const call_rec_t *cr = exec->recs + sr->recs[i];
        if (!cr->done)
            continue;
        ++out->calls;
        out->attempts += cr->attempts;
        out->cached += cr->from_cache != 0;
        out->bytes += cr->body_len;
        if (cr->status != 0)
            out->status = cr->status;
    }
}

/* ---- the run ---- */

bff_exec_t *bff_exec_create(const bff_exec_conf_t *conf)
{
    bff_exec_t *exec = bff_calloc(1, sizeof(*exec));
    exec->magic = EXEC_MAGIC;
    exec->conf = *conf;
    exec->plan = conf->plan;
    exec->reqdoc_json = bff_strndup(conf->request_doc, conf->request_doc_len);
    if (bff_jdoc_scan(&exec->reqdoc, exec->reqdoc_json, conf->request_doc_len, 0, 0, NULL, NULL) !=
            0 ||
        exec->reqdoc.toks[0].type != BFF_J_OBJECT) {
        bff_jdoc_dispose(&exec->reqdoc);
        free(exec->reqdoc_json);
        free(exec);
        return NULL;
    }
    exec->headers = bff_calloc(conf->nheaders, sizeof(char *));
    for (size_t i = 0; i != conf->nheaders; ++i)
        exec->headers[i] = bff_strdup(conf->headers[i]);
    exec->nheaders = conf->nheaders;
    size_t n = exec->nsources = exec->plan->nsources;
    exec->out = bff_calloc(n, sizeof(*exec->out));
    exec->src = bff_calloc(n, sizeof(*exec->src));
    exec->docs = bff_calloc(n, sizeof(*exec->docs));
    exec->roots = bff_calloc(n, sizeof(*exec->roots));
    exec->meta = bff_calloc(n, sizeof(*exec->meta));
    for (size_t i = 0; i != n; ++i)
        exec->out[i].retry_after = -1;
    exec->cache_max_age = -1;
    exec->state = BFF_EXEC_RUNNING;
    return exec;
}

void bff_exec_start(bff_exec_t *exec)
{
    assert(exec->magic == EXEC_MAGIC);
    launch_ready(exec);
    finish_or_continue(exec);
}

void bff_exec_expire(bff_exec_t *exec, const char *detail)
{
    assert(exec->magic == EXEC_MAGIC);
    if (exec->state != BFF_EXEC_RUNNING)
        return;
    cancel_all(exec);
    for (size_t s = 0; s != exec->plan->nsources; ++s) {
        if (resolved(exec, s))
            continue;
        if (exec->out[s].state == BFF_SRC_WAITING)
            exec->out[s].started_us = bff_exec_i_now(exec);
        bff_exec_i_fail(exec, s, bff_err_upstream_timeout, 0, detail);
    }
    finish_or_continue(exec);
}

void bff_exec_destroy(bff_exec_t *exec)
{
    if (exec == NULL)
        return;
    assert(exec->magic == EXEC_MAGIC);
    cancel_all(exec);
    for (size_t i = 0; i != exec->nrecs; ++i) {
        free(exec->recs[i].key);
        free(exec->recs[i].body);
        free(exec->recs[i].headers_json);
    }
    free(exec->recs);
    for (size_t s = 0; s != exec->nsources; ++s) {
        bff_jdoc_dispose(&exec->src[s].doc);
        bff_jdoc_dispose(&exec->src[s].meta);
        free(exec->src[s].meta_json);
        free(exec->src[s].combined);
        free(exec->src[s].failed);
        free(exec->src[s].recs);
    }
    for (size_t i = 0; i != exec->nheaders; ++i)
        free(exec->headers[i]);
    free(exec->headers);
    free(exec->out);
    free(exec->src);
    free(exec->docs);
    free(exec->roots);
    free(exec->meta);
    bff_jdoc_dispose(&exec->reqdoc);
    free(exec->reqdoc_json);
    exec->magic = 0;
    free(exec);
}

bff_exec_state_t bff_exec_state(const bff_exec_t *exec)
{
    return exec->state;
}

size_t bff_exec_failed_source(const bff_exec_t *exec)
{
    return exec->failed_source;
}

int bff_exec_partial(const bff_exec_t *exec)
{
    for (size_t s = 0; s != exec->plan->nsources; ++s)
        if (exec->out[s].err != NULL)
            return 1;
    return 0;
}

const bff_source_outcome_t *bff_exec_outcome(const bff_exec_t *exec, size_t source)
{
    return exec->out + source;
}

size_t bff_exec_failed_items(const bff_exec_t *exec, size_t source, bff_exec_item_failure_t *out,
                             size_t max)
{
    const src_run_t *sr = exec->src + source;
    for (size_t i = 0; i != sr->nfailed && i != max; ++i) {
        const call_rec_t *cr = exec->recs + sr->recs[sr->failed[i]];
        out[i] = (bff_exec_item_failure_t){.index = sr->failed[i],
                                           .err = cr->err ? cr->err : bff_err_invalid_json,
                                           .status = cr->status,
                                           .detail = cr->detail[0] ? cr->detail : "not JSON"};
    }
    return sr->nfailed;
}

size_t bff_exec_items_left_out(const bff_exec_t *exec, size_t source)
{
    return exec->src[source].left_out;
}

bff_shape_env_t bff_exec_env(const bff_exec_t *exec)
{
    return bff_exec_i_env(exec, NULL, 0);
}

/* The request values of one source's URL template: the first it cannot take, or NULL. */
static const char *template_input(const bff_template_t *t, const bff_shape_env_t *env,
                                  bff_input_problem_t *problem)
{
    int in_query = 0;
    size_t length = 0, longest = 0;
    const char *longest_ref = NULL;
    for (size_t i = 0; i != t->nparts; ++i) {
        const bff_template_part_t *part = t->parts + i;
        const bff_jdoc_t *doc;
        uint32_t tok;
        if (part->literal != NULL) {
            in_query |= memchr(part->literal, '?', part->literal_len) != NULL;
            length += part->literal_len;
            continue;
        }
        if (part->binding != BFF_BIND_REQUEST)
            continue;
        /* A query's optional values drop out of the URL (template.c); the body's fields and
         * anything in the path must be there. */
        int body = strcmp(part->ref.root, "body") == 0;
        int found = bff_binding_eval(&part->ref, part->binding, env, NULL, 0, &doc, &tok, 1) != 0;
        int type = found ? doc->toks[tok].type : 0;
        int scalar = found && type != BFF_J_NULL && type != BFF_J_OBJECT && type != BFF_J_ARRAY;
        if (!scalar) {
            if (part->qexp || (in_query && !body))
                continue;
            *problem = BFF_INPUT_MISSING;
            return part->ref.text;
        }
        int dot;
        size_t n = bff_template_url_len(doc, tok, &dot);
        if (!part->qexp && !in_query && (dot || n == 0) && bff_template_whole_segment(t, i)) {
            *problem = BFF_INPUT_SEGMENT;
            return part->ref.text;
        }
        length += n + (part->qexp ? strlen(part->qname) + 2 : 0);
        if (n >= longest) {
            longest = n;
            longest_ref = part->ref.text;
        }
    }
    if (length > MAX_URL_PATH && longest_ref != NULL) {
        *problem = BFF_INPUT_TOO_LONG;
        return longest_ref;
    }
    return NULL;
}

const char *bff_exec_missing_input(const bff_exec_t *exec, bff_input_problem_t *problem)
{
    bff_input_problem_t unused;
    if (problem == NULL)
        problem = &unused;
    bff_shape_env_t env = bff_exec_i_env(exec, NULL, 0);
    for (size_t s = 0; s != exec->plan->nsources; ++s) {
        const char *ref = template_input(&exec->plan->sources[s].path, &env, problem);
        if (ref != NULL)
            return ref;
    }
    return NULL;
}

int bff_exec_has_unstarted_work(const bff_exec_t *exec)
{
    for (size_t s = 0; s != exec->plan->nsources; ++s) {
        const src_run_t *sr = exec->src + s;
        int for_each = exec->plan->sources[s].mode == BFF_SOURCE_FOR_EACH;
        if (exec->out[s].state == BFF_SRC_WAITING ||
            (for_each && exec->out[s].state == BFF_SRC_RUNNING && sr->next_item < sr->nrecs))
            return 1;
    }
    return 0;
}

void bff_exec_cache_hints(const bff_exec_t *exec, int *max_age_s, unsigned *flags)
{
    *max_age_s = exec->cache_max_age;
    *flags = exec->cache_flags;
}

int bff_exec_required_pending(const bff_exec_t *exec)
{
    for (size_t s = 0; s != exec->plan->nsources; ++s)
        if (!exec->plan->sources[s].optional && exec->out[s].state != BFF_SRC_DONE)
            return 1;
    return 0;
}
