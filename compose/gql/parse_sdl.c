/* Type system definitions and extensions (spec section 3) for parse.c's document loop: kept in
 * a type system document, parsed in an executable one only to be refused by name. Messages
 * and positions follow graphql-js 16's parser. */
#include <string.h>

#include "compose/gql/parse_internal.h"

static const struct {
    const char *keyword;
    bff_gql_type_kind_t kind;
} type_keywords[] = {
    {"scalar", BFF_GQL_SCALAR}, {"type", BFF_GQL_OBJECT_TYPE}, {"interface", BFF_GQL_INTERFACE},
    {"union", BFF_GQL_UNION},   {"enum", BFF_GQL_ENUM_TYPE},   {"input", BFF_GQL_INPUT_OBJECT},
};
#define NTYPE_KEYWORDS (sizeof(type_keywords) / sizeof(type_keywords[0]))

/* clang-format off */
static const char *const directive_locations[] = {
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT", "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION", "INTERFACE", "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION", NULL};
/* clang-format on */

/* The type kind a keyword starts, -1 if none. */
static int type_kind_of(const bff_gql_parser_t *p, const bff_gql_token_t *tok)
{
    for (size_t i = 0; i != NTYPE_KEYWORDS; ++i)
        if (bff_gql_p_token_is(p, tok, type_keywords[i].keyword, 0))
            return (int)type_keywords[i].kind;
    return -1;
}

int bff_gql_p_is_type_system_keyword(const bff_gql_parser_t *p, const bff_gql_token_t *tok)
{
    return type_kind_of(p, tok) >= 0 || bff_gql_p_token_is(p, tok, "schema", 0) ||
           bff_gql_p_token_is(p, tok, "directive", 0);
}

/* The capacity an arena array of n elements pushed one by one has (the sdl keeps no caps). */
static size_t cap_of(size_t n)
{
    size_t cap = 4;
    if (n == 0)
        return 0;
    while (cap < n)
        cap *= 2;
    return cap;
}

static int description(bff_gql_parser_t *p, const char **out)
{
    if (p->tok.kind != BFF_GQL_TOK_STRING && p->tok.kind != BFF_GQL_TOK_BLOCK_STRING)
        return 0;
    *out = p->tok.str;
    return bff_gql_p_advance(p);
}

static int input_value_def(bff_gql_parser_t *p, bff_gql_input_value_def_t *v)
{
    int r;
    if (description(p, &v->description) != 0 || (v->name = bff_gql_p_name(p, &v->loc)) == NULL ||
        bff_gql_p_expect(p, BFF_GQL_TOK_COLON) != 0 || (v->type = bff_gql_p_type_ref(p)) == NULL ||
        (r = bff_gql_p_optional(p, BFF_GQL_TOK_EQUALS)) < 0)
        return -1;
    if (r > 0 && (v->default_value = bff_gql_p_value(p, 1)) == NULL)
        return -1;
    return bff_gql_p_directives(p, 1, &v->directives, &v->ndirectives);
}

/* Argument definitions ( ... ) or input fields { ... }: none, or at least one in brackets. */
static int input_value_defs(bff_gql_parser_t *p, bff_gql_token_kind_t open,
                            bff_gql_token_kind_t close, bff_gql_input_value_def_t **out, size_t *n)
{
    size_t cap = 0;
    int r = bff_gql_p_optional(p, open);
    if (r <= 0)
        return r;
    do {
        if (input_value_def(p, BFF_GQL_PUSH(p, *out, *n, cap)) != 0)
            return -1;
    } while ((r = bff_gql_p_optional(p, close)) == 0);
    return r > 0 ? 0 : -1;
}

static int field_defs(bff_gql_parser_t *p, bff_gql_type_def_t *t)
{
    size_t cap = 0;
    int r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_L);
    if (r <= 0)
        return r;
    do {
        bff_gql_field_def_t *f = BFF_GQL_PUSH(p, t->fields, t->nfields, cap);
        if (description(p, &f->description) != 0 ||
            (f->name = bff_gql_p_name(p, &f->loc)) == NULL ||
            input_value_defs(p, BFF_GQL_TOK_PAREN_L, BFF_GQL_TOK_PAREN_R, &f->args, &f->nargs) !=
                0 ||
            bff_gql_p_expect(p, BFF_GQL_TOK_COLON) != 0 ||
            (f->type = bff_gql_p_type_ref(p)) == NULL ||
            bff_gql_p_directives(p, 1, &f->directives, &f->ndirectives) != 0)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_R)) == 0);
    return r > 0 ? 0 : -1;
}

