/* Evaluates a compiled shape against scanned upstream bodies, writing JSON directly. Untouched
 * subtrees are copied as raw bytes, $merge included (shape_merge.c). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose/json_compare.h"
#include "compose/shape.h"
#include "compose/shape_merge.h"

#define MAX_MULTI 4096 /* elements a multi-valued path may yield */
#define MAX_KEYLIST 32

typedef struct st_eval_ctx_t {
    const bff_shape_env_t *env;
    const bff_jdoc_t *elem_doc; /* current $select element */
    uint32_t elem_tok;
} eval_ctx_t;

static void eval_shape(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w);

/* The raw bytes of a value, quotes included for strings. */
static void write_raw(bff_jwrite_t *w, const bff_jdoc_t *doc, uint32_t tok)
{
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type == BFF_J_STRING)
        bff_jwrite_raw(w, doc->json + t->start - 1, t->end - t->start + 2);
    else
        bff_jwrite_raw(w, doc->json + t->start, t->end - t->start);
}

/* Resolves a path's root to (doc, token) and applies steps. Returns the count found. */
static size_t resolve(const bff_jpath_t *path, int binding, const eval_ctx_t *ctx,
                      const bff_jdoc_t **doc, uint32_t *out, size_t max)
{
    return bff_binding_eval(path, binding, ctx->env, ctx->elem_doc, ctx->elem_tok, doc, out, max);
}

/* The value a filter compares against: its literal, or its reference's value now. Returns 0
 * when there is none (an absent parameter: the filter then keeps everything). */
static int filter_operand(const bff_shape_t *s, const eval_ctx_t *ctx, const bff_jdoc_t **doc,
                          uint32_t *tok)
{
    if (s->filter.ref_binding == -1) {
        *doc = &s->filter.value, *tok = 0;
        return s->filter.value.ntoks != 0;
    }
    return bff_binding_eval(&s->filter.ref, s->filter.ref_binding, ctx->env, NULL, 0, doc, tok,
                            1) == 1 &&
           (*doc)->toks[*tok].type != BFF_J_NULL;
}

static int filter_keeps(const bff_shape_t *s, const bff_jdoc_t *doc, uint32_t el,
                        const bff_jdoc_t *opdoc, uint32_t optok)
{
    uint32_t found;
    size_t n = bff_jpath_eval(
        &s->filter.path, 0, doc,
        bff_jdoc_obj_get(doc, el, s->filter.path.root, strlen(s->filter.path.root)), &found, 1);
    if (s->filter.op == BFF_FILTER_EXISTS)
        return n == 1 && doc->toks[found].type != BFF_J_NULL;
    int cmp;
    if (n == 0 || bff_json_compare(doc, found, opdoc, optok, &cmp) != 0)
        return s->filter.op == BFF_FILTER_NE;
    switch (s->filter.op) {
    case BFF_FILTER_EQ:
        return cmp == 0;
    case BFF_FILTER_NE:
        return cmp != 0;
    case BFF_FILTER_LT:
        return cmp < 0;
    case BFF_FILTER_LE:
        return cmp <= 0;
    case BFF_FILTER_GT:
        return cmp > 0;
    case BFF_FILTER_GE:
        return cmp >= 0;
    default:
        return 1;
    }
}

/* $sort: the elements' key values, looked up once, then a stable merge sort. */
typedef struct st_sort_item_t {
    uint32_t el;
    uint32_t key[8]; /* BFF_JDOC_NONE: absent */
} sort_item_t;

static int sort_cmp(const bff_shape_t *s, const bff_jdoc_t *doc, const sort_item_t *a,
                    const sort_item_t *b)
{
    for (size_t k = 0; k != s->nsort; ++k) {
        uint32_t x = a->key[k], y = b->key[k];
        int c;
        if (x == BFF_JDOC_NONE || y == BFF_JDOC_NONE) /* absent keys go last, either way */
            c = (x == BFF_JDOC_NONE) - (y == BFF_JDOC_NONE);
        else if (bff_json_compare(doc, x, doc, y, &c) != 0) /* types differ: by type */
            c = (int)doc->toks[x].type - (int)doc->toks[y].type;
        else if (s->sort_desc[k])
            c = -c;
        if (c != 0)
            return c;
    }
    return 0;
}

