/* The type system rules of section 3 for a schema being built, with graphql-js's messages
 * (assertValidSchema): fields and arguments of the right kinds of types, interface
 * implementations, non-empty types, input objects that can be satisfied, valid defaults, and
 * directive definitions that do not reference themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/schema_internal.h"
#include "compose/mem.h"

/* ---- the type system rules ---- */

static int is_equal_type(const bff_gql_wrapped_t *a, const bff_gql_wrapped_t *b)
{
    for (; a != NULL && b != NULL; a = a->of, b = b->of) {
        if (a->kind != b->kind)
            return 0;
        if (a->kind == BFF_GQL_NAMED)
            return a->named == b->named;
    }
    return 0;
}

static int implements(const bff_gql_type_t *t, const bff_gql_type_t *iface)
{
    for (size_t i = 0; i != t->ninterfaces; ++i)
        if (t->interfaces[i] == iface)
            return 1;
    return 0;
}

/* graphql-js's isTypeSubTypeOf (covariant field types), without recursion. */
static int is_subtype(const bff_gql_wrapped_t *sub, const bff_gql_wrapped_t *super)
{
    for (;;) {
        if (super->kind == BFF_GQL_NON_NULL) {
            if (sub->kind != BFF_GQL_NON_NULL)
                return 0;
            sub = sub->of;
            super = super->of;
        } else if (sub->kind == BFF_GQL_NON_NULL) {
            sub = sub->of;
        } else if (super->kind == BFF_GQL_LIST_OF) {
            if (sub->kind != BFF_GQL_LIST_OF)
                return 0;
            sub = sub->of;
            super = super->of;
        } else if (sub->kind == BFF_GQL_LIST_OF) {
            return 0;
        } else {
            const bff_gql_type_t *a = sub->named, *b = super->named;
            if (a == b)
                return 1;
            if (b->kind == BFF_GQL_UNION)
                return a->kind == BFF_GQL_OBJECT_TYPE && bff_gql_type_is_possible(b, a);
            if (b->kind == BFF_GQL_INTERFACE)
                return (a->kind == BFF_GQL_OBJECT_TYPE || a->kind == BFF_GQL_INTERFACE) &&
                       implements(a, b);
            return 0;
        }
    }
}

static int is_required(const bff_gql_input_value_t *v)
{
    return v->type != NULL && v->type->kind == BFF_GQL_NON_NULL && v->default_value == NULL;
}

static const bff_gql_input_value_def_t *arg_def(const bff_gql_input_value_def_t *defs, size_t n,
                                                const char *name)
{
    for (size_t i = 0; i != n; ++i)
        if (strcmp(defs[i].name, name) == 0)
            return defs + i;
    return NULL;
}

static bff_gql_loc_t deprecated_loc(const bff_gql_input_value_def_t *d)
{
    for (size_t i = 0; i != d->ndirectives; ++i)
        if (strcmp(d->directives[i].name, "deprecated") == 0)
            return d->directives[i].loc;
    return d->loc;
}

/* Input values (arguments, input fields): an input type, not both required and deprecated, a
 * valid default. `label` names one: "User.orders(limit:)", "OrderInput.note". */
static void check_input_value(sb_t *b, unsigned src, const bff_gql_input_value_t *v,
                              const bff_gql_input_value_def_t *d, const char *label, int is_arg)
{
    char buf[256];
    if (v->type == NULL)
        return;
    if (!bff_gql_type_is_input(bff_gql_unwrap(v->type))) {
        bff_gql_sb_error(b, src, d->type->loc, "The type of %s must be Input Type but got: %s.",
                         label, bff_gql_type_print(v->type, buf, sizeof(buf)));
        return;
    }
    if (is_required(v) && v->is_deprecated)
        bff_gql_sb_error(b, src, deprecated_loc(d), "Required %s %s cannot be deprecated.",
                         is_arg ? "argument" : "input field", label);
    if (v->default_value != NULL) {
        char what[400];
        snprintf(what, sizeof(what), "%s has invalid default value: ", label);
        bff_gql_sb_check_value(b, src, d->default_value, v->type, what);
    }
}

