/* The members of a schema being built: fields and their arguments, interfaces, union members,
 * enum values, input fields and directive definitions, merged from a type's definition and
 * extensions, their type references resolved and their strings and defaults copied into the
 * schema's arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/schema_internal.h"

/* ---- members ---- */

/* The wrapper chain of a reference, in the schema arena; NULL if its named type is unknown
 * (bff_gql_sb_check_sdl reports those) or hidden (reported here, naming `what`). */
const bff_gql_wrapped_t *bff_gql_sb_resolve_ref(sb_t *b, const bff_gql_type_ref_t *ref,
                                                unsigned src, const char *what)
{
    size_t n = 0;
    const bff_gql_type_ref_t *r = ref;
    for (; r != NULL && r->kind != BFF_GQL_NAMED; r = r->of)
        ++n;
    if (r == NULL)
        return NULL;
    const sb_type_t *st = bff_gql_sb_lookup(b, r->name);
    if (st == NULL)
        return NULL;
    if (st->hidden != NULL) {
        bff_gql_sb_error(b, src, r->loc, "%s refers to hidden type %s.", what, st->type->name);
        return NULL;
    }
    bff_gql_wrapped_t *w = bff_gql_arena_alloc(&b->schema->arena, (n + 1) * sizeof(*w));
    r = ref;
    for (size_t i = 0; i != n; ++i, r = r->of) {
        w[i].kind = r->kind;
        w[i].of = w + i + 1;
    }
    w[n].kind = BFF_GQL_NAMED;
    w[n].named = st->type;
    return w;
}

static bff_gql_value_t *copy_value(sb_t *b, const bff_gql_value_t *v, unsigned depth)
{
    if (depth > SB_MAX_VALUE_DEPTH)
        return NULL;
    bff_gql_arena_t *a = &b->schema->arena;
    bff_gql_value_t *c = bff_gql_arena_alloc(a, sizeof(*c));
    c->kind = v->kind;
    c->loc = v->loc;
    c->boolean = v->boolean;
    if (v->str != NULL) {
        size_t len = v->kind == BFF_GQL_STRING ? v->len : strlen(v->str);
        c->str = bff_gql_arena_strndup(a, v->str, len);
        c->len = len;
    }
    if (v->nitems != 0) {
        c->items = bff_gql_arena_alloc(a, v->nitems * sizeof(*c->items));
        for (size_t i = 0; i != v->nitems; ++i)
            if ((c->items[i] = copy_value(b, v->items[i], depth + 1)) == NULL)
                return NULL;
        c->nitems = v->nitems;
    }
    if (v->nfields != 0) {
        c->fields = bff_gql_arena_alloc(a, v->nfields * sizeof(*c->fields));
        for (size_t i = 0; i != v->nfields; ++i) {
            c->fields[i].name = bff_gql_sb_strdup(b, v->fields[i].name);
            c->fields[i].loc = v->fields[i].loc;
            if ((c->fields[i].value = copy_value(b, v->fields[i].value, depth + 1)) == NULL)
                return NULL;
        }
        c->nfields = v->nfields;
    }
    return c;
}

static const bff_gql_directive_t *find_directive(const bff_gql_directive_t *dirs, size_t n,
                                                 const char *name)
{
    for (size_t i = 0; i != n; ++i)
        if (strcmp(dirs[i].name, name) == 0)
            return dirs + i;
    return NULL;
}

static const bff_gql_value_t *directive_arg(const bff_gql_directive_t *d, const char *name)
{
    for (size_t i = 0; d != NULL && i != d->nargs; ++i)
        if (strcmp(d->args[i].name, name) == 0)
            return d->args[i].value;
    return NULL;
}

/* @deprecated(reason:), as graphql-js reads it: an explicit null reason means not deprecated;
 * a reason of the wrong type is bff_gql_sb_check_sdl's to report. */
