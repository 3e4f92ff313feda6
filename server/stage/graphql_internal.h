/* What the GraphQL stage's files share: graphql.c (the stage, runs and the response cache),
 * graphql_prepare.c (from parameters to a validated operation with coerced variables, and the
 * answers of requests that never run) and graphql_batch.c (an array of operations). */
#ifndef BFF_SERVER_STAGE_GRAPHQL_INTERNAL_H
#define BFF_SERVER_STAGE_GRAPHQL_INTERNAL_H

#include "compose/gql/error.h"
#include "compose/gql/graph.h"
#include "compose/json_write.h"
#include "server/http/answer.h"
#include "server/http/request.h"
#include "server/stage/graphql_cache.h"
#include "server/stage/graphql_request.h"
#include "server/stage/pipeline.h"

typedef struct st_gql_batch_t gql_batch_t;

/* Where an operation's answer goes: the HTTP response, element `index` of a batch, or, with no
 * request (`bffd test`), `answer` as data. */
typedef struct st_gql_out_t {
    bff_req_t *r;
    int response_json; /* application/graphql-response+json */
    gql_batch_t *batch;
    size_t index;
    bff_answer_t *answer;   /* r NULL: the answer */
    bff_gql_cache_t *cache; /* r NULL: where validated documents are kept */
} gql_out_t;

/* An operation ready to run. */
typedef struct st_gql_prepared_t {
    bff_gql_cached_t *entry; /* a reference to the validated document */
    const bff_gql_operation_t *op;
    bff_jwrite_t vars; /* the coerced variables */
} gql_prepared_t;

/** Sends `w` as the response with the media type `out` asked for. */
void bff_gql_send_json(h2o_req_t *req, int status, int response_json, const bff_jwrite_t *w);
/** {"errors": [...]} with no data: a request that never ran. `status` is for
 * application/graphql-response+json; application/json answers 200 unless the request itself
 * was malformed (`always`). In a batch, the element's answer. */
void bff_gql_answer_errors(const gql_out_t *out, int status, int always,
                           const bff_gql_errors_t *errs, const char *code);
void bff_gql_answer_message(const gql_out_t *out, int status, int always, const char *code,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** From the request's parameters to a validated operation with coerced variables: 0 with *p
 * filled (release p->entry, dispose p->vars), or -1 after answering `out`. */
int bff_gql_prepare(const gql_out_t *out, const bff_gql_graph_t *g, const bff_gql_params_t *params,
                    int is_get, gql_prepared_t *p);

/** Runs a prepared operation (without the response cache) and answers `out`; takes over
 * `entry`. PENDING, or RESPONDED when it answered at once with an error. */
bff_stage_result_t bff_gql_run_prepared(const gql_out_t *out, const bff_gql_graph_t *g,
                                        bff_gql_cached_t *entry, const bff_gql_operation_t *op,
                                        const char *vars, size_t vars_len);

/** graphql_batch.c: answers a JSON array of `n` operations (graph.yaml's `batching`). */
bff_stage_result_t bff_gql_batch_start(bff_req_t *r, const bff_gql_graph_t *g, size_t n,
                                       int response_json, int is_get);
/** When the whole batch must be answered (the loop's clock, ms): its operations' deadlines. */
uint64_t bff_gql_batch_deadline(const gql_batch_t *b);
/** Element `index` of the batch is `json` (an answer object); the last one sends the array. */
void bff_gql_batch_put(gql_batch_t *b, size_t index, const char *json, size_t len);

#endif
