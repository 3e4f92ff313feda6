/* Runs one endpoint spec for one request: parameter validation, the request doc, the sources
 * (launched as soon as their inputs are there, for-each fan-out, identical calls coalesced),
 * failure policy, the overall deadline, and the shaped response with Server-Timing. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "server/endpoint.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "compose/json_scan.h"
#include "compose/json_write.h"
#include "server/respond.h"
#include "server/upstream.h"

#define MAX_RESPONSE_BYTES (8u << 20)
#define MAX_UPSTREAM_TOKENS (1u << 20)

/* One upstream exchange; several sources or items may wait on the same one (coalescing). */
typedef struct st_call_rec_t {
    char *key; /* upstream \n method \n path \n body */
    bff_call_t *call;
    void *cb_data; /* the callback's context while call runs: freed by whoever ends it */
    int done;
    const char *err;
    long status;
    char *body;
    size_t body_len;
    uint64_t duration_us;
    char detail[160];
} call_rec_t;

typedef enum { SRC_WAITING, SRC_RUNNING, SRC_DONE, SRC_FAILED } src_state_t;

typedef struct st_src_run_t {
    src_state_t state;
    size_t *recs; /* call records: one, or one per for-each item */
    size_t nrecs, next_item, inflight, pending;
    char *combined; /* for-each: "[item0,item1,...]" */
    bff_jdoc_t doc;
    int has_doc;
    const char *err;
    long status;
    char detail[200];
    uint64_t started_us, duration_us;
} src_run_t;

typedef struct st_run_t {
    bff_request_t *r;
    const bff_spec_t *spec;
    bff_worker_t *worker;
    size_t profile_index;
    bff_jwrite_t reqdoc_buf;
    bff_jdoc_t reqdoc;
    src_run_t *src;
    call_rec_t *recs;
    size_t nrecs, recs_cap;
    const bff_jdoc_t **docs;
    uint32_t *roots;
    uint64_t deadline_at;
    bff_timer_t deadline_timer;
    bff_timer_t client_watch;
    uint64_t started_us;
    char traceparent[64];
    char *request_id_line, *traceparent_line; /* built once, sent with every call (pool) */
    int finished;
} run_t;

static uint64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

/* ---- parameters ---- */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (isxdigit(c) ? (tolower(c) - 'a' + 10) : -1);
}

/* Percent-decodes (and '+' -> ' ' for queries) into pool memory; -1 on a bad escape or NUL. */
static int url_decode(h2o_mem_pool_t *pool, const char *s, size_t n, int plus, h2o_iovec_t *out)
{
    char *d = h2o_mem_alloc_pool(pool, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            if ((hi = hexval((unsigned char)s[i + 1])) < 0 ||
                (lo = hexval((unsigned char)s[i + 2])) < 0)
                return -1;
            d[j] = (char)(hi * 16 + lo);
            if (d[j++] == '\0')
                return -1;
            i += 2;
        } else {
            d[j++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    d[j] = '\0';
    *out = h2o_iovec_init(d, j);
    return 0;
}

static int find_query_value(h2o_req_t *req, const char *name, h2o_iovec_t *raw)
{
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t namelen = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - p) == namelen && memcmp(p, name, namelen) == 0) {
            *raw = eq ? h2o_iovec_init(eq + 1, (size_t)(stop - eq - 1)) : h2o_iovec_init("", 0);
            return 1;
        }
        p = stop + 1;
    }
    return 0;
}

/* Checks one value against its declaration and appends it to the request doc. On a problem,
 * writes the message into msg and returns -1. */
/* JSON's number grammar: what the request doc can carry as a number, and what clients mean
 * (no "+5", ".5", "1.", hex or spaces, which strtod would take). */
static int is_json_number(h2o_iovec_t v)
{
    const char *p = v.base, *end = v.base + v.len;
    if (p < end && *p == '-')
        ++p;
    if (p == end || !isdigit((unsigned char)*p) ||
        (*p == '0' && p + 1 < end && isdigit((unsigned char)p[1])))
        return 0;
    while (p < end && isdigit((unsigned char)*p))
        ++p;
    if (p < end && *p == '.') {
        if (++p == end || !isdigit((unsigned char)*p))
            return 0;
        while (p < end && isdigit((unsigned char)*p))
            ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            ++p;
        if (p == end || !isdigit((unsigned char)*p))
            return 0;
        while (p < end && isdigit((unsigned char)*p))
            ++p;
    }
    return p == end;
}

