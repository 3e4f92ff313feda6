/* The parser of parse.h: token helpers, what every definition shares (values, types,
 * directives), executable definitions and the document loops. Type system definitions are in
 * parse_sdl.c. Recursive descent with explicit error returns: everything lives in the
 * document's arena, so a failed parse just disposes it. */
#include "compose/gql/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/parse_internal.h"
#include "compose/mem.h"

#define DEFAULT_MAX_DEPTH 64

/* ---- token helpers ---- */

int bff_gql_p_fail(bff_gql_parser_t *p, const bff_gql_loc_t *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = bff_malloc((size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    bff_gql_error_add(p->errs, loc, loc != NULL ? 1 : 0, "%s", msg);
    free(msg);
    return -1;
}

/* graphql-js's description of a token in messages: `Name "foo"`, `"{"`, `<EOF>` (malloc'ed). */
static char *token_desc(const bff_gql_parser_t *p, const bff_gql_token_t *tok)
{
    size_t len;
    const char *value = bff_gql_token_value(&p->lx, tok, &len);
    const char *kind = bff_gql_token_kind_desc(tok->kind);
    if (value == NULL)
        return bff_strdup(kind);
    char *s = bff_malloc(strlen(kind) + len + 4);
    size_t n = strlen(kind);
    memcpy(s, kind, n);
    s[n++] = ' ';
    s[n++] = '"';
    memcpy(s + n, value, len);
    n += len;
    s[n++] = '"';
    s[n] = '\0';
    return s;
}

int bff_gql_p_fail_token(bff_gql_parser_t *p, const bff_gql_token_t *tok, const char *before,
                         const char *after)
{
    char *desc = token_desc(p, tok);
    bff_gql_p_fail(p, &tok->loc, "Syntax Error: %s%s%s", before, desc, after);
    free(desc);
    return -1;
}

int bff_gql_p_unexpected(bff_gql_parser_t *p, const bff_gql_token_t *tok)
{
    return bff_gql_p_fail_token(p, tok != NULL ? tok : &p->tok, "Unexpected ", ".");
}

int bff_gql_p_advance(bff_gql_parser_t *p)
{
    if (p->has_ahead) {
        p->tok = p->ahead;
        p->has_ahead = 0;
    } else if (bff_gql_lex(&p->lx, &p->tok, p->errs) != 0) {
        return -1;
    }
    if (p->tok.kind != BFF_GQL_TOK_EOF && ++p->ntokens > p->max_tokens && p->max_tokens != 0)
        return bff_gql_p_fail(p, &p->tok.loc,
                              "Syntax Error: Document contains more than %zu tokens. Parsing "
                              "aborted.",
                              p->max_tokens);
    return 0;
}

const bff_gql_token_t *bff_gql_p_lookahead(bff_gql_parser_t *p)
{
    if (p->tok.kind == BFF_GQL_TOK_EOF)
        return &p->tok;
    if (!p->has_ahead) {
        if (bff_gql_lex(&p->lx, &p->ahead, p->errs) != 0)
            return NULL;
        p->has_ahead = 1;
    }
    return &p->ahead;
}

int bff_gql_p_is(const bff_gql_parser_t *p, bff_gql_token_kind_t kind)
{
    return p->tok.kind == kind;
}

int bff_gql_p_token_is(const bff_gql_parser_t *p, const bff_gql_token_t *tok, const char *kw,
                       int any_kind)
{
    if (!any_kind && tok->kind != BFF_GQL_TOK_NAME)
        return 0;
    size_t len;
    const char *value = bff_gql_token_value(&p->lx, tok, &len);
    return value != NULL && len == strlen(kw) && memcmp(value, kw, len) == 0;
}

int bff_gql_p_optional(bff_gql_parser_t *p, bff_gql_token_kind_t kind)
{
    if (p->tok.kind != kind)
        return 0;
    return bff_gql_p_advance(p) == 0 ? 1 : -1;
}

int bff_gql_p_expect(bff_gql_parser_t *p, bff_gql_token_kind_t kind)
{
    if (p->tok.kind == kind)
        return bff_gql_p_advance(p);
    char before[32];
    snprintf(before, sizeof(before), "Expected %s, found ", bff_gql_token_kind_desc(kind));
    return bff_gql_p_fail_token(p, &p->tok, before, ".");
}

int bff_gql_p_optional_keyword(bff_gql_parser_t *p, const char *kw)
{
    if (!bff_gql_p_token_is(p, &p->tok, kw, 0))
        return 0;
    return bff_gql_p_advance(p) == 0 ? 1 : -1;
}

int bff_gql_p_expect_keyword(bff_gql_parser_t *p, const char *kw)
{
    if (bff_gql_p_token_is(p, &p->tok, kw, 0))
        return bff_gql_p_advance(p);
    char before[48];
    snprintf(before, sizeof(before), "Expected \"%s\", found ", kw);
    return bff_gql_p_fail_token(p, &p->tok, before, ".");
}

int bff_gql_p_enter(bff_gql_parser_t *p)
{
    if (++p->depth <= p->max_depth)
        return 0;
    return bff_gql_p_fail(p, &p->tok.loc,
                          "Syntax Error: Document is nested too deeply: more than %u levels.",
                          p->max_depth);
}

void bff_gql_p_leave(bff_gql_parser_t *p)
{
    --p->depth;
}

/* ---- names, values, types, directives ---- */

const char *bff_gql_p_name(bff_gql_parser_t *p, bff_gql_loc_t *loc)
{
    if (p->tok.kind != BFF_GQL_TOK_NAME) {
        bff_gql_p_expect(p, BFF_GQL_TOK_NAME);
        return NULL;
    }
    if (loc != NULL)
        *loc = p->tok.loc;
    const char *name =
        bff_gql_arena_strndup(p->arena, p->lx.src + p->tok.start, p->tok.end - p->tok.start);
    return bff_gql_p_advance(p) == 0 ? name : NULL;
}

static bff_gql_value_t *new_value(bff_gql_parser_t *p, bff_gql_value_kind_t kind)
{
    bff_gql_value_t *v = bff_gql_arena_alloc(p->arena, sizeof(*v));
    v->kind = kind;
    v->loc = p->tok.loc;
    return v;
}

static bff_gql_value_t *list_value(bff_gql_parser_t *p, int is_const)
{
    bff_gql_value_t *v = new_value(p, BFF_GQL_LIST);
    size_t cap = 0;
    int r;
    if (bff_gql_p_enter(p) != 0 || bff_gql_p_advance(p) != 0)
        return NULL;
    while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACKET_R)) == 0) {
        bff_gql_value_t *item = bff_gql_p_value(p, is_const);
        if (item == NULL)
            return NULL;
        *BFF_GQL_PUSH(p, v->items, v->nitems, cap) = item;
    }
    bff_gql_p_leave(p);
    return r > 0 ? v : NULL;
}