/* Names separated by `&` or `|`, with an optional leading one: at least one name. */
static int delimited_names(bff_gql_parser_t *p, bff_gql_token_kind_t delim, bff_gql_name_t **out,
                           size_t *n)
{
    size_t cap = 0;
    int r = bff_gql_p_optional(p, delim);
    if (r < 0)
        return -1;
    do {
        bff_gql_name_t *name = BFF_GQL_PUSH(p, *out, *n, cap);
        if ((name->name = bff_gql_p_name(p, &name->loc)) == NULL)
            return -1;
    } while ((r = bff_gql_p_optional(p, delim)) > 0);
    return r;
}

static int enum_values(bff_gql_parser_t *p, bff_gql_type_def_t *t)
{
    size_t cap = 0;
    int r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_L);
    if (r <= 0)
        return r;
    do {
        bff_gql_enum_value_def_t *v = BFF_GQL_PUSH(p, t->values, t->nvalues, cap);
        if (description(p, &v->description) != 0)
            return -1;
        /* As graphql-js, a string token spelling one is refused too (after a description). */
        if (bff_gql_p_token_is(p, &p->tok, "true", 1) ||
            bff_gql_p_token_is(p, &p->tok, "false", 1) || bff_gql_p_token_is(p, &p->tok, "null", 1))
            return bff_gql_p_fail_token(p, &p->tok, "",
                                        " is reserved and cannot be used for an enum value.");
        if ((v->name = bff_gql_p_name(p, &v->loc)) == NULL ||
            bff_gql_p_directives(p, 1, &v->directives, &v->ndirectives) != 0)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_R)) == 0);
    return r > 0 ? 0 : -1;
}

/* scalar, type, interface, union, enum, input (the current token is the keyword). An extension
 * must add something. */
static int type_def(bff_gql_parser_t *p, bff_gql_type_def_t *t)
{
    int r = 0;
    t->kind = (bff_gql_type_kind_t)type_kind_of(p, &p->tok);
    if (bff_gql_p_advance(p) != 0 || (t->name = bff_gql_p_name(p, NULL)) == NULL)
        return -1;
    if ((t->kind == BFF_GQL_OBJECT_TYPE || t->kind == BFF_GQL_INTERFACE) &&
        (r = bff_gql_p_optional_keyword(p, "implements")) != 0 &&
        (r < 0 || delimited_names(p, BFF_GQL_TOK_AMP, &t->interfaces, &t->ninterfaces) != 0))
        return -1;
    if (bff_gql_p_directives(p, 1, &t->directives, &t->ndirectives) != 0)
        return -1;
    switch (t->kind) {
    case BFF_GQL_OBJECT_TYPE:
    case BFF_GQL_INTERFACE:
        r = field_defs(p, t);
        break;
    case BFF_GQL_UNION:
        if ((r = bff_gql_p_optional(p, BFF_GQL_TOK_EQUALS)) > 0)
            r = delimited_names(p, BFF_GQL_TOK_PIPE, &t->members, &t->nmembers);
        break;
    case BFF_GQL_ENUM_TYPE:
        r = enum_values(p, t);
        break;
    case BFF_GQL_INPUT_OBJECT:
        r = input_value_defs(p, BFF_GQL_TOK_BRACE_L, BFF_GQL_TOK_BRACE_R, &t->input_fields,
                             &t->ninput_fields);
        break;
    case BFF_GQL_SCALAR:
        break;
    }
    if (r < 0)
        return -1;
    if (t->is_extension && t->ninterfaces + t->ndirectives + t->nfields + t->nmembers + t->nvalues +
                                   t->ninput_fields ==
                               0)
        return bff_gql_p_unexpected(p, NULL);
    return 0;
}

/* `query: Type` in a schema definition; each operation once. */
static int operation_type(bff_gql_parser_t *p, bff_gql_schema_def_t *s, bff_gql_loc_t seen[3])
{
    static const char *const ops[] = {"query", "mutation", "subscription"};
    if (p->tok.kind != BFF_GQL_TOK_NAME)
        return bff_gql_p_expect(p, BFF_GQL_TOK_NAME);
    size_t i = 0;
    while (i != 3 && !bff_gql_p_token_is(p, &p->tok, ops[i], 0))
        ++i;
    if (i == 3)
        return bff_gql_p_unexpected(p, NULL);
    bff_gql_name_t *slot = i == 0 ? &s->query : i == 1 ? &s->mutation : &s->subscription;
    bff_gql_loc_t at = p->tok.loc;
    /* The AST holds one type per operation, so a repeat is refused here (graphql-js's
     * UniqueOperationTypes wording) rather than silently dropped. */
    if (slot->name != NULL) {
        bff_gql_loc_t both[2] = {seen[i], at};
        bff_gql_error_add(p->errs, both, 2, "There can be only one %s type in schema.", ops[i]);
        return -1;
    }
    seen[i] = at;
    if (bff_gql_p_advance(p) != 0 || bff_gql_p_expect(p, BFF_GQL_TOK_COLON) != 0 ||
        (slot->name = bff_gql_p_name(p, &slot->loc)) == NULL)
        return -1;
    return 0;
}

