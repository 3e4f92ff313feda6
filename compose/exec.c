/* Runs a plan: launches sources as their inputs resolve, coalesces identical calls, pumps
 * for-each items, joins batches, and decides when the run is over. */
#include "compose/exec.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/json_write.h"
#include "compose/shape.h"

#define EXEC_MAGIC 0xb1ffe4ecu
#define MAX_UPSTREAM_TOKENS (1u << 20)
#define MAX_ITEMS 1000       /* the spec loader caps for_each/batch `max` at this */
#define MAX_COMMON_HEADERS 4 /* the run's own lines: request id, trace context */
#define MAX_HEADER_LINES 32  /* a source's own header lines */

/* One upstream exchange; several sources or items may wait on the same one (coalescing). */
typedef struct st_call_rec_t {
    char *key; /* upstream \n method \n path \n headers \n body */
    void *call;
    struct st_call_ctx_t *ctx; /* the callback's context while `call` runs */
    int done;
    const char *err;
    long status;
    char *body;
    size_t body_len;
    uint64_t duration_us;
    char detail[160];
    char log_detail[200];
    char *headers_json;
    char content_type[64];
    int retry_after;
} call_rec_t;

typedef struct st_call_ctx_t {
    bff_exec_t *exec;
    size_t rec;
} call_ctx_t;

typedef struct st_src_run_t {
    size_t *recs; /* call records: one, or one per for-each item (SIZE_MAX: not started) */
    size_t nrecs, next_item, inflight, pending;
    char *combined; /* for-each: "[item0,item1,...]" */
    bff_jdoc_t doc;
    char *meta_json; /* {"$status": N, "$headers": {...}}, when the plan reads them */
    bff_jdoc_t meta;
} src_run_t;

struct st_bff_exec_t {
    uint32_t magic;
    bff_exec_conf_t conf;
    const bff_plan_t *plan;
    size_t nsources; /* the plan's, kept so that destroy never reads the plan */
    char *reqdoc_json;
    bff_jdoc_t reqdoc;
    char **headers;
    size_t nheaders;
    bff_source_outcome_t *out;
    src_run_t *src;
    const bff_jdoc_t **docs;
    uint32_t *roots;
    const bff_jdoc_t **meta;
    call_rec_t *recs;
    size_t nrecs, recs_cap;
    bff_exec_state_t state;
    size_t failed_source;
};

static uint64_t now_us(bff_exec_t *exec)
{
    return exec->conf.ops->now_us(exec->conf.host);
}

static int resolved(const bff_exec_t *exec, size_t s)
{
    return exec->out[s].state == BFF_SRC_DONE || exec->out[s].state == BFF_SRC_FAILED;
}