static bff_gql_value_t *object_value(bff_gql_parser_t *p, int is_const)
{
    bff_gql_value_t *v = new_value(p, BFF_GQL_OBJECT);
    size_t cap = 0;
    int r;
    if (bff_gql_p_enter(p) != 0 || bff_gql_p_advance(p) != 0)
        return NULL;
    while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_R)) == 0) {
        bff_gql_object_field_t *f = BFF_GQL_PUSH(p, v->fields, v->nfields, cap);
        if ((f->name = bff_gql_p_name(p, &f->loc)) == NULL ||
            bff_gql_p_expect(p, BFF_GQL_TOK_COLON) != 0 ||
            (f->value = bff_gql_p_value(p, is_const)) == NULL)
            return NULL;
    }
    bff_gql_p_leave(p);
    return r > 0 ? v : NULL;
}

/* A variable ($name), or in a constant value the error graphql-js gives for one. */
static bff_gql_value_t *variable_value(bff_gql_parser_t *p, int is_const)
{
    bff_gql_value_t *v = new_value(p, BFF_GQL_VARIABLE);
    bff_gql_token_t dollar = p->tok;
    if (bff_gql_p_advance(p) != 0)
        return NULL;
    if (is_const) {
        if (p->tok.kind == BFF_GQL_TOK_NAME)
            bff_gql_p_fail(p, &dollar.loc,
                           "Syntax Error: Unexpected variable \"$%.*s\" in constant value.",
                           (int)(p->tok.end - p->tok.start), p->lx.src + p->tok.start);
        else
            bff_gql_p_unexpected(p, &dollar);
        return NULL;
    }
    if ((v->str = bff_gql_p_name(p, NULL)) == NULL)
        return NULL;
    v->len = strlen(v->str);
    return v;
}

