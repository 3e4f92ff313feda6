/* The rules of the SDL documents themselves, with graphql-js's messages: known type names,
 * directives known, allowed and unique where they are used, their arguments; and constant
 * values (directive arguments, defaults) checked against their input types. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/schema_internal.h"
#include "compose/mem.h"

/* ---- constant values ---- */

typedef struct {
    sb_t *b;
    unsigned src;
    const char *what; /* put before each message */
} value_ctx_t;

static void value_error(const value_ctx_t *vc, bff_gql_loc_t loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void value_error(const value_ctx_t *vc, bff_gql_loc_t loc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bff_gql_sb_error(vc->b, vc->src, loc, "%s%s", vc->what, msg);
}

static int is_int32(const char *text)
{
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    return errno == 0 && *end == '\0' && v >= -2147483648LL && v <= 2147483647LL;
}

static const bff_gql_wrapped_t *nullable(const bff_gql_wrapped_t *t)
{
    return t->kind == BFF_GQL_NON_NULL ? t->of : t;
}

/* A scalar literal against a built-in scalar (graphql-js's parseLiteral messages); custom
 * scalars take any constant. */
static void check_scalar(const value_ctx_t *vc, const bff_gql_value_t *v,
                         const bff_gql_type_t *type)
{
    const char *n = type->name;
    const char *problem = NULL;
    if (strcmp(n, "Int") == 0) {
        if (v->kind == BFF_GQL_INT && !is_int32(v->str)) {
            value_error(vc, v->loc, "Int cannot represent non 32-bit signed integer value: %s",
                        v->str);
            return;
        }
        if (v->kind != BFF_GQL_INT)
            problem = "Int cannot represent non-integer value";
    } else if (strcmp(n, "Float") == 0) {
        if (v->kind != BFF_GQL_INT && v->kind != BFF_GQL_FLOAT)
            problem = "Float cannot represent non numeric value";
    } else if (strcmp(n, "String") == 0) {
        if (v->kind != BFF_GQL_STRING)
            problem = "String cannot represent a non string value";
    } else if (strcmp(n, "Boolean") == 0) {
        if (v->kind != BFF_GQL_BOOLEAN)
            problem = "Boolean cannot represent a non boolean value";
    } else if (strcmp(n, "ID") == 0) {
        if (v->kind != BFF_GQL_STRING && v->kind != BFF_GQL_INT)
            problem = "ID cannot represent a non-string and non-integer value";
    }
    if (problem != NULL) {
        char *text = bff_gql_sb_print_value(v);
        value_error(vc, v->loc, "%s: %s", problem, text);
        free(text);
    }
}

static void check_enum(const value_ctx_t *vc, const bff_gql_value_t *v, const bff_gql_type_t *type)
{
    if (v->kind == BFF_GQL_ENUM)
        for (size_t i = 0; i != type->nvalues; ++i)
            if (strcmp(type->values[i].name, v->str) == 0)
                return;
    char *text = bff_gql_sb_print_value(v);
    const char **names = bff_malloc((type->nvalues ? type->nvalues : 1) * sizeof(*names));
    for (size_t i = 0; i != type->nvalues; ++i)
        names[i] = type->values[i].name;
    char hint[512];
    bff_gql_sb_did_you_mean(hint, sizeof(hint), "the enum value", text, names, type->nvalues);
    if (v->kind != BFF_GQL_ENUM)
        value_error(vc, v->loc, "Enum \"%s\" cannot represent non-enum value: %s.%s", type->name,
                    text, hint);
    else
        value_error(vc, v->loc, "Value \"%s\" does not exist in \"%s\" enum.%s", text, type->name,
                    hint);
    free(names);
    free(text);
}

static void check_value(const value_ctx_t *vc, const bff_gql_value_t *v, const bff_gql_wrapped_t *t,
                        unsigned depth);

static void check_object(const value_ctx_t *vc, const bff_gql_value_t *v,
                         const bff_gql_type_t *type, unsigned depth)
{
    for (size_t i = 0; i != v->nfields; ++i) {
        const bff_gql_object_field_t *of = v->fields + i;
        size_t j = 0;
        while (j != i && strcmp(v->fields[j].name, of->name) != 0)
            ++j;
        if (j != i) {
            value_error(vc, of->loc, "There can be only one input field named \"%s\".", of->name);
            continue;
        }
        const bff_gql_input_value_t *def = NULL;
        for (size_t k = 0; k != type->ninput_fields && def == NULL; ++k)
            if (strcmp(type->input_fields[k].name, of->name) == 0)
                def = type->input_fields + k;
        if (def == NULL) {
            const char **names =
                bff_malloc((type->ninput_fields ? type->ninput_fields : 1) * sizeof(*names));
            for (size_t k = 0; k != type->ninput_fields; ++k)
                names[k] = type->input_fields[k].name;
            char hint[512];
            value_error(vc, of->loc, "Field \"%s\" is not defined by type \"%s\".%s", of->name,
                        type->name,
                        bff_gql_sb_did_you_mean(hint, sizeof(hint), NULL, of->name, names,
                                                type->ninput_fields));
            free(names);
            continue;
        }
        if (def->type != NULL)
            check_value(vc, of->value, def->type, depth + 1);
    }
    for (size_t k = 0; k != type->ninput_fields; ++k) {
        const bff_gql_input_value_t *def = type->input_fields + k;
        if (def->type == NULL || def->type->kind != BFF_GQL_NON_NULL || def->default_value != NULL)
            continue;
        size_t i = 0;
        while (i != v->nfields && strcmp(v->fields[i].name, def->name) != 0)
            ++i;
        if (i == v->nfields) {
            char buf[256];
            value_error(vc, v->loc, "Field \"%s.%s\" of required type \"%s\" was not provided.",
                        type->name, def->name, bff_gql_type_print(def->type, buf, sizeof(buf)));
        }
    }
}

/* ValuesOfCorrectTypeRule over a constant: depth-bounded (lists and objects nest). */
static void check_value(const value_ctx_t *vc, const bff_gql_value_t *v, const bff_gql_wrapped_t *t,
                        unsigned depth)
{
    char buf[256];
    if (depth > SB_MAX_VALUE_DEPTH) {
        value_error(vc, v->loc, "Value nested too deeply.");
        return;
    }
    if (v->kind == BFF_GQL_VARIABLE) {
        value_error(vc, v->loc, "Unexpected variable \"$%s\" in constant value.", v->str);
        return;
    }
    if (v->kind == BFF_GQL_NULL) {
        if (t->kind == BFF_GQL_NON_NULL)
            value_error(vc, v->loc, "Expected value of type \"%s\", found null.",
                        bff_gql_type_print(t, buf, sizeof(buf)));
        return;
    }
    const bff_gql_wrapped_t *n = nullable(t);
    if (n->kind == BFF_GQL_LIST_OF) {
        if (v->kind == BFF_GQL_LIST)
            for (size_t i = 0; i != v->nitems; ++i)
                check_value(vc, v->items[i], n->of, depth + 1);
        else /* one value where a list is expected: a list of one */
            check_value(vc, v, n->of, depth + 1);
        return;
    }
    const bff_gql_type_t *type = n->named;
    switch (type->kind) {
    case BFF_GQL_INPUT_OBJECT:
        if (v->kind != BFF_GQL_OBJECT) {
            char *text = bff_gql_sb_print_value(v);
            value_error(vc, v->loc, "Expected value of type \"%s\", found %s.",
                        bff_gql_type_print(t, buf, sizeof(buf)), text);
            free(text);
            return;
        }
        check_object(vc, v, type, depth);
        return;
    case BFF_GQL_ENUM_TYPE:
        check_enum(vc, v, type);
        return;
    case BFF_GQL_SCALAR:
        check_scalar(vc, v, type);
        return;
    default: /* not an input type: reported where the type is used */
        return;
    }
}

void bff_gql_sb_check_value(sb_t *b, unsigned src, const bff_gql_value_t *v,
                            const bff_gql_wrapped_t *t, const char *what)
{
    value_ctx_t vc = {b, src, what};
    check_value(&vc, v, t, 0);
}

/* ---- the SDL's own rules: known types, directives where they are used ---- */

typedef struct {
    sb_t *b;
    const char **names; /* every type name, for suggestions */
    size_t nnames;
} sdl_ctx_t;

typedef struct {
    const bff_gql_directive_t *d;
    unsigned src;
} dir_use_t;

static void known_type(sdl_ctx_t *c, unsigned src, const bff_gql_type_ref_t *ref)
{
    while (ref != NULL && ref->kind != BFF_GQL_NAMED)
        ref = ref->of;
    if (ref == NULL || bff_gql_sb_lookup(c->b, ref->name) != NULL)
        return;
    char hint[512];
    bff_gql_sb_error(
        c->b, src, ref->loc, "Unknown type \"%s\".%s", ref->name,
        bff_gql_sb_did_you_mean(hint, sizeof(hint), NULL, ref->name, c->names, c->nnames));
}

static void known_name(sdl_ctx_t *c, unsigned src, const bff_gql_name_t *name)
{
    bff_gql_type_ref_t ref = {BFF_GQL_NAMED, name->loc, name->name, NULL};
    known_type(c, src, &ref);
}

static void check_directive_args(sdl_ctx_t *c, unsigned src, const bff_gql_directive_t *d,
                                 const bff_gql_directive_info_t *info)
{
    for (size_t i = 0; i != d->nargs; ++i) {
        const bff_gql_argument_t *a = d->args + i;
        size_t j = 0;
        while (j != i && strcmp(d->args[j].name, a->name) != 0)
            ++j;
        if (j != i) {
            bff_gql_sb_error(c->b, src, a->loc, "There can be only one argument named \"%s\".",
                             a->name);
            continue;
        }
        const bff_gql_input_value_t *def = NULL;
        for (size_t k = 0; k != info->nargs && def == NULL; ++k)
            if (strcmp(info->args[k].name, a->name) == 0)
                def = info->args + k;
        if (def == NULL) {
            const char **names = bff_malloc((info->nargs ? info->nargs : 1) * sizeof(*names));
            for (size_t k = 0; k != info->nargs; ++k)
                names[k] = info->args[k].name;
            char hint[512];
            bff_gql_sb_error(
                c->b, src, a->loc, "Unknown argument \"%s\" on directive \"@%s\".%s", a->name,
                d->name,
                bff_gql_sb_did_you_mean(hint, sizeof(hint), NULL, a->name, names, info->nargs));
            free(names);
            continue;
        }
        if (def->type != NULL && bff_gql_type_is_input(bff_gql_unwrap(def->type)))
            bff_gql_sb_check_value(c->b, src, a->value, def->type, "");
    }
    for (size_t k = 0; k != info->nargs; ++k) {
        const bff_gql_input_value_t *def = info->args + k;
        if (def->type == NULL || def->type->kind != BFF_GQL_NON_NULL || def->default_value != NULL)
            continue;
        size_t i = 0;
        while (i != d->nargs && strcmp(d->args[i].name, def->name) != 0)
            ++i;
        if (i == d->nargs) {
            char buf[256];
            bff_gql_sb_error(
                c->b, src, d->loc,
                "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, but it was not "
                "provided.",
                d->name, def->name, bff_gql_type_print(def->type, buf, sizeof(buf)));
        }
    }
}

/* Known, allowed at `location`, at most once unless repeatable, arguments right. */
static void check_uses(sdl_ctx_t *c, const dir_use_t *uses, size_t n, unsigned location)
{
    for (size_t i = 0; i != n; ++i) {
        const bff_gql_directive_t *d = uses[i].d;
        const sb_directive_t *sd = bff_gql_sb_lookup_directive(c->b, d->name);
        if (sd == NULL) {
            bff_gql_sb_error(c->b, uses[i].src, d->loc, "Unknown directive \"@%s\".", d->name);
            continue;
        }
        if (!(sd->info->locations & (1u << location)))
            bff_gql_sb_error(c->b, uses[i].src, d->loc, "Directive \"@%s\" may not be used on %s.",
                             d->name, bff_gql_directive_location_names[location]);
        if (!sd->info->repeatable) {
            size_t j = 0;
            while (j != i && strcmp(uses[j].d->name, d->name) != 0)
                ++j;
            if (j != i)
                bff_gql_sb_error(c->b, uses[i].src, d->loc,
                                 "The directive \"@%s\" can only be used once at this location.",
                                 d->name);
        }
        check_directive_args(c, uses[i].src, d, sd->info);
    }
}

static void check_directives(sdl_ctx_t *c, unsigned src, const bff_gql_directive_t *dirs, size_t n,
                             unsigned location)
{
    if (n == 0)
        return;
    dir_use_t *uses = bff_malloc(n * sizeof(*uses));
    for (size_t i = 0; i != n; ++i) {
        uses[i].d = dirs + i;
        uses[i].src = src;
    }
    check_uses(c, uses, n, location);
    free(uses);
}

static unsigned type_location(bff_gql_type_kind_t kind)
{
    static const unsigned locations[] = {
        [BFF_GQL_SCALAR] = BFF_GQL_DL_SCALAR,
        [BFF_GQL_OBJECT_TYPE] = BFF_GQL_DL_OBJECT,
        [BFF_GQL_INTERFACE] = BFF_GQL_DL_INTERFACE,
        [BFF_GQL_UNION] = BFF_GQL_DL_UNION,
        [BFF_GQL_ENUM_TYPE] = BFF_GQL_DL_ENUM,
        [BFF_GQL_INPUT_OBJECT] = BFF_GQL_DL_INPUT_OBJECT,
    };
    return locations[kind];
}

static void check_input_value_defs(sdl_ctx_t *c, unsigned src,
                                   const bff_gql_input_value_def_t *defs, size_t n,
                                   unsigned location)
{
    for (size_t i = 0; i != n; ++i) {
        known_type(c, src, defs[i].type);
        check_directives(c, src, defs[i].directives, defs[i].ndirectives, location);
    }
}

/* The members of one definition or extension; its own directives are checked per type. */
static void check_type_def(sdl_ctx_t *c, unsigned src, const bff_gql_type_def_t *def)
{
    for (size_t i = 0; i != def->nfields; ++i) {
        const bff_gql_field_def_t *f = def->fields + i;
        known_type(c, src, f->type);
        check_directives(c, src, f->directives, f->ndirectives, BFF_GQL_DL_FIELD_DEFINITION);
        check_input_value_defs(c, src, f->args, f->nargs, BFF_GQL_DL_ARGUMENT_DEFINITION);
    }
    for (size_t i = 0; i != def->ninterfaces; ++i)
        known_name(c, src, def->interfaces + i);
    for (size_t i = 0; i != def->nmembers; ++i)
        known_name(c, src, def->members + i);
    for (size_t i = 0; i != def->nvalues; ++i)
        check_directives(c, src, def->values[i].directives, def->values[i].ndirectives,
                         BFF_GQL_DL_ENUM_VALUE);
    check_input_value_defs(c, src, def->input_fields, def->ninput_fields,
                           BFF_GQL_DL_INPUT_FIELD_DEFINITION);
}

static int is_attached(const sb_t *b, const bff_gql_type_def_t *def)
{
    const sb_type_t *st = bff_gql_sb_lookup(b, def->name);
    for (size_t p = 0; st != NULL && p != st->nparts; ++p)
        if (st->parts[p].def == def)
            return 1;
    return 0;
}

void bff_gql_sb_check_sdl(sb_t *b)
{
    sdl_ctx_t c = {b, NULL, 0};
    c.names = bff_gql_sb_type_names(b, &c.nnames);
    dir_use_t *schema_uses = NULL;
    size_t nschema_uses = 0;
    for (unsigned src = 0; src != b->nsources; ++src) {
        const bff_gql_sdl_t *sdl = b->sources[src].sdl;
        if (sdl == NULL)
            continue;
        for (size_t i = 0; i != sdl->nschemas; ++i) {
            const bff_gql_schema_def_t *sd = sdl->schemas + i;
            const bff_gql_name_t *ops[] = {&sd->query, &sd->mutation, &sd->subscription};
            for (int op = 0; op != 3; ++op)
                if (ops[op]->name != NULL)
                    known_name(&c, src, ops[op]);
            for (size_t k = 0; k != sd->ndirectives; ++k) {
                schema_uses = bff_realloc(schema_uses, (nschema_uses + 1) * sizeof(*schema_uses));
                schema_uses[nschema_uses].d = sd->directives + k;
                schema_uses[nschema_uses++].src = src;
            }
        }
        for (size_t i = 0; i != sdl->ntypes; ++i) {
            const bff_gql_type_def_t *def = sdl->types + i;
            check_type_def(&c, src, def);
            if (!is_attached(b, def)) /* a duplicate, or an extension of nothing */
                check_directives(&c, src, def->directives, def->ndirectives,
                                 type_location(def->kind));
        }
        for (size_t i = 0; i != sdl->ndirectives; ++i) {
            const bff_gql_directive_def_t *dd = sdl->directives + i;
            check_input_value_defs(&c, src, dd->args, dd->nargs, BFF_GQL_DL_ARGUMENT_DEFINITION);
        }
    }
    check_uses(&c, schema_uses, nschema_uses, BFF_GQL_DL_SCHEMA);
    free(schema_uses);
    /* A type's directives count across its definition and extensions. */
    for (size_t i = 0; i != b->ntypes; ++i) {
        const sb_type_t *st = b->types[i];
        size_t n = 0;
        for (size_t p = 0; p != st->nparts; ++p)
            n += st->parts[p].def->ndirectives;
        if (n == 0)
            continue;
        dir_use_t *uses = bff_malloc(n * sizeof(*uses));
        n = 0;
        for (size_t p = 0; p != st->nparts; ++p)
            for (size_t k = 0; k != st->parts[p].def->ndirectives; ++k) {
                uses[n].d = st->parts[p].def->directives + k;
                uses[n++].src = st->parts[p].src;
            }
        check_uses(&c, uses, n, type_location(st->type->kind));
        free(uses);
    }
    free(c.names);
}