static int check_param(const bff_param_t *p, h2o_iovec_t v, bff_jwrite_t *w, char *msg, size_t size)
{
    const char *where = p->in_path ? "path parameter" : "query parameter";
    if (p->max_length && v.len > p->max_length) {
        snprintf(msg, size, "%s '%s' is longer than %zu characters", where, p->name, p->max_length);
        return -1;
    }
    if (p->nenum) {
        int ok = 0;
        for (size_t i = 0; i != p->nenum && !ok; ++i)
            ok =
                strlen(p->enum_values[i]) == v.len && memcmp(p->enum_values[i], v.base, v.len) == 0;
        if (!ok) {
            snprintf(msg, size, "%s '%s' must be one of the allowed values", where, p->name);
            return -1;
        }
    }
    bff_jwrite_key(w, p->name, strlen(p->name));
    if (p->type == BFF_PARAM_STRING) {
        bff_jwrite_str(w, v.base, v.len);
        return 0;
    }
    if (p->type == BFF_PARAM_BOOL) {
        int t = h2o_memis(v.base, v.len, H2O_STRLIT("true")) ||
                h2o_memis(v.base, v.len, H2O_STRLIT("1"));
        int f = h2o_memis(v.base, v.len, H2O_STRLIT("false")) ||
                h2o_memis(v.base, v.len, H2O_STRLIT("0"));
        if (!t && !f) {
            snprintf(msg, size, "%s '%s' must be true or false", where, p->name);
            return -1;
        }
        bff_jwrite_bool(w, t);
        return 0;
    }
    char *end;
    double d = strtod(v.base, &end);
    int is_int = p->type == BFF_PARAM_INT;
    int bad = v.len == 0 || end != v.base + v.len || !isfinite(d) || !is_json_number(v);
    if (!bad && is_int)
        bad = strspn(v.base + (v.base[0] == '-'), "0123456789") != v.len - (v.base[0] == '-') ||
              fabs(d) > 9007199254740991.0;
    if (bad || (p->has_min && d < p->min) || (p->has_max && d > p->max)) {
        if (p->has_min && p->has_max)
            snprintf(msg, size, "%s '%s' must be %s between %g and %g", where, p->name,
                     is_int ? "an integer" : "a number", p->min, p->max);
        else if (p->has_min)
            snprintf(msg, size, "%s '%s' must be %s of at least %g", where, p->name,
                     is_int ? "an integer" : "a number", p->min);
        else if (p->has_max)
            snprintf(msg, size, "%s '%s' must be %s of at most %g", where, p->name,
                     is_int ? "an integer" : "a number", p->max);
        else
            snprintf(msg, size, "%s '%s' must be %s", where, p->name,
                     is_int ? "an integer" : "a number");
        return -1;
    }
    bff_jwrite_raw(w, v.base, v.len);
    return 0;
}

static void add_headers_to_doc(run_t *run, h2o_req_t *req, bff_jwrite_t *w)
{
    if (run->spec->nrequest_headers == 0)
        return;
    bff_jwrite_key(w, H2O_STRLIT("header"));
    bff_jwrite_open(w, '{');
    for (size_t i = 0; i != run->spec->nrequest_headers; ++i) {
        const char *name = run->spec->request_headers[i];
        ssize_t idx = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
        if (idx < 0)
            continue;
        bff_jwrite_key(w, name, strlen(name));
        bff_jwrite_str(w, req->headers.entries[idx].value.base,
                       req->headers.entries[idx].value.len);
    }
    bff_jwrite_close(w, '}');
}

/* Builds {"param": value, ..., "header": {...}} and scans it, or answers 400 and returns -1. */
static int build_request_doc_or_respond(run_t *run, size_t (*path_values)[2])
{
    h2o_req_t *req = run->r->req;
    const bff_spec_t *spec = run->spec;
    bff_jwrite_t *w = &run->reqdoc_buf;
    char msg[256];
    const char *bad = NULL; /* the parameter at fault; names are plain identifiers */
    size_t pi = 0;
    bff_jwrite_open(w, '{');
    for (size_t i = 0; i != spec->nparams; ++i) {
        const bff_param_t *p = spec->params + i;
        bad = p->name;
        h2o_iovec_t raw, v;
        int have;
        if (p->in_path) {
            raw = h2o_iovec_init(req->path.base + path_values[pi][0], path_values[pi][1]);
            ++pi;
            have = 1;
        } else {
            have = find_query_value(req, p->name, &raw);
        }
        if (!have) {
            if (p->default_value == NULL) {
                if (p->required) {
                    snprintf(msg, sizeof(msg), "query parameter '%s' is required", p->name);
                    goto Bad;
                }
                continue;
            }
            raw = h2o_iovec_init(p->default_value, strlen(p->default_value));
            v = raw;
        } else if (url_decode(&req->pool, raw.base, raw.len, !p->in_path, &v) != 0) {
            snprintf(msg, sizeof(msg), "parameter '%s' has a malformed percent-encoding", p->name);
            goto Bad;
        }
        if (check_param(p, v, w, msg, sizeof(msg)) != 0)
            goto Bad;
    }
    add_headers_to_doc(run, req, w);
    bff_jwrite_close(w, '}');
    const char *err;
    if (bff_jwrite_done(w) != 0 ||
        bff_jdoc_scan(&run->reqdoc, w->buf, w->len, 0, 0, &err, NULL) != 0) {
        snprintf(msg, sizeof(msg), "request parameters could not be encoded");
        bad = NULL;
        goto Bad;
    }
    return 0;
Bad : {
    char extra[160] = "";
    if (bad != NULL)
        snprintf(extra, sizeof(extra), "\"parameter\":\"%s\"", bad);
    bff_respond_error(req, 400, "bad_parameter", msg, bad != NULL ? extra : NULL);
}
    return -1;
}