/* An Int or Float as written, or a name: true, false, null or an enum value. */
static bff_gql_value_t *literal_value(bff_gql_parser_t *p)
{
    bff_gql_value_t *v = new_value(p, BFF_GQL_ENUM);
    if (p->tok.kind == BFF_GQL_TOK_INT || p->tok.kind == BFF_GQL_TOK_FLOAT) {
        v->kind = p->tok.kind == BFF_GQL_TOK_INT ? BFF_GQL_INT : BFF_GQL_FLOAT;
    } else if (bff_gql_p_token_is(p, &p->tok, "true", 0) ||
               bff_gql_p_token_is(p, &p->tok, "false", 0)) {
        v->kind = BFF_GQL_BOOLEAN;
        v->boolean = p->lx.src[p->tok.start] == 't';
        return v;
    } else if (bff_gql_p_token_is(p, &p->tok, "null", 0)) {
        v->kind = BFF_GQL_NULL;
        return v;
    }
    v->len = p->tok.end - p->tok.start;
    v->str = bff_gql_arena_strndup(p->arena, p->lx.src + p->tok.start, v->len);
    return v;
}

bff_gql_value_t *bff_gql_p_value(bff_gql_parser_t *p, int is_const)
{
    bff_gql_value_t *v;
    switch (p->tok.kind) {
    case BFF_GQL_TOK_BRACKET_L:
        return list_value(p, is_const);
    case BFF_GQL_TOK_BRACE_L:
        return object_value(p, is_const);
    case BFF_GQL_TOK_DOLLAR:
        return variable_value(p, is_const);
    case BFF_GQL_TOK_INT:
    case BFF_GQL_TOK_FLOAT:
    case BFF_GQL_TOK_NAME:
        v = literal_value(p);
        break;
    case BFF_GQL_TOK_STRING:
    case BFF_GQL_TOK_BLOCK_STRING:
        v = new_value(p, BFF_GQL_STRING);
        v->str = p->tok.str;
        v->len = p->tok.len;
        break;
    default:
        bff_gql_p_unexpected(p, NULL);
        return NULL;
    }
    return bff_gql_p_advance(p) == 0 ? v : NULL;
}

bff_gql_type_ref_t *bff_gql_p_type_ref(bff_gql_parser_t *p)
{
    bff_gql_type_ref_t *t = bff_gql_arena_alloc(p->arena, sizeof(*t));
    t->loc = p->tok.loc;
    if (p->tok.kind == BFF_GQL_TOK_BRACKET_L) {
        t->kind = BFF_GQL_LIST_OF;
        if (bff_gql_p_enter(p) != 0 || bff_gql_p_advance(p) != 0 ||
            (t->of = bff_gql_p_type_ref(p)) == NULL ||
            bff_gql_p_expect(p, BFF_GQL_TOK_BRACKET_R) != 0)
            return NULL;
        bff_gql_p_leave(p);
    } else {
        t->kind = BFF_GQL_NAMED;
        if ((t->name = bff_gql_p_name(p, NULL)) == NULL)
            return NULL;
    }
    int r = bff_gql_p_optional(p, BFF_GQL_TOK_BANG);
    if (r <= 0)
        return r == 0 ? t : NULL;
    bff_gql_type_ref_t *nn = bff_gql_arena_alloc(p->arena, sizeof(*nn));
    nn->kind = BFF_GQL_NON_NULL;
    nn->loc = t->loc;
    nn->of = t;
    return nn;
}

/* ( name: value ... ), at least one when the parenthesis is there. */
static int arguments(bff_gql_parser_t *p, int is_const, bff_gql_argument_t **out, size_t *n)
{
    size_t cap = 0;
    int r = bff_gql_p_optional(p, BFF_GQL_TOK_PAREN_L);
    if (r <= 0)
        return r;
    do {
        bff_gql_argument_t *a = BFF_GQL_PUSH(p, *out, *n, cap);
        if ((a->name = bff_gql_p_name(p, &a->loc)) == NULL ||
            bff_gql_p_expect(p, BFF_GQL_TOK_COLON) != 0 ||
            (a->value = bff_gql_p_value(p, is_const)) == NULL)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_PAREN_R)) == 0);
    return r > 0 ? 0 : -1;
}

