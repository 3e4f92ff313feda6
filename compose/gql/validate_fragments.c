/* Fragment rules: the spreads of a selection set and the fragments an operation reaches (as
 * graphql-js's ValidationContext finds them, same order), NoFragmentCycles, PossibleFragment-
 * Spreads and NoUnusedFragments. Every walk over spreads uses an explicit stack: a chain of
 * fragments can be as long as the document. */
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

/* ---- getFragmentSpreads, getRecursivelyReferencedFragments ---- */

void vd_fragment_spreads(vd_ctx_t *c, const bff_gql_selection_set_t *set,
                         const bff_gql_selection_t ***out, size_t *n)
{
    /* A stack of sets: the last one pushed is looked at next, as graphql-js does. */
    const bff_gql_selection_set_t **stack = NULL;
    const bff_gql_selection_t **spreads = NULL;
    size_t depth = 0, stack_cap = 0, nspreads = 0, cap = 0;
    stack = bff_malloc(16 * sizeof(*stack));
    stack_cap = 16;
    stack[depth++] = set;
    while (depth != 0) {
        const bff_gql_selection_set_t *s = stack[--depth];
        for (size_t i = 0; i != s->nitems; ++i) {
            const bff_gql_selection_t *sel = s->items + i;
            if (sel->kind == BFF_GQL_FRAGMENT_SPREAD) {
                if (nspreads == cap) {
                    cap = cap != 0 ? cap * 2 : 8;
                    spreads = bff_realloc(spreads, cap * sizeof(*spreads));
                }
                spreads[nspreads++] = sel;
            } else if (sel->selection_set != NULL) {
                if (depth == stack_cap) {
                    stack_cap *= 2;
                    stack = bff_realloc(stack, stack_cap * sizeof(*stack));
                }
                stack[depth++] = sel->selection_set;
            }
        }
    }
    free(stack);
    /* Kept in the scratch arena: fragments' lists are asked for again and again. */
    *out = bff_gql_arena_alloc(&c->arena, (nspreads != 0 ? nspreads : 1) * sizeof(**out));
    if (nspreads != 0)
        memcpy(*out, spreads, nspreads * sizeof(*spreads));
    *n = nspreads;
    free(spreads);
}

void vd_frag_spreads(vd_ctx_t *c, vd_frag_t *f)
{
    if (f->spreads_done)
        return;
    vd_fragment_spreads(c, f->def->selection_set, &f->spreads, &f->nspreads);
    f->spreads_done = 1;
}

size_t vd_referenced_fragments(vd_ctx_t *c, const bff_gql_operation_t *op, size_t **out)
{
    unsigned char *collected = bff_calloc(c->nfrag_names + 1, 1);
    size_t *found = bff_malloc((c->nfrags + 1) * sizeof(*found)), nfound = 0;
    /* The stack holds fragment indices; SIZE_MAX is the operation's own selection set. */
    size_t *stack = bff_malloc((c->nfrags + 1) * sizeof(*stack)), depth = 0;
    stack[depth++] = SIZE_MAX;
    const bff_gql_selection_t **op_spreads;
    size_t op_nspreads;
    vd_fragment_spreads(c, op->selection_set, &op_spreads, &op_nspreads);
    while (depth != 0) {
        size_t at = stack[--depth];
        const bff_gql_selection_t **spreads = op_spreads;
        size_t n = op_nspreads;
        if (at != SIZE_MAX) {
            vd_frag_spreads(c, c->frags + at);
            spreads = c->frags[at].spreads;
            n = c->frags[at].nspreads;
        }
        for (size_t i = 0; i != n; ++i) {
            const size_t *id = vd_strmap_get(&c->frag_ids, spreads[i]->name);
            if (id == NULL || collected[*id])
                continue;
            collected[*id] = 1;
            size_t f = c->frag_last[*id];
            found[nfound++] = f;
            stack[depth++] = f; /* each fragment once: the stack cannot overflow */
        }
    }
    free(stack);
    free(collected);
    *out = found;
    return nfound;
}

/* ---- NoFragmentCycles ---- */

typedef struct {
    vd_frag_t *frag;
    size_t next;
    int pending_pop; /* the spread last pushed on the path goes when control is back here */
} cycle_frame_t;