static void merge_sort(const bff_shape_t *s, const bff_jdoc_t *doc, sort_item_t *v,
                       sort_item_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(s, doc, v, tmp, h);
    merge_sort(s, doc, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) /* `<=`: equal keys keep their order */
        tmp[k++] = sort_cmp(s, doc, v + i, v + j) <= 0 ? v[i++] : v[j++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

static void sort_elements(const bff_shape_t *s, const bff_jdoc_t *doc, uint32_t *els, size_t n)
{
    sort_item_t *items = bff_malloc(2 * (n ? n : 1) * sizeof(*items));
    for (size_t i = 0; i != n; ++i) {
        items[i].el = els[i];
        for (size_t k = 0; k != s->nsort; ++k) {
            const bff_jpath_t *key = s->sort + k;
            uint32_t found,
                start = strcmp(key->root, "@") == 0 /* the element itself */
                            ? els[i]
                            : bff_jdoc_obj_get(doc, els[i], key->root, strlen(key->root));
            items[i].key[k] = start != BFF_JDOC_NONE &&
                                      bff_jpath_eval(key, 0, doc, start, &found, 1) == 1 &&
                                      doc->toks[found].type != BFF_J_NULL
                                  ? found
                                  : BFF_JDOC_NONE;
        }
    }
    merge_sort(s, doc, items, items + n, n);
    for (size_t i = 0; i != n; ++i)
        els[i] = items[i].el;
    free(items);
}

/* Copies a member name; only escaped names need the slow unescape. */
static void write_key(bff_jwrite_t *w, const bff_jdoc_t *doc, uint32_t k)
{
    const bff_jtok_t *t = doc->toks + k;
    if (!t->escaped) {
        bff_jwrite_key(w, doc->json + t->start, t->end - t->start);
        return;
    }
    char *buf = bff_malloc(t->end - t->start + 1);
    size_t n = bff_jdoc_unescape(doc, k, buf);
    bff_jwrite_key(w, buf, n);
    free(buf);
}

/* Does dotted `entry` name `key` itself (1), something under it (2, *rest set) or neither (0)? */
static int keylist_match(const char *entry, const char *key, size_t keylen, const char **rest)
{
    if (strncmp(entry, key, keylen) != 0)
        return 0;
    if (entry[keylen] == '\0')
        return 1;
    if (entry[keylen] == '.') {
        *rest = entry + keylen + 1;
        return 2;
    }
    return 0;
}

/* Writes an object (or each object of an array) keeping `allow`ed keys and dropping `deny`ed
 * ones; dotted entries reach into nested objects. */
static void write_trimmed(bff_jwrite_t *w, const bff_jdoc_t *doc, uint32_t tok, const char **allow,
                          size_t nallow, const char **deny, size_t ndeny)
{
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type == BFF_J_ARRAY) {
        bff_jwrite_open(w, '[');
        for (uint32_t i = 0, el = tok + 1; i != t->size; ++i, el = doc->toks[el].next)
            write_trimmed(w, doc, el, allow, nallow, deny, ndeny);
        bff_jwrite_close(w, ']');
        return;
    }
    if (t->type != BFF_J_OBJECT) {
        write_raw(w, doc, tok);
        return;
    }
    bff_jwrite_open(w, '{');
    for (uint32_t i = 0, k = tok + 1; i != t->size; ++i, k = doc->toks[k + 1].next) {
        const char *key = doc->json + doc->toks[k].start;
        size_t keylen = doc->toks[k].end - doc->toks[k].start;
        /* Entries name keys as they read, not as the upstream escaped them. */
        char *unescaped = NULL;
        if (doc->toks[k].escaped) {
            unescaped = bff_malloc(keylen + 1);
            keylen = bff_jdoc_unescape(doc, k, unescaped);
            unescaped[keylen] = '\0';
            key = unescaped;
        }
        const char *sub_allow[MAX_KEYLIST], *sub_deny[MAX_KEYLIST], *rest;
        size_t nsa = 0, nsd = 0;
        int keep = nallow == 0, drop = 0;
        for (size_t j = 0; j != nallow; ++j) {
            int m = keylist_match(allow[j], key, keylen, &rest);
            keep |= m != 0;
            if (m == 1)
                nsa = SIZE_MAX; /* the whole subtree */
            else if (m == 2 && nsa != SIZE_MAX && nsa < MAX_KEYLIST)
                sub_allow[nsa++] = rest;
        }
        for (size_t j = 0; j != ndeny; ++j) {
            int m = keylist_match(deny[j], key, keylen, &rest);
            drop |= m == 1;
            if (m == 2 && nsd < MAX_KEYLIST)
                sub_deny[nsd++] = rest;
        }
        free(unescaped);
        if (!keep || drop)
            continue;
        write_key(w, doc, k);
        if (nsa == SIZE_MAX)
            nsa = 0;
        if (nsa == 0 && nsd == 0)
            write_raw(w, doc, k + 1);
        else
            write_trimmed(w, doc, k + 1, sub_allow, nsa, sub_deny, nsd);
    }
    bff_jwrite_close(w, '}');
}

/* "YYYY-MM-DD" at the start of a raw string (an ISO date or timestamp). */
static int is_date_prefix(const char *raw, size_t n)
{
    if (n < 10 || raw[4] != '-' || raw[7] != '-')
        return 0;
    for (size_t i = 0; i != 10; ++i)
        if (i != 4 && i != 7 && !isdigit((unsigned char)raw[i]))
            return 0;
    return 1;
}

static void write_formatted(const bff_shape_t *s, bff_jwrite_t *w, const bff_jdoc_t *doc,
                            uint32_t tok)
{
    const bff_jtok_t *t = doc->toks + tok;
    const char *raw = doc->json + t->start;
    size_t n = t->end - t->start;
    switch (s->format) {
    case BFF_FORMAT_DATE:
        if (t->type == BFF_J_STRING && is_date_prefix(raw, n))
            bff_jwrite_str(w, raw, 10);
        else
            bff_jwrite_null(w);
        return;
    case BFF_FORMAT_STRING:
        if (t->type == BFF_J_STRING)
            write_raw(w, doc, tok);
        else if (t->type == BFF_J_OBJECT || t->type == BFF_J_ARRAY || t->type == BFF_J_NULL)
            bff_jwrite_null(w);
        else
            bff_jwrite_str(w, raw, n);
        return;
    case BFF_FORMAT_NUMBER: {
        double d;
        char buf[64];
        if (t->type == BFF_J_NUMBER) {
            write_raw(w, doc, tok);
        } else if (t->type == BFF_J_STRING && !t->escaped && n > 0 && n < sizeof(buf)) {
            memcpy(buf, raw, n);
            buf[n] = '\0';
            char *end;
            d = strtod(buf, &end);
            if (*end == '\0')
                bff_jwrite_double(w, d);
            else
                bff_jwrite_null(w);
        } else {
            bff_jwrite_null(w);
        }
        return;
    }
    case BFF_FORMAT_UPPER:
    case BFF_FORMAT_LOWER: {
        if (t->type != BFF_J_STRING) {
            write_raw(w, doc, tok);
            return;
        }
        char stackbuf[256], *buf = n < sizeof(stackbuf) ? stackbuf : bff_malloc(n + 1);
        size_t len = bff_jdoc_unescape(doc, tok, buf);
        for (size_t i = 0; i != len; ++i)
            buf[i] = (char)(s->format == BFF_FORMAT_UPPER ? toupper((unsigned char)buf[i])
                                                          : tolower((unsigned char)buf[i]));
        bff_jwrite_str(w, buf, len);
        if (buf != stackbuf)
            free(buf);
        return;
    }
    default:
        write_raw(w, doc, tok);
    }
}

/* One value after filter/limit: $select, trimming, formatting or a raw copy. */
static void write_element(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w,
                          const bff_jdoc_t *doc, uint32_t tok)
{
    if (doc->toks[tok].type == BFF_J_NULL && s->default_json != NULL) {
        bff_jwrite_raw(w, s->default_json, strlen(s->default_json));
    } else if (s->select != NULL) {
        eval_ctx_t sub = {ctx->env, doc, tok};
        if (doc->toks[tok].type == BFF_J_OBJECT)
            eval_shape(s->select, &sub, w);
        else
            bff_jwrite_null(w);
    } else if (s->nallow || s->ndeny) {
        write_trimmed(w, doc, tok, (const char **)s->allow, s->nallow, (const char **)s->deny,
                      s->ndeny);
    } else if (s->format != BFF_FORMAT_NONE) {
        write_formatted(s, w, doc, tok);
    } else {
        write_raw(w, doc, tok);
    }
}

static int needs_iteration(const bff_shape_t *s)
{
    return s->filter.op != BFF_FILTER_NONE || s->limit >= 0 || s->select != NULL || s->nsort ||
           s->count;
}

/* The list pipeline: $filter, $sort, $limit, then $count or each element shaped. */
static void write_list(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w,
                       const bff_jdoc_t *doc, const uint32_t *toks, size_t n)
{
    const bff_jdoc_t *opdoc = NULL;
    uint32_t optok = 0;
    int filtering = s->filter.op != BFF_FILTER_NONE &&
                    (s->filter.op == BFF_FILTER_EXISTS || filter_operand(s, ctx, &opdoc, &optok));
    uint32_t stackbuf[64], *kept = n <= 64 ? stackbuf : bff_malloc(n * sizeof(uint32_t));
    size_t nkept = 0;
    for (size_t i = 0; i != n; ++i)
        if (!filtering || filter_keeps(s, doc, toks[i], opdoc, optok))
            kept[nkept++] = toks[i];
    if (s->nsort)
        sort_elements(s, doc, kept, nkept);
    if (s->limit >= 0 && (size_t)s->limit < nkept)
        nkept = (size_t)s->limit;
    if (s->count) {
        bff_jwrite_int(w, (int64_t)nkept);
    } else {
        bff_jwrite_open(w, '[');
        for (size_t i = 0; i != nkept; ++i)
            write_element(s, ctx, w, doc, kept[i]);
        bff_jwrite_close(w, ']');
    }
    if (kept != stackbuf)
        free(kept);
}

static void write_absent(const bff_shape_t *s, bff_jwrite_t *w)
{
    if (s->default_json != NULL)
        bff_jwrite_raw(w, s->default_json, strlen(s->default_json));
    else
        bff_jwrite_null(w);
}

/* One value through the pipeline: an array is filtered, limited and shaped element-wise. */
static void write_value(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w,
                        const bff_jdoc_t *doc, uint32_t tok)
{
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type != BFF_J_ARRAY && s->count) { /* a count of something that is not a list */
        write_absent(s, w);
        return;
    }
    if (t->type != BFF_J_ARRAY || !needs_iteration(s)) {
        write_element(s, ctx, w, doc, tok);
        return;
    }
    uint32_t *els = bff_malloc((t->size ? t->size : 1) * sizeof(uint32_t));
    uint32_t el = tok + 1;
    for (uint32_t i = 0; i != t->size; ++i, el = doc->toks[el].next)
        els[i] = el;
    write_list(s, ctx, w, doc, els, t->size);
    free(els);
}