int bff_gql_p_directives(bff_gql_parser_t *p, int is_const, bff_gql_directive_t **out, size_t *n)
{
    size_t cap = 0;
    while (p->tok.kind == BFF_GQL_TOK_AT) {
        bff_gql_directive_t *d = BFF_GQL_PUSH(p, *out, *n, cap);
        d->loc = p->tok.loc;
        if (bff_gql_p_advance(p) != 0 || (d->name = bff_gql_p_name(p, NULL)) == NULL ||
            arguments(p, is_const, &d->args, &d->nargs) != 0)
            return -1;
    }
    return 0;
}

/* ---- executable definitions ---- */

static int selection_set(bff_gql_parser_t *p, bff_gql_selection_set_t **out);

static int field(bff_gql_parser_t *p, bff_gql_selection_t *sel)
{
    sel->kind = BFF_GQL_FIELD;
    if ((sel->name = bff_gql_p_name(p, &sel->loc)) == NULL)
        return -1;
    int r = bff_gql_p_optional(p, BFF_GQL_TOK_COLON);
    if (r < 0)
        return -1;
    if (r > 0) {
        sel->alias = sel->name;
        if ((sel->name = bff_gql_p_name(p, NULL)) == NULL)
            return -1;
    }
    if (arguments(p, 0, &sel->args, &sel->nargs) != 0 ||
        bff_gql_p_directives(p, 0, &sel->directives, &sel->ndirectives) != 0)
        return -1;
    return p->tok.kind == BFF_GQL_TOK_BRACE_L ? selection_set(p, &sel->selection_set) : 0;
}

/* `...Name` or `... on Type { }` or `... { }`: `on` always starts a type condition. */
static int fragment_selection(bff_gql_parser_t *p, bff_gql_selection_t *sel)
{
    sel->loc = p->tok.loc;
    int on;
    if (bff_gql_p_advance(p) != 0 || (on = bff_gql_p_optional_keyword(p, "on")) < 0)
        return -1;
    if (!on && p->tok.kind == BFF_GQL_TOK_NAME) {
        sel->kind = BFF_GQL_FRAGMENT_SPREAD;
        if ((sel->name = bff_gql_p_name(p, &sel->name_loc)) == NULL)
            return -1;
        return bff_gql_p_directives(p, 0, &sel->directives, &sel->ndirectives);
    }
    sel->kind = BFF_GQL_INLINE_FRAGMENT;
    if (on && (sel->type_condition = bff_gql_p_name(p, &sel->type_condition_loc)) == NULL)
        return -1;
    if (bff_gql_p_directives(p, 0, &sel->directives, &sel->ndirectives) != 0)
        return -1;
    return selection_set(p, &sel->selection_set);
}

static int selection_set(bff_gql_parser_t *p, bff_gql_selection_set_t **out)
{
    bff_gql_selection_set_t *set = *out = bff_gql_arena_alloc(p->arena, sizeof(*set));
    set->loc = p->tok.loc;
    size_t cap = 0;
    int r;
    if (p->tok.kind != BFF_GQL_TOK_BRACE_L)
        return bff_gql_p_expect(p, BFF_GQL_TOK_BRACE_L);
    if (bff_gql_p_enter(p) != 0 || bff_gql_p_advance(p) != 0)
        return -1;
    do {
        bff_gql_selection_t *sel = BFF_GQL_PUSH(p, set->items, set->nitems, cap);
        if ((p->tok.kind == BFF_GQL_TOK_SPREAD ? fragment_selection(p, sel) : field(p, sel)) != 0)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_BRACE_R)) == 0);
    bff_gql_p_leave(p);
    return r > 0 ? 0 : -1;
}

