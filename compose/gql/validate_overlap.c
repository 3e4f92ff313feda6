/* OverlappingFieldsCanBeMerged, as graphql-js 16 runs it: at every selection set, its fields are
 * compared "within" (each pair of the same response name), then "between" them and each
 * fragment spread there, and between those fragments; two fields with selections compare their
 * sub-selections the same way. Field maps are built once per selection set, and the pairs
 * (field map, fragment) and (fragment, fragment) already compared are remembered (weakly when
 * the parents were mutually exclusive), so fragments spread many times cost once: the same
 * memoization graphql-js has, with the same effect on which conflicts are found.
 *
 * Bounds: the walks over chains of fragments use explicit stacks; comparing sub-selections
 * recurses once per level of field nesting, up to OV_MAX_DEPTH; the whole rule does at most
 * OV_MAX_STEPS units of work per document. Past either bound the document is refused with an
 * error of its own (graphql-js would go on, for seconds or until its stack ends). Fields without
 * a selection set that are alike (same parent, field, arguments) compare alike, so they are
 * compared once per kind: a document repeating a leaf field thousands of times stays linear. */
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

#ifndef OV_MAX_STEPS
#define OV_MAX_STEPS (UINT64_C(1) << 21)
#endif
#define OV_MAX_DEPTH 1024
#define OV_MAX_REASON 16384 /* a conflict's text stops growing here */
#define OV_LOCS BFF_GQL_ERROR_MAX_LOCS

typedef struct {
    const bff_gql_type_t *parent; /* may be any named type, or NULL */
    const bff_gql_selection_t *node;
    const bff_gql_field_t *def; /* the parent's own field (no meta fields), NULL if none */
    size_t cls;                 /* the first alike field of its group (itself if none) */
    int pure;                   /* no selection set, classable arguments */
} ov_field_t;

typedef struct {
    const char *name; /* the response name */
    ov_field_t *fields;
    size_t n;
    int all_pure;
} ov_group_t;

typedef struct {
    uint32_t index;     /* in creation order, for the memo's keys */
    ov_group_t *groups; /* in order of first appearance */
    size_t ngroups;
    size_t *by_name; /* group indices sorted by name */
    size_t *frags;   /* fragment name ids spread here (known ones, first appearance) */
    size_t nfrags;
} ov_map_t;

typedef struct {
    const char *name;
    char *reason; /* malloc'ed */
    bff_gql_loc_t locs1[OV_LOCS], locs2[OV_LOCS];
    size_t n1, n2;
} ov_conflict_t;

typedef struct {
    ov_conflict_t *items;
    size_t n, cap;
} ov_list_t;

/* A set of pairs of 32-bit numbers with a flag, 8 bytes a pair: there is one entry per unit of
 * work at most, so it stays small enough to be allowed OV_MAX_STEPS of them. */
typedef struct {
    uint64_t *slots; /* (a << 33 | b << 1 | flag), 0 = empty; a is never 0 */
    size_t cap, n;
} pairset_t;

struct st_vd_overlap_t {
    vd_ctx_t *c;
    vd_pmap_t maps; /* selection set -> ov_map_t */
    uint32_t nmaps;
    pairset_t field_frag; /* (field map, fragment id) -> compared when mutually exclusive */
    pairset_t frag_pairs; /* (fragment id, fragment id) -> the same */
    uint64_t steps;
    unsigned depth;
    int aborted, reported;
    /* Scratch for building a field map. */
    ov_field_t *tmp;
    size_t ntmp, tmp_cap;
    vd_strmap_t tmp_groups;
    size_t *frag_seen; /* fragment name id -> build number that saw it */
    size_t build;
};

/* ---- budget ---- */

static int spend(vd_overlap_t *ov, uint64_t n)
{
    ov->steps += n;
    if (ov->steps > OV_MAX_STEPS)
        ov->aborted = 1;
    return !ov->aborted;
}

/* ---- conflicts ---- */

static ov_conflict_t *push_conflict(ov_list_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap != 0 ? l->cap * 2 : 4;
        l->items = bff_realloc(l->items, l->cap * sizeof(*l->items));
    }
    ov_conflict_t *x = l->items + l->n++;
    memset(x, 0, sizeof(*x));
    return x;
}

