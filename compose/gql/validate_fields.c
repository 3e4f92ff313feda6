/* Field rules: ScalarLeafs, FieldsOnCorrectType (with its type and field suggestions),
 * KnownArgumentNames on fields, UniqueArgumentNames, ProvidedRequiredArguments on fields, and
 * SingleFieldSubscriptions (CollectFields over the root selection, as execution would). */
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

/* ---- ScalarLeafs, FieldsOnCorrectType ---- */

static void scalar_leafs(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_field_t *def)
{
    if (def == NULL)
        return;
    vd_buf_t type = {0};
    vd_print_type(&type, def->type);
    if (bff_gql_type_is_leaf(bff_gql_unwrap(def->type))) {
        if (sel->selection_set != NULL)
            vd_error(c, &sel->selection_set->loc, 1,
                     "Field \"%s\" must not have a selection since type \"%s\" has no "
                     "subfields.",
                     sel->name, vd_buf_str(&type));
    } else if (sel->selection_set == NULL) {
        vd_error(c, &sel->loc, 1,
                 "Field \"%s\" of type \"%s\" must have a selection of subfields. Did you mean "
                 "\"%s { ... }\"?",
                 sel->name, vd_buf_str(&type), sel->name);
    } else if (sel->selection_set->nitems == 0) {
        vd_error(c, &sel->loc, 1,
                 "Field \"%s\" of type \"%s\" must have at least one field selected.", sel->name,
                 vd_buf_str(&type));
    }
    vd_buf_dispose(&type);
}

typedef struct {
    const bff_gql_type_t *type;
    size_t usage;
} suggested_t;

/* getSuggestedTypeNames's order: more common first, super types before their subtypes, then
 * by name. */
static int suggested_before(const suggested_t *a, const suggested_t *b)
{
    if (a->usage != b->usage)
        return a->usage > b->usage ? -1 : 1;
    if (a->type->kind == BFF_GQL_INTERFACE && vd_is_sub_type(a->type, b->type))
        return -1;
    if (b->type->kind == BFF_GQL_INTERFACE && vd_is_sub_type(b->type, a->type))
        return 1;
    return vd_natural_compare(a->type->name, b->type->name);
}

static void add_suggested(suggested_t *s, size_t *n, const bff_gql_type_t *t, int is_object)
{
    for (size_t i = 0; i != *n; ++i)
        if (s[i].type == t) {
            s[i].usage = is_object ? 1 : s[i].usage + 1;
            return;
        }
    s[*n].type = t;
    s[(*n)++].usage = 1;
}

/* The types to use an inline fragment on: the parent's possible types (and their interfaces)
 * that have the field. */