static void eval_path(const bff_shape_t *s, const bff_jpath_t *path, int binding,
                      const eval_ctx_t *ctx, bff_jwrite_t *w)
{
    const bff_jdoc_t *doc = NULL;
    if (!path->multi) {
        uint32_t tok;
        if (resolve(path, binding, ctx, &doc, &tok, 1) == 0)
            write_absent(s, w);
        else
            write_value(s, ctx, w, doc, tok);
        return;
    }
    uint32_t stackbuf[64], *toks = stackbuf;
    size_t n = resolve(path, binding, ctx, &doc, toks, 64);
    if (n == 64) { /* may be more: redo with room for all */
        toks = bff_malloc(MAX_MULTI * sizeof(uint32_t));
        n = resolve(path, binding, ctx, &doc, toks, MAX_MULTI);
    }
    if (doc == NULL)
        write_absent(s, w);
    else
        write_list(s, ctx, w, doc, toks, n);
    if (toks != stackbuf)
        free(toks);
}

static void eval_template(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w)
{
    if (bff_template_is_single_ref(&s->tmpl)) { /* "{user.id}" keeps the value's type */
        eval_path(s, &s->tmpl.parts[0].ref, s->tmpl.parts[0].binding, ctx, w);
        return;
    }
    bff_jwrite_t buf;
    bff_jwrite_init(&buf, 128, w->max);
    bff_template_render_in(&s->tmpl, ctx->env, ctx->elem_doc, ctx->elem_tok, 0, &buf, NULL);
    bff_jwrite_str(w, buf.buf, buf.len);
    bff_jwrite_dispose(&buf);
}