/* ---- sources ---- */

static void launch_ready(run_t *run);
static void finish_or_continue(run_t *run);
static void cancel_all(run_t *run);

static bff_shape_env_t make_env(run_t *run, const bff_jdoc_t *item_doc, uint32_t item_tok)
{
    bff_shape_env_t env = {run->docs, run->roots, run->spec->nsources, &run->reqdoc, item_doc,
                           item_tok,  0};
    return env;
}

static size_t find_or_add_rec(run_t *run, const char *key, int *is_new)
{
    for (size_t i = 0; i != run->nrecs; ++i) {
        if (strcmp(run->recs[i].key, key) == 0) {
            *is_new = 0;
            return i;
        }
    }
    if (run->nrecs == run->recs_cap) {
        run->recs_cap = run->recs_cap ? run->recs_cap * 2 : 8;
        run->recs = bff_realloc(run->recs, run->recs_cap * sizeof(*run->recs));
    }
    memset(run->recs + run->nrecs, 0, sizeof(run->recs[0]));
    run->recs[run->nrecs].key = bff_strdup(key);
    *is_new = 1;
    return run->nrecs++;
}

static void on_call_done(void *data, bff_call_result_t *res);

typedef struct st_call_ctx_t {
    run_t *run;
    size_t rec;
} call_ctx_t;

/* Renders and starts (or joins) one call for source `s`; returns the record index or
 * SIZE_MAX with src->err set when it cannot start. */
