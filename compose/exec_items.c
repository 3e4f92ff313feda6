/* Iterating sources: for-each (one call per element of a list, under a concurrency cap, results
 * in the list's order) and batch (the elements joined into one call, or into one call per chunk
 * of at most `max` elements, whose answers are merged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/exec_internal.h"
#include "compose/json_write.h"
#include "compose/shape_merge.h"

#define MAX_NAMED_ITEMS 8 /* failed items named in a partial for-each's detail */

/* The elements of the array named by `items`, at most `max`. */
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

/* An item as a client can recognise it: a scalar's text, or an object's `id`. */
static void item_key(const bff_jdoc_t *doc, uint32_t el, char *buf, size_t size)
{
    uint32_t tok = el;
    if (doc->toks[el].type == BFF_J_OBJECT &&
        (tok = bff_jdoc_obj_get(doc, el, "id", 2)) == BFF_JDOC_NONE) {
        buf[0] = '\0';
        return;
    }
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type == BFF_J_OBJECT || t->type == BFF_J_ARRAY || t->end - t->start >= size) {
        buf[0] = '\0';
        return;
    }
    size_t n = t->type == BFF_J_STRING ? bff_jdoc_unescape(doc, tok, buf) : t->end - t->start;
    if (t->type != BFF_J_STRING)
        memcpy(buf, doc->json + t->start, n);
    buf[n] = '\0';
}

/* A for-each source: items in the list's order, failed items as null; fails only if all
 * failed. A partial one names its failed items: "2 of 5 items failed: #1 (7), #3 (9)". */
static void complete_for_each(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    const bff_jdoc_t *list;
    uint32_t *items = bff_malloc((sr->nrecs ? sr->nrecs : 1) * sizeof(uint32_t));
    size_t nitems = collect_items(exec, src, &list, items, sr->nrecs);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 1024, 64u << 20);
    bff_jwrite_open(&w, '[');
    size_t failed = 0, named = 0;
    const call_rec_t *first_failed = NULL;
    char names[160] = "";
    for (size_t i = 0; i != sr->nrecs; ++i) {
        const call_rec_t *cr = exec->recs + sr->recs[i];
        const char *body;
        size_t len;
        bff_exec_i_body_of(cr, &body, &len);
        bff_jdoc_t probe = {0};
        const bff_status_rule_t *rule;
        unsigned respond;
        int answered = cr->err == NULL || cr->err == bff_err_upstream_status;
        int ok = answered && bff_source_is_success(src, cr->status);
        if (answered && !ok &&
            bff_source_status_action(src, cr->status, &rule, &respond) == BFF_STATUS_NULL) {
            bff_jwrite_null(&w); /* an expected absence, not a failure */
        } else if (ok && bff_exec_i_content_type_ok(src, cr) &&
                   bff_jdoc_scan(&probe, body, len, MAX_UPSTREAM_TOKENS, 0, NULL, NULL) == 0) {
            bff_jwrite_raw(&w, body, len);
        } else {
            bff_jwrite_null(&w);
            if (first_failed == NULL) {
                first_failed = cr;
                sr->failed = bff_malloc(sr->nrecs * sizeof(*sr->failed));
            }
            sr->failed[sr->nfailed++] = i;
            if (++failed <= MAX_NAMED_ITEMS) {
                char key[48] = "", one[64];
                if (i < nitems)
                    item_key(list, items[i], key, sizeof(key));
                snprintf(one, sizeof(one), "%s#%zu%s%s%s", named++ ? ", " : "", i,
                         key[0] ? " (" : "", key, key[0] ? ")" : "");
                strncat(names, one, sizeof(names) - strlen(names) - 1);
            }
        }
        bff_jdoc_dispose(&probe);
    }
    bff_jwrite_close(&w, ']');
    free(items);
    if (sr->nrecs != 0 && failed == sr->nrecs) {
        bff_exec_i_fail(exec, s, first_failed->err ? first_failed->err : bff_err_invalid_json,
                        first_failed->status,
                        first_failed->detail[0] ? first_failed->detail : "every item failed");
        snprintf(out->log_detail, sizeof(out->log_detail), "%s", first_failed->log_detail);
    } else {
        out->duration_us = bff_exec_i_now(exec) - out->started_us;
        if (failed != 0) {
            snprintf(out->detail, sizeof(out->detail), "%zu of %zu items failed: %s%s", failed,
                     sr->nrecs, names, failed > MAX_NAMED_ITEMS ? ", ..." : "");
            out->err = bff_err_partial;
        }
        sr->combined = bff_strndup(w.buf, w.len);
        if (bff_exec_i_scan(exec, s, sr->combined, w.len, 200) == 0)
            out->state = BFF_SRC_DONE;
    }
    bff_jwrite_dispose(&w);
}