static void check_fields(sb_t *b, const sb_type_t *st)
{
    const bff_gql_type_t *t = st->type;
    char buf[256], label[400];
    if (t->nfields == 0)
        bff_gql_sb_error(b, st->parts[0].src, st->parts[0].def->loc,
                         "Type %s must define one or more fields.", t->name);
    for (size_t i = 0; i != t->nfields; ++i) {
        const bff_gql_field_t *f = t->fields + i;
        const bff_gql_field_def_t *fd = st->field_origins[i].ast;
        unsigned src = st->field_origins[i].src;
        if (f->type != NULL && bff_gql_unwrap(f->type)->kind == BFF_GQL_INPUT_OBJECT)
            bff_gql_sb_error(b, src, fd->type->loc,
                             "The type of %s.%s must be Output Type but got: %s.", t->name, f->name,
                             bff_gql_type_print(f->type, buf, sizeof(buf)));
        for (size_t k = 0; k != f->nargs; ++k) {
            snprintf(label, sizeof(label), "%s.%s(%s:)", t->name, f->name, f->args[k].name);
            check_input_value(b, src, f->args + k, arg_def(fd->args, fd->nargs, f->args[k].name),
                              label, 1);
        }
    }
}

static void check_implementation(sb_t *b, const sb_type_t *st, const bff_gql_type_t *iface,
                                 const sb_origin_t *where)
{
    const bff_gql_type_t *t = st->type;
    const bff_gql_loc_t iface_loc = ((const bff_gql_name_t *)where->ast)->loc;
    char buf[256], buf2[256];
    for (size_t k = 0; k != iface->ninterfaces; ++k) {
        const bff_gql_type_t *transitive = iface->interfaces[k];
        if (implements(t, transitive))
            continue;
        if (transitive == t)
            bff_gql_sb_error(
                b, where->src, iface_loc,
                "Type %s cannot implement %s because it would create a circular reference.",
                t->name, iface->name);
        else
            bff_gql_sb_error(b, where->src, iface_loc,
                             "Type %s must implement %s because it is implemented by %s.", t->name,
                             transitive->name, iface->name);
    }
    for (size_t i = 0; i != iface->nfields; ++i) {
        const bff_gql_field_t *ifield = iface->fields + i;
        const bff_gql_field_t *field = NULL;
        size_t fi = 0;
        for (; fi != t->nfields && field == NULL; ++fi)
            if (strcmp(t->fields[fi].name, ifield->name) == 0)
                field = t->fields + fi;
        if (field == NULL) {
            bff_gql_sb_error(b, where->src, iface_loc,
                             "Interface field %s.%s expected but %s does not provide it.",
                             iface->name, ifield->name, t->name);
            continue;
        }
        const bff_gql_field_def_t *fd = st->field_origins[fi - 1].ast;
        unsigned src = st->field_origins[fi - 1].src;
        if (field->type != NULL && ifield->type != NULL && !is_subtype(field->type, ifield->type))
            bff_gql_sb_error(b, src, fd->type->loc,
                             "Interface field %s.%s expects type %s but %s.%s is type %s.",
                             iface->name, ifield->name,
                             bff_gql_type_print(ifield->type, buf, sizeof(buf)), t->name,
                             field->name, bff_gql_type_print(field->type, buf2, sizeof(buf2)));
        for (size_t a = 0; a != ifield->nargs; ++a) {
            const bff_gql_input_value_t *iarg = ifield->args + a, *arg = NULL;
            for (size_t k = 0; k != field->nargs && arg == NULL; ++k)
                if (strcmp(field->args[k].name, iarg->name) == 0)
                    arg = field->args + k;
            if (arg == NULL) {
                bff_gql_sb_error(
                    b, src, fd->loc,
                    "Interface field argument %s.%s(%s:) expected but %s.%s does not provide "
                    "it.",
                    iface->name, ifield->name, iarg->name, t->name, field->name);
                continue;
            }
            if (arg->type != NULL && iarg->type != NULL && !is_equal_type(arg->type, iarg->type))
                bff_gql_sb_error(
                    b, src, arg_def(fd->args, fd->nargs, arg->name)->type->loc,
                    "Interface field argument %s.%s(%s:) expects type %s but %s.%s(%s:) is "
                    "type %s.",
                    iface->name, ifield->name, iarg->name,
                    bff_gql_type_print(iarg->type, buf, sizeof(buf)), t->name, field->name,
                    arg->name, bff_gql_type_print(arg->type, buf2, sizeof(buf2)));
        }
        for (size_t k = 0; k != field->nargs; ++k) {
            const bff_gql_input_value_t *arg = field->args + k;
            size_t a = 0;
            while (a != ifield->nargs && strcmp(ifield->args[a].name, arg->name) != 0)
                ++a;
            if (a == ifield->nargs && is_required(arg))
                bff_gql_sb_error(
                    b, src, arg_def(fd->args, fd->nargs, arg->name)->loc,
                    "Object field %s.%s includes required argument %s that is missing from "
                    "the Interface field %s.%s.",
                    t->name, field->name, arg->name, iface->name, ifield->name);
        }
    }
}