static bff_shape_env_t make_env(const bff_exec_t *exec, const bff_jdoc_t *item_doc,
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

/* Renders and starts (or joins) one call for source `s`; returns the record index, or SIZE_MAX
 * with the source's detail set when the request cannot be built. */
static size_t start_call(bff_exec_t *exec, size_t s, const bff_jdoc_t *item_doc, uint32_t item_tok,
                         int item_preencoded)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    bff_shape_env_t env = make_env(exec, item_doc, item_tok);
    env.item_preencoded = item_preencoded;
    bff_jwrite_t path, body = {0};
    bff_jwrite_init(&path, 256, 8192);
    const char *missing = NULL;
    if (bff_template_render(&src->path, &env, 1, &path, &missing) != 0 || path.overflow) {
        snprintf(out->detail, sizeof(out->detail), "cannot build the URL: '%s' has no value",
                 missing ? missing : "?");
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
    if (src->body != NULL)
        lines[nlines++] = "Content-Type: application/json";
    /* The coalescing key covers everything that makes two calls differ: upstream, method, URL,
     * the source's own headers (e.g. Authorization) and the body. */
    bff_jwrite_t key;
    bff_jwrite_init(&key, 256, 1 << 21);
    char num[32];
    int numlen = snprintf(num, sizeof(num), "%zu\n", src->upstream);
    bff_jwrite_bytes(&key, num, (size_t)numlen);
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
        /* A value with CR/LF would smuggle headers; such a header is dropped. */
        if (!line.overflow && strpbrk(line.buf + namelen + 2, "\r\n") == NULL) {
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

static void fail_source(bff_exec_t *exec, size_t s, const char *err, long status,
                        const char *detail)
{
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    out->state = BFF_SRC_FAILED;
    out->err = err;
    out->status = status;
    if (detail != out->detail)
        snprintf(out->detail, sizeof(out->detail), "%s", detail);
    out->duration_us = now_us(exec) - out->started_us;
    exec->docs[s] = NULL;
    const char *fallback = exec->plan->sources[s].fallback_json;
    if (fallback != NULL &&
        bff_jdoc_scan(&sr->doc, fallback, strlen(fallback), 0, 0, NULL, NULL) == 0) {
        exec->docs[s] = &sr->doc;
        exec->roots[s] = 0;
    }
}

static int scan_body(bff_exec_t *exec, size_t s, const char *body, size_t len, long status)
{
    src_run_t *sr = exec->src + s;
    const char *err;
    size_t off;
    if (bff_jdoc_scan(&sr->doc, body, len, MAX_UPSTREAM_TOKENS, 0, &err, &off) != 0) {
        char detail[200];
        snprintf(detail, sizeof(detail), "upstream sent invalid JSON: %s at byte %zu", err, off);
        fail_source(exec, s, bff_err_invalid_json, status, detail);
        return -1;
    }
    exec->docs[s] = &sr->doc;
    exec->roots[s] = 0;
    return 0;
}

/* What a record's answer reads as: no body (HEAD, 204, or empty) is null. */
static void body_of(const call_rec_t *cr, const char **body, size_t *len)
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
static int content_type_ok(const bff_source_t *src, const call_rec_t *cr)
{
    return src->any_content_type || cr->body_len == 0 || cr->content_type[0] == '\0' ||
           is_json_type(cr->content_type);
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
        if (scan_body(exec, s, "null", 4, cr->status) == 0)
            out->state = BFF_SRC_DONE;
        return 1;
    case BFF_STATUS_RESPOND:
        fail_source(exec, s, bff_err_upstream_status, cr->status, cr->detail);
        out->respond_status = respond_status;
        out->respond_rule = rule;
        out->retry_after = cr->retry_after;
        /* The upstream's error body, to shape the answer from (when it is JSON). */
        exec->docs[s] = NULL;
        if (cr->body_len != 0 && content_type_ok(src, cr) &&
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

/* A ONCE or BATCH source completes with its single record. */
static void complete_single(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    call_rec_t *cr = exec->recs + exec->src[s].recs[0];
    out->duration_us = cr->duration_us ? cr->duration_us : now_us(exec) - out->started_us;
    if (cr->status != 0 && src->wants_meta)
        build_meta(exec, s, cr);
    int answered = cr->err == NULL || cr->err == bff_err_upstream_status;
    if (answered && !bff_source_is_success(src, cr->status)) {
        if (apply_status_rule(exec, s, cr))
            return;
        char detail[160];
        snprintf(detail, sizeof(detail), "upstream answered %ld", cr->status);
        fail_source(exec, s, bff_err_upstream_status, cr->status, detail);
        snprintf(out->log_detail, sizeof(out->log_detail), "%s", cr->log_detail);
        return;
    }
    if (!answered) {
        fail_source(exec, s, cr->err, cr->status, cr->detail);
        snprintf(out->log_detail, sizeof(out->log_detail), "%s", cr->log_detail);
        return;
    }
    if (!content_type_ok(src, cr)) {
        char detail[200];
        snprintf(detail, sizeof(detail), "upstream sent %.64s, not JSON", cr->content_type);
        fail_source(exec, s, bff_err_invalid_json, cr->status, detail);
        return;
    }
    const char *body;
    size_t len;
    body_of(cr, &body, &len);
    if (scan_body(exec, s, body, len, cr->status) == 0)
        out->state = BFF_SRC_DONE;
}

/* A for-each source: items in array order, failed items as null; fails only if all failed. */
static void complete_for_each(bff_exec_t *exec, size_t s)
{
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    bff_jwrite_t w;
    bff_jwrite_init(&w, 1024, 64u << 20);
    bff_jwrite_open(&w, '[');
    size_t failed = 0;
    const call_rec_t *first_failed = NULL;
    const bff_source_t *src = exec->plan->sources + s;
    for (size_t i = 0; i != sr->nrecs; ++i) {
        const call_rec_t *cr = exec->recs + sr->recs[i];
        const char *body;
        size_t len;
        body_of(cr, &body, &len);
        bff_jdoc_t probe = {0};
        const bff_status_rule_t *rule;
        unsigned respond;
        int answered = cr->err == NULL || cr->err == bff_err_upstream_status;
        int ok = answered && bff_source_is_success(src, cr->status);
        if (answered && !ok &&
            bff_source_status_action(src, cr->status, &rule, &respond) == BFF_STATUS_NULL) {
            bff_jwrite_null(&w); /* an expected absence, not a failure */
        } else if (ok && content_type_ok(src, cr) &&
                   bff_jdoc_scan(&probe, body, len, MAX_UPSTREAM_TOKENS, 0, NULL, NULL) == 0) {
            bff_jwrite_raw(&w, body, len);
        } else {
            bff_jwrite_null(&w);
            ++failed;
            if (first_failed == NULL)
                first_failed = cr;
        }
        bff_jdoc_dispose(&probe);
    }
    bff_jwrite_close(&w, ']');
    if (sr->nrecs != 0 && failed == sr->nrecs) {
        fail_source(exec, s, first_failed->err ? first_failed->err : bff_err_invalid_json,
                    first_failed->status,
                    first_failed->detail[0] ? first_failed->detail : "every item failed");
        snprintf(out->log_detail, sizeof(out->log_detail), "%s", first_failed->log_detail);
    } else {
        out->duration_us = now_us(exec) - out->started_us;
        if (failed != 0) {
            snprintf(out->detail, sizeof(out->detail), "%zu of %zu items failed", failed,
                     sr->nrecs);
            out->err = bff_err_partial;
        }
        sr->combined = bff_strndup(w.buf, w.len);
        if (scan_body(exec, s, sr->combined, w.len, 200) == 0)
            out->state = BFF_SRC_DONE;
    }
    bff_jwrite_dispose(&w);
}

/* The for-each items: elements of the array named by `items`, capped at max_items. */
static size_t collect_items(const bff_exec_t *exec, const bff_source_t *src, const bff_jdoc_t **doc,
                            uint32_t *out, size_t max)
{
    int b = src->items_binding;
    *doc = b >= 0 ? exec->docs[b] : &exec->reqdoc;
    if (*doc == NULL)
        return 0;
    uint32_t start = b >= 0 ? exec->roots[b]
                            : bff_jdoc_obj_get(*doc, 0, src->items.root, strlen(src->items.root));
    uint32_t tok;
    if (src->items.multi)
        return bff_jpath_eval(&src->items, 0, *doc, start, out, max);
    if (bff_jpath_eval(&src->items, 0, *doc, start, &tok, 1) == 0 ||
        (*doc)->toks[tok].type != BFF_J_ARRAY)
        return 0;
    size_t n = 0;
    for (uint32_t i = 0, el = tok + 1; i != (*doc)->toks[tok].size && n < max;
         ++i, el = (*doc)->toks[el].next)
        out[n++] = el;
    return n;
}

static size_t item_cap(const bff_source_t *src)
{
    return src->max_items < MAX_ITEMS ? src->max_items : MAX_ITEMS;
}

/* Starts for-each calls up to the concurrency cap; completes the source when all are back. */
static void pump_for_each(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    src_run_t *sr = exec->src + s;
    if (exec->out[s].state != BFF_SRC_RUNNING)
        return;
    const bff_jdoc_t *doc;
    uint32_t items[MAX_ITEMS];
    size_t n = collect_items(exec, src, &doc, items, item_cap(src));
    while (sr->next_item < n && sr->inflight < src->concurrency) {
        size_t i = sr->next_item++;
        size_t rec = start_call(exec, s, doc, items[i], 0);
        if (rec == SIZE_MAX) {
            fail_source(exec, s, bff_err_bad_request, 0, exec->out[s].detail);
            return;
        }
        sr->recs[i] = rec;
        ++sr->inflight;
        if (!exec->recs[rec].done)
            continue;
        --sr->inflight; /* joined a finished call, or failed fast */
        --sr->pending;
    }
    if (sr->pending == 0)
        complete_for_each(exec, s);
}

/* BATCH: `{items}` renders as the elements joined by the separator, as one JSON string. */
static size_t start_batch(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    const bff_jdoc_t *doc;
    uint32_t items[MAX_ITEMS];
    size_t n = collect_items(exec, src, &doc, items, item_cap(src));
    bff_jwrite_t list, jw;
    bff_jwrite_init(&list, 256, 1 << 20);
    bff_shape_env_t env = {.item_doc = doc};
    bff_template_part_t part = {.binding = BFF_BIND_ITEM};
    part.ref.root = "items";
    bff_template_t one = {.parts = &part, .nparts = 1};
    for (size_t i = 0; i != n; ++i) {
        if (i)
            bff_jwrite_bytes(&list, src->separator, strlen(src->separator));
        env.item_tok = items[i];
        bff_template_render(&one, &env, 1, &list, NULL);
    }
    bff_jwrite_init(&jw, list.len + 8, (1 << 20) + 8);
    bff_jwrite_str(&jw, list.buf, list.len);
    bff_jwrite_dispose(&list);
    bff_jdoc_t joined = {0};
    bff_jdoc_scan(&joined, jw.buf, jw.len, 0, 0, NULL, NULL);
    size_t rec = start_call(exec, s, &joined, 0, 1);
    bff_jdoc_dispose(&joined);
    bff_jwrite_dispose(&jw);
    return rec;
}

static void start_source(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    out->state = BFF_SRC_RUNNING;
    out->started_us = now_us(exec);
    if (src->mode != BFF_SOURCE_ONCE && src->items_binding >= 0 &&
        exec->docs[src->items_binding] == NULL) {
        /* The list to iterate over is missing: that is a failure, not an empty list. */
        char detail[200];
        snprintf(detail, sizeof(detail), "its input source '%s' failed",
                 exec->plan->sources[src->items_binding].name);
        fail_source(exec, s, bff_err_input_failed, 0, detail);
        return;
    }
    if (src->mode == BFF_SOURCE_FOR_EACH) {
        const bff_jdoc_t *doc;
        uint32_t items[MAX_ITEMS];
        size_t n = collect_items(exec, src, &doc, items, item_cap(src));
        sr->recs = bff_malloc((n ? n : 1) * sizeof(size_t));
        for (size_t i = 0; i != n; ++i)
            sr->recs[i] = SIZE_MAX; /* not started: on_rec_done must not count it */
        sr->nrecs = sr->pending = n;
        pump_for_each(exec, s);
        return;
    }
    size_t rec =
        src->mode == BFF_SOURCE_BATCH ? start_batch(exec, s) : start_call(exec, s, NULL, 0, 0);
    if (rec == SIZE_MAX) {
        fail_source(exec, s, bff_err_bad_request, 0, out->detail);
        return;
    }
    sr->recs = bff_malloc(sizeof(size_t));
    sr->recs[0] = rec;
    sr->nrecs = 1;
    sr->pending = exec->recs[rec].done ? 0 : 1;
    if (sr->pending == 0)
        complete_single(exec, s);
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
        int for_each = exec->plan->sources[s].mode == BFF_SOURCE_FOR_EACH;
        for (size_t i = 0; i != sr->nrecs; ++i) {
            if (sr->recs[i] != rec)
                continue;
            --sr->pending;
            if (for_each)
                --sr->inflight;
        }
        if (for_each)
            pump_for_each(exec, s);
        else if (sr->pending == 0)
            complete_single(exec, s);
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
    snprintf(cr->detail, sizeof(cr->detail), "%s", res->detail);
    snprintf(cr->log_detail, sizeof(cr->log_detail), "%s", res->log_detail);
    cr->headers_json = res->headers_json;
    snprintf(cr->content_type, sizeof(cr->content_type), "%s", res->content_type);
    cr->retry_after = res->retry_after;
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
            exec->out[s].started_us = now_us(exec);
        fail_source(exec, s, bff_err_upstream_timeout, 0, detail);
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

bff_shape_env_t bff_exec_env(const bff_exec_t *exec)
{
    return make_env(exec, NULL, 0);
}

const char *bff_exec_missing_input(const bff_exec_t *exec)
{
    bff_shape_env_t env = make_env(exec, NULL, 0);
    for (size_t s = 0; s != exec->plan->nsources; ++s) {
        const bff_template_t *t = &exec->plan->sources[s].path;
        int in_query = 0;
        for (size_t i = 0; i != t->nparts; ++i) {
            const bff_template_part_t *part = t->parts + i;
            const bff_jdoc_t *doc;
            uint32_t tok;
            if (part->literal != NULL) {
                in_query |= memchr(part->literal, '?', part->literal_len) != NULL;
                continue;
            }
            /* A query's optional values drop out of the URL (template.c); the body's fields
             * and anything in the path must be there. */
            int body = strcmp(part->ref.root, "body") == 0;
            if (part->binding != BFF_BIND_REQUEST || part->qexp || (in_query && !body))
                continue;
            if (bff_binding_eval(&part->ref, part->binding, &env, NULL, 0, &doc, &tok, 1) == 0 ||
                doc->toks[tok].type == BFF_J_NULL || doc->toks[tok].type == BFF_J_OBJECT ||
                doc->toks[tok].type == BFF_J_ARRAY)
                return part->ref.text;
        }
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
