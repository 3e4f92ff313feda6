/* The GraphQL parser: executable documents (what clients send) and type system documents
 * (SDL schema files), by recursive descent over lex.h's tokens. Depth is bounded (nested
 * selections, lists, objects and type wrappers all count), so hostile input cannot exhaust the
 * stack; token and byte limits stop oversized documents before they cost more. */
#ifndef BFF_COMPOSE_GQL_PARSE_H
#define BFF_COMPOSE_GQL_PARSE_H

#include <stddef.h>

#include "compose/gql/ast.h"
#include "compose/gql/error.h"

typedef struct st_bff_gql_parse_limits_t {
    size_t max_bytes;   /* document size; 0 = no limit */
    size_t max_tokens;  /* lexical tokens; 0 = no limit */
    unsigned max_depth; /* nesting of selection sets, lists, objects, type wrappers; 0 = 64 */
} bff_gql_parse_limits_t;

/** Parses an executable document. On a syntax error or a limit, appends one error (message as
 * graphql-js words it, "Syntax Error: Expected Name, found <EOF>.", with its location) and
 * returns NULL. A type system definition in it is refused as 'The "X" definition is not
 * executable.' (rule 5.1.1). `limits` may be NULL. */
bff_gql_document_t *bff_gql_parse(const char *src, size_t len, const bff_gql_parse_limits_t *limits,
                                  bff_gql_errors_t *errs);
void bff_gql_document_free(bff_gql_document_t *doc);

/** Parses a type system document (schema definitions and extensions, directive definitions).
 * Executable definitions in it are a syntax error. NULL on error, with one error appended. */
bff_gql_sdl_t *bff_gql_parse_sdl(const char *src, size_t len, bff_gql_errors_t *errs);
void bff_gql_sdl_free(bff_gql_sdl_t *sdl);

#endif