static int schema_def(bff_gql_parser_t *p, bff_gql_schema_def_t *s)
{
    bff_gql_loc_t seen[3];
    int r;
    if (bff_gql_p_advance(p) != 0 ||
        bff_gql_p_directives(p, 1, &s->directives, &s->ndirectives) != 0)
        return -1;
    if (s->is_extension) {
        if ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_L)) <= 0) {
            if (r == 0 && s->ndirectives == 0)
                return bff_gql_p_unexpected(p, NULL);
            return r;
        }
    } else if (bff_gql_p_expect(p, BFF_GQL_TOK_BRACE_L) != 0) {
        return -1;
    }
    do {
        if (operation_type(p, s, seen) != 0)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_R)) == 0);
    return r > 0 ? 0 : -1;
}

/* directive @name(args) repeatable? on LOCATION | ... (the current token is `directive`). */
static int directive_def(bff_gql_parser_t *p, bff_gql_directive_def_t *d)
{
    int r;
    size_t cap = 0;
    if (bff_gql_p_advance(p) != 0 || bff_gql_p_expect(p, BFF_GQL_TOK_AT) != 0 ||
        (d->name = bff_gql_p_name(p, NULL)) == NULL ||
        input_value_defs(p, BFF_GQL_TOK_PAREN_L, BFF_GQL_TOK_PAREN_R, &d->args, &d->nargs) != 0 ||
        (d->repeatable = bff_gql_p_optional_keyword(p, "repeatable")) < 0 ||
        bff_gql_p_expect_keyword(p, "on") != 0 || bff_gql_p_optional(p, BFF_GQL_TOK_PIPE) < 0)
        return -1;
    do {
        if (p->tok.kind != BFF_GQL_TOK_NAME)
            return bff_gql_p_expect(p, BFF_GQL_TOK_NAME);
        size_t i = 0;
        while (directive_locations[i] != NULL &&
               !bff_gql_p_token_is(p, &p->tok, directive_locations[i], 0))
            ++i;
        if (directive_locations[i] == NULL)
            return bff_gql_p_unexpected(p, NULL);
        bff_gql_name_t *loc = BFF_GQL_PUSH(p, d->locations, d->nlocations, cap);
        if ((loc->name = bff_gql_p_name(p, &loc->loc)) == NULL)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_PIPE)) > 0);
    return r;
}

int bff_gql_p_type_system(bff_gql_parser_t *p, bff_gql_sdl_t *sdl, const char **name,
                          bff_gql_loc_t *start)
{
    const char *desc = NULL, *defname = NULL;
    bff_gql_loc_t first = p->tok.loc, kwloc;
    int ext = bff_gql_p_token_is(p, &p->tok, "extend", 0), r;
    if (ext) {
        const bff_gql_token_t *kw = bff_gql_p_lookahead(p);
        if (kw == NULL)
            return -1;
        if (type_kind_of(p, kw) < 0 && !bff_gql_p_token_is(p, kw, "schema", 0))
            return bff_gql_p_unexpected(p, kw);
        if (bff_gql_p_advance(p) != 0)
            return -1;
    } else if (description(p, &desc) != 0) {
        return -1;
    }
    kwloc = ext ? first : p->tok.loc;
    if (bff_gql_p_token_is(p, &p->tok, "schema", 0)) {
        size_t cap = cap_of(sdl->nschemas);
        bff_gql_schema_def_t *s = BFF_GQL_PUSH(p, sdl->schemas, sdl->nschemas, cap);
        s->description = desc;
        s->loc = kwloc;
        s->is_extension = ext;
        r = schema_def(p, s);
    } else if (bff_gql_p_token_is(p, &p->tok, "directive", 0)) {
        size_t cap = cap_of(sdl->ndirectives);
        bff_gql_directive_def_t *d = BFF_GQL_PUSH(p, sdl->directives, sdl->ndirectives, cap);
        d->description = desc;
        d->loc = kwloc;
        r = directive_def(p, d);
        defname = d->name;
    } else {
        size_t cap = cap_of(sdl->ntypes);
        bff_gql_type_def_t *t = BFF_GQL_PUSH(p, sdl->types, sdl->ntypes, cap);
        t->description = desc;
        t->loc = kwloc;
        t->is_extension = ext;
        r = type_def(p, t);
        defname = t->name;
    }
    if (name != NULL)
        *name = defname;
    if (start != NULL)
        *start = first;
    return r;
}
