/* Input values of one operation (section 6.1.2 and 6.4.1 of the specification): the client's
 * variables coerced to the operation's variable types, each field's arguments coerced from
 * literals and variables (defaults applied), and @skip/@include. Results are JSON, the form
 * the sources' templates read (`{args.id}`): enum values become strings, IDs strings, a single
 * value where a list is expected a one-element list. */
#ifndef BFF_COMPOSE_GQL_VALUES_H
#define BFF_COMPOSE_GQL_VALUES_H

#include <stdint.h>

#include "compose/gql/ast.h"
#include "compose/gql/error.h"
#include "compose/gql/schema.h"
#include "compose/json_scan.h"
#include "compose/json_write.h"

/** Coerces the request's `variables` (object token `tok` of `doc`; doc NULL = none sent) for
 * `op`, writing the coerced object into `out`. Problems go to errs with graphql-js's messages
 * ('Variable "$id" of required type "ID!" was not provided.'); returns 0, or -1 if any. */
int bff_gql_coerce_variables(const bff_gql_schema_t *schema, const bff_gql_operation_t *op,
                             const bff_jdoc_t *doc, uint32_t tok, bff_jwrite_t *out,
                             bff_gql_errors_t *errs);

/** Writes the arguments of a field (or directive) as a JSON object: each defined argument with
 * its literal (variables read from `vars`, the coerced variables, an object at token 0), or
 * its default, or left out when neither. A null reaching a non-null argument through a
 * variable is an error at `loc`; returns 0 or -1. */
int bff_gql_coerce_arguments(const bff_gql_input_value_t *defs, size_t ndefs,
                             const bff_gql_argument_t *args, size_t nargs, const bff_jdoc_t *vars,
                             bff_gql_loc_t loc, bff_jwrite_t *out, bff_gql_errors_t *errs);

/** 0 when @skip(if: true) or @include(if: false) among `dirs` excludes the selection, 1 when
 * none does; -1 when an `if` is a variable whose value is null (a variable with a default, sent
 * as null: no Boolean!), with *null_if (may be NULL) the variable's node. */
int bff_gql_included(const bff_gql_directive_t *dirs, size_t ndirs, const bff_jdoc_t *vars,
                     const bff_gql_value_t **null_if);

#endif
