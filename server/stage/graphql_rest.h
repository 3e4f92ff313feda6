/* A stored GraphQL operation behind a REST route (an endpoint spec with `graphql:`), decided as
 * data: the route's parameters coerced into the operation's variables, and the operation's
 * result turned into the REST answer. The GraphQL stage sends these answers; `bffd test`
 * compares them with a case's expectation. */
#ifndef BFF_SERVER_STAGE_GRAPHQL_REST_H
#define BFF_SERVER_STAGE_GRAPHQL_REST_H

#include <stddef.h>

#include "compose/gql/graph.h"
#include "compose/json_write.h"
#include "compose/spec.h"
#include "server/http/answer.h"

/** Writes the operation's variables from the request doc into `vars` (initialized by the
 * caller); 0, or -1 with a 400 in `a`. */
int bff_graphql_rest_variables(const bff_gql_graph_t *g, const bff_spec_t *spec, const char *doc,
                               size_t len, bff_jwrite_t *vars, bff_answer_t *a);
/** The answer to `result` ({data, errors}): its data's members as the resource, the errors (if
 * any) beside them with bff-partial; no data at all is a 502 naming the first error. */
void bff_graphql_rest_answer(const char *result, size_t len, bff_answer_t *a);

#endif