static void check_input_fields(sb_t *b, const sb_type_t *st)
{
    const bff_gql_type_t *t = st->type;
    char label[400];
    if (t->ninput_fields == 0)
        bff_gql_sb_error(b, st->parts[0].src, st->parts[0].def->loc,
                         "Input Object type %s must define one or more fields.", t->name);
    for (size_t i = 0; i != t->ninput_fields; ++i) {
        snprintf(label, sizeof(label), "%s.%s", t->name, t->input_fields[i].name);
        check_input_value(b, st->input_origins[i].src, t->input_fields + i,
                          st->input_origins[i].ast, label, 0);
    }
}

/* The input object of a non-null field ("a: T!"), the only way a cycle cannot be satisfied. */
static sb_type_t *non_null_input(sb_t *b, const bff_gql_input_value_t *f)
{
    if (f->type == NULL || f->type->kind != BFF_GQL_NON_NULL ||
        f->type->of->kind != BFF_GQL_NAMED || f->type->of->named->kind != BFF_GQL_INPUT_OBJECT)
        return NULL;
    return bff_gql_sb_lookup(b, f->type->of->named->name);
}

typedef struct {
    sb_type_t *st;
    size_t field; /* the field being followed */
} cycle_frame_t;

/* graphql-js's depth-first search for input objects that contain themselves through non-null
 * fields, with an explicit stack: each type is on it at most once. */
static void check_input_cycles(sb_t *b, sb_type_t *root, cycle_frame_t *stack)
{
    if (root->cycle_visited)
        return;
    size_t depth = 0;
    stack[depth].st = root;
    stack[depth].field = 0;
    root->cycle_visited = 1;
    root->cycle_depth = 0;
    while (depth != (size_t)-1) {
        cycle_frame_t *fr = stack + depth;
        const bff_gql_type_t *t = fr->st->type;
        if (fr->field == t->ninput_fields) {
            fr->st->cycle_depth = -1;
            if (depth-- != 0)
                ++stack[depth].field;
            continue;
        }
        sb_type_t *next = non_null_input(b, t->input_fields + fr->field);
        if (next == NULL) {
            ++fr->field;
        } else if (next->cycle_depth >= 0) {
            char path[1024];
            size_t len = 0;
            path[0] = '\0';
            for (size_t k = (size_t)next->cycle_depth; k <= depth && len < sizeof(path); ++k)
                len += (size_t)snprintf(path + len, sizeof(path) - len, "%s%s", len ? "." : "",
                                        stack[k].st->type->input_fields[stack[k].field].name);
            const sb_origin_t *o =
                stack[next->cycle_depth].st->input_origins + stack[next->cycle_depth].field;
            bff_gql_sb_error(
                b, o->src, ((const bff_gql_input_value_def_t *)o->ast)->loc,
                "Cannot reference Input Object \"%s\" within itself through a series of "
                "non-null fields: \"%s\".",
                next->type->name, path);
            ++fr->field;
        } else if (next->cycle_visited) {
            ++fr->field;
        } else {
            next->cycle_visited = 1;
            next->cycle_depth = (int)++depth;
            stack[depth].st = next;
            stack[depth].field = 0;
        }
    }
}