static void deprecation(sb_t *b, const bff_gql_directive_t *dirs, size_t n, int *is_deprecated,
                        const char **reason)
{
    const bff_gql_directive_t *d = find_directive(dirs, n, "deprecated");
    if (d == NULL)
        return;
    const bff_gql_value_t *v = directive_arg(d, "reason");
    if (v != NULL && v->kind == BFF_GQL_NULL)
        return;
    *is_deprecated = 1;
    *reason = v != NULL && v->kind == BFF_GQL_STRING
                  ? bff_gql_arena_strndup(&b->schema->arena, v->str, v->len)
                  : "No longer supported";
}

static void build_input_value(sb_t *b, unsigned src, const bff_gql_input_value_def_t *d,
                              bff_gql_input_value_t *out, const char *what)
{
    out->name = bff_gql_sb_strdup(b, d->name);
    out->description = bff_gql_sb_strdup(b, d->description);
    out->type = bff_gql_sb_resolve_ref(b, d->type, src, what);
    if (d->default_value != NULL) {
        out->default_value = copy_value(b, d->default_value, 0);
        if (out->default_value == NULL) {
            bff_gql_sb_error(b, src, d->default_value->loc,
                             "The default value of %s is nested too deeply.", what);
        } else {
            char *text = bff_gql_sb_print_value(d->default_value);
            out->default_text = bff_gql_sb_strdup(b, text);
            free(text);
        }
    }
    deprecation(b, d->directives, d->ndirectives, &out->is_deprecated, &out->deprecation_reason);
}

/* Arguments of a field ("User.orders") or a directive ("@auth"), duplicates left out. */
static void build_args(sb_t *b, unsigned src, const bff_gql_input_value_def_t *defs, size_t n,
                       const char *parent, bff_gql_input_value_t **args, size_t *nargs)
{
    *args = bff_gql_arena_alloc(&b->schema->arena, (n ? n : 1) * sizeof(**args));
    *nargs = 0;
    for (size_t i = 0; i != n; ++i) {
        const bff_gql_input_value_def_t *d = defs + i;
        bff_gql_sb_check_name(b, src, d->name, d->loc);
        size_t j = 0;
        while (j != *nargs && strcmp((*args)[j].name, d->name) != 0)
            ++j;
        if (j != *nargs) {
            bff_gql_sb_error(b, src, d->loc, "Argument \"%s(%s:)\" can only be defined once.",
                             parent, d->name);
            continue;
        }
        char what[300];
        snprintf(what, sizeof(what), "Argument %s(%s:)", parent, d->name);
        build_input_value(b, src, d, *args + (*nargs)++, what);
    }
}

static void build_fields(sb_t *b, sb_type_t *st)
{
    bff_gql_type_t *t = st->type;
    size_t total = 0;
    for (size_t p = 0; p != st->nparts; ++p)
        total += st->parts[p].def->nfields;
    t->fields = bff_gql_arena_alloc(&b->schema->arena, (total ? total : 1) * sizeof(*t->fields));
    st->field_origins =
        bff_gql_arena_alloc(&b->scratch, (total ? total : 1) * sizeof(*st->field_origins));
    for (size_t p = 0; p != st->nparts; ++p) {
        unsigned src = st->parts[p].src;
        for (size_t i = 0; i != st->parts[p].def->nfields; ++i) {
            const bff_gql_field_def_t *fd = st->parts[p].def->fields + i;
            if (bff_gql_sb_is_hidden_field(b, t->name, fd->name))
                continue;
            bff_gql_sb_check_name(b, src, fd->name, fd->loc);
            size_t j = 0;
            while (j != t->nfields && strcmp(t->fields[j].name, fd->name) != 0)
                ++j;
            if (j != t->nfields) {
                bff_gql_sb_error(b, src, fd->loc, "Field \"%s.%s\" can only be defined once.",
                                 t->name, fd->name);
                continue;
            }
            bff_gql_field_t *f = t->fields + t->nfields;
            f->name = bff_gql_sb_strdup(b, fd->name);
            f->description = bff_gql_sb_strdup(b, fd->description);
            f->owner = t;
            f->file = b->files[src];
            f->line = fd->loc.line;
            f->column = fd->loc.column;
            char what[300];
            snprintf(what, sizeof(what), "Field %s.%s", t->name, fd->name);
            f->type = bff_gql_sb_resolve_ref(b, fd->type, src, what);
            snprintf(what, sizeof(what), "%s.%s", t->name, fd->name);
            build_args(b, src, fd->args, fd->nargs, what, &f->args, &f->nargs);
            deprecation(b, fd->directives, fd->ndirectives, &f->is_deprecated,
                        &f->deprecation_reason);
            st->field_origins[t->nfields].ast = fd;
            st->field_origins[t->nfields++].src = src;
        }
    }
}