static int variable_defs(bff_gql_parser_t *p, bff_gql_operation_t *op)
{
    size_t cap = 0;
    int r = bff_gql_p_optional(p, BFF_GQL_TOK_PAREN_L);
    if (r <= 0)
        return r;
    do {
        bff_gql_variable_def_t *v = BFF_GQL_PUSH(p, op->vars, op->nvars, cap);
        v->loc = p->tok.loc;
        if (bff_gql_p_expect(p, BFF_GQL_TOK_DOLLAR) != 0 ||
            (v->name = bff_gql_p_name(p, &v->name_loc)) == NULL ||
            bff_gql_p_expect(p, BFF_GQL_TOK_COLON) != 0 ||
            (v->type = bff_gql_p_type_ref(p)) == NULL ||
            (r = bff_gql_p_optional(p, BFF_GQL_TOK_EQUALS)) < 0)
            return -1;
        if (r > 0 && (v->default_value = bff_gql_p_value(p, 1)) == NULL)
            return -1;
        if (bff_gql_p_directives(p, 1, &v->directives, &v->ndirectives) != 0)
            return -1;
    } while ((r = bff_gql_p_optional(p, BFF_GQL_TOK_PAREN_R)) == 0);
    return r > 0 ? 0 : -1;
}

static int operation(bff_gql_parser_t *p, bff_gql_document_t *doc, size_t *cap)
{
    bff_gql_operation_t *op = BFF_GQL_PUSH(p, doc->operations, doc->noperations, *cap);
    op->loc = p->tok.loc;
    if (p->tok.kind == BFF_GQL_TOK_BRACE_L)
        return selection_set(p, &op->selection_set); /* the { } shorthand: a query */
    op->kind = bff_gql_p_token_is(p, &p->tok, "mutation", 0)       ? BFF_GQL_MUTATION
               : bff_gql_p_token_is(p, &p->tok, "subscription", 0) ? BFF_GQL_SUBSCRIPTION
                                                                   : BFF_GQL_QUERY;
    if (bff_gql_p_advance(p) != 0)
        return -1;
    if (p->tok.kind == BFF_GQL_TOK_NAME && (op->name = bff_gql_p_name(p, &op->name_loc)) == NULL)
        return -1;
    if (variable_defs(p, op) != 0 ||
        bff_gql_p_directives(p, 0, &op->directives, &op->ndirectives) != 0)
        return -1;
    return selection_set(p, &op->selection_set);
}

static int fragment(bff_gql_parser_t *p, bff_gql_document_t *doc, size_t *cap)
{
    bff_gql_fragment_t *f = BFF_GQL_PUSH(p, doc->fragments, doc->nfragments, *cap);
    f->loc = p->tok.loc;
    if (bff_gql_p_advance(p) != 0)
        return -1;
    if (bff_gql_p_token_is(p, &p->tok, "on", 1)) /* as graphql-js: even a string "on" */
        return bff_gql_p_unexpected(p, NULL);
    if ((f->name = bff_gql_p_name(p, &f->name_loc)) == NULL ||
        bff_gql_p_expect_keyword(p, "on") != 0 ||
        (f->type_condition = bff_gql_p_name(p, &f->type_condition_loc)) == NULL ||
        bff_gql_p_directives(p, 0, &f->directives, &f->ndirectives) != 0)
        return -1;
    return selection_set(p, &f->selection_set);
}

/* ---- documents ---- */

/* A type system definition in an executable document: refused once the whole document parsed
 * (a syntax error anywhere comes first, as graphql-js parses before it validates). */
typedef struct st_refusal_t {
    struct st_refusal_t *next;
    const char *name; /* NULL: a schema definition */
    bff_gql_loc_t loc;
} refusal_t;

typedef struct {
    bff_gql_document_t *doc; /* NULL: a type system document */
    bff_gql_sdl_t *sdl;
    size_t ops_cap, frags_cap;
    refusal_t *refused, **refused_tail;
} doc_state_t;