static void check_directive_defs(sb_t *b)
{
    char label[400];
    for (size_t i = 0; i != b->ndirs; ++i) {
        const sb_directive_t *sd = b->dirs + i;
        if (sd->src == b->builtin_src)
            continue;
        for (size_t k = 0; k != sd->info->nargs; ++k) {
            snprintf(label, sizeof(label), "@%s(%s:)", sd->info->name, sd->info->args[k].name);
            check_input_value(b, sd->src, sd->info->args + k,
                              arg_def(sd->def->args, sd->def->nargs, sd->info->args[k].name), label,
                              1);
        }
    }
}

/* ---- directives referencing themselves (section 3.13) ---- */

typedef struct {
    const sb_type_t *type; /* or */
    const sb_directive_t *dir;
    const char *via; /* the first type or directive on the way from the definition */
} ref_item_t;

typedef struct {
    sb_t *b;
    const sb_directive_t *self;
    ref_item_t *queue;
    size_t head, tail;
    char *seen_types, *seen_dirs;
    int found;
} ref_walk_t;

static void ref_report(ref_walk_t *w, const char *via)
{
    if (w->found++)
        return;
    if (via == NULL)
        bff_gql_sb_error(w->b, w->self->src, w->self->def->loc,
                         "Directive \"@%s\" must not be used in its own definition.",
                         w->self->def->name);
    else
        bff_gql_sb_error(w->b, w->self->src, w->self->def->loc,
                         "Directive \"@%s\" must not reference itself through %s.",
                         w->self->def->name, via);
}

static void ref_uses(ref_walk_t *w, const bff_gql_directive_t *dirs, size_t n, const char *via)
{
    for (size_t i = 0; i != n; ++i) {
        const sb_directive_t *d = bff_gql_sb_lookup_directive(w->b, dirs[i].name);
        if (d == NULL)
            continue;
        if (d == w->self) { /* from the definition itself: a direct use */
            ref_report(w, via != NULL && via[0] == '@' && strcmp(via + 1, d->def->name) == 0 ? NULL
                                                                                             : via);
            continue;
        }
        size_t k = (size_t)(d - w->b->dirs);
        if (w->seen_dirs[k])
            continue;
        w->seen_dirs[k] = 1;
        ref_item_t *it = w->queue + w->tail++;
        it->type = NULL;
        it->dir = d;
        it->via = via;
    }
}

static void ref_type(ref_walk_t *w, const bff_gql_type_ref_t *ref, const char *via)
{
    while (ref != NULL && ref->kind != BFF_GQL_NAMED)
        ref = ref->of;
    const sb_type_t *st = ref != NULL ? bff_gql_sb_lookup(w->b, ref->name) : NULL;
    if (st == NULL || w->seen_types[st->order])
        return;
    w->seen_types[st->order] = 1;
    ref_item_t *it = w->queue + w->tail++;
    it->type = st;
    it->dir = NULL;
    it->via = via;
}

/* The arguments of a directive definition: the directives on them and their types. From the
 * definition checked (`via` NULL), each names the way it leads for the message. */