static void build_interfaces(sb_t *b, sb_type_t *st)
{
    bff_gql_type_t *t = st->type;
    size_t total = 0;
    for (size_t p = 0; p != st->nparts; ++p)
        total += st->parts[p].def->ninterfaces;
    t->interfaces =
        bff_gql_arena_alloc(&b->schema->arena, (total ? total : 1) * sizeof(*t->interfaces));
    st->iface_origins =
        bff_gql_arena_alloc(&b->scratch, (total ? total : 1) * sizeof(*st->iface_origins));
    for (size_t p = 0; p != st->nparts; ++p) {
        unsigned src = st->parts[p].src;
        for (size_t i = 0; i != st->parts[p].def->ninterfaces; ++i) {
            const bff_gql_name_t *nm = st->parts[p].def->interfaces + i;
            const sb_type_t *it = bff_gql_sb_lookup(b, nm->name);
            if (it == NULL)
                continue; /* unknown: bff_gql_sb_check_sdl */
            if (it->hidden != NULL) {
                bff_gql_sb_error(b, src, nm->loc, "Type %s implements hidden interface %s.",
                                 t->name, nm->name);
                continue;
            }
            if (it->type->kind != BFF_GQL_INTERFACE) {
                bff_gql_sb_error(
                    b, src, nm->loc,
                    "Type %s must only implement Interface types, it cannot implement %s.", t->name,
                    nm->name);
                continue;
            }
            if (it == st) {
                bff_gql_sb_error(
                    b, src, nm->loc,
                    "Type %s cannot implement itself because it would create a circular "
                    "reference.",
                    t->name);
                continue;
            }
            size_t j = 0;
            while (j != t->ninterfaces && t->interfaces[j] != it->type)
                ++j;
            if (j != t->ninterfaces) {
                bff_gql_sb_error(b, src, nm->loc, "Type %s can only implement %s once.", t->name,
                                 nm->name);
                continue;
            }
            st->iface_origins[t->ninterfaces].ast = nm;
            st->iface_origins[t->ninterfaces].src = src;
            t->interfaces[t->ninterfaces++] = it->type;
        }
    }
}

static void build_members(sb_t *b, sb_type_t *st)
{
    bff_gql_type_t *t = st->type;
    size_t total = 0;
    for (size_t p = 0; p != st->nparts; ++p)
        total += st->parts[p].def->nmembers;
    if (total == 0)
        bff_gql_sb_error(b, st->parts[0].src, st->parts[0].def->loc,
                         "Union type %s must define one or more member types.", t->name);
    st->members = bff_gql_arena_alloc(&b->scratch, (total ? total : 1) * sizeof(*st->members));
    st->member_origins =
        bff_gql_arena_alloc(&b->scratch, (total ? total : 1) * sizeof(*st->member_origins));
    for (size_t p = 0; p != st->nparts; ++p) {
        unsigned src = st->parts[p].src;
        for (size_t i = 0; i != st->parts[p].def->nmembers; ++i) {
            const bff_gql_name_t *nm = st->parts[p].def->members + i;
            const sb_type_t *mt = bff_gql_sb_lookup(b, nm->name);
            if (mt == NULL)
                continue;
            size_t j = 0;
            while (j != st->nmembers && st->members[j] != mt->type)
                ++j;
            if (j != st->nmembers) {
                bff_gql_sb_error(b, src, nm->loc, "Union type %s can only include type %s once.",
                                 t->name, nm->name);
            } else if (mt->hidden != NULL) {
                bff_gql_sb_error(b, src, nm->loc, "Union %s refers to hidden type %s.", t->name,
                                 nm->name);
            } else if (mt->type->kind != BFF_GQL_OBJECT_TYPE) {
                bff_gql_sb_error(
                    b, src, nm->loc,
                    "Union type %s can only include Object types, it cannot include %s.", t->name,
                    nm->name);
            } else {
                st->member_origins[st->nmembers].ast = nm;
                st->member_origins[st->nmembers].src = src;
                st->members[st->nmembers++] = mt->type;
            }
        }
    }
}