/* $merge: each part evaluated and scanned, folded by shape_merge.c, and the result goes through
 * the pipeline like a path's value, via a scan of its text. */
static void eval_merge(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w)
{
    bff_jwrite_t *bufs = bff_calloc(s->nparts, sizeof(*bufs));
    bff_jdoc_t *docs = bff_calloc(s->nparts, sizeof(*docs));
    const bff_jdoc_t **parts = bff_calloc(s->nparts, sizeof(*parts));
    for (size_t i = 0; i != s->nparts; ++i) {
        bff_jwrite_init(bufs + i, 256, w->max);
        eval_shape(s->parts[i], ctx, bufs + i);
        if (bff_jwrite_done(bufs + i) == 0 && bff_jdoc_scan(docs + i, bufs[i].buf, bufs[i].len, 0,
                                                            BFF_JDOC_MAX_DEPTH, NULL, NULL) == 0)
            parts[i] = docs + i;
    }
    bff_jwrite_t merged;
    bff_jwrite_init(&merged, 1024, w->max);
    bff_jdoc_t doc = {0};
    if (bff_shape_merge(s, parts, s->nparts, &merged) != 0)
        write_absent(s, w);
    else if (bff_jwrite_done(&merged) == 0 &&
             bff_jdoc_scan(&doc, merged.buf, merged.len, 0, BFF_JDOC_MAX_DEPTH, NULL, NULL) == 0)
        write_value(s, ctx, w, &doc, 0);
    else
        bff_jwrite_null(w);
    bff_jdoc_dispose(&doc);
    bff_jwrite_dispose(&merged);
    for (size_t i = 0; i != s->nparts; ++i) {
        bff_jdoc_dispose(docs + i);
        bff_jwrite_dispose(bufs + i);
    }
    free(parts);
    free(docs);
    free(bufs);
}