static void free_list(ov_list_t *l)
{
    for (size_t i = 0; i != l->n; ++i)
        free(l->items[i].reason);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static void add_loc(bff_gql_loc_t *locs, size_t *n, bff_gql_loc_t loc)
{
    if (*n < OV_LOCS)
        locs[(*n)++] = loc;
}

/* ---- arguments ---- */

static const bff_gql_argument_t *last_arg(const bff_gql_selection_t *s, const char *name)
{
    for (size_t i = s->nargs; i > 0; --i)
        if (strcmp(s->args[i - 1].name, name) == 0)
            return s->args + i - 1;
    return NULL;
}

/* sameArguments: as many arguments, each of the first found (the last of its name) in the
 * second with a value that prints the same. */
static int same_arguments(const bff_gql_selection_t *a, const bff_gql_selection_t *b)
{
    if (a->nargs == 0 || b->nargs == 0)
        return a->nargs == b->nargs;
    if (a->nargs != b->nargs)
        return 0;
    vd_strmap_t index = {0};
    int use_index = b->nargs > 16;
    if (use_index)
        for (size_t i = 0; i != b->nargs; ++i)
            *vd_strmap_put(&index, b->args[i].name, i, NULL) = i;
    int same = 1;
    for (size_t i = 0; i != a->nargs && same; ++i) {
        const bff_gql_argument_t *other;
        if (use_index) {
            const size_t *at = vd_strmap_get(&index, a->args[i].name);
            other = at != NULL ? b->args + *at : NULL;
        } else {
            other = last_arg(b, a->args[i].name);
        }
        same = other != NULL && vd_same_value(a->args[i].value, other->value, 0);
    }
    vd_strmap_dispose(&index);
    return same;
}

/* doTypesConflict: lists and non-nulls must match; leaf types must be the same type. */
static int types_conflict(const bff_gql_wrapped_t *a, const bff_gql_wrapped_t *b)
{
    for (;;) {
        if (a->kind == BFF_GQL_LIST_OF || b->kind == BFF_GQL_LIST_OF) {
            if (a->kind != b->kind)
                return 1;
        } else if (a->kind == BFF_GQL_NON_NULL || b->kind == BFF_GQL_NON_NULL) {
            if (a->kind != b->kind)
                return 1;
        } else {
            if (bff_gql_type_is_leaf(a->named) || bff_gql_type_is_leaf(b->named))
                return a->named != b->named;
            return 0;
        }
        a = a->of;
        b = b->of;
    }
}

/* ---- field maps ---- */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i != n; ++i)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Equal for literals that print the same once object fields are sorted (field order folds). */
static uint64_t hash_value(const bff_gql_value_t *v, unsigned depth)
{
    uint64_t h = mix(0, (uint64_t)v->kind);
    if (depth > VD_MAX_NESTING)
        return h;
    switch (v->kind) {
    case BFF_GQL_VARIABLE:
    case BFF_GQL_INT:
    case BFF_GQL_FLOAT:
    case BFF_GQL_ENUM:
        return mix(h, hash_bytes(v->str, strlen(v->str)));
    case BFF_GQL_STRING:
        return mix(h, hash_bytes(v->str, v->len));
    case BFF_GQL_BOOLEAN:
        return mix(h, (uint64_t) !!v->boolean);
    case BFF_GQL_NULL:
        return h;
    case BFF_GQL_LIST:
        for (size_t i = 0; i != v->nitems; ++i)
            h = mix(h, hash_value(v->items[i], depth + 1));
        return h;
    case BFF_GQL_OBJECT: {
        uint64_t sum = 0;
        for (size_t i = 0; i != v->nfields; ++i)
            sum += mix(hash_bytes(v->fields[i].name, strlen(v->fields[i].name)),
                       hash_value(v->fields[i].value, depth + 1));
        return mix(h, sum);
    }
    }
    return h;
}

/* A field compared only by its parent, name, definition and arguments: no selection set, and
 * arguments few and distinct (sameArguments is then an equivalence). */
static int classable(const bff_gql_selection_t *s)
{
    if (s->selection_set != NULL || s->nargs > 8)
        return 0;
    for (size_t i = 0; i != s->nargs; ++i)
        for (size_t k = 0; k != i; ++k)
            if (strcmp(s->args[i].name, s->args[k].name) == 0)
                return 0;
    return 1;
}

static int alike(const ov_field_t *a, const ov_field_t *b)
{
    return a->parent == b->parent && a->def == b->def &&
           strcmp(a->node->name, b->node->name) == 0 && same_arguments(a->node, b->node);
}