static void build_values(sb_t *b, sb_type_t *st)
{
    bff_gql_type_t *t = st->type;
    size_t total = 0;
    for (size_t p = 0; p != st->nparts; ++p)
        total += st->parts[p].def->nvalues;
    t->values = bff_gql_arena_alloc(&b->schema->arena, (total ? total : 1) * sizeof(*t->values));
    st->value_origins =
        bff_gql_arena_alloc(&b->scratch, (total ? total : 1) * sizeof(*st->value_origins));
    for (size_t p = 0; p != st->nparts; ++p) {
        unsigned src = st->parts[p].src;
        for (size_t i = 0; i != st->parts[p].def->nvalues; ++i) {
            const bff_gql_enum_value_def_t *vd = st->parts[p].def->values + i;
            bff_gql_sb_check_name(b, src, vd->name, vd->loc);
            if (strcmp(vd->name, "true") == 0 || strcmp(vd->name, "false") == 0 ||
                strcmp(vd->name, "null") == 0)
                bff_gql_sb_error(b, src, vd->loc, "Enum values cannot be named: %s", vd->name);
            size_t j = 0;
            while (j != t->nvalues && strcmp(t->values[j].name, vd->name) != 0)
                ++j;
            if (j != t->nvalues) {
                bff_gql_sb_error(b, src, vd->loc, "Enum value \"%s.%s\" can only be defined once.",
                                 t->name, vd->name);
                continue;
            }
            bff_gql_enum_value_t *v = t->values + t->nvalues;
            v->name = bff_gql_sb_strdup(b, vd->name);
            v->description = bff_gql_sb_strdup(b, vd->description);
            deprecation(b, vd->directives, vd->ndirectives, &v->is_deprecated,
                        &v->deprecation_reason);
            st->value_origins[t->nvalues].ast = vd;
            st->value_origins[t->nvalues++].src = src;
        }
    }
}

static void build_input_fields(sb_t *b, sb_type_t *st)
{
    bff_gql_type_t *t = st->type;
    size_t total = 0;
    for (size_t p = 0; p != st->nparts; ++p)
        total += st->parts[p].def->ninput_fields;
    t->input_fields =
        bff_gql_arena_alloc(&b->schema->arena, (total ? total : 1) * sizeof(*t->input_fields));
    st->input_origins =
        bff_gql_arena_alloc(&b->scratch, (total ? total : 1) * sizeof(*st->input_origins));
    for (size_t p = 0; p != st->nparts; ++p) {
        unsigned src = st->parts[p].src;
        for (size_t i = 0; i != st->parts[p].def->ninput_fields; ++i) {
            const bff_gql_input_value_def_t *d = st->parts[p].def->input_fields + i;
            if (bff_gql_sb_is_hidden_field(b, t->name, d->name)) {
                /* Clients could no longer give it, and the type would never be valid. */
                if (d->type->kind == BFF_GQL_NON_NULL && d->default_value == NULL)
                    bff_gql_sb_error(b, src, d->loc,
                                     "Cannot hide \"%s.%s\": it is a required input field.",
                                     t->name, d->name);
                continue;
            }
            bff_gql_sb_check_name(b, src, d->name, d->loc);
            size_t j = 0;
            while (j != t->ninput_fields && strcmp(t->input_fields[j].name, d->name) != 0)
                ++j;
            if (j != t->ninput_fields) {
                bff_gql_sb_error(b, src, d->loc, "Field \"%s.%s\" can only be defined once.",
                                 t->name, d->name);
                continue;
            }
            char what[300];
            snprintf(what, sizeof(what), "Input field %s.%s", t->name, d->name);
            build_input_value(b, src, d, t->input_fields + t->ninput_fields, what);
            st->input_origins[t->ninput_fields].ast = d;
            st->input_origins[t->ninput_fields++].src = src;
        }
    }
}

