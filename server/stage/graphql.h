/* The GraphQL stage's entry for REST routes that run a stored operation (an endpoint spec with
 * `graphql:`): the compose stage hands over the request's parameters as the variables. */
#ifndef BFF_SERVER_STAGE_GRAPHQL_H
#define BFF_SERVER_STAGE_GRAPHQL_H

#include <stddef.h>

#include "server/http/request.h"
#include "server/stage/pipeline.h"

/** Runs the routed spec's stored operation with `request_doc` (the parameters, as the compose
 * stage builds them) as its variables, and answers the operation's data. */
bff_stage_result_t bff_graphql_rest(bff_req_t *r, const char *request_doc, size_t len);

#endif