static uint64_t field_key(const ov_field_t *f)
{
    uint64_t h = mix(mix((uint64_t)(uintptr_t)f->parent, (uint64_t)(uintptr_t)f->def),
                     hash_bytes(f->node->name, strlen(f->node->name)));
    uint64_t sum = 0;
    for (size_t i = 0; i != f->node->nargs; ++i)
        sum += mix(hash_bytes(f->node->args[i].name, strlen(f->node->args[i].name)),
                   hash_value(f->node->args[i].value, 0));
    return mix(h, sum);
}

static void classify(ov_group_t *g)
{
    g->all_pure = 1;
    vd_pmap_t keys = {0};
    for (size_t i = 0; i != g->n; ++i) {
        ov_field_t *f = g->fields + i;
        f->cls = i;
        f->pure = classable(f->node);
        if (f->node->selection_set != NULL)
            g->all_pure = 0;
        if (!f->pure || g->n == 1)
            continue;
        if (g->n <= 8) {
            for (size_t k = 0; k != i; ++k)
                if (g->fields[k].pure && g->fields[k].cls == k && alike(g->fields + k, f)) {
                    f->cls = k;
                    break;
                }
            continue;
        }
        int added;
        uintptr_t *rep = vd_pmap_put(&keys, (uintptr_t)field_key(f), 0, i, &added);
        if (!added && alike(g->fields + *rep, f))
            f->cls = *rep; /* on a hash collision the field stays a kind of its own */
    }
    vd_pmap_dispose(&keys);
}

static void collect(vd_overlap_t *ov, const bff_gql_type_t *parent,
                    const bff_gql_selection_set_t *set, size_t *nfrags, size_t **frags,
                    size_t *frags_cap, unsigned level)
{
    vd_ctx_t *c = ov->c;
    if (level > VD_MAX_NESTING)
        return;
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *sel = set->items + i;
        if (sel->kind == BFF_GQL_FIELD) {
            if (ov->ntmp == ov->tmp_cap) {
                ov->tmp_cap = ov->tmp_cap != 0 ? ov->tmp_cap * 2 : 64;
                ov->tmp = bff_realloc(ov->tmp, ov->tmp_cap * sizeof(*ov->tmp));
            }
            ov_field_t *f = ov->tmp + ov->ntmp++;
            f->parent = parent;
            f->node = sel;
            f->def = vd_own_field(c, parent, sel->name);
        } else if (sel->kind == BFF_GQL_FRAGMENT_SPREAD) {
            const size_t *id = vd_strmap_get(&c->frag_ids, sel->name);
            if (id == NULL || ov->frag_seen[*id] == ov->build)
                continue;
            ov->frag_seen[*id] = ov->build;
            if (*nfrags == *frags_cap) {
                *frags_cap = *frags_cap != 0 ? *frags_cap * 2 : 8;
                *frags = bff_realloc(*frags, *frags_cap * sizeof(**frags));
            }
            (*frags)[(*nfrags)++] = *id;
        } else {
            const bff_gql_type_t *t = sel->type_condition != NULL
                                          ? bff_gql_schema_type(c->schema, sel->type_condition)
                                          : parent;
            collect(ov, t, sel->selection_set, nfrags, frags, frags_cap, level + 1);
        }
    }
}

typedef struct {
    const char *name;
    size_t group;
} named_group_t;

static int named_group_cmp(const void *x, const void *y)
{
    return strcmp(((const named_group_t *)x)->name, ((const named_group_t *)y)->name);
}