static size_t list_cap(const bff_source_t *src)
{
    /* for_each's `max` caps the list; batch's splits it into calls of at most `max` */
    return src->mode == BFF_SOURCE_FOR_EACH && src->max_items < MAX_ITEMS ? src->max_items
                                                                          : MAX_ITEMS;
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
    size_t n = collect_items(exec, src, &doc, items, list_cap(src));
    while (sr->next_item < n && sr->inflight < src->concurrency) {
        size_t i = sr->next_item++;
        size_t rec = bff_exec_i_start_call(exec, s, doc, items[i], 0);
        if (rec == SIZE_MAX) {
            bff_exec_i_fail(exec, s, bff_err_bad_request, 0, exec->out[s].detail);
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

/* One batch call: `{items}` renders as elements [from, to) joined by the separator, each
 * percent-encoded, as one JSON string the template inserts verbatim. */
static size_t start_chunk(bff_exec_t *exec, size_t s, const bff_jdoc_t *doc, const uint32_t *items,
                          size_t from, size_t to)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_jwrite_t list, jw;
    bff_jwrite_init(&list, 256, 1 << 20);
    bff_shape_env_t env = {.item_doc = doc};
    bff_template_part_t part = {.binding = BFF_BIND_ITEM};
    part.ref.root = "items";
    bff_template_t one = {.parts = &part, .nparts = 1};
    for (size_t i = from; i != to; ++i) {
        if (i != from)
            bff_jwrite_bytes(&list, src->separator, strlen(src->separator));
        env.item_tok = items[i];
        bff_template_render(&one, &env, 1, &list, NULL);
    }
    bff_jwrite_init(&jw, list.len + 8, (1 << 20) + 8);
    bff_jwrite_str(&jw, list.buf, list.len);
    bff_jwrite_dispose(&list);
    bff_jdoc_t joined = {0};
    bff_jdoc_scan(&joined, jw.buf, jw.len, 0, 0, NULL, NULL);
    size_t rec = bff_exec_i_start_call(exec, s, &joined, 0, 1);
    bff_jdoc_dispose(&joined);
    bff_jwrite_dispose(&jw);
    return rec;
}

static void start_batch(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    src_run_t *sr = exec->src + s;
    const bff_jdoc_t *doc;
    uint32_t items[MAX_ITEMS];
    size_t n = collect_items(exec, src, &doc, items, list_cap(src));
    size_t per = src->max_items ? src->max_items : 1;
    size_t chunks = n == 0 ? 1 : (n + per - 1) / per; /* no items: one call with none */
    sr->recs = bff_malloc(chunks * sizeof(size_t));
    sr->nrecs = chunks;
    sr->pending = 0;
    for (size_t c = 0; c != chunks; ++c) {
        size_t from = c * per, to = from + per < n ? from + per : n;
        size_t rec = start_chunk(exec, s, doc, items, from, to);
        if (rec == SIZE_MAX) {
            bff_exec_i_fail(exec, s, bff_err_bad_request, 0, exec->out[s].detail);
            return;
        }
        sr->recs[c] = rec;
        sr->pending += !exec->recs[rec].done;
    }
    bff_exec_i_items_progress(exec, s);
}

/* Several chunks: each must have succeeded; their JSON is merged as `$policy: append` would
 * (arrays concatenated, objects merged key by key), so the source's value reads as one call's. */
static void complete_chunks(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    bff_source_outcome_t *out = exec->out + s;
    src_run_t *sr = exec->src + s;
    bff_jdoc_t *docs = bff_calloc(sr->nrecs, sizeof(*docs));
    const bff_jdoc_t **parts = bff_calloc(sr->nrecs, sizeof(*parts));
    for (size_t c = 0; c != sr->nrecs && out->state == BFF_SRC_RUNNING; ++c) {
        const call_rec_t *cr = exec->recs + sr->recs[c];
        const char *body;
        size_t len;
        bff_exec_i_body_of(cr, &body, &len);
        int answered = cr->err == NULL || cr->err == bff_err_upstream_status;
        if (!answered || !bff_source_is_success(src, cr->status) ||
            !bff_exec_i_content_type_ok(src, cr) ||
            bff_jdoc_scan(docs + c, body, len, MAX_UPSTREAM_TOKENS, 0, NULL, NULL) != 0) {
            char detail[200];
            snprintf(detail, sizeof(detail), "batch call %zu of %zu: %s", c + 1, sr->nrecs,
                     cr->detail[0] ? cr->detail : "invalid JSON");
            bff_exec_i_fail(exec, s, cr->err ? cr->err : bff_err_invalid_json, cr->status, detail);
            break;
        }
        parts[c] = docs + c;
    }
    if (out->state == BFF_SRC_RUNNING) {
        static const bff_shape_t append = {.policy = BFF_MERGE_APPEND};
        bff_jwrite_t w;
        bff_jwrite_init(&w, 4096, 64u << 20);
        if (bff_shape_merge(&append, parts, sr->nrecs, &w) != 0)
            bff_jwrite_null(&w);
        out->duration_us = bff_exec_i_now(exec) - out->started_us;
        sr->combined = bff_strndup(w.buf, w.len);
        if (bff_exec_i_scan(exec, s, sr->combined, w.len, 200) == 0)
            out->state = BFF_SRC_DONE;
        bff_jwrite_dispose(&w);
    }
    for (size_t c = 0; c != sr->nrecs; ++c)
        bff_jdoc_dispose(docs + c);
    free(docs);
    free(parts);
}

void bff_exec_i_start_items(bff_exec_t *exec, size_t s)
{
    const bff_source_t *src = exec->plan->sources + s;
    src_run_t *sr = exec->src + s;
    if (src->mode == BFF_SOURCE_BATCH) {
        start_batch(exec, s);
        return;
    }
    const bff_jdoc_t *doc;
    uint32_t items[MAX_ITEMS];
    size_t all = collect_items(exec, src, &doc, items, MAX_ITEMS), n = all;
    if (n > list_cap(src))
        n = list_cap(src);
    sr->left_out = all - n; /* past `max` (counted up to MAX_ITEMS) */
    sr->recs = bff_malloc((n ? n : 1) * sizeof(size_t));
    for (size_t i = 0; i != n; ++i)
        sr->recs[i] = SIZE_MAX; /* not started: on_rec_done must not count it */
    sr->nrecs = sr->pending = n;
    pump_for_each(exec, s);
}

void bff_exec_i_items_progress(bff_exec_t *exec, size_t s)
{
    src_run_t *sr = exec->src + s;
    if (exec->out[s].state != BFF_SRC_RUNNING)
        return;
    if (exec->plan->sources[s].mode == BFF_SOURCE_FOR_EACH)
        pump_for_each(exec, s);
    else if (sr->pending == 0 && sr->nrecs == 1)
        bff_exec_i_complete_single(exec, s);
    else if (sr->pending == 0)
        complete_chunks(exec, s);
}
