/* What parse.c (documents, values, types, directives) and parse_sdl.c (type system
 * definitions) share: the parser's state and its token-level helpers. Every function that can
 * fail returns -1 (or NULL) with exactly one error appended, and the caller passes it up. */
#ifndef BFF_COMPOSE_GQL_PARSE_INTERNAL_H
#define BFF_COMPOSE_GQL_PARSE_INTERNAL_H

#include "compose/gql/lex.h"
#include "compose/gql/parse.h"

typedef struct st_bff_gql_parser_t {
    bff_gql_lexer_t lx;
    bff_gql_arena_t *arena;
    bff_gql_errors_t *errs;
    bff_gql_token_t tok;   /* the current token */
    bff_gql_token_t ahead; /* the one after it, once looked at (has_ahead) */
    int has_ahead;
    size_t ntokens, max_tokens;
    unsigned depth, max_depth;
} bff_gql_parser_t;

/* Appends one element (zeroed) to an arena array of n elements and capacity cap. */
#define BFF_GQL_PUSH(p, arr, n, cap)                                                               \
    ((n) == (cap)                                                                                  \
         ? (void)((arr) = bff_gql_arena_grow((p)->arena, (arr), (n),                               \
                                             (cap) = (cap) != 0 ? 2 * (cap) : 4, sizeof(*(arr))))  \
         : (void)0,                                                                                \
     &(arr)[(n)++])

int bff_gql_p_fail(bff_gql_parser_t *p, const bff_gql_loc_t *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** "Syntax Error: <before><token as graphql-js describes it><after>" at the token. */
int bff_gql_p_fail_token(bff_gql_parser_t *p, const bff_gql_token_t *tok, const char *before,
                         const char *after);
/** `Unexpected <token>.` at the token (the current one when NULL). */
int bff_gql_p_unexpected(bff_gql_parser_t *p, const bff_gql_token_t *tok);
/** Moves to the next token, counting it against max_tokens. */
int bff_gql_p_advance(bff_gql_parser_t *p);
/** The token after the current one, without moving; NULL after a lexical error. */
const bff_gql_token_t *bff_gql_p_lookahead(bff_gql_parser_t *p);
int bff_gql_p_is(const bff_gql_parser_t *p, bff_gql_token_kind_t kind);
/** Whether `tok` is a name spelled `kw` (or a string with that value, when any_kind). */
int bff_gql_p_token_is(const bff_gql_parser_t *p, const bff_gql_token_t *tok, const char *kw,
                       int any_kind);
/** 1 and moves past the token if it has this kind, else 0; -1 on an error. */
int bff_gql_p_optional(bff_gql_parser_t *p, bff_gql_token_kind_t kind);
int bff_gql_p_expect(bff_gql_parser_t *p, bff_gql_token_kind_t kind);
int bff_gql_p_optional_keyword(bff_gql_parser_t *p, const char *kw);
int bff_gql_p_expect_keyword(bff_gql_parser_t *p, const char *kw);
/** One more level of nesting at the current token; bff_gql_p_leave when done. */
int bff_gql_p_enter(bff_gql_parser_t *p);
void bff_gql_p_leave(bff_gql_parser_t *p);

/** A Name, copied into the arena; its location in *loc when not NULL. */
const char *bff_gql_p_name(bff_gql_parser_t *p, bff_gql_loc_t *loc);
bff_gql_value_t *bff_gql_p_value(bff_gql_parser_t *p, int is_const);
bff_gql_type_ref_t *bff_gql_p_type_ref(bff_gql_parser_t *p);
int bff_gql_p_directives(bff_gql_parser_t *p, int is_const, bff_gql_directive_t **out, size_t *n);

/** Whether a definition starting with this keyword belongs to the type system. */
int bff_gql_p_is_type_system_keyword(const bff_gql_parser_t *p, const bff_gql_token_t *tok);
/** A type system definition or extension (the current token is its description, its keyword
 * or `extend`), added to `sdl`. Its name goes to *name (NULL for a schema definition), the
 * location of its first token to *start. */
int bff_gql_p_type_system(bff_gql_parser_t *p, bff_gql_sdl_t *sdl, const char **name,
                          bff_gql_loc_t *start);

#endif