static size_t start_call(run_t *run, size_t s, const bff_jdoc_t *item_doc, uint32_t item_tok,
                         int item_preencoded)
{
    const bff_source_t *src = run->spec->sources + s;
    src_run_t *sr = run->src + s;
    bff_shape_env_t env = make_env(run, item_doc, item_tok);
    env.item_preencoded = item_preencoded;
    bff_jwrite_t path, body = {0};
    bff_jwrite_init(&path, 256, 8192);
    const char *missing = NULL;
    if (bff_template_render(&src->path, &env, 1, &path, &missing) != 0 || path.overflow) {
        snprintf(sr->detail, sizeof(sr->detail), "cannot build the URL: '%s' has no value",
                 missing ? missing : "?");
        bff_jwrite_dispose(&path);
        return SIZE_MAX;
    }
    bff_jwrite_char(&path, '\0');
    if (src->body != NULL) {
        bff_jwrite_init(&body, 256, 1 << 20);
        bff_shape_eval(src->body, &env, &body);
        if (bff_jwrite_done(&body) != 0) { /* what is there is cut short: never send it */
            snprintf(sr->detail, sizeof(sr->detail), "cannot build the request body%s",
                     body.overflow ? ": larger than 1 MiB" : "");
            bff_jwrite_dispose(&body);
            bff_jwrite_dispose(&path);
            return SIZE_MAX;
        }
    }
    /* Headers: the request id and trace context first, then the spec's own. */
    const char *lines[32];
    size_t nlines = 0;
    char *owned[32];
    size_t nowned = 0;
    lines[nlines++] = run->request_id_line;
    lines[nlines++] = run->traceparent_line;
    if (src->body != NULL)
        lines[nlines++] = "Content-Type: application/json";
    /* The coalescing key covers everything that makes two calls differ: upstream, method, URL,
     * the spec's own headers (e.g. Authorization) and the body. */
    bff_jwrite_t key;
    bff_jwrite_init(&key, 256, 1 << 21);
    char num[32];
    int numlen = snprintf(num, sizeof(num), "%zu\n", src->upstream);
    bff_jwrite_bytes(&key, num, (size_t)numlen);
    bff_jwrite_bytes(&key, src->method, strlen(src->method));
    bff_jwrite_char(&key, '\n');
    bff_jwrite_bytes(&key, path.buf, strlen(path.buf));
    for (size_t i = 0; i != src->nheaders && nlines < 32; ++i) {
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
    size_t rec = find_or_add_rec(run, key.buf, &is_new);
    bff_jwrite_dispose(&key);
    if (is_new) {
        bff_call_req_t req = {
            .profile = run->profile_index,
            .upstream = src->upstream,
            .method = src->method,
            .path = path.buf,
            .headers = lines,
            .nheaders = nlines,
            .body = body.buf,
            .body_len = body.len,
            .timeout_ms = src->timeout_ms,
            .deadline_at = run->deadline_at,
            .retries = src->retries,
        };
        call_ctx_t *cc = bff_malloc(sizeof(*cc));
        cc->run = run;
        cc->rec = rec;
        const char *err = NULL;
        call_rec_t *cr = run->recs + rec;
        cr->call = bff_call_start(run->worker, &req, on_call_done, cc, &err);
        cr->cb_data = cc;
        if (cr->call == NULL) {
            free(cc);
            cr->cb_data = NULL;
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

static void fail_source(run_t *run, size_t s, const char *err, long status, const char *detail)
{
    src_run_t *sr = run->src + s;
    sr->state = SRC_FAILED;
    sr->err = err;
    sr->status = status;
    if (detail != sr->detail)
        snprintf(sr->detail, sizeof(sr->detail), "%s", detail);
    sr->duration_us = now_us() - sr->started_us;
    const bff_source_t *src = run->spec->sources + s;
    if (src->fallback_json != NULL &&
        bff_jdoc_scan(&sr->doc, src->fallback_json, strlen(src->fallback_json), 0, 0, NULL, NULL) ==
            0) {
        sr->has_doc = 1;
        run->docs[s] = &sr->doc;
        run->roots[s] = 0;
    }
}

static int scan_body(run_t *run, size_t s, const char *body, size_t len, long status)
{
    src_run_t *sr = run->src + s;
    const char *err;
    size_t off;
    if (bff_jdoc_scan(&sr->doc, body, len, MAX_UPSTREAM_TOKENS, 0, &err, &off) != 0) {
        char detail[200];
        snprintf(detail, sizeof(detail), "upstream sent invalid JSON: %s at byte %zu", err, off);
        fail_source(run, s, "invalid JSON", status, detail);
        return -1;
    }
    sr->has_doc = 1;
    run->docs[s] = &sr->doc;
    run->roots[s] = 0;
    return 0;
}

/* What a record's answer reads as: a HEAD answer has no body, and its value is null. */
static h2o_iovec_t body_of(const run_t *run, size_t s, const call_rec_t *cr)
{
    if (cr->body_len == 0 && strcmp(run->spec->sources[s].method, "HEAD") == 0)
        return h2o_iovec_init(H2O_STRLIT("null"));
    return h2o_iovec_init(cr->body ? cr->body : "", cr->body_len);
}

/* A ONCE/BATCH source completes with its single record. */
static void complete_single(run_t *run, size_t s)
{
    src_run_t *sr = run->src + s;
    call_rec_t *cr = run->recs + sr->recs[0];
    sr->duration_us = cr->duration_us ? cr->duration_us : now_us() - sr->started_us;
    if (cr->err != NULL) {
        fail_source(run, s, cr->err, cr->status, cr->detail);
        return;
    }
    h2o_iovec_t body = body_of(run, s, cr);
    if (scan_body(run, s, body.base, body.len, cr->status) == 0)
        sr->state = SRC_DONE;
}

/* A for-each source: items in array order, failed items as null; fails only if all failed. */
static void complete_for_each(run_t *run, size_t s)
{
    src_run_t *sr = run->src + s;
    bff_jwrite_t w;
    bff_jwrite_init(&w, 1024, 64u << 20);
    bff_jwrite_open(&w, '[');
    size_t failed = 0;
    const call_rec_t *first_failed = NULL;
    for (size_t i = 0; i != sr->nrecs; ++i) {
        const call_rec_t *cr = run->recs + sr->recs[i];
        h2o_iovec_t body = body_of(run, s, cr);
        bff_jdoc_t probe = {0};
        if (cr->err == NULL &&
            bff_jdoc_scan(&probe, body.base, body.len, MAX_UPSTREAM_TOKENS, 0, NULL, NULL) == 0) {
            bff_jwrite_raw(&w, body.base, body.len);
        } else {
            bff_jwrite_null(&w);
            ++failed;
            if (first_failed == NULL)
                first_failed = cr;
        }
        bff_jdoc_dispose(&probe);
    }
    bff_jwrite_close(&w, ']');
    sr->duration_us = now_us() - sr->started_us;
    if (sr->nrecs != 0 && failed == sr->nrecs) {
        fail_source(run, s, first_failed->err ? first_failed->err : "invalid JSON",
                    first_failed->status,
                    first_failed->detail[0] ? first_failed->detail : "every item failed");
    } else {
        if (failed != 0) {
            snprintf(sr->detail, sizeof(sr->detail), "%zu of %zu items failed", failed, sr->nrecs);
            sr->err = "partial";
        }
        sr->combined = bff_strndup(w.buf, w.len);
        if (scan_body(run, s, sr->combined, w.len, 200) == 0)
            sr->state = SRC_DONE;
    }
    bff_jwrite_dispose(&w);
}

/* The for-each items: elements of the array named by `items`, capped at max_items. */
static size_t collect_items(run_t *run, const bff_source_t *src, const bff_jdoc_t **doc,
                            uint32_t *out, size_t max)
{
    bff_shape_env_t env = make_env(run, NULL, 0);
    int b = src->items_binding;
    *doc = b >= 0 ? run->docs[b] : &run->reqdoc;
    if (*doc == NULL)
        return 0;
    uint32_t start = b >= 0 ? run->roots[b]
                            : bff_jdoc_obj_get(*doc, 0, src->items.root, strlen(src->items.root));
    (void)env;
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

static void pump_for_each(run_t *run, size_t s);

static void on_rec_done(run_t *run, size_t rec)
{
    /* Every source waiting on this record makes progress. */
    for (size_t s = 0; s != run->spec->nsources; ++s) {
        src_run_t *sr = run->src + s;
        if (sr->state != SRC_RUNNING)
            continue;
        for (size_t i = 0; i != sr->nrecs; ++i) {
            if (sr->recs[i] != rec)
                continue;
            --sr->pending;
            if (run->spec->sources[s].mode == BFF_SOURCE_FOR_EACH)
                --sr->inflight;
        }
        if (run->spec->sources[s].mode == BFF_SOURCE_FOR_EACH)
            pump_for_each(run, s);
        else if (sr->pending == 0)
            complete_single(run, s);
    }
}

/* h2o 2.2.5 does not read an HTTP/1 connection while its request is in flight, so a client
 * that hung up goes unnoticed until the response is written. Look for its FIN before doing more
 * work, also behind bytes nobody read yet: a TLS client sends close_notify before it. */
static int http1_client_gone(h2o_req_t *req)
{
    h2o_socket_t *sock;
    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
        (sock = req->conn->callbacks->get_socket(req->conn)) == NULL)
        return 0;
    struct pollfd p = {.fd = h2o_socket_get_fd(sock), .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Sources not launched yet, or for-each items not started: the calls a departed client would
 * still cause. Only then is a peek at the client's socket worth its system call. */
static int has_unstarted_work(run_t *run)
{
    for (size_t s = 0; s != run->spec->nsources; ++s) {
        const src_run_t *sr = run->src + s;
        int for_each = run->spec->sources[s].mode == BFF_SOURCE_FOR_EACH;
        if (sr->state == SRC_WAITING ||
            (for_each && sr->state == SRC_RUNNING && sr->next_item < sr->nrecs))
            return 1;
    }
    return 0;
}

static void abandon(run_t *run)
{
    run->finished = 1;
    cancel_all(run);
    run->r->req->http1_is_persistent = 0;
    /* Nobody reads it; sending it lets h2o close the connection and free the request. */
    bff_respond_error(run->r->req, 499, "client_closed_request", "the client closed the connection",
                      NULL);
}

static void on_call_done(void *data, bff_call_result_t *res)
{
    call_ctx_t *cc = data;
    run_t *run = cc->run;
    call_rec_t *cr = run->recs + cc->rec;
    size_t rec = cc->rec;
    free(cc);
    cr->call = NULL;
    cr->cb_data = NULL;
    cr->done = 1;
    cr->err = res->err;
    cr->status = res->status;
    cr->body = res->body;
    cr->body_len = res->body_len;
    cr->duration_us = res->duration_us;
    snprintf(cr->detail, sizeof(cr->detail), "%s", res->detail);
    if (!run->finished && has_unstarted_work(run) && http1_client_gone(run->r->req)) {
        abandon(run); /* no further calls for a client that left */
        return;
    }
    on_rec_done(run, rec);
    launch_ready(run);
    finish_or_continue(run);
}

/* Starts for-each calls up to the concurrency cap; completes the source when all are back. */
static void pump_for_each(run_t *run, size_t s)
{
    const bff_source_t *src = run->spec->sources + s;
    src_run_t *sr = run->src + s;
    if (sr->state != SRC_RUNNING)
        return;
    const bff_jdoc_t *doc;
    uint32_t items[1000];
    size_t n = collect_items(run, src, &doc, items, src->max_items < 1000 ? src->max_items : 1000);
    while (sr->next_item < n && sr->inflight < src->concurrency) {
        size_t i = sr->next_item++;
        size_t rec = start_call(run, s, doc, items[i], 0);
        if (rec == SIZE_MAX) {
            fail_source(run, s, "bad request", 0, sr->detail);
            return;
        }
        sr->recs[i] = rec;
        ++sr->inflight;
        if (!run->recs[rec].done)
            continue;
        --sr->inflight; /* joined a finished call, or failed fast */
        --sr->pending;
    }
    if (sr->pending == 0)
        complete_for_each(run, s);
}

static void start_source(run_t *run, size_t s)
{
    const bff_source_t *src = run->spec->sources + s;
    src_run_t *sr = run->src + s;
    sr->state = SRC_RUNNING;
    sr->started_us = now_us();
    if (src->mode != BFF_SOURCE_ONCE && src->items_binding >= 0 &&
        run->docs[src->items_binding] == NULL) {
        /* The list to iterate over is missing: that is a failure, not an empty list. */
        char detail[200];
        snprintf(detail, sizeof(detail), "its input source '%s' failed",
                 run->spec->sources[src->items_binding].name);
        fail_source(run, s, "input failed", 0, detail);
        return;
    }
    if (src->mode == BFF_SOURCE_FOR_EACH) {
        const bff_jdoc_t *doc;
        uint32_t items[1000];
        size_t n =
            collect_items(run, src, &doc, items, src->max_items < 1000 ? src->max_items : 1000);
        sr->recs = h2o_mem_alloc_pool(&run->r->req->pool, (n ? n : 1) * sizeof(size_t));
        for (size_t i = 0; i != n; ++i)
            sr->recs[i] = SIZE_MAX; /* not started: on_rec_done must not count it as finished */
        sr->nrecs = sr->pending = n;
        pump_for_each(run, s);
        return;
    }
    const bff_jdoc_t *item_doc = NULL;
    uint32_t item_tok = 0;
    bff_jdoc_t joined = {0};
    bff_jwrite_t jw = {0};
    if (src->mode == BFF_SOURCE_BATCH) {
        /* {items} renders as the elements joined by the separator, as one JSON string. */
        const bff_jdoc_t *doc;
        uint32_t items[1000];
        size_t n =
            collect_items(run, src, &doc, items, src->max_items < 1000 ? src->max_items : 1000);
        bff_jwrite_t list;
        bff_jwrite_init(&list, 256, 1 << 20);
        bff_shape_env_t env = {NULL, NULL, 0, NULL, doc, 0, 0};
        for (size_t i = 0; i != n; ++i) {
            if (i)
                bff_jwrite_bytes(&list, src->separator, strlen(src->separator));
            bff_template_t one = {.parts = &(bff_template_part_t){.binding = BFF_BIND_ITEM},
                                  .nparts = 1};
            env.item_tok = items[i];
            one.parts[0].ref.root = "items";
            bff_template_render(&one, &env, 1, &list, NULL);
        }
        bff_jwrite_init(&jw, list.len + 8, (1 << 20) + 8);
        bff_jwrite_str(&jw, list.buf, list.len);
        bff_jwrite_dispose(&list);
        bff_jdoc_scan(&joined, jw.buf, jw.len, 0, 0, NULL, NULL);
        item_doc = &joined;
    }
    size_t rec = start_call(run, s, item_doc, item_tok, src->mode == BFF_SOURCE_BATCH);
    bff_jdoc_dispose(&joined);
    bff_jwrite_dispose(&jw);
    if (rec == SIZE_MAX) {
        fail_source(run, s, "bad request", 0, sr->detail);
        return;
    }
    sr->recs = h2o_mem_alloc_pool(&run->r->req->pool, sizeof(size_t));
    sr->recs[0] = rec;
    sr->nrecs = 1;
    sr->pending = run->recs[rec].done ? 0 : 1;
    if (sr->pending == 0)
        complete_single(run, s);
}

static int resolved(const src_run_t *sr)
{
    return sr->state == SRC_DONE || sr->state == SRC_FAILED;
}

/* Starts every source whose inputs are resolved; repeats because a source can resolve at once
 * (coalesced with a finished call, or failing fast). */
static void launch_ready(run_t *run)
{
    const bff_spec_t *spec = run->spec;
    int progress = 1;
    while (progress && !run->finished) {
        progress = 0;
        uint64_t resolved_mask = 0;
        for (size_t i = 0; i != spec->nsources; ++i)
            if (resolved(run->src + i))
                resolved_mask |= (uint64_t)1 << i;
        for (size_t k = 0; k != spec->nsources; ++k) {
            size_t s = spec->order[k];
            if (run->src[s].state != SRC_WAITING || (spec->sources[s].deps & ~resolved_mask))
                continue;
            start_source(run, s);
            if (resolved(run->src + s))
                progress = 1;
        }
    }
}

/* ---- the response ---- */

static void cancel_all(run_t *run)
{
    for (size_t i = 0; i != run->nrecs; ++i) {
        if (run->recs[i].call != NULL) {
            bff_call_cancel(run->recs[i].call); /* its callback will not run: free its context */
            run->recs[i].call = NULL;
            free(run->recs[i].cb_data);
            run->recs[i].cb_data = NULL;
        }
    }
    bff_timer_cancel(&run->deadline_timer);
    bff_timer_cancel(&run->client_watch);
}

static void add_server_timing(run_t *run, h2o_req_t *req)
{
    /* Source names have no length cap: the entries that fit, then always the total. */
    char buf[2048];
    const size_t room = sizeof(buf) - 64;
    size_t len = 0;
    for (size_t s = 0; s != run->spec->nsources; ++s) {
        const src_run_t *sr = run->src + s;
        if (sr->state == SRC_WAITING)
            continue;
        uint64_t dur = sr->duration_us ? sr->duration_us : now_us() - sr->started_us;
        int n = snprintf(buf + len, room - len, "%s%s;dur=%.1f", len ? ", " : "",
                         run->spec->sources[s].name, (double)dur / 1000.0);
        if (n < 0 || (size_t)n >= room - len)
            break;
        len += (size_t)n;
    }
    int n = snprintf(buf + len, sizeof(buf) - len, "%stotal;dur=%.1f", len ? ", " : "",
                     (double)(now_us() - run->started_us) / 1000.0);
    if (n > 0 && (size_t)n < sizeof(buf) - len)
        len += (size_t)n;
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("server-timing"), 0, NULL,
                          h2o_strdup(&req->pool, buf, len).base, len);
}

static void write_errors(run_t *run, bff_jwrite_t *w)
{
    bff_jwrite_key(w, H2O_STRLIT("errors"));
    bff_jwrite_open(w, '[');
    for (size_t s = 0; s != run->spec->nsources; ++s) {
        const src_run_t *sr = run->src + s;
        if (sr->err == NULL)
            continue;
        bff_jwrite_open(w, '{');
        bff_jwrite_key(w, H2O_STRLIT("source"));
        bff_jwrite_str(w, run->spec->sources[s].name, strlen(run->spec->sources[s].name));
        bff_jwrite_key(w, H2O_STRLIT("reason"));
        bff_jwrite_str(w, sr->err, strlen(sr->err));
        if (sr->status != 0) {
            bff_jwrite_key(w, H2O_STRLIT("status"));
            bff_jwrite_int(w, sr->status);
        }
        bff_jwrite_key(w, H2O_STRLIT("message"));
        bff_jwrite_str(w, sr->detail, strlen(sr->detail));
        bff_jwrite_close(w, '}');
    }
    bff_jwrite_close(w, ']');
}

static void respond_composed(run_t *run)
{
    h2o_req_t *req = run->r->req;
    const bff_shape_t *shape = run->spec->response;
    bff_shape_env_t env = make_env(run, NULL, 0);
    int partial = 0;
    for (size_t s = 0; s != run->spec->nsources; ++s)
        partial |= run->src[s].err != NULL;
    bff_jwrite_t w;
    bff_jwrite_init(&w, 4096, MAX_RESPONSE_BYTES);
    if (shape->kind == BFF_SHAPE_OBJECT) {
        bff_jwrite_open(&w, '{');
        for (size_t i = 0; i != shape->nfields; ++i) {
            bff_jwrite_key(&w, shape->keys[i], strlen(shape->keys[i]));
            bff_shape_eval(shape->fields[i], &env, &w);
        }
        if (partial)
            write_errors(run, &w);
        bff_jwrite_close(&w, '}');
    } else {
        bff_shape_eval(shape, &env, &w);
    }
    add_server_timing(run, req);
    if (bff_jwrite_done(&w) != 0) {
        bff_jwrite_dispose(&w);
        bff_respond_error(req, 500, "response_too_large",
                          "the composed response exceeds the size limit", NULL);
        return;
    }
    if (partial)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("bff-partial"), 0, NULL,
                              H2O_STRLIT("true"));
    h2o_iovec_t body = h2o_strdup(&req->pool, w.buf, w.len);
    bff_jwrite_dispose(&w);
    bff_respond_json(req, 200, "OK", body);
}

static void respond_failed_source(run_t *run, size_t s)
{
    const src_run_t *sr = run->src + s;
    const bff_source_t *src = run->spec->sources + s;
    int timeout = sr->err == bff_err_upstream_timeout;
    const char *upstream = run->r->site_ctx->site->profile->upstreams[src->upstream].name;
    char msg[400];
    /* Names come from the profile as written: escape them. */
    bff_jwrite_t extra;
    bff_jwrite_init(&extra, 256, 64 * 1024);
    bff_jwrite_open(&extra, '{');
    bff_jwrite_key(&extra, H2O_STRLIT("source"));
    bff_jwrite_str(&extra, src->name, strlen(src->name));
    bff_jwrite_key(&extra, H2O_STRLIT("upstream"));
    bff_jwrite_str(&extra, upstream, strlen(upstream));
    bff_jwrite_key(&extra, H2O_STRLIT("reason"));
    bff_jwrite_str(&extra, sr->err, strlen(sr->err));
    if (sr->status != 0) {
        bff_jwrite_key(&extra, H2O_STRLIT("status"));
        bff_jwrite_int(&extra, sr->status);
    }
    bff_jwrite_close(&extra, '}');
    int have_extra = bff_jwrite_done(&extra) == 0;
    if (have_extra)
        extra.buf[extra.len - 1] = '\0'; /* the members without the braces */
    snprintf(msg, sizeof(msg), "required source '%s' failed: %s", src->name, sr->detail);
    add_server_timing(run, run->r->req);
    bff_respond_error(run->r->req, timeout ? 504 : 502,
                      timeout ? "upstream_timeout" : "upstream_failed", msg,
                      have_extra ? extra.buf + 1 : NULL);
    bff_jwrite_dispose(&extra);
}

static void finish_or_continue(run_t *run)
{
    if (run->finished)
        return;
    const bff_spec_t *spec = run->spec;
    for (size_t s = 0; s != spec->nsources; ++s) {
        if (run->src[s].state == SRC_FAILED && !spec->sources[s].optional) {
            run->finished = 1;
            cancel_all(run);
            respond_failed_source(run, s);
            return;
        }
    }
    for (size_t s = 0; s != spec->nsources; ++s)
        if (!resolved(run->src + s))
            return;
    run->finished = 1;
    cancel_all(run);
    respond_composed(run);
}

/* HTTP/1 only: while upstream calls are out, look at the client every so often, so a client
 * that hung up cancels its calls without waiting for one of them to finish. */
#define CLIENT_WATCH_MS 250

static void on_client_watch(bff_timer_t *timer)
{
    run_t *run = H2O_STRUCT_FROM_MEMBER(run_t, client_watch, timer);
    if (run->finished)
        return;
    if (http1_client_gone(run->r->req)) {
        abandon(run);
        return;
    }
    bff_timer_start(&run->worker->timers, &run->client_watch, CLIENT_WATCH_MS, on_client_watch);
}

static void on_deadline(bff_timer_t *timer)
{
    run_t *run = H2O_STRUCT_FROM_MEMBER(run_t, deadline_timer, timer);
    for (size_t s = 0; s != run->spec->nsources; ++s) {
        src_run_t *sr = run->src + s;
        if (!resolved(sr)) {
            if (sr->state == SRC_WAITING)
                sr->started_us = now_us();
            fail_source(run, s, bff_err_upstream_timeout, 0,
                        "the endpoint's deadline passed first");
        }
    }
    cancel_all(run);
    finish_or_continue(run);
}

static void on_run_dispose(void *p)
{
    run_t *run = p;
    cancel_all(run); /* the client went away, or the response is done */
    for (size_t i = 0; i != run->nrecs; ++i) {
        free(run->recs[i].key);
        free(run->recs[i].body);
    }
    free(run->recs);
    for (size_t s = 0; s != run->spec->nsources; ++s) {
        bff_jdoc_dispose(&run->src[s].doc);
        free(run->src[s].combined);
    }
    bff_jdoc_dispose(&run->reqdoc);
    bff_jwrite_dispose(&run->reqdoc_buf);
}

/* Trace and span ids: a per-thread splitmix64 seeded from the kernel, so that every process
 * (every replica, every restart) has its own sequence. */
static uint64_t random_u64(void)
{
    static __thread uint64_t state;
    static __thread int seeded;
    if (!seeded) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
            state = now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&state;
        seeded = 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* n lower-case hex digits; with nonzero, not all '0' (W3C trace context). */
static int is_lower_hex(const char *s, size_t n, int nonzero)
{
    int any = 0;
    for (size_t i = 0; i != n; ++i) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
        any |= s[i] != '0';
    }
    return any || !nonzero;
}

static void make_traceparent(run_t *run, h2o_req_t *req)
{
    uint64_t span = random_u64() | 1; /* never all zeros */
    ssize_t idx = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
    if (idx >= 0) {
        h2o_iovec_t v = req->headers.entries[idx].value;
        /* version-traceid(32)-parentid(16)-flags: keep the trace, become the parent. An invalid
         * header starts a new trace. */
        if (v.len == 55 && v.base[2] == '-' && v.base[35] == '-' && v.base[52] == '-' &&
            is_lower_hex(v.base, 2, 0) && memcmp(v.base, "ff", 2) != 0 &&
            is_lower_hex(v.base + 3, 32, 1) && is_lower_hex(v.base + 36, 16, 1) &&
            is_lower_hex(v.base + 53, 2, 0)) {
            snprintf(run->traceparent, sizeof(run->traceparent), "00-%.32s-%016" PRIx64 "-%.2s",
                     v.base + 3, span, v.base + 53);
            return;
        }
    }
    uint64_t hi = random_u64(), lo = random_u64() | 1;
    snprintf(run->traceparent, sizeof(run->traceparent),
             "00-%016" PRIx64 "%016" PRIx64 "-%016" PRIx64 "-01", hi, lo, span);
}

static size_t profile_index(bff_request_t *r)
{
    bff_server_t *server = r->site_ctx->site->server;
    return (size_t)(r->site_ctx->site - server->sites);
}

void bff_endpoint_serve(bff_request_t *r, const bff_spec_t *spec, size_t (*path_values)[2])
{
    h2o_req_t *req = r->req;
    run_t *run = h2o_mem_alloc_shared(&req->pool, sizeof(*run), on_run_dispose);
    memset(run, 0, sizeof(*run));
    run->r = r;
    run->spec = spec;
    run->worker = r->site_ctx->worker;
    run->profile_index = profile_index(r);
    run->started_us = now_us();
    bff_jwrite_init(&run->reqdoc_buf, 256, 64 * 1024);
    size_t n = spec->nsources ? spec->nsources : 1;
    run->src = h2o_mem_alloc_pool(&req->pool, n * sizeof(*run->src));
    memset(run->src, 0, n * sizeof(*run->src));
    run->docs = h2o_mem_alloc_pool(&req->pool, n * sizeof(*run->docs));
    memset(run->docs, 0, n * sizeof(*run->docs));
    run->roots = h2o_mem_alloc_pool(&req->pool, n * sizeof(*run->roots));
    if (build_request_doc_or_respond(run, path_values) != 0) {
        run->finished = 1;
        return;
    }
    make_traceparent(run, req);
    run->request_id_line =
        h2o_mem_alloc_pool(&req->pool, r->request_id.len + sizeof("X-Request-ID: "));
    snprintf(run->request_id_line, r->request_id.len + sizeof("X-Request-ID: "),
             "X-Request-ID: %.*s", (int)r->request_id.len, r->request_id.base);
    run->traceparent_line =
        h2o_mem_alloc_pool(&req->pool, sizeof(run->traceparent) + sizeof("traceparent: "));
    snprintf(run->traceparent_line, sizeof(run->traceparent) + sizeof("traceparent: "),
             "traceparent: %s", run->traceparent);
    uint64_t timeout =
        spec->timeout_ms ? spec->timeout_ms : r->site_ctx->site->profile->request_timeout_ms;
    run->deadline_at = h2o_now(run->worker->loop) + timeout;
    bff_timer_start(&run->worker->timers, &run->deadline_timer, timeout, on_deadline);
    if (req->version < 0x200)
        bff_timer_start(&run->worker->timers, &run->client_watch, CLIENT_WATCH_MS, on_client_watch);
    launch_ready(run);
    finish_or_continue(run);
}
