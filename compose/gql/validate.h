/* Validation of an executable document against a schema: every rule of section 5 of the
 * specification that applies to executable documents (operations: named operation uniqueness,
 * lone anonymous operation, single root field for subscriptions; fields on correct type, leaf
 * field selections, field selection merging (overlapping fields that cannot merge), arguments
 * names, uniqueness and required arguments; fragment name uniqueness, known type conditions,
 * fragments on composite types, fragments used and defined, no fragment cycles, possible
 * spreads; values of correct type, input object field names, uniqueness and required fields;
 * directives defined, in valid locations and unique per location; variable uniqueness, input
 * types, all variable uses defined, all variables used, variable usages allowed), with
 * graphql-js's messages and locations. Fragment cycles and deep documents never recurse
 * without bound. Also the per-profile cost limits, checked before anything runs. */
#ifndef BFF_COMPOSE_GQL_VALIDATE_H
#define BFF_COMPOSE_GQL_VALIDATE_H

#include "compose/gql/ast.h"
#include "compose/gql/error.h"
#include "compose/gql/schema.h"

typedef struct st_bff_gql_validate_limits_t {
    unsigned max_depth;   /* field nesting through fragments, 0 = no limit */
    unsigned max_aliases; /* aliased fields in the document, 0 = no limit */
    unsigned max_fields;  /* fields the operations select, fragments expanded, 0 = no limit */
} bff_gql_validate_limits_t;

/** Appends every validation error (and limit violation) to errs; returns how many. */
size_t bff_gql_validate(const bff_gql_schema_t *schema, const bff_gql_document_t *doc,
                        const bff_gql_validate_limits_t *limits, bff_gql_errors_t *errs);

#endif