/* getFieldsAndFragmentNames, cached by selection set (the first parent type given wins). */
static ov_map_t *get_map(vd_overlap_t *ov, const bff_gql_type_t *parent,
                         const bff_gql_selection_set_t *set)
{
    int added;
    uintptr_t *slot = vd_pmap_put(&ov->maps, (uintptr_t)set, 0, 0, &added);
    if (!added)
        return (ov_map_t *)*slot;
    bff_gql_arena_t *a = &ov->c->arena;
    ov_map_t *m = bff_gql_arena_alloc(a, sizeof(*m));
    *slot = (uintptr_t)m;
    m->index = ov->nmaps++;
    ov->ntmp = 0;
    ++ov->build;
    size_t *frags = NULL, nfrags = 0, frags_cap = 0;
    collect(ov, parent, set, &nfrags, &frags, &frags_cap, 0);
    spend(ov, ov->ntmp + nfrags + 1);
    m->frags = bff_gql_arena_alloc(a, (nfrags + 1) * sizeof(*m->frags));
    if (nfrags != 0)
        memcpy(m->frags, frags, nfrags * sizeof(*frags));
    m->nfrags = nfrags;
    free(frags);

    /* Group by response name, groups in order of first appearance. */
    size_t *group_of = bff_malloc((ov->ntmp + 1) * sizeof(*group_of));
    size_t *counts = bff_calloc(ov->ntmp + 1, sizeof(*counts));
    vd_strmap_clear(&ov->tmp_groups);
    for (size_t i = 0; i != ov->ntmp; ++i) {
        const bff_gql_selection_t *s = ov->tmp[i].node;
        const char *key = s->alias != NULL ? s->alias : s->name;
        group_of[i] = *vd_strmap_put(&ov->tmp_groups, key, m->ngroups, &added);
        if (added)
            ++m->ngroups;
        ++counts[group_of[i]];
    }
    m->groups = bff_gql_arena_alloc(a, (m->ngroups + 1) * sizeof(*m->groups));
    for (size_t g = 0; g != m->ngroups; ++g)
        m->groups[g].fields = bff_gql_arena_alloc(a, counts[g] * sizeof(ov_field_t));
    for (size_t i = 0; i != ov->ntmp; ++i) {
        ov_group_t *g = m->groups + group_of[i];
        const bff_gql_selection_t *s = ov->tmp[i].node;
        g->name = s->alias != NULL ? s->alias : s->name;
        g->fields[g->n++] = ov->tmp[i];
    }
    for (size_t g = 0; g != m->ngroups; ++g)
        classify(m->groups + g);
    named_group_t *sorted = bff_malloc((m->ngroups + 1) * sizeof(*sorted));
    for (size_t g = 0; g != m->ngroups; ++g) {
        sorted[g].name = m->groups[g].name;
        sorted[g].group = g;
    }
    qsort(sorted, m->ngroups, sizeof(*sorted), named_group_cmp);
    m->by_name = bff_gql_arena_alloc(a, (m->ngroups + 1) * sizeof(*m->by_name));
    for (size_t g = 0; g != m->ngroups; ++g)
        m->by_name[g] = sorted[g].group;
    free(sorted);
    free(group_of);
    free(counts);
    return m;
}

static const ov_group_t *find_group(const ov_map_t *m, const char *name)
{
    size_t lo = 0, hi = m->ngroups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, m->groups[m->by_name[mid]].name);
        if (c == 0)
            return m->groups + m->by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* getReferencedFieldsAndFragmentNames: the fragment's map, its type condition as parent. */
static ov_map_t *fragment_map(vd_overlap_t *ov, size_t name_id)
{
    vd_ctx_t *c = ov->c;
    const bff_gql_fragment_t *def = c->frags[c->frag_last[name_id]].def;
    uintptr_t *cached = vd_pmap_get(&ov->maps, (uintptr_t)def->selection_set, 0);
    if (cached != NULL)
        return (ov_map_t *)*cached;
    return get_map(ov, bff_gql_schema_type(c->schema, def->type_condition), def->selection_set);
}

/* ---- the memo: OrderedPairSet / PairSet with weak presence ---- */

static size_t pair_hash(uint64_t key)
{
    key *= 0x9E3779B97F4A7C15ull;
    return (size_t)(key ^ (key >> 29));
}