static void eval_shape(const bff_shape_t *s, const eval_ctx_t *ctx, bff_jwrite_t *w)
{
    switch (s->kind) {
    case BFF_SHAPE_OBJECT:
        bff_jwrite_open(w, '{');
        for (size_t i = 0; i != s->nfields; ++i) {
            bff_jwrite_key(w, s->keys[i], strlen(s->keys[i]));
            eval_shape(s->fields[i], ctx, w);
        }
        bff_jwrite_close(w, '}');
        break;
    case BFF_SHAPE_PATH:
        if (strcmp(s->path.root, "@") == 0 && s->binding == BFF_BIND_ELEMENT &&
            s->path.nsteps == 0) {
            write_element(s, ctx, w, ctx->elem_doc, ctx->elem_tok);
            break;
        }
        eval_path(s, &s->path, s->binding, ctx, w);
        break;
    case BFF_SHAPE_TEMPLATE:
        eval_template(s, ctx, w);
        break;
    case BFF_SHAPE_LITERAL:
        bff_jwrite_raw(w, s->literal_json, strlen(s->literal_json));
        break;
    case BFF_SHAPE_MERGE:
        eval_merge(s, ctx, w);
        break;
    }
}

void bff_shape_eval(const bff_shape_t *shape, const bff_shape_env_t *env, bff_jwrite_t *w)
{
    eval_ctx_t ctx = {env, NULL, 0};
    eval_shape(shape, &ctx, w);
}
