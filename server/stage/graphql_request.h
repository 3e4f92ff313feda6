/* The GraphQL-over-HTTP request: which media type the answer takes (Accept), and the
 * operation's parameters from a GET query string or a POST JSON body. */
#ifndef BFF_SERVER_STAGE_GRAPHQL_REQUEST_H
#define BFF_SERVER_STAGE_GRAPHQL_REQUEST_H

#include <h2o.h>

#include "compose/gql/graph.h"
#include "compose/json_write.h"

typedef struct st_bff_gql_params_t {
    h2o_iovec_t query;          /* the document (decoded); base NULL = missing */
    h2o_iovec_t variables;      /* a JSON object's text; base NULL = none */
    h2o_iovec_t operation_name; /* base NULL = none */
    h2o_iovec_t extensions;     /* a JSON object's text; base NULL = none */
} bff_gql_params_t;

/** 1 when the client accepts application/graphql-response+json (then preferred). */
int bff_gql_wants_response_json(h2o_req_t *req);
/** Reads the parameters of a GET (query string) or POST (JSON body) request into pool memory.
 * Returns 0, or an HTTP status (400, 415) with a message in msg. `batch_index` >= 0 picks an
 * element of a JSON array body (batching); *batch_size is set to the array's length, or 0 for a
 * single operation. */
int bff_gql_read_params(h2o_req_t *req, int batch_index, size_t *batch_size, bff_gql_params_t *out,
                        char *msg, size_t size);
/** A batch body (a JSON array, as bff_gql_read_params found it) scanned once: `each` runs per
 * element in order with its parameters, or a 4xx status and a message. -1 when the body is not
 * an array after all. */
/** {"lower-cased name": "value"} of the request headers the graph's templates read (values
 * that are not UTF-8 are left out). */
void bff_gql_headers_json(const bff_gql_graph_t *g, const h2o_headers_t *headers, bff_jwrite_t *w);
int bff_gql_read_batch(h2o_req_t *req,
                       void (*each)(void *ctx, size_t i, int status, const bff_gql_params_t *p,
                                    const char *msg),
                       void *ctx);

#endif
