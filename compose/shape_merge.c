/* $merge over scanned values: a small tree whose leaves point at the parts' own tokens, so every
 * number, string and untouched subtree is written back byte for byte (jansson, used before,
 * turned 146.60 into 146.59999999999999 and dropped parts holding \u0000). */
#include "compose/shape_merge.h"

#include <stdlib.h>
#include <string.h>

#include "compose/json_compare.h"

typedef enum { M_RAW, M_OBJECT, M_ARRAY } mkind_t;

typedef struct st_mnode_t mnode_t;

typedef struct st_mmember_t {
    const bff_jdoc_t *kdoc; /* the key as written in its part */
    uint32_t ktok;
    mnode_t *value;
} mmember_t;

struct st_mnode_t {
    mkind_t kind;
    const bff_jdoc_t *doc; /* M_RAW: a whole value of a part */
    uint32_t tok;
    size_t n, cap;
    mmember_t *members; /* M_OBJECT */
    mnode_t **items;    /* M_ARRAY */
    mnode_t *next_alloc;
};

typedef struct st_merger_t {
    const bff_shape_t *s;
    mnode_t *allocs; /* every node, freed at the end */
} merger_t;

static mnode_t *new_node(merger_t *m, mkind_t kind, const bff_jdoc_t *doc, uint32_t tok)
{
    mnode_t *n = bff_calloc(1, sizeof(*n));
    n->kind = kind, n->doc = doc, n->tok = tok;
    n->next_alloc = m->allocs;
    m->allocs = n;
    return n;
}

static int type_of(const mnode_t *n)
{
    if (n->kind == M_OBJECT)
        return BFF_J_OBJECT;
    if (n->kind == M_ARRAY)
        return BFF_J_ARRAY;
    return n->doc->toks[n->tok].type;
}

static int same_key(const bff_jdoc_t *a, uint32_t ka, const bff_jdoc_t *b, uint32_t kb)
{
    int cmp;
    return bff_json_compare(a, ka, b, kb, &cmp) == 0 && cmp == 0;
}

static mmember_t *find_member(mnode_t *obj, const bff_jdoc_t *kdoc, uint32_t ktok)
{
    for (size_t i = 0; i != obj->n; ++i)
        if (same_key(obj->members[i].kdoc, obj->members[i].ktok, kdoc, ktok))
            return obj->members + i;
    return NULL;
}

static void add_member(mnode_t *obj, const bff_jdoc_t *kdoc, uint32_t ktok, mnode_t *value)
{
    if (obj->n == obj->cap) {
        obj->cap = obj->cap ? obj->cap * 2 : 8;
        obj->members = bff_realloc(obj->members, obj->cap * sizeof(*obj->members));
    }
    obj->members[obj->n++] = (mmember_t){kdoc, ktok, value};
}

static void add_item(mnode_t *arr, mnode_t *item)
{
    if (arr->n == arr->cap) {
        arr->cap = arr->cap ? arr->cap * 2 : 8;
        arr->items = bff_realloc(arr->items, arr->cap * sizeof(*arr->items));
    }
    arr->items[arr->n++] = item;
}

/* A raw object or array opened up into members or items (themselves raw), to merge into. An
 * object that repeats a key keeps its first occurrence, as everywhere in bffd. */
static mnode_t *open_up(merger_t *m, mnode_t *n)
{
    if (n->kind != M_RAW)
        return n;
    const bff_jdoc_t *doc = n->doc;
    const bff_jtok_t *t = doc->toks + n->tok;
    if (t->type == BFF_J_OBJECT) {
        mnode_t *obj = new_node(m, M_OBJECT, NULL, 0);
        for (uint32_t i = 0, k = n->tok + 1; i != t->size; ++i, k = doc->toks[k + 1].next)
            if (find_member(obj, doc, k) == NULL)
                add_member(obj, doc, k, new_node(m, M_RAW, doc, k + 1));
        return obj;
    }
    if (t->type == BFF_J_ARRAY) {
        mnode_t *arr = new_node(m, M_ARRAY, NULL, 0);
        for (uint32_t i = 0, el = n->tok + 1; i != t->size; ++i, el = doc->toks[el].next)
            add_item(arr, new_node(m, M_RAW, doc, el));
        return arr;
    }
    return n;
}

/* jansson's json_object_update_recursive, as $policy: keyed used it for matched elements:
 * objects merge recursively, anything else (null included) replaces. */
static mnode_t *update_recursive(merger_t *m, mnode_t *into, mnode_t *from)
{
    if (type_of(into) != BFF_J_OBJECT || type_of(from) != BFF_J_OBJECT)
        return from;
    into = open_up(m, into);
    from = open_up(m, from);
    for (size_t i = 0; i != from->n; ++i) {
        mmember_t *f = from->members + i, *cur = find_member(into, f->kdoc, f->ktok);
        if (cur != NULL)
            cur->value = update_recursive(m, cur->value, f->value);
        else
            add_member(into, f->kdoc, f->ktok, f->value);
    }
    return into;
}

