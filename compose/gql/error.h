/* GraphQL errors as the response's `errors` entries carry them: a message and the source
 * locations it concerns (the `path` is added by execution). Messages follow graphql-js's
 * wording, which clients and tests know. */
#ifndef BFF_COMPOSE_GQL_ERROR_H
#define BFF_COMPOSE_GQL_ERROR_H

#include <stddef.h>

#include "compose/gql/ast.h"

#define BFF_GQL_ERROR_MAX_LOCS 4

typedef struct st_bff_gql_error_t {
    char *message; /* malloc'ed */
    bff_gql_loc_t locs[BFF_GQL_ERROR_MAX_LOCS];
    size_t nlocs;
} bff_gql_error_t;

typedef struct st_bff_gql_errors_t {
    bff_gql_error_t *items;
    size_t n, cap;
    size_t max; /* stop recording past this many (0 = 100): a hostile document cannot flood */
} bff_gql_errors_t;

/** Appends an error with up to BFF_GQL_ERROR_MAX_LOCS locations (printf-style message). */
void bff_gql_error_add(bff_gql_errors_t *errs, const bff_gql_loc_t *locs, size_t nlocs,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void bff_gql_errors_dispose(bff_gql_errors_t *errs);

#endif
