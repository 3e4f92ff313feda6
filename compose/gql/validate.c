/* The validator of validate.h: one walk over the document in graphql-js's visiting order (the
 * definitions as written; in a node its arguments, directives, then selections), tracking what
 * TypeInfo tracks (parent type, field definition, input type). At each node the rules run in
 * specifiedRules order, so the errors come out as graphql-js reports them. Here: the walk, the
 * context, and the rules on operations, variables and directives; the other rules are in the
 * validate_*.c files (validate_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

/* ---- errors ---- */

void vd_error(vd_ctx_t *c, const bff_gql_loc_t *locs, size_t nlocs, const char *fmt, ...)
{
    ++c->found;
    size_t max = c->errs->max != 0 ? c->errs->max : 100;
    if (c->full || c->errs->n >= max) {
        c->full = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = bff_malloc((size_t)(len > 0 ? len : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)(len > 0 ? len : 0) + 1, fmt, ap);
    va_end(ap);
    bff_gql_error_add(c->errs, locs, nlocs, "%s", msg);
    free(msg);
    /* graphql-js stops at its error limit too: nothing more is looked at. */
    if (c->errs->n >= max)
        c->full = 1;
}

void vd_too_deep(vd_ctx_t *c, bff_gql_loc_t loc)
{
    if (c->too_deep)
        return;
    c->too_deep = 1;
    vd_error(c, &loc, 1, "The document is nested too deeply to validate (more than %d levels).",
             VD_MAX_NESTING);
}

/* ---- where names were written ---- */

static bff_gql_loc_t after(bff_gql_loc_t loc, size_t columns)
{
    loc.column += (unsigned)columns;
    return loc;
}

bff_gql_loc_t vd_op_name_loc(const bff_gql_operation_t *op)
{
    static const char *const keywords[] = {"query", "mutation", "subscription"};
    if (op->name_loc.line != 0)
        return op->name_loc;
    return after(op->loc, strlen(keywords[op->kind]) + 1);
}

bff_gql_loc_t vd_frag_name_loc(const bff_gql_fragment_t *f)
{
    return f->name_loc.line != 0 ? f->name_loc : after(f->loc, strlen("fragment "));
}

bff_gql_loc_t vd_spread_name_loc(const bff_gql_selection_t *s)
{
    return s->name_loc.line != 0 ? s->name_loc : after(s->loc, strlen("..."));
}

bff_gql_loc_t vd_var_name_loc(const bff_gql_variable_def_t *v)
{
    return v->name_loc.line != 0 ? v->name_loc : after(v->loc, 1);
}

/* ---- lookups ---- */

vd_frag_t *vd_fragment(vd_ctx_t *c, const char *name)
{
    const size_t *id = vd_strmap_get(&c->frag_ids, name);
    return id != NULL ? c->frags + c->frag_last[*id] : NULL;
}

const bff_gql_input_value_t *vd_arg(const bff_gql_input_value_t *args, size_t n, const char *name)
{
    for (size_t i = 0; i != n; ++i)
        if (strcmp(args[i].name, name) == 0)
            return args + i;
    return NULL;
}

enum { MEMBER_FIELD, MEMBER_INPUT_FIELD, MEMBER_ENUM_VALUE };

/* The index of a member by name: a scan for the usual few, an index built once per type for
 * wide ones (a document may name the same member thousands of times). SIZE_MAX = none. */
static size_t member_index(vd_ctx_t *c, const bff_gql_type_t *t, int kind, const char *name)
{
    size_t n = kind == MEMBER_FIELD         ? t->nfields
               : kind == MEMBER_INPUT_FIELD ? t->ninput_fields
                                            : t->nvalues;
#define NAME_AT(i)                                                                                 \
    (kind == MEMBER_FIELD         ? t->fields[i].name                                              \
     : kind == MEMBER_INPUT_FIELD ? t->input_fields[i].name                                        \
                                  : t->values[i].name)
    if (n <= 16) {
        for (size_t i = 0; i != n; ++i)
            if (strcmp(NAME_AT(i), name) == 0)
                return i;
        return SIZE_MAX;
    }
    int added;
    uintptr_t *slot = vd_pmap_put(&c->members, (uintptr_t)t, (uintptr_t)kind, 0, &added);
    if (added) {
        vd_strmap_t *m = bff_gql_arena_alloc(&c->arena, sizeof(*m));
        for (size_t i = n; i > 0; --i) /* the first of equal names wins */
            *vd_strmap_put(m, NAME_AT(i - 1), i - 1, NULL) = i - 1;
        *slot = (uintptr_t)m;
    }
#undef NAME_AT
    const size_t *i = vd_strmap_get((const vd_strmap_t *)*slot, name);
    return i != NULL ? *i : SIZE_MAX;
}

const bff_gql_field_t *vd_own_field(vd_ctx_t *c, const bff_gql_type_t *t, const char *name)
{
    if (t == NULL || (t->kind != BFF_GQL_OBJECT_TYPE && t->kind != BFF_GQL_INTERFACE))
        return NULL;
    size_t i = member_index(c, t, MEMBER_FIELD, name);
    return i != SIZE_MAX ? t->fields + i : NULL;
}

const bff_gql_field_t *vd_field(vd_ctx_t *c, const bff_gql_type_t *parent, const char *name)
{
    if (parent == NULL)
        return NULL;
    if (name[0] == '_' && name[1] == '_') {
        if (parent == c->schema->query && strcmp(name, "__schema") == 0)
            return c->schema->schema_field;
        if (parent == c->schema->query && strcmp(name, "__type") == 0)
            return c->schema->type_field;
        if (strcmp(name, "__typename") == 0 && vd_is_composite(parent))
            return c->schema->typename_field;
    }
    return vd_own_field(c, parent, name);
}

const bff_gql_input_value_t *vd_input_field(vd_ctx_t *c, const bff_gql_type_t *t, const char *name)
{
    size_t i = member_index(c, t, MEMBER_INPUT_FIELD, name);
    return i != SIZE_MAX ? t->input_fields + i : NULL;
}

const bff_gql_enum_value_t *vd_enum_value(vd_ctx_t *c, const bff_gql_type_t *t, const char *name)
{
    size_t i = member_index(c, t, MEMBER_ENUM_VALUE, name);
    return i != SIZE_MAX ? t->values + i : NULL;
}

/* ---- rules on names, types and directives ---- */

/* KnownTypeNames at a NamedType. */
static void known_type(vd_ctx_t *c, const char *name, bff_gql_loc_t loc)
{
    if (bff_gql_schema_type(c->schema, name) != NULL)
        return;
    vd_buf_t msg = {0};
    bff_text_printf(&msg, "Unknown type \"%s\".", name);
    const char **names = bff_malloc((c->schema->ntypes + 1) * sizeof(*names));
    for (size_t i = 0; i != c->schema->ntypes; ++i)
        names[i] = c->schema->types[i]->name;
    vd_suggest(&msg, NULL, name, names, c->schema->ntypes);
    free(names);
    vd_error(c, &loc, 1, "%s", vd_buf_str(&msg));
    vd_buf_dispose(&msg);
}

static void known_type_ref(vd_ctx_t *c, const bff_gql_type_ref_t *ref)
{
    while (ref != NULL && ref->kind != BFF_GQL_NAMED)
        ref = ref->of;
    if (ref != NULL)
        known_type(c, ref->name, ref->loc);
}

/* UniqueDirectivesPerLocation at a node with directives. */
static void unique_directives(vd_ctx_t *c, const bff_gql_directive_t *dirs, size_t n)
{
    if (n < 2)
        return;
    const char **names = bff_malloc(n * sizeof(*names));
    size_t *first = bff_malloc(2 * n * sizeof(*first)), *next = first + n;
    for (size_t i = 0; i != n; ++i)
        names[i] = dirs[i].name;
    vd_group_names(names, n, first, next);
    for (size_t i = 0; i != n && !c->full; ++i) {
        if (first[i] == i)
            continue;
        const bff_gql_directive_info_t *info = bff_gql_schema_directive(c->schema, dirs[i].name);
        if (info == NULL || info->repeatable)
            continue;
        bff_gql_loc_t locs[2] = {dirs[first[i]].loc, dirs[i].loc};
        vd_error(c, locs, 2, "The directive \"@%s\" can only be used once at this location.",
                 dirs[i].name);
    }
    free(names);
    free(first);
}

/* A directive: KnownDirectives, KnownArgumentNames and UniqueArgumentNames as it is entered,
 * its arguments' values, ProvidedRequiredArguments as it is left. `field` is TypeInfo's field
 * definition, whose arguments an unknown directive's arguments are taken for. */
static void walk_directive(vd_ctx_t *c, const bff_gql_directive_t *d, int location,
                           const bff_gql_field_t *field)
{
    const bff_gql_directive_info_t *info = bff_gql_schema_directive(c->schema, d->name);
    if (info == NULL)
        vd_error(c, &d->loc, 1, "Unknown directive \"@%s\".", d->name);
    else if ((info->locations & (1u << location)) == 0)
        vd_error(c, &d->loc, 1, "Directive \"@%s\" may not be used on %s.", d->name,
                 bff_gql_directive_location_names[location]);
    for (size_t i = 0; info != NULL && i != d->nargs && !c->full; ++i) {
        if (vd_arg(info->args, info->nargs, d->args[i].name) != NULL)
            continue;
        vd_buf_t msg = {0};
        bff_text_printf(&msg, "Unknown argument \"%s\" on directive \"@%s\".", d->args[i].name,
                        d->name);
        const char **names = bff_malloc((info->nargs + 1) * sizeof(*names));
        for (size_t k = 0; k != info->nargs; ++k)
            names[k] = info->args[k].name;
        vd_suggest(&msg, NULL, d->args[i].name, names, info->nargs);
        free(names);
        vd_error(c, &d->args[i].loc, 1, "%s", vd_buf_str(&msg));
        vd_buf_dispose(&msg);
    }
    vd_unique_arguments(c, d->args, d->nargs);
    for (size_t i = 0; i != d->nargs && !c->full; ++i) {
        const bff_gql_input_value_t *def =
            info != NULL    ? vd_arg(info->args, info->nargs, d->args[i].name)
            : field != NULL ? vd_arg(field->args, field->nargs, d->args[i].name)
                            : NULL;
        vd_check_value(c, d->args[i].value, def != NULL ? def->type : NULL, 0);
    }
    for (size_t i = 0; info != NULL && i != info->nargs && !c->full; ++i) {
        const bff_gql_input_value_t *a = info->args + i;
        if (a->type->kind != BFF_GQL_NON_NULL || a->default_value != NULL)
            continue;
        int provided = 0;
        for (size_t k = 0; k != d->nargs && !provided; ++k)
            provided = strcmp(d->args[k].name, a->name) == 0;
        if (provided)
            continue;
        vd_buf_t type = {0};
        vd_print_type(&type, a->type);
        vd_error(c, &d->loc, 1,
                 "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, but it was not "
                 "provided.",
                 d->name, a->name, vd_buf_str(&type));
        vd_buf_dispose(&type);
    }
}

static void walk_directives(vd_ctx_t *c, const bff_gql_directive_t *dirs, size_t n, int location,
                            const bff_gql_field_t *field)
{
    for (size_t i = 0; i != n && !c->full; ++i)
        walk_directive(c, dirs + i, location, field);
}

/* ---- selections ---- */

static void walk_selection_set(vd_ctx_t *c, const bff_gql_selection_set_t *set,
                               const bff_gql_type_t *type, const bff_gql_field_t *field,
                               unsigned depth);

static void walk_field(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *parent,
                       unsigned depth)
{
    const bff_gql_field_t *def = vd_field(c, parent, sel->name);
    vd_field_enter(c, sel, parent, def);
    unique_directives(c, sel->directives, sel->ndirectives);
    vd_unique_arguments(c, sel->args, sel->nargs);
    for (size_t i = 0; i != sel->nargs && !c->full; ++i) {
        const bff_gql_argument_t *arg = sel->args + i;
        const bff_gql_input_value_t *ad =
            def != NULL ? vd_arg(def->args, def->nargs, arg->name) : NULL;
        vd_field_argument(c, arg, parent, def, ad);
        vd_check_value(c, arg->value, ad != NULL ? ad->type : NULL, 0);
    }
    walk_directives(c, sel->directives, sel->ndirectives, BFF_GQL_DL_FIELD, def);
    if (sel->selection_set != NULL)
        walk_selection_set(c, sel->selection_set, def != NULL ? bff_gql_unwrap(def->type) : NULL,
                           def, depth + 1);
    if (!c->full)
        vd_field_leave(c, sel, def);
}

static void walk_spread(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *parent,
                        const bff_gql_field_t *field)
{
    if (vd_fragment(c, sel->name) == NULL) {
        bff_gql_loc_t loc = vd_spread_name_loc(sel);
        vd_error(c, &loc, 1, "Unknown fragment \"%s\".", sel->name);
    }
    vd_possible_spread(c, sel, parent);
    unique_directives(c, sel->directives, sel->ndirectives);
    walk_directives(c, sel->directives, sel->ndirectives, BFF_GQL_DL_FRAGMENT_SPREAD, field);
}

static void walk_inline(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *type,
                        const bff_gql_type_t *parent, const bff_gql_field_t *field, unsigned depth)
{
    const bff_gql_type_t *cond =
        sel->type_condition != NULL ? bff_gql_schema_type(c->schema, sel->type_condition) : type;
    const bff_gql_type_t *t = vd_is_output(cond) ? cond : NULL;
    if (sel->type_condition != NULL && cond != NULL && !vd_is_composite(cond))
        vd_error(c, &sel->type_condition_loc, 1,
                 "Fragment cannot condition on non composite type \"%s\".", sel->type_condition);
    vd_possible_inline(c, sel, t, parent);
    unique_directives(c, sel->directives, sel->ndirectives);
    if (sel->type_condition != NULL)
        known_type(c, sel->type_condition, sel->type_condition_loc);
    walk_directives(c, sel->directives, sel->ndirectives, BFF_GQL_DL_INLINE_FRAGMENT, field);
    walk_selection_set(c, sel->selection_set, t, field, depth + 1);
}

/* `type` is TypeInfo's current type (named): the set's parent type if it is composite. */
static void walk_selection_set(vd_ctx_t *c, const bff_gql_selection_set_t *set,
                               const bff_gql_type_t *type, const bff_gql_field_t *field,
                               unsigned depth)
{
    if (c->full)
        return;
    if (depth > VD_MAX_NESTING) {
        vd_too_deep(c, set->loc);
        return;
    }
    const bff_gql_type_t *parent = vd_is_composite(type) ? type : NULL;
    vd_overlap(c, parent, set);
    for (size_t i = 0; i != set->nitems && !c->full; ++i) {
        const bff_gql_selection_t *sel = set->items + i;
        if (sel->kind == BFF_GQL_FIELD)
            walk_field(c, sel, parent, depth);
        else if (sel->kind == BFF_GQL_FRAGMENT_SPREAD)
            walk_spread(c, sel, parent, field);
        else
            walk_inline(c, sel, type, parent, field, depth);
    }
}

/* ---- operations and their variables ---- */

static void unique_variables(vd_ctx_t *c, const bff_gql_operation_t *op)
{
    size_t n = op->nvars;
    if (n < 2)
        return;
    const char **names = bff_malloc(n * sizeof(*names));
    size_t *first = bff_malloc(2 * n * sizeof(*first)), *next = first + n;
    for (size_t i = 0; i != n; ++i)
        names[i] = op->vars[i].name;
    vd_group_names(names, n, first, next);
    for (size_t i = 0; i != n && !c->full; ++i) {
        if (first[i] != i || next[i] == SIZE_MAX)
            continue;
        bff_gql_loc_t locs[BFF_GQL_ERROR_MAX_LOCS];
        size_t nlocs = 0;
        for (size_t k = i; k != SIZE_MAX && nlocs != BFF_GQL_ERROR_MAX_LOCS; k = next[k])
            locs[nlocs++] = vd_var_name_loc(op->vars + k);
        vd_error(c, locs, nlocs, "There can be only one variable named \"$%s\".", names[i]);
    }
    free(names);
    free(first);
}

static const bff_gql_type_t *root_type(const vd_ctx_t *c, bff_gql_operation_kind_t kind)
{
    const bff_gql_type_t *t = kind == BFF_GQL_QUERY      ? c->schema->query
                              : kind == BFF_GQL_MUTATION ? c->schema->mutation
                                                         : c->schema->subscription;
    return t != NULL && t->kind == BFF_GQL_OBJECT_TYPE ? t : NULL;
}

static void append_usages(vd_usages_t *all, const vd_usages_t *u)
{
    if (u->n == 0)
        return;
    if (all->n + u->n > all->cap) {
        all->cap = (all->n + u->n) * 2;
        all->items = bff_realloc(all->items, all->cap * sizeof(*all->items));
    }
    memcpy(all->items + all->n, u->items, u->n * sizeof(*u->items));
    all->n += u->n;
}

/* getRecursiveVariableUsages: the operation's own, then each fragment it reaches. */
static void operation_usages(vd_ctx_t *c, const bff_gql_operation_t *op, vd_usages_t *all)
{
    vd_usages_of(c, op->directives, op->ndirectives, op->selection_set, root_type(c, op->kind),
                 all);
    size_t *refs;
    size_t n = vd_referenced_fragments(c, op, &refs);
    for (size_t i = 0; i != n; ++i) {
        vd_frag_t *f = c->frags + refs[i];
        if (!f->usages_done) {
            const bff_gql_type_t *t = bff_gql_schema_type(c->schema, f->def->type_condition);
            vd_usages_of(c, f->def->directives, f->def->ndirectives, f->def->selection_set,
                         vd_is_output(t) ? t : NULL, &f->usages);
            f->usages_done = 1;
        }
        append_usages(all, &f->usages);
    }
    free(refs);
}

/* allowedVariableUsage: a nullable variable may fill a non-null place when it or the place has
 * a (non-null) default. */
static int allowed_usage(const bff_gql_variable_def_t *def, const bff_gql_wrapped_t *var_type,
                         const vd_usage_t *u)
{
    if (u->type->kind == BFF_GQL_NON_NULL && var_type->kind != BFF_GQL_NON_NULL) {
        int var_default = def->default_value != NULL && def->default_value->kind != BFF_GQL_NULL;
        if (!var_default && !u->has_default)
            return 0;
        return vd_is_type_sub_type_of(var_type, u->type->of);
    }
    return vd_is_type_sub_type_of(var_type, u->type);
}

/* The variable rules that run as an operation is left: NoUndefinedVariables,
 * NoUnusedVariables, VariablesInAllowedPosition. */
static void operation_leave(vd_ctx_t *c, const bff_gql_operation_t *op,
                            const bff_gql_wrapped_t *const *var_types, vd_strmap_t *defined)
{
    vd_usages_t all = {0};
    operation_usages(c, op, &all);
    for (size_t i = 0; i != all.n && !c->full; ++i) {
        const vd_usage_t *u = all.items + i;
        if (vd_strmap_get(defined, u->name) != NULL)
            continue;
        bff_gql_loc_t locs[2] = {u->loc, op->loc};
        if (op->name != NULL)
            vd_error(c, locs, 2, "Variable \"$%s\" is not defined by operation \"%s\".", u->name,
                     op->name);
        else
            vd_error(c, locs, 2, "Variable \"$%s\" is not defined.", u->name);
    }
    vd_strmap_t used = {0};
    for (size_t i = 0; i != all.n; ++i)
        vd_strmap_put(&used, all.items[i].name, 0, NULL);
    for (size_t i = 0; i != op->nvars && !c->full; ++i) {
        const bff_gql_variable_def_t *v = op->vars + i;
        if (vd_strmap_get(&used, v->name) != NULL)
            continue;
        if (op->name != NULL)
            vd_error(c, &v->loc, 1, "Variable \"$%s\" is never used in operation \"%s\".", v->name,
                     op->name);
        else
            vd_error(c, &v->loc, 1, "Variable \"$%s\" is never used.", v->name);
    }
    vd_strmap_dispose(&used);
    for (size_t i = 0; i != all.n && !c->full; ++i) {
        const vd_usage_t *u = all.items + i;
        const size_t *at = vd_strmap_get(defined, u->name);
        if (at == NULL || u->type == NULL || var_types[*at] == NULL)
            continue;
        const bff_gql_variable_def_t *def = op->vars + *at;
        if (allowed_usage(def, var_types[*at], u))
            continue;
        vd_buf_t vt = {0}, pt = {0};
        vd_print_type(&vt, var_types[*at]);
        vd_print_type(&pt, u->type);
        bff_gql_loc_t locs[2] = {def->loc, u->loc};
        vd_error(c, locs, 2,
                 "Variable \"$%s\" of type \"%s\" used in position expecting type \"%s\".", u->name,
                 vd_buf_str(&vt), vd_buf_str(&pt));
        vd_buf_dispose(&vt);
        vd_buf_dispose(&pt);
    }
    free(all.items);
}

static void walk_variable(vd_ctx_t *c, const bff_gql_variable_def_t *v,
                          const bff_gql_wrapped_t *type)
{
    int is_input = bff_gql_type_is_input(bff_gql_unwrap(type));
    if (type != NULL && !is_input) {
        vd_buf_t b = {0};
        vd_print_type_ref(&b, v->type);
        vd_error(c, &v->type->loc, 1, "Variable \"$%s\" cannot be non-input type \"%s\".", v->name,
                 vd_buf_str(&b));
        vd_buf_dispose(&b);
    }
    unique_directives(c, v->directives, v->ndirectives);
    known_type_ref(c, v->type);
    if (v->default_value != NULL)
        vd_check_value(c, v->default_value, is_input ? type : NULL, 0);
    walk_directives(c, v->directives, v->ndirectives, BFF_GQL_DL_VARIABLE_DEFINITION, NULL);
}

static void walk_operation(vd_ctx_t *c, size_t index, vd_strmap_t *op_names)
{
    const bff_gql_operation_t *op = c->doc->operations + index;
    if (op->name != NULL) {
        int added;
        size_t first = *vd_strmap_put(op_names, op->name, index, &added);
        if (!added) {
            bff_gql_loc_t locs[2] = {vd_op_name_loc(c->doc->operations + first),
                                     vd_op_name_loc(op)};
            vd_error(c, locs, 2, "There can be only one operation named \"%s\".", op->name);
        }
    } else if (c->doc->noperations > 1) {
        vd_error(c, &op->loc, 1, "This anonymous operation must be the only defined operation.");
    }
    vd_single_field_subscription(c, op);
    unique_variables(c, op);
    unique_directives(c, op->directives, op->ndirectives);

    /* The variables by name (the last definition of a name wins, as graphql-js's maps). */
    vd_strmap_t defined = {0};
    const bff_gql_wrapped_t **var_types =
        bff_malloc((op->nvars != 0 ? op->nvars : 1) * sizeof(*var_types));
    for (size_t i = 0; i != op->nvars && !c->full; ++i) {
        var_types[i] = vd_type_from_ast(c, op->vars[i].type);
        *vd_strmap_put(&defined, op->vars[i].name, i, NULL) = i;
        walk_variable(c, op->vars + i, var_types[i]);
    }
    static const int locations[] = {BFF_GQL_DL_QUERY, BFF_GQL_DL_MUTATION, BFF_GQL_DL_SUBSCRIPTION};
    walk_directives(c, op->directives, op->ndirectives, locations[op->kind], NULL);
    walk_selection_set(c, op->selection_set, root_type(c, op->kind), NULL, 0);
    if (!c->full)
        operation_leave(c, op, var_types, &defined);
    free(var_types);
    vd_strmap_dispose(&defined);
}

static void walk_fragment(vd_ctx_t *c, size_t index)
{
    vd_frag_t *f = c->frags + index;
    const bff_gql_fragment_t *def = f->def;
    const bff_gql_type_t *cond = bff_gql_schema_type(c->schema, def->type_condition);
    if (cond != NULL && !vd_is_composite(cond))
        vd_error(c, &def->type_condition_loc, 1,
                 "Fragment \"%s\" cannot condition on non composite type \"%s\".", def->name,
                 def->type_condition);
    size_t first = c->frag_first[f->name_id];
    if (first != index) {
        bff_gql_loc_t locs[2] = {vd_frag_name_loc(c->frags[first].def), vd_frag_name_loc(def)};
        vd_error(c, locs, 2, "There can be only one fragment named \"%s\".", def->name);
    }
    vd_fragment_cycles(c, f);
    unique_directives(c, def->directives, def->ndirectives);
    known_type(c, def->type_condition, def->type_condition_loc);
    walk_directives(c, def->directives, def->ndirectives, BFF_GQL_DL_FRAGMENT_DEFINITION, NULL);
    walk_selection_set(c, def->selection_set, vd_is_output(cond) ? cond : NULL, NULL, 0);
}

/* ---- the document ---- */

static void index_fragments(vd_ctx_t *c)
{
    size_t n = c->doc->nfragments;
    c->nfrags = n;
    c->frags = bff_gql_arena_alloc(&c->arena, (n + 1) * sizeof(*c->frags));
    c->frag_last = bff_gql_arena_alloc(&c->arena, (n + 1) * sizeof(*c->frag_last));
    c->frag_first = bff_gql_arena_alloc(&c->arena, (n + 1) * sizeof(*c->frag_first));
    for (size_t i = 0; i != n; ++i) {
        const bff_gql_fragment_t *def = c->doc->fragments + i;
        int added;
        size_t id = *vd_strmap_put(&c->frag_ids, def->name, c->nfrag_names, &added);
        if (added)
            c->frag_first[c->nfrag_names++] = i;
        c->frag_last[id] = i;
        c->frags[i].def = def;
        c->frags[i].name_id = id;
    }
    c->cycle_visited = bff_gql_arena_alloc(&c->arena, c->nfrag_names + 1);
    c->cycle_index = bff_gql_arena_alloc(&c->arena, (c->nfrag_names + 1) * sizeof(size_t));
    for (size_t i = 0; i != c->nfrag_names; ++i)
        c->cycle_index[i] = SIZE_MAX;
}

static int loc_before(bff_gql_loc_t a, bff_gql_loc_t b)
{
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

size_t bff_gql_validate(const bff_gql_schema_t *schema, const bff_gql_document_t *doc,
                        const bff_gql_validate_limits_t *limits, bff_gql_errors_t *errs)
{
    if (schema == NULL || doc == NULL || errs == NULL)
        return 0;
    vd_ctx_t c;
    memset(&c, 0, sizeof(c));
    c.schema = schema;
    c.doc = doc;
    c.errs = errs;
    bff_gql_arena_init(&c.arena);
    index_fragments(&c);

    /* Operations and fragments are kept apart: walk them in the order they were written. */
    vd_strmap_t op_names = {0};
    size_t io = 0, ifr = 0;
    while ((io != doc->noperations || ifr != doc->nfragments) && !c.full) {
        if (ifr == doc->nfragments ||
            (io != doc->noperations &&
             loc_before(doc->operations[io].loc, doc->fragments[ifr].loc)))
            walk_operation(&c, io++, &op_names);
        else
            walk_fragment(&c, ifr++);
    }
    if (!c.full)
        vd_unused_fragments(&c);
    if (!c.full && limits != NULL)
        vd_limits(&c, limits);

    vd_strmap_dispose(&op_names);
    vd_overlap_dispose(&c);
    for (size_t i = 0; i != c.members.cap; ++i) /* the per-type member indexes */
        if (c.members.slots[i].used && c.members.slots[i].b <= MEMBER_ENUM_VALUE)
            vd_strmap_dispose((vd_strmap_t *)c.members.slots[i].value);
    vd_pmap_dispose(&c.members);
    vd_strmap_dispose(&c.frag_ids);
    for (size_t i = 0; i != c.nfrags; ++i)
        free(c.frags[i].usages.items);
    bff_gql_arena_dispose(&c.arena);
    return c.found;
}