/* The element of `arr` whose `key` equals `id`'s, or NULL. */
static mnode_t **find_keyed(merger_t *m, mnode_t *arr, mnode_t *el)
{
    const char *key = m->s->merge_key;
    if (type_of(el) != BFF_J_OBJECT)
        return NULL;
    mnode_t *obj = open_up(m, el);
    for (size_t i = 0; i != arr->n; ++i) {
        if (type_of(arr->items[i]) != BFF_J_OBJECT)
            continue;
        mnode_t *cand = arr->items[i] = open_up(m, arr->items[i]);
        for (size_t a = 0; a != obj->n; ++a) {
            const bff_jdoc_t *kd = obj->members[a].kdoc;
            const bff_jtok_t *kt = kd->toks + obj->members[a].ktok;
            if (kt->end - kt->start != strlen(key) ||
                memcmp(kd->json + kt->start, key, strlen(key)))
                continue;
            mmember_t *other = find_member(cand, kd, obj->members[a].ktok);
            mnode_t *x = obj->members[a].value, *y = other ? other->value : NULL;
            int cmp;
            if (y != NULL && x->kind == M_RAW && y->kind == M_RAW &&
                bff_json_compare(x->doc, x->tok, y->doc, y->tok, &cmp) == 0 && cmp == 0)
                return arr->items + i;
        }
    }
    return NULL;
}

static mnode_t *merge(merger_t *m, mnode_t *into, mnode_t *from)
{
    int ti = type_of(into), tf = type_of(from);
    if (ti == BFF_J_OBJECT && tf == BFF_J_OBJECT) {
        into = open_up(m, into);
        from = open_up(m, from);
        for (size_t i = 0; i != from->n; ++i) {
            mmember_t *f = from->members + i, *cur = find_member(into, f->kdoc, f->ktok);
            if (cur == NULL)
                add_member(into, f->kdoc, f->ktok, f->value);
            else if (m->s->policy == BFF_MERGE_REPLACE)
                cur->value = f->value;
            else
                cur->value = merge(m, cur->value, f->value);
        }
        return into;
    }
    if (ti == BFF_J_ARRAY && tf == BFF_J_ARRAY &&
        (m->s->policy == BFF_MERGE_APPEND || m->s->policy == BFF_MERGE_KEYED)) {
        into = open_up(m, into);
        from = open_up(m, from);
        for (size_t i = 0; i != from->n; ++i) {
            mnode_t **match =
                m->s->policy == BFF_MERGE_KEYED ? find_keyed(m, into, from->items[i]) : NULL;
            if (match != NULL)
                *match = update_recursive(m, *match, from->items[i]);
            else
                add_item(into, from->items[i]);
        }
        return into;
    }
    if (tf == BFF_J_NULL) /* a missing part never erases what earlier parts gave */
        return into;
    return from;
}

static void write_raw(bff_jwrite_t *w, const bff_jdoc_t *doc, uint32_t tok)
{
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type == BFF_J_STRING)
        bff_jwrite_raw(w, doc->json + t->start - 1, t->end - t->start + 2);
    else
        bff_jwrite_raw(w, doc->json + t->start, t->end - t->start);
}

static void write_node(bff_jwrite_t *w, const mnode_t *n)
{
    switch (n->kind) {
    case M_RAW:
        write_raw(w, n->doc, n->tok);
        return;
    case M_OBJECT:
        bff_jwrite_open(w, '{');
        for (size_t i = 0; i != n->n; ++i) {
            const bff_jdoc_t *kdoc = n->members[i].kdoc;
            uint32_t ktok = n->members[i].ktok;
            const bff_jtok_t *k = kdoc->toks + ktok;
            if (!k->escaped) {
                bff_jwrite_key(w, kdoc->json + k->start, k->end - k->start);
            } else {
                char *buf = bff_malloc(k->end - k->start + 1);
                bff_jwrite_key(w, buf, bff_jdoc_unescape(kdoc, ktok, buf));
                free(buf);
            }
            write_node(w, n->members[i].value);
        }
        bff_jwrite_close(w, '}');
        return;
    case M_ARRAY:
        bff_jwrite_open(w, '[');
        for (size_t i = 0; i != n->n; ++i)
            write_node(w, n->items[i]);
        bff_jwrite_close(w, ']');
        return;
    }
}

int bff_shape_merge(const bff_shape_t *s, const bff_jdoc_t *const *parts, size_t nparts,
                    bff_jwrite_t *out)
{
    merger_t m = {s, NULL};
    mnode_t *acc = NULL;
    for (size_t i = 0; i != nparts; ++i) {
        if (parts[i] == NULL || parts[i]->ntoks == 0)
            continue;
        mnode_t *v = new_node(&m, M_RAW, parts[i], 0);
        acc = acc == NULL ? v : merge(&m, acc, v);
    }
    int ret = -1;
    if (acc != NULL && type_of(acc) != BFF_J_NULL) {
        write_node(out, acc);
        ret = 0;
    }
    while (m.allocs != NULL) {
        mnode_t *n = m.allocs;
        m.allocs = n->next_alloc;
        free(n->members);
        free(n->items);
        free(n);
    }
    return ret;
}