static void report_cycle(vd_ctx_t *c, const bff_gql_selection_t *const *path, size_t n)
{
    vd_buf_t msg = {0};
    bff_text_printf(&msg, "Cannot spread fragment \"%s\" within itself", path[n - 1]->name);
    for (size_t i = 0; i + 1 < n; ++i)
        bff_text_printf(&msg, "%s\"%s\"", i == 0 ? " via " : ", ", path[i]->name);
    bff_text_puts(&msg, ".");
    bff_gql_loc_t locs[BFF_GQL_ERROR_MAX_LOCS];
    size_t nlocs = 0;
    for (size_t i = 0; i != n && nlocs != BFF_GQL_ERROR_MAX_LOCS; ++i)
        locs[nlocs++] = path[i]->loc;
    vd_error(c, locs, nlocs, "%s", vd_buf_str(&msg));
    vd_buf_dispose(&msg);
}

/* Enters a fragment: 1 if it has spreads to follow (its index on the path is set). */
static int cycle_enter(vd_ctx_t *c, vd_frag_t *f, size_t path_len)
{
    if (c->cycle_visited[f->name_id])
        return 0;
    c->cycle_visited[f->name_id] = 1;
    vd_frag_spreads(c, f);
    if (f->nspreads == 0)
        return 0;
    c->cycle_index[f->name_id] = path_len;
    return 1;
}

void vd_fragment_cycles(vd_ctx_t *c, vd_frag_t *start)
{
    if (!cycle_enter(c, start, 0))
        return;
    /* A fragment is on the path at most once, so both stacks are bounded by the spreads. */
    cycle_frame_t *frames = bff_malloc((c->nfrag_names + 1) * sizeof(*frames));
    const bff_gql_selection_t **path = NULL;
    size_t nframes = 0, npath = 0, path_cap = 0;
    frames[nframes++] = (cycle_frame_t){start, 0, 0};
    while (nframes != 0 && !c->full) {
        cycle_frame_t *fr = frames + nframes - 1;
        if (fr->pending_pop) {
            --npath;
            fr->pending_pop = 0;
        }
        if (fr->next == fr->frag->nspreads) {
            c->cycle_index[fr->frag->name_id] = SIZE_MAX;
            --nframes;
            continue;
        }
        const bff_gql_selection_t *spread = fr->frag->spreads[fr->next++];
        const size_t *id = vd_strmap_get(&c->frag_ids, spread->name);
        size_t cycle_index = id != NULL ? c->cycle_index[*id] : SIZE_MAX;
        if (npath == path_cap) {
            path_cap = path_cap != 0 ? path_cap * 2 : 16;
            path = bff_realloc(path, path_cap * sizeof(*path));
        }
        path[npath++] = spread;
        fr->pending_pop = 1;
        if (cycle_index == SIZE_MAX) {
            vd_frag_t *next = id != NULL ? c->frags + c->frag_last[*id] : NULL;
            if (next != NULL && cycle_enter(c, next, npath))
                frames[nframes++] = (cycle_frame_t){next, 0, 0};
        } else {
            report_cycle(c, path + cycle_index, npath - cycle_index);
        }
    }
    free(frames);
    free(path);
}

/* ---- PossibleFragmentSpreads ---- */

void vd_possible_spread(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *parent)
{
    const vd_frag_t *f = vd_fragment(c, sel->name);
    if (f == NULL || parent == NULL)
        return;
    const bff_gql_type_t *t = bff_gql_schema_type(c->schema, f->def->type_condition);
    if (!vd_is_composite(t) || vd_types_overlap(t, parent))
        return;
    vd_error(c, &sel->loc, 1,
             "Fragment \"%s\" cannot be spread here as objects of type \"%s\" can never be of "
             "type \"%s\".",
             sel->name, parent->name, t->name);
}

void vd_possible_inline(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *type,
                        const bff_gql_type_t *parent)
{
    if (!vd_is_composite(type) || !vd_is_composite(parent) || vd_types_overlap(type, parent))
        return;
    vd_error(c, &sel->loc, 1,
             "Fragment cannot be spread here as objects of type \"%s\" can never be of type "
             "\"%s\".",
             parent->name, type->name);
}

/* ---- NoUnusedFragments ---- */

void vd_unused_fragments(vd_ctx_t *c)
{
    if (c->nfrags == 0)
        return;
    unsigned char *used = bff_calloc(c->nfrag_names + 1, 1);
    for (size_t i = 0; i != c->doc->noperations; ++i) {
        size_t *refs;
        size_t n = vd_referenced_fragments(c, c->doc->operations + i, &refs);
        for (size_t k = 0; k != n; ++k)
            used[c->frags[refs[k]].name_id] = 1;
        free(refs);
    }
    for (size_t i = 0; i != c->nfrags && !c->full; ++i)
        if (!used[c->frags[i].name_id])
            vd_error(c, &c->frags[i].def->loc, 1, "Fragment \"%s\" is never used.",
                     c->frags[i].def->name);
    free(used);
}