static void ref_args(ref_walk_t *w, const bff_gql_directive_def_t *def, const char *via)
{
    for (size_t i = 0; i != def->nargs; ++i) {
        const bff_gql_input_value_def_t *a = def->args + i;
        if (via != NULL) {
            ref_type(w, a->type, via);
            ref_uses(w, a->directives, a->ndirectives, via);
            continue;
        }
        const bff_gql_type_ref_t *r = a->type;
        while (r != NULL && r->kind != BFF_GQL_NAMED)
            r = r->of;
        if (r != NULL)
            ref_type(w, r, r->name);
        for (size_t k = 0; k != a->ndirectives; ++k) {
            char name[300];
            snprintf(name, sizeof(name), "@%s", a->directives[k].name);
            ref_uses(w, a->directives + k, 1,
                     bff_gql_arena_strndup(&w->b->scratch, name, strlen(name)));
        }
    }
}

/* What a type refers to: the directives applied to it and its members, and (input objects)
 * its fields' types. */
static void ref_type_members(ref_walk_t *w, const sb_type_t *st, const char *via)
{
    for (size_t p = 0; p != st->nparts; ++p) {
        const bff_gql_type_def_t *def = st->parts[p].def;
        ref_uses(w, def->directives, def->ndirectives, via);
        for (size_t i = 0; i != def->nvalues; ++i)
            ref_uses(w, def->values[i].directives, def->values[i].ndirectives, via);
        for (size_t i = 0; i != def->ninput_fields; ++i) {
            ref_uses(w, def->input_fields[i].directives, def->input_fields[i].ndirectives, via);
            ref_type(w, def->input_fields[i].type, via);
        }
    }
}

/* Breadth-first over the types and directives a definition reaches, each visited once. */
static void check_directive_self_refs(sb_t *b)
{
    ref_walk_t w;
    memset(&w, 0, sizeof(w));
    w.b = b;
    w.queue = bff_malloc((b->ntypes + b->ndirs + 1) * sizeof(*w.queue));
    w.seen_types = bff_malloc(b->ntypes + 1);
    w.seen_dirs = bff_malloc(b->ndirs + 1);
    for (size_t i = 0; i != b->ndirs; ++i) {
        if (b->dirs[i].src == b->builtin_src || b->dirs[i].duplicate)
            continue;
        w.self = b->dirs + i;
        w.head = w.tail = 0;
        w.found = 0;
        memset(w.seen_types, 0, b->ntypes + 1);
        memset(w.seen_dirs, 0, b->ndirs + 1);
        w.seen_dirs[i] = 1;
        ref_args(&w, w.self->def, NULL);
        while (w.head != w.tail && !w.found) {
            const ref_item_t *it = w.queue + w.head++;
            if (it->dir != NULL)
                ref_args(&w, it->dir->def, it->via);
            else
                ref_type_members(&w, it->type, it->via);
        }
    }
    free(w.queue);
    free(w.seen_types);
    free(w.seen_dirs);
}

void bff_gql_sb_check_types(sb_t *b)
{
    check_directive_defs(b);
    check_directive_self_refs(b);
    cycle_frame_t *stack = bff_malloc((b->ntypes ? b->ntypes : 1) * sizeof(*stack));
    for (size_t i = 0; i != b->ntypes; ++i) {
        sb_type_t *st = b->types[i];
        if (st->hidden != NULL || st->type->is_builtin)
            continue;
        switch (st->type->kind) {
        case BFF_GQL_OBJECT_TYPE:
        case BFF_GQL_INTERFACE:
            check_fields(b, st);
            for (size_t k = 0; k != st->type->ninterfaces; ++k)
                check_implementation(b, st, st->type->interfaces[k], st->iface_origins + k);
            break;
        case BFF_GQL_ENUM_TYPE:
            if (st->type->nvalues == 0)
                bff_gql_sb_error(b, st->parts[0].src, st->parts[0].def->loc,
                                 "Enum type %s must define one or more values.", st->type->name);
            break;
        case BFF_GQL_INPUT_OBJECT:
            check_input_fields(b, st);
            check_input_cycles(b, st, stack);
            break;
        default:
            break;
        }
    }
    free(stack);
}