static size_t suggested_types(vd_ctx_t *c, const bff_gql_type_t *parent, const char *name,
                              const char ***out)
{
    *out = NULL;
    if (!vd_is_abstract(parent))
        return 0;
    size_t cap = 0;
    for (size_t i = 0; i != parent->npossible_types; ++i)
        cap += 1 + parent->possible_types[i]->ninterfaces;
    suggested_t *s = bff_malloc((cap != 0 ? cap : 1) * sizeof(*s));
    size_t n = 0;
    for (size_t i = 0; i != parent->npossible_types; ++i) {
        const bff_gql_type_t *p = parent->possible_types[i];
        if (vd_own_field(c, p, name) == NULL)
            continue;
        add_suggested(s, &n, p, 1);
        for (size_t k = 0; k != p->ninterfaces; ++k)
            if (vd_own_field(c, p->interfaces[k], name) != NULL)
                add_suggested(s, &n, p->interfaces[k], 0);
    }
    for (size_t i = 1; i < n; ++i) /* insertion sort: stable, few entries */
        for (size_t j = i; j > 0 && suggested_before(s + j, s + j - 1) < 0; --j) {
            suggested_t t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    *out = bff_malloc((n != 0 ? n : 1) * sizeof(**out));
    for (size_t i = 0; i != n; ++i)
        (*out)[i] = s[i].type->name;
    free(s);
    return n;
}

static void fields_on_correct_type(vd_ctx_t *c, const bff_gql_selection_t *sel,
                                   const bff_gql_type_t *parent, const bff_gql_field_t *def)
{
    if (parent == NULL || def != NULL)
        return;
    vd_buf_t msg = {0};
    bff_text_printf(&msg, "Cannot query field \"%s\" on type \"%s\".", sel->name, parent->name);
    const char **types;
    size_t ntypes = suggested_types(c, parent, sel->name, &types);
    if (ntypes != 0) {
        vd_did_you_mean(&msg, "to use an inline fragment on", types, ntypes);
    } else if (parent->kind != BFF_GQL_UNION) {
        const char **names = bff_malloc((parent->nfields + 1) * sizeof(*names));
        for (size_t i = 0; i != parent->nfields; ++i)
            names[i] = parent->fields[i].name;
        vd_suggest(&msg, NULL, sel->name, names, parent->nfields);
        free(names);
    }
    free(types);
    vd_error(c, &sel->loc, 1, "%s", vd_buf_str(&msg));
    vd_buf_dispose(&msg);
}

void vd_field_enter(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *parent,
                    const bff_gql_field_t *def)
{
    scalar_leafs(c, sel, def);
    fields_on_correct_type(c, sel, parent, def);
}

/* ---- arguments ---- */

void vd_field_argument(vd_ctx_t *c, const bff_gql_argument_t *arg, const bff_gql_type_t *parent,
                       const bff_gql_field_t *def, const bff_gql_input_value_t *arg_def)
{
    if (arg_def != NULL || def == NULL || parent == NULL)
        return;
    vd_buf_t msg = {0};
    bff_text_printf(&msg, "Unknown argument \"%s\" on field \"%s.%s\".", arg->name, parent->name,
                    def->name);
    const char **names = bff_malloc((def->nargs + 1) * sizeof(*names));
    for (size_t i = 0; i != def->nargs; ++i)
        names[i] = def->args[i].name;
    vd_suggest(&msg, NULL, arg->name, names, def->nargs);
    free(names);
    vd_error(c, &arg->loc, 1, "%s", vd_buf_str(&msg));
    vd_buf_dispose(&msg);
}

void vd_field_leave(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_field_t *def)
{
    if (def == NULL)
        return;
    for (size_t i = 0; i != def->nargs && !c->full; ++i) {
        const bff_gql_input_value_t *a = def->args + i;
        if (a->type->kind != BFF_GQL_NON_NULL || a->default_value != NULL)
            continue;
        int provided = 0;
        for (size_t k = 0; k != sel->nargs && !provided; ++k)
            provided = strcmp(sel->args[k].name, a->name) == 0;
        if (provided)
            continue;
        vd_buf_t type = {0};
        vd_print_type(&type, a->type);
        vd_error(c, &sel->loc, 1,
                 "Field \"%s\" argument \"%s\" of type \"%s\" is required, but it was not "
                 "provided.",
                 def->name, a->name, vd_buf_str(&type));
        vd_buf_dispose(&type);
    }
}

void vd_unique_arguments(vd_ctx_t *c, const bff_gql_argument_t *args, size_t n)
{
    if (n < 2)
        return;
    const char **names = bff_malloc(n * sizeof(*names));
    size_t *first = bff_malloc(2 * n * sizeof(*first)), *next = first + n;
    for (size_t i = 0; i != n; ++i)
        names[i] = args[i].name;
    vd_group_names(names, n, first, next);
    for (size_t i = 0; i != n && !c->full; ++i) {
        if (first[i] != i || next[i] == SIZE_MAX)
            continue;
        bff_gql_loc_t locs[BFF_GQL_ERROR_MAX_LOCS];
        size_t nlocs = 0;
        for (size_t k = i; k != SIZE_MAX && nlocs != BFF_GQL_ERROR_MAX_LOCS; k = next[k])
            locs[nlocs++] = args[k].loc;
        vd_error(c, locs, nlocs, "There can be only one argument named \"%s\".", args[i].name);
    }
    free(names);
    free(first);
}

/* ---- SingleFieldSubscriptions ---- */

/* shouldIncludeNode with no variables: only literal booleans decide. graphql-js throws out of
 * validation for a variable or a missing argument here; the node is kept instead. */
static int literal_if(const bff_gql_directive_t *dirs, size_t n, const char *name, int *value)
{
    for (size_t i = 0; i != n; ++i) {
        if (strcmp(dirs[i].name, name) != 0)
            continue;
        const bff_gql_value_t *v = NULL;
        for (size_t k = 0; k != dirs[i].nargs; ++k)
            if (strcmp(dirs[i].args[k].name, "if") == 0)
                v = dirs[i].args[k].value; /* keyMap: the last one */
        if (v == NULL || v->kind != BFF_GQL_BOOLEAN)
            return 0;
        *value = v->boolean;
        return 1;
    }
    return 0;
}

static int should_include(const bff_gql_directive_t *dirs, size_t n)
{
    int v;
    if (literal_if(dirs, n, "skip", &v) && v)
        return 0;
    if (literal_if(dirs, n, "include", &v) && !v)
        return 0;
    return 1;
}

static int condition_matches(vd_ctx_t *c, const char *condition, const bff_gql_type_t *root)
{
    if (condition == NULL)
        return 1;
    const bff_gql_type_t *t = bff_gql_schema_type(c->schema, condition);
    if (t == root)
        return 1;
    return vd_is_abstract(t) && vd_is_sub_type(t, root);
}

typedef struct {
    const bff_gql_selection_set_t *set;
    size_t next;
} frame_t;

typedef struct {
    const bff_gql_selection_t *sel;
    size_t next; /* the next field of the same response name */
} entry_t;

typedef struct {
    size_t head, tail;
} group_t;

void vd_single_field_subscription(vd_ctx_t *c, const bff_gql_operation_t *op)
{
    const bff_gql_type_t *root = c->schema->subscription;
    if (op->kind != BFF_GQL_SUBSCRIPTION || root == NULL)
        return;
    /* CollectFields, with an explicit stack: fragment spreads may chain far. */
    vd_strmap_t keys = {0}, visited = {0};
    entry_t *entries = NULL;
    group_t *groups = NULL;
    frame_t *stack = NULL;
    size_t nentries = 0, entries_cap = 0, ngroups = 0, groups_cap = 0, depth = 0, stack_cap = 0;
#define PUSH(s)                                                                                    \
    do {                                                                                           \
        if (depth == stack_cap) {                                                                  \
            stack_cap = stack_cap != 0 ? stack_cap * 2 : 16;                                       \
            stack = bff_realloc(stack, stack_cap * sizeof(*stack));                                \
        }                                                                                          \
        stack[depth].set = (s);                                                                    \
        stack[depth++].next = 0;                                                                   \
    } while (0)
    PUSH(op->selection_set);
    while (depth != 0) {
        frame_t *f = stack + depth - 1;
        if (f->next == f->set->nitems) {
            --depth;
            continue;
        }
        const bff_gql_selection_t *sel = f->set->items + f->next++;
        if (sel->kind == BFF_GQL_FIELD) {
            if (!should_include(sel->directives, sel->ndirectives))
                continue;
            const char *key = sel->alias != NULL ? sel->alias : sel->name;
            int added;
            size_t g = *vd_strmap_put(&keys, key, ngroups, &added);
            if (nentries == entries_cap) {
                entries_cap = entries_cap != 0 ? entries_cap * 2 : 16;
                entries = bff_realloc(entries, entries_cap * sizeof(*entries));
            }
            entries[nentries].sel = sel;
            entries[nentries].next = SIZE_MAX;
            if (added) {
                if (ngroups == groups_cap) {
                    groups_cap = groups_cap != 0 ? groups_cap * 2 : 16;
                    groups = bff_realloc(groups, groups_cap * sizeof(*groups));
                }
                groups[ngroups].head = groups[ngroups].tail = nentries;
                ++ngroups;
            } else {
                entries[groups[g].tail].next = nentries;
                groups[g].tail = nentries;
            }
            ++nentries;
        } else if (sel->kind == BFF_GQL_INLINE_FRAGMENT) {
            if (should_include(sel->directives, sel->ndirectives) &&
                condition_matches(c, sel->type_condition, root))
                PUSH(sel->selection_set);
        } else {
            if (vd_strmap_get(&visited, sel->name) != NULL ||
                !should_include(sel->directives, sel->ndirectives))
                continue;
            vd_strmap_put(&visited, sel->name, 0, NULL);
            const vd_frag_t *frag = vd_fragment(c, sel->name);
            if (frag != NULL && condition_matches(c, frag->def->type_condition, root))
                PUSH(frag->def->selection_set);
        }
    }
#undef PUSH
    if (ngroups > 1) {
        bff_gql_loc_t locs[BFF_GQL_ERROR_MAX_LOCS];
        size_t nlocs = 0;
        for (size_t g = 1; g != ngroups && nlocs != BFF_GQL_ERROR_MAX_LOCS; ++g)
            for (size_t e = groups[g].head; e != SIZE_MAX && nlocs != BFF_GQL_ERROR_MAX_LOCS;
                 e = entries[e].next)
                locs[nlocs++] = entries[e].sel->loc;
        if (op->name != NULL)
            vd_error(c, locs, nlocs, "Subscription \"%s\" must select only one top level field.",
                     op->name);
        else
            vd_error(c, locs, nlocs,
                     "Anonymous Subscription must select only one top level field.");
    }
    for (size_t g = 0; g != ngroups && !c->full; ++g) {
        const bff_gql_selection_t *first = entries[groups[g].head].sel;
        if (strncmp(first->name, "__", 2) != 0)
            continue;
        bff_gql_loc_t locs[BFF_GQL_ERROR_MAX_LOCS];
        size_t nlocs = 0;
        for (size_t e = groups[g].head; e != SIZE_MAX && nlocs != BFF_GQL_ERROR_MAX_LOCS;
             e = entries[e].next)
            locs[nlocs++] = entries[e].sel->loc;
        if (op->name != NULL)
            vd_error(c, locs, nlocs,
                     "Subscription \"%s\" must not select an introspection top level field.",
                     op->name);
        else
            vd_error(c, locs, nlocs,
                     "Anonymous Subscription must not select an introspection top level field.");
    }
    free(entries);
    free(groups);
    free(stack);
    vd_strmap_dispose(&keys);
    vd_strmap_dispose(&visited);
}