static int definition(bff_gql_parser_t *p, doc_state_t *st)
{
    if (p->tok.kind == BFF_GQL_TOK_BRACE_L)
        return st->doc != NULL ? operation(p, st->doc, &st->ops_cap)
                               : bff_gql_p_unexpected(p, NULL);
    int described = p->tok.kind == BFF_GQL_TOK_STRING || p->tok.kind == BFF_GQL_TOK_BLOCK_STRING;
    const bff_gql_token_t *kw = described ? bff_gql_p_lookahead(p) : &p->tok;
    if (kw == NULL)
        return -1;
    if (kw->kind == BFF_GQL_TOK_NAME) {
        int type_system = bff_gql_p_is_type_system_keyword(p, kw);
        if (!type_system && described)
            return bff_gql_p_fail(p, &p->tok.loc,
                                  "Syntax Error: Unexpected description, descriptions are "
                                  "supported only on type definitions.");
        if (type_system || bff_gql_p_token_is(p, kw, "extend", 0)) {
            if (st->sdl != NULL)
                return bff_gql_p_type_system(p, st->sdl, NULL, NULL);
            bff_gql_sdl_t scratch = {0};
            refusal_t *r = bff_gql_arena_alloc(p->arena, sizeof(*r));
            if (bff_gql_p_type_system(p, &scratch, &r->name, &r->loc) != 0)
                return -1;
            *st->refused_tail = r;
            st->refused_tail = &r->next;
            return 0;
        }
        if (st->doc != NULL &&
            (bff_gql_p_token_is(p, kw, "query", 0) || bff_gql_p_token_is(p, kw, "mutation", 0) ||
             bff_gql_p_token_is(p, kw, "subscription", 0)))
            return operation(p, st->doc, &st->ops_cap);
        if (st->doc != NULL && bff_gql_p_token_is(p, kw, "fragment", 0))
            return fragment(p, st->doc, &st->frags_cap);
    }
    return bff_gql_p_unexpected(p, kw);
}

static void parser_init(bff_gql_parser_t *p, const char *src, size_t len, bff_gql_arena_t *arena,
                        bff_gql_errors_t *errs, const bff_gql_parse_limits_t *limits)
{
    memset(p, 0, sizeof(*p));
    bff_gql_lexer_init(&p->lx, src, len, arena);
    p->arena = arena;
    p->errs = errs;
    p->max_tokens = limits != NULL ? limits->max_tokens : 0;
    p->max_depth = limits != NULL && limits->max_depth != 0 ? limits->max_depth : DEFAULT_MAX_DEPTH;
}

/* Definition+ up to the end; an empty document is "Unexpected <EOF>." as in graphql-js. */
static int document(bff_gql_parser_t *p, doc_state_t *st)
{
    st->refused_tail = &st->refused;
    if (bff_gql_p_advance(p) != 0)
        return -1;
    do {
        if (definition(p, st) != 0)
            return -1;
    } while (p->tok.kind != BFF_GQL_TOK_EOF);
    return 0;
}

bff_gql_document_t *bff_gql_parse(const char *src, size_t len, const bff_gql_parse_limits_t *limits,
                                  bff_gql_errors_t *errs)
{
    if (limits != NULL && limits->max_bytes != 0 && len > limits->max_bytes) {
        bff_gql_error_add(errs, NULL, 0, "Document too large: more than %zu bytes.",
                          limits->max_bytes);
        return NULL;
    }
    bff_gql_document_t *doc = bff_calloc(1, sizeof(*doc));
    bff_gql_arena_init(&doc->arena);
    bff_gql_parser_t p;
    parser_init(&p, src, len, &doc->arena, errs, limits);
    doc_state_t st = {.doc = doc};
    if (document(&p, &st) != 0) {
        bff_gql_document_free(doc);
        return NULL;
    }
    doc->ntokens = p.ntokens;
    if (st.refused != NULL) {
        for (const refusal_t *r = st.refused; r != NULL; r = r->next) {
            if (r->name != NULL)
                bff_gql_error_add(errs, &r->loc, 1, "The \"%s\" definition is not executable.",
                                  r->name);
            else
                bff_gql_error_add(errs, &r->loc, 1, "The schema definition is not executable.");
        }
        bff_gql_document_free(doc);
        return NULL;
    }
    return doc;
}

void bff_gql_document_free(bff_gql_document_t *doc)
{
    if (doc == NULL)
        return;
    bff_gql_arena_dispose(&doc->arena);
    free(doc);
}

bff_gql_sdl_t *bff_gql_parse_sdl(const char *src, size_t len, bff_gql_errors_t *errs)
{
    bff_gql_sdl_t *sdl = bff_calloc(1, sizeof(*sdl));
    bff_gql_arena_init(&sdl->arena);
    bff_gql_parser_t p;
    parser_init(&p, src, len, &sdl->arena, errs, NULL);
    doc_state_t st = {.sdl = sdl};
    if (document(&p, &st) != 0) {
        bff_gql_sdl_free(sdl);
        return NULL;
    }
    return sdl;
}

void bff_gql_sdl_free(bff_gql_sdl_t *sdl)
{
    if (sdl == NULL)
        return;
    bff_gql_arena_dispose(&sdl->arena);
    free(sdl);
}
