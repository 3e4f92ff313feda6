/* libFuzzer harness for compose/json_scan.c and compose/json_write.c: scans arbitrary bytes and,
 * when they are accepted, checks the token invariants, the lookups, and that re-emitting the
 * document through the writer yields JSON that scans to the same shape. Aborts on violation. */
#include "compose/diag.c"
#include "compose/json_scan.c"
#include "compose/json_write.c"

#include <stdio.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Unescaped copy of string token `tok` (caller frees). */
static char *unescape_dup(const bff_jdoc_t *doc, uint32_t tok, size_t *len)
{
    const bff_jtok_t *t = doc->toks + tok;
    char *s = bff_malloc(t->end - t->start + 1);
    *len = bff_jdoc_unescape(doc, tok, s);
    CHECK(*len <= t->end - t->start);
    CHECK(t->escaped || *len == t->end - t->start);
    return s;
}

/*
 * Checks value `i` and its subtree and re-emits it through `w`: scalars verbatim, or, if `typed`,
 * through bff_jwrite_int/double/bool/null. Returns the index after the subtree.
 */
static uint32_t walk(const bff_jdoc_t *doc, uint32_t i, bff_jwrite_t *w, int typed)
{
    CHECK(i < doc->ntoks);
    const bff_jtok_t *t = doc->toks + i;
    CHECK(t->next > i && t->next <= doc->ntoks);
    CHECK(t->start <= t->end && t->end <= doc->len);
    size_t len;
    switch (t->type) {
    case BFF_J_OBJECT:
    case BFF_J_ARRAY: {
        int obj = t->type == BFF_J_OBJECT;
        CHECK(doc->json[t->start] == (obj ? '{' : '['));
        CHECK(doc->json[t->end - 1] == (obj ? '}' : ']'));
        bff_jwrite_open(w, obj ? '{' : '[');
        uint32_t j = i + 1;
        for (uint32_t k = 0; k < t->size; ++k) {
            CHECK(j < t->next);
            if (obj) {
                CHECK(doc->toks[j].type == BFF_J_STRING);
                char *key = unescape_dup(doc, j, &len);
                /* The first member with this name must be this one or an earlier one. */
                uint32_t v = bff_jdoc_obj_get(doc, i, key, len);
                CHECK(v != BFF_JDOC_NONE && v <= j + 1 &&
                      bff_jdoc_equals_str(doc, v - 1, key, len));
                bff_jwrite_key(w, key, len);
                free(key);
                ++j;
            } else {
                CHECK(bff_jdoc_arr_get(doc, i, k) == j);
                CHECK(bff_jdoc_arr_get(doc, i, (int64_t)k - (int64_t)t->size) == j);
            }
            CHECK(doc->toks[j].start >= t->start && doc->toks[j].end <= t->end);
            j = walk(doc, j, w, typed);
        }
        CHECK(j == t->next);
        if (!obj)
            CHECK(bff_jdoc_arr_get(doc, i, t->size) == BFF_JDOC_NONE);
        bff_jwrite_close(w, obj ? '}' : ']');
        return j;
    }
    case BFF_J_STRING: {
        CHECK(t->start >= 1 && doc->json[t->start - 1] == '"' && doc->json[t->end] == '"');
        char *s = unescape_dup(doc, i, &len);
        CHECK(bff_jdoc_equals_str(doc, i, s, len));
        if (len > 0)
            CHECK(!bff_jdoc_equals_str(doc, i, s, len - 1));
        bff_jwrite_str(w, s, len);
        free(s);
        break;
    }
    case BFF_J_NUMBER: {
        double d;
        int64_t v;
        int dok = bff_jdoc_to_double(doc, i, &d) == 0;
        if (bff_jdoc_to_int64(doc, i, &v) == 0) {
            CHECK(dok && d == (double)v);
            if (typed) {
                bff_jwrite_int(w, v);
                typed = 2;
            }
        } else if (dok && typed) {
            bff_jwrite_double(w, d);
            typed = 2;
        }
        break;
    }
    case BFF_J_TRUE:
    case BFF_J_FALSE:
        if (typed) {
            bff_jwrite_bool(w, t->type == BFF_J_TRUE);
            typed = 2;
        }
        break;
    case BFF_J_NULL:
        if (typed) {
            bff_jwrite_null(w);
            typed = 2;
        }
        break;
    default:
        CHECK(!"bad token type");
    }
    CHECK(t->next == i + 1 && t->size == 0);
    if (t->type != BFF_J_STRING && typed != 2) {
        const char *raw = bff_jdoc_raw(doc, i, &len);
        bff_jwrite_raw(w, raw, len);
    }
    return i + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Reused across runs, as a worker would: exercises capacity reuse. */
    static bff_jdoc_t doc, again;
    const char *err = NULL;
    size_t off = SIZE_MAX;
    const char *json = (const char *)data;

    if (bff_jdoc_scan(&doc, json, size, 1u << 20, 64, &err, &off) != 0) {
        CHECK(err != NULL && off <= size && doc.ntoks == 0);
        return 0;
    }
    CHECK(doc.ntoks >= 1 && doc.toks[0].next == doc.ntoks);

    bff_jwrite_t w;
    bff_jwrite_init(&w, 256, (size_t)1 << 28);
    CHECK(walk(&doc, 0, &w, 0) == doc.ntoks);
    CHECK(bff_jwrite_done(&w) == 0);

    /* The re-emitted text is canonical: it scans to the same shape and re-emits to itself. */
    CHECK(bff_jdoc_scan(&again, w.buf, w.len, 1u << 20, 64, &err, &off) == 0);
    CHECK(again.ntoks == doc.ntoks);
    for (uint32_t i = 0; i < doc.ntoks; ++i) {
        const bff_jtok_t *a = doc.toks + i, *b = again.toks + i;
        CHECK(a->type == b->type && a->size == b->size && a->next == b->next);
        if (a->type == BFF_J_NUMBER || a->type == BFF_J_STRING) {
            if (a->type == BFF_J_STRING && (a->escaped || b->escaped)) {
                size_t la, lb;
                char *sa = unescape_dup(&doc, i, &la), *sb = unescape_dup(&again, i, &lb);
                CHECK(la == lb && memcmp(sa, sb, la) == 0);
                free(sa);
                free(sb);
            } else {
                CHECK(a->end - a->start == b->end - b->start);
                CHECK(memcmp(doc.json + a->start, again.json + b->start, a->end - a->start) == 0);
            }
        }
    }
    bff_jwrite_t w2;
    bff_jwrite_init(&w2, 16, (size_t)1 << 28);
    CHECK(walk(&again, 0, &w2, 0) == again.ntoks);
    CHECK(w2.len == w.len && memcmp(w2.buf, w.buf, w.len) == 0);

    /* Typed re-emission: numbers must survive bff_jwrite_int/double exactly. */
    bff_jwrite_reset(&w2);
    CHECK(walk(&doc, 0, &w2, 1) == doc.ntoks);
    CHECK(bff_jwrite_done(&w2) == 0);
    CHECK(bff_jdoc_scan(&again, w2.buf, w2.len, 1u << 20, 64, &err, &off) == 0);
    CHECK(again.ntoks == doc.ntoks);
    for (uint32_t i = 0; i < doc.ntoks; ++i) {
        CHECK(doc.toks[i].type == again.toks[i].type && doc.toks[i].size == again.toks[i].size);
        double a, b;
        int64_t va, vb;
        if (doc.toks[i].type != BFF_J_NUMBER)
            continue;
        if (bff_jdoc_to_int64(&doc, i, &va) == 0)
            CHECK(bff_jdoc_to_int64(&again, i, &vb) == 0 && va == vb);
        if (bff_jdoc_to_double(&doc, i, &a) == 0)
            CHECK(bff_jdoc_to_double(&again, i, &b) == 0 && a == b);
    }
    bff_jwrite_dispose(&w2);

    /* Every subtree's raw text is itself a valid document of the same size. */
    if (doc.ntoks <= 256) {
        for (uint32_t i = 0; i < doc.ntoks; ++i) {
            size_t len;
            const char *raw = bff_jdoc_raw(&doc, i, &len);
            CHECK(bff_jdoc_scan(&again, raw, len, 0, 64, &err, &off) == 0);
            CHECK(again.ntoks == doc.toks[i].next - i);
        }
    }

    /* Scanning a strict prefix must fail (a complete value never ends early) unless the prefix
     * is itself a number, e.g. "12" of "123", or the dropped bytes were whitespace. */
    size_t end = size;
    while (end > 0 && is_ws(data[end - 1]))
        --end;
    if (end > 0 && doc.toks[0].type != BFF_J_NUMBER)
        CHECK(bff_jdoc_scan(&again, json, end - 1, 0, 64, &err, &off) != 0);

    bff_jwrite_dispose(&w);
    return 0;
}