static void build_scalar(sb_t *b, sb_type_t *st)
{
    for (size_t p = 0; p != st->nparts; ++p) {
        const bff_gql_type_def_t *def = st->parts[p].def;
        const bff_gql_value_t *url =
            directive_arg(find_directive(def->directives, def->ndirectives, "specifiedBy"), "url");
        if (url != NULL && url->kind == BFF_GQL_STRING)
            st->type->specified_by_url =
                bff_gql_arena_strndup(&b->schema->arena, url->str, url->len);
    }
}

void bff_gql_sb_build_types(sb_t *b)
{
    for (size_t i = 0; i != b->ntypes; ++i) {
        sb_type_t *st = b->types[i];
        if (st->hidden != NULL)
            continue;
        switch (st->type->kind) {
        case BFF_GQL_SCALAR:
            build_scalar(b, st);
            break;
        case BFF_GQL_OBJECT_TYPE:
        case BFF_GQL_INTERFACE:
            build_fields(b, st);
            build_interfaces(b, st);
            break;
        case BFF_GQL_UNION:
            build_members(b, st);
            break;
        case BFF_GQL_ENUM_TYPE:
            build_values(b, st);
            break;
        case BFF_GQL_INPUT_OBJECT:
            build_input_fields(b, st);
            break;
        }
    }
}

/* ---- directives ---- */

static unsigned location_bit(const char *name)
{
    for (unsigned l = 0; l != BFF_GQL_DL_COUNT; ++l)
        if (strcmp(bff_gql_directive_location_names[l], name) == 0)
            return 1u << l;
    return 0;
}

void bff_gql_sb_build_directives(sb_t *b)
{
    for (unsigned k = 0; k <= b->nsources; ++k) {
        unsigned src = k == 0 ? b->builtin_src : k - 1;
        const bff_gql_sdl_t *sdl = bff_gql_sb_sdl_of(b, src);
        for (size_t i = 0; sdl != NULL && i != sdl->ndirectives; ++i) {
            const bff_gql_directive_def_t *def = sdl->directives + i;
            const sb_directive_t *first = bff_gql_sb_lookup_directive(b, def->name);
            GROW(&b->scratch, b->dirs, b->ndirs, b->dirs_cap);
            sb_directive_t *sd = b->dirs + b->ndirs++;
            memset(sd, 0, sizeof(*sd));
            sd->def = def;
            sd->src = src;
            if (first != NULL) {
                sd->duplicate = 1;
                if (first->src == b->builtin_src)
                    bff_gql_sb_error(b, src, def->loc,
                                     "Directive \"@%s\" already exists in the schema. It cannot be "
                                     "redefined.",
                                     def->name);
                else
                    bff_gql_sb_error(b, src, def->loc,
                                     "There can be only one directive named \"@%s\".", def->name);
            }
            bff_gql_sb_check_name(b, src, def->name, def->loc);
            bff_gql_directive_info_t *info = bff_gql_arena_alloc(&b->schema->arena, sizeof(*info));
            sd->info = info;
            info->name = bff_gql_sb_strdup(b, def->name);
            info->description = bff_gql_sb_strdup(b, def->description);
            info->repeatable = def->repeatable;
            for (size_t l = 0; l != def->nlocations; ++l) {
                unsigned bit = location_bit(def->locations[l].name);
                if (bit == 0)
                    bff_gql_sb_error(b, src, def->locations[l].loc,
                                     "Unknown directive location \"%s\".", def->locations[l].name);
                info->locations |= bit;
            }
            char parent[300];
            snprintf(parent, sizeof(parent), "@%s", def->name);
            build_args(b, src, def->args, def->nargs, parent, &info->args, &info->nargs);
        }
    }
}