/* The slot of (a, b): its entry, or the empty one where it goes. */
static uint64_t *pair_slot(const pairset_t *m, uint64_t key)
{
    for (size_t i = pair_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
        if (m->slots[i] == 0 || m->slots[i] >> 1 == key)
            return m->slots + i;
}

static int memo_has(const pairset_t *m, uint32_t a, uint32_t b, int weak)
{
    if (m->cap == 0)
        return 0;
    const uint64_t *s = pair_slot(m, (uint64_t)(a + 1) << 32 | b);
    if (*s == 0)
        return 0;
    return weak ? 1 : (*s & 1) == 0;
}

static void memo_add(pairset_t *m, uint32_t a, uint32_t b, int weak)
{
    if ((m->n + 1) * 2 > m->cap) {
        pairset_t bigger = {bff_calloc(m->cap != 0 ? m->cap * 2 : 256, sizeof(uint64_t)),
                            m->cap != 0 ? m->cap * 2 : 256, m->n};
        for (size_t i = 0; i != m->cap; ++i)
            if (m->slots[i] != 0)
                *pair_slot(&bigger, m->slots[i] >> 1) = m->slots[i];
        free(m->slots);
        *m = bigger;
    }
    uint64_t key = (uint64_t)(a + 1) << 32 | b;
    uint64_t *s = pair_slot(m, key);
    if (*s == 0)
        ++m->n;
    *s = key << 1 | (uint64_t)(weak != 0);
}

/* ---- comparing ---- */

static void sub_selections(vd_overlap_t *ov, ov_list_t *out, int excl, const bff_gql_type_t *p1,
                           const bff_gql_selection_set_t *s1, const bff_gql_type_t *p2,
                           const bff_gql_selection_set_t *s2);

/* findConflict: 1 with *out filled when the two fields of one response name conflict. */
static int find_conflict(vd_overlap_t *ov, int parents_excl, const char *name, const ov_field_t *f1,
                         const ov_field_t *f2, ov_conflict_t *out)
{
    if (!spend(ov, 1))
        return 0;
    int excl = parents_excl ||
               (f1->parent != f2->parent && f1->parent != NULL && f2->parent != NULL &&
                f1->parent->kind == BFF_GQL_OBJECT_TYPE && f2->parent->kind == BFF_GQL_OBJECT_TYPE);
    const bff_gql_selection_t *n1 = f1->node, *n2 = f2->node;
    vd_buf_t reason = {0};
    if (!excl && strcmp(n1->name, n2->name) != 0) {
        bff_text_printf(&reason, "\"%s\" and \"%s\" are different fields", n1->name, n2->name);
    } else if (!excl && !same_arguments(n1, n2)) {
        bff_text_puts(&reason, "they have differing arguments");
    } else {
        const bff_gql_wrapped_t *t1 = f1->def != NULL ? f1->def->type : NULL,
                                *t2 = f2->def != NULL ? f2->def->type : NULL;
        if (t1 != NULL && t2 != NULL && types_conflict(t1, t2)) {
            bff_text_puts(&reason, "they return conflicting types \"");
            vd_print_type(&reason, t1);
            bff_text_puts(&reason, "\" and \"");
            vd_print_type(&reason, t2);
            bff_text_puts(&reason, "\"");
        } else if (n1->selection_set != NULL && n2->selection_set != NULL) {
            if (++ov->depth > OV_MAX_DEPTH)
                ov->aborted = 1;
            ov_list_t subs = {0};
            if (!ov->aborted)
                sub_selections(ov, &subs, excl, bff_gql_unwrap(t1), n1->selection_set,
                               bff_gql_unwrap(t2), n2->selection_set);
            --ov->depth;
            if (subs.n == 0 || ov->aborted) {
                free_list(&subs);
                return 0;
            }
            /* subfieldConflicts: the reasons joined, the fields of each side after its own. */
            memset(out, 0, sizeof(*out));
            out->name = name;
            add_loc(out->locs1, &out->n1, n1->loc);
            add_loc(out->locs2, &out->n2, n2->loc);
            for (size_t i = 0; i != subs.n; ++i) {
                const ov_conflict_t *s = subs.items + i;
                if (reason.len < OV_MAX_REASON)
                    bff_text_printf(&reason, "%ssubfields \"%s\" conflict because %s",
                                    i != 0 ? " and " : "", s->name, s->reason);
                for (size_t k = 0; k != s->n1; ++k)
                    add_loc(out->locs1, &out->n1, s->locs1[k]);
                for (size_t k = 0; k != s->n2; ++k)
                    add_loc(out->locs2, &out->n2, s->locs2[k]);
            }
            free_list(&subs);
            out->reason = reason.buf;
            return 1;
        } else {
            return 0;
        }
    }
    memset(out, 0, sizeof(*out));
    out->name = name;
    out->reason = reason.buf;
    add_loc(out->locs1, &out->n1, n1->loc);
    add_loc(out->locs2, &out->n2, n2->loc);
    return 1;
}

static void compare(vd_overlap_t *ov, ov_list_t *out, int excl, const char *name,
                    const ov_field_t *f1, const ov_field_t *f2)
{
    ov_conflict_t x;
    if (find_conflict(ov, excl, name, f1, f2, &x))
        *push_conflict(out) = x;
}

/* Whether any kind of field in g1 conflicts with any in g2 (NULL = within g1); only asked of
 * groups without selections, where comparing has no side effects. */
static int kinds_conflict(vd_overlap_t *ov, int excl, const ov_group_t *g1, const ov_group_t *g2)
{
    const ov_group_t *other = g2 != NULL ? g2 : g1;
    for (size_t i = 0; i != g1->n && !ov->aborted; ++i) {
        if (g1->fields[i].cls != i)
            continue;
        for (size_t j = g2 != NULL ? 0 : i + 1; j < other->n && !ov->aborted; ++j) {
            if (other->fields[j].cls != j)
                continue;
            ov_conflict_t x;
            if (find_conflict(ov, excl, g1->name, g1->fields + i, other->fields + j, &x)) {
                free(x.reason);
                return 1;
            }
        }
    }
    return 0;
}

/* collectConflictsWithin. */
static void within(vd_overlap_t *ov, ov_list_t *out, const ov_map_t *m)
{
    for (size_t g = 0; g != m->ngroups && !ov->aborted; ++g) {
        const ov_group_t *grp = m->groups + g;
        if (grp->n < 2 || (grp->all_pure && !kinds_conflict(ov, 0, grp, NULL)))
            continue;
        for (size_t i = 0; i != grp->n && !ov->aborted; ++i)
            for (size_t j = i + 1; j != grp->n && !ov->aborted; ++j) {
                const ov_field_t *a = grp->fields + i, *b = grp->fields + j;
                if (a->pure && b->pure && a->cls == b->cls)
                    continue; /* alike fields never conflict */
                compare(ov, out, 0, grp->name, a, b);
            }
    }
}

/* collectConflictsBetween. */
static void between(vd_overlap_t *ov, ov_list_t *out, int excl, const ov_map_t *m1,
                    const ov_map_t *m2)
{
    for (size_t g = 0; g != m1->ngroups && spend(ov, 1); ++g) {
        const ov_group_t *g1 = m1->groups + g, *g2 = find_group(m2, g1->name);
        if (g2 == NULL || (g1->all_pure && g2->all_pure && !kinds_conflict(ov, excl, g1, g2)))
            continue;
        for (size_t i = 0; i != g1->n && !ov->aborted; ++i)
            for (size_t j = 0; j != g2->n && !ov->aborted; ++j)
                compare(ov, out, excl, g1->name, g1->fields + i, g2->fields + j);
    }
}

/* collectConflictsBetweenFieldsAndFragment, depth first over the fragments the fragment
 * spreads (an explicit stack: each is checked against the memo when its turn comes, as the
 * recursion would). */
static void fields_and_fragment(vd_overlap_t *ov, ov_list_t *out, int excl, const ov_map_t *m,
                                size_t frag)
{
    size_t *stack = bff_malloc(16 * sizeof(*stack)), depth = 0, cap = 16;
    stack[depth++] = frag;
    while (depth != 0 && spend(ov, 1)) {
        size_t f = stack[--depth];
        if (memo_has(&ov->field_frag, m->index, (uint32_t)f, excl))
            continue;
        memo_add(&ov->field_frag, m->index, (uint32_t)f, excl);
        const ov_map_t *m2 = fragment_map(ov, f);
        if (m2 == m)
            continue; /* a fragment's fields against themselves */
        between(ov, out, excl, m, m2);
        if (depth + m2->nfrags > cap) {
            cap = (depth + m2->nfrags) * 2;
            stack = bff_realloc(stack, cap * sizeof(*stack));
        }
        for (size_t i = m2->nfrags; i > 0; --i)
            stack[depth++] = m2->frags[i - 1];
    }
    free(stack);
}

/* collectConflictsBetweenFragments, depth first the same way. */
static void fragments(vd_overlap_t *ov, ov_list_t *out, int excl, size_t frag1, size_t frag2)
{
    size_t(*stack)[2] = bff_malloc(16 * sizeof(*stack)), depth = 0, cap = 16;
    stack[depth][0] = frag1;
    stack[depth++][1] = frag2;
    while (depth != 0 && spend(ov, 1)) {
        --depth;
        size_t a = stack[depth][0], b = stack[depth][1];
        if (a == b)
            continue;
        uint32_t lo = (uint32_t)(a < b ? a : b), hi = (uint32_t)(a < b ? b : a);
        if (memo_has(&ov->frag_pairs, lo, hi, excl))
            continue;
        memo_add(&ov->frag_pairs, lo, hi, excl);
        const ov_map_t *m1 = fragment_map(ov, a), *m2 = fragment_map(ov, b);
        between(ov, out, excl, m1, m2);
        if (depth + m1->nfrags + m2->nfrags > cap) {
            cap = (depth + m1->nfrags + m2->nfrags) * 2;
            stack = bff_realloc(stack, cap * sizeof(*stack));
        }
        /* Next (a, each of b's), then (each of a's, b): pushed in reverse. */
        for (size_t i = m1->nfrags; i > 0; --i) {
            stack[depth][0] = m1->frags[i - 1];
            stack[depth++][1] = b;
        }
        for (size_t i = m2->nfrags; i > 0; --i) {
            stack[depth][0] = a;
            stack[depth++][1] = m2->frags[i - 1];
        }
    }
    free(stack);
}

/* findConflictsBetweenSubSelectionSets. */
static void sub_selections(vd_overlap_t *ov, ov_list_t *out, int excl, const bff_gql_type_t *p1,
                           const bff_gql_selection_set_t *s1, const bff_gql_type_t *p2,
                           const bff_gql_selection_set_t *s2)
{
    const ov_map_t *m1 = get_map(ov, p1, s1), *m2 = get_map(ov, p2, s2);
    between(ov, out, excl, m1, m2);
    for (size_t i = 0; i != m2->nfrags && !ov->aborted; ++i)
        fields_and_fragment(ov, out, excl, m1, m2->frags[i]);
    for (size_t i = 0; i != m1->nfrags && !ov->aborted; ++i)
        fields_and_fragment(ov, out, excl, m2, m1->frags[i]);
    for (size_t i = 0; i != m1->nfrags && !ov->aborted; ++i)
        for (size_t j = 0; j != m2->nfrags && !ov->aborted; ++j)
            fragments(ov, out, excl, m1->frags[i], m2->frags[j]);
}

/* ---- the rule ---- */

static vd_overlap_t *overlap_state(vd_ctx_t *c)
{
    if (c->overlap == NULL) {
        vd_overlap_t *ov = bff_calloc(1, sizeof(*ov));
        ov->c = c;
        ov->frag_seen = bff_calloc(c->nfrag_names + 1, sizeof(*ov->frag_seen));
        c->overlap = ov;
    }
    return c->overlap;
}

void vd_overlap(vd_ctx_t *c, const bff_gql_type_t *parent, const bff_gql_selection_set_t *set)
{
    vd_overlap_t *ov = overlap_state(c);
    if (ov->aborted)
        return;
    /* findConflictsWithinSelectionSet. */
    ov_list_t found = {0};
    const ov_map_t *m = get_map(ov, parent, set);
    within(ov, &found, m);
    for (size_t i = 0; i != m->nfrags && !ov->aborted; ++i) {
        fields_and_fragment(ov, &found, 0, m, m->frags[i]);
        for (size_t j = i + 1; j != m->nfrags && !ov->aborted; ++j)
            fragments(ov, &found, 0, m->frags[i], m->frags[j]);
    }
    if (ov->aborted) {
        if (!ov->reported) {
            ov->reported = 1;
            vd_error(c, &set->loc, 1,
                     "The document's fields are too complex to check for conflicts: it is "
                     "refused.");
        }
        free_list(&found);
        return;
    }
    for (size_t i = 0; i != found.n && !c->full; ++i) {
        const ov_conflict_t *x = found.items + i;
        bff_gql_loc_t locs[OV_LOCS];
        size_t n = 0;
        for (size_t k = 0; k != x->n1; ++k)
            add_loc(locs, &n, x->locs1[k]);
        for (size_t k = 0; k != x->n2; ++k)
            add_loc(locs, &n, x->locs2[k]);
        vd_error(c, locs, n,
                 "Fields \"%s\" conflict because %s. Use different aliases on the fields to "
                 "fetch both if this was intentional.",
                 x->name, x->reason != NULL ? x->reason : "");
    }
    free_list(&found);
}

void vd_overlap_dispose(vd_ctx_t *c)
{
    vd_overlap_t *ov = c->overlap;
    if (ov == NULL)
        return;
    vd_pmap_dispose(&ov->maps);
    free(ov->field_frag.slots);
    free(ov->frag_pairs.slots);
    vd_strmap_dispose(&ov->tmp_groups);
    free(ov->tmp);
    free(ov->frag_seen);
    free(ov);
    c->overlap = NULL;
}
