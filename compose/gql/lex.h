/* The GraphQL lexer (October 2021 specification, section 2): UTF-8 source in, one token per
 * call out. Ignored tokens (whitespace, line terminators, commas, comments, byte order marks)
 * are skipped; string values are decoded (escapes, block string dedent) into the arena. Errors
 * use graphql-js 16's wording and positions, with columns counted in Unicode code points. */
#ifndef BFF_COMPOSE_GQL_LEX_H
#define BFF_COMPOSE_GQL_LEX_H

#include <stddef.h>

#include "compose/gql/arena.h"
#include "compose/gql/ast.h"
#include "compose/gql/error.h"

typedef enum en_bff_gql_token_kind_t {
    BFF_GQL_TOK_EOF,
    BFF_GQL_TOK_BANG,
    BFF_GQL_TOK_DOLLAR,
    BFF_GQL_TOK_AMP,
    BFF_GQL_TOK_PAREN_L,
    BFF_GQL_TOK_PAREN_R,
    BFF_GQL_TOK_SPREAD,
    BFF_GQL_TOK_COLON,
    BFF_GQL_TOK_EQUALS,
    BFF_GQL_TOK_AT,
    BFF_GQL_TOK_BRACKET_L,
    BFF_GQL_TOK_BRACKET_R,
    BFF_GQL_TOK_BRACE_L,
    BFF_GQL_TOK_PIPE,
    BFF_GQL_TOK_BRACE_R,
    BFF_GQL_TOK_NAME,
    BFF_GQL_TOK_INT,
    BFF_GQL_TOK_FLOAT,
    BFF_GQL_TOK_STRING,
    BFF_GQL_TOK_BLOCK_STRING,
} bff_gql_token_kind_t;

typedef struct st_bff_gql_token_t {
    bff_gql_token_kind_t kind;
    bff_gql_loc_t loc;
    size_t start, end; /* byte offsets in the source */
    const char *str;   /* STRING, BLOCK_STRING: decoded, NUL-terminated, in the arena */
    size_t len;        /* of str */
} bff_gql_token_t;

typedef struct st_bff_gql_lexer_t {
    const char *src;
    size_t len;
    size_t pos; /* where the next token search starts */
    unsigned line, column;
    bff_gql_arena_t *arena;
} bff_gql_lexer_t;

void bff_gql_lexer_init(bff_gql_lexer_t *lx, const char *src, size_t len, bff_gql_arena_t *arena);
/** Reads the next token (EOF at the end, again on every later call). -1 on a syntax error,
 * appended to `errs` with its location. */
int bff_gql_lex(bff_gql_lexer_t *lx, bff_gql_token_t *tok, bff_gql_errors_t *errs);
/** How graphql-js names a kind in messages: "Name", "<EOF>", "\"{\"". */
const char *bff_gql_token_kind_desc(bff_gql_token_kind_t kind);
/** The token's text as graphql-js quotes it after the kind (`Name "foo"`): the name or number
 * as written, a string's decoded value; NULL for punctuators and EOF. */
const char *bff_gql_token_value(const bff_gql_lexer_t *lx, const bff_gql_token_t *tok, size_t *len);

#endif
