/* The per-profile cost limits (validate.h): aliases written in the document, and for each
 * operation its field depth and its field count with fragments expanded. Each fragment is
 * measured once (spreads resolved in dependency order, a spread that closes a cycle counting
 * nothing), so the work is linear in the document however often fragments are spread; counts
 * saturate instead of overflowing. */
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

#define FIELDS_CAP UINT64_C(1000000000000000) /* counts stop here */

typedef struct {
    unsigned depth;
    uint64_t fields;
} measure_t;

enum { UNSEEN, MEASURING, MEASURED };

typedef struct {
    vd_ctx_t *c;
    measure_t *frag; /* per fragment definition */
    unsigned char *state;
} limits_t;

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b >= FIELDS_CAP || a + b < a ? FIELDS_CAP : a + b;
}

static measure_t measure_set(limits_t *l, const bff_gql_selection_set_t *set, unsigned level)
{
    measure_t m = {0, 0};
    if (level > VD_MAX_NESTING)
        return m;
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *sel = set->items + i;
        measure_t s = {0, 0};
        if (sel->kind == BFF_GQL_FIELD) {
            if (sel->selection_set != NULL)
                s = measure_set(l, sel->selection_set, level + 1);
            s.depth += 1;
            s.fields = add_sat(s.fields, 1);
        } else if (sel->kind == BFF_GQL_INLINE_FRAGMENT) {
            s = measure_set(l, sel->selection_set, level + 1);
        } else {
            const vd_frag_t *f = vd_fragment(l->c, sel->name);
            if (f != NULL && l->state[f - l->c->frags] == MEASURED)
                s = l->frag[f - l->c->frags];
        }
        if (s.depth > m.depth)
            m.depth = s.depth;
        m.fields = add_sat(m.fields, s.fields);
    }
    return m;
}

/* Measures every fragment after the fragments it spreads (an iterative depth-first walk). */
static void measure_fragments(limits_t *l)
{
    vd_ctx_t *c = l->c;
    size_t *stack = bff_malloc((c->nfrags + 1) * sizeof(*stack));
    size_t *next = bff_calloc(c->nfrags + 1, sizeof(*next)); /* the next spread to follow */
    for (size_t start = 0; start != c->nfrags; ++start) {
        if (l->state[start] != UNSEEN)
            continue;
        size_t depth = 0;
        stack[depth++] = start;
        l->state[start] = MEASURING;
        while (depth != 0) {
            size_t at = stack[depth - 1];
            vd_frag_t *f = c->frags + at;
            vd_frag_spreads(c, f);
            if (next[at] != f->nspreads) {
                const vd_frag_t *g = vd_fragment(c, f->spreads[next[at]++]->name);
                size_t gi = g != NULL ? (size_t)(g - c->frags) : SIZE_MAX;
                if (gi != SIZE_MAX && l->state[gi] == UNSEEN) {
                    l->state[gi] = MEASURING; /* each fragment enters the stack once */
                    stack[depth++] = gi;
                }
                continue;
            }
            l->frag[at] = measure_set(l, f->def->selection_set, 0);
            l->state[at] = MEASURED;
            --depth;
        }
    }
    free(stack);
    free(next);
}

static size_t count_aliases(const bff_gql_selection_set_t *set, unsigned level, size_t *count,
                            size_t over, bff_gql_loc_t *at)
{
    if (level > VD_MAX_NESTING)
        return *count;
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *sel = set->items + i;
        if (sel->kind == BFF_GQL_FIELD && sel->alias != NULL && ++*count == over)
            *at = sel->loc;
        if (sel->selection_set != NULL)
            count_aliases(sel->selection_set, level + 1, count, over, at);
    }
    return *count;
}

static int loc_before(bff_gql_loc_t a, bff_gql_loc_t b)
{
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

void vd_limits(vd_ctx_t *c, const bff_gql_validate_limits_t *limits)
{
    const bff_gql_document_t *doc = c->doc;
    if (limits->max_aliases != 0) {
        /* In the order written, to point at the first alias over the limit. */
        size_t count = 0, io = 0, ifr = 0, over = (size_t)limits->max_aliases + 1;
        bff_gql_loc_t at = {0, 0};
        while (io != doc->noperations || ifr != doc->nfragments) {
            if (ifr == doc->nfragments ||
                (io != doc->noperations &&
                 loc_before(doc->operations[io].loc, doc->fragments[ifr].loc)))
                count_aliases(doc->operations[io++].selection_set, 0, &count, over, &at);
            else
                count_aliases(doc->fragments[ifr++].selection_set, 0, &count, over, &at);
        }
        if (count > limits->max_aliases)
            vd_error(c, &at, 1, "The document uses %zu aliases; the limit is %u.", count,
                     limits->max_aliases);
    }
    if (limits->max_depth == 0 && limits->max_fields == 0)
        return;
    limits_t l = {c, NULL, NULL};
    l.frag = bff_calloc(c->nfrags + 1, sizeof(*l.frag));
    l.state = bff_calloc(c->nfrags + 1, 1);
    measure_fragments(&l);
    for (size_t i = 0; i != doc->noperations && !c->full; ++i) {
        const bff_gql_operation_t *op = doc->operations + i;
        measure_t m = measure_set(&l, op->selection_set, 0);
        vd_buf_t name = {0};
        if (op->name != NULL)
            bff_text_printf(&name, " \"%s\"", op->name);
        if (limits->max_depth != 0 && m.depth > limits->max_depth)
            vd_error(c, &op->loc, 1, "The operation%s is nested %u levels deep; the limit is %u.",
                     vd_buf_str(&name), m.depth, limits->max_depth);
        if (limits->max_fields != 0 && m.fields > limits->max_fields) {
            if (m.fields >= FIELDS_CAP)
                vd_error(c, &op->loc, 1,
                         "The operation%s selects more than %llu fields; the limit is %u.",
                         vd_buf_str(&name), (unsigned long long)FIELDS_CAP - 1, limits->max_fields);
            else
                vd_error(c, &op->loc, 1, "The operation%s selects %llu fields; the limit is %u.",
                         vd_buf_str(&name), (unsigned long long)m.fields, limits->max_fields);
        }
        vd_buf_dispose(&name);
    }
    free(l.frag);
    free(l.state);
}
