/* Executing one GraphQL operation (section 6 of the specification) on the REST executor's
 * machinery. Every field bound to a source becomes one executor run (compose/exec.h) per
 * distinct (arguments, parent object): the same fetcher, retries, breakers and deadlines as
 * REST endpoints. The selection is walked whenever a call lands: calls whose parent data is
 * there start at once (siblings in parallel, children as soon as their own parent arrived,
 * never waiting for unrelated calls), identical calls go out once, at most `concurrency` are in
 * flight and `max_calls` made. Mutation root fields run one after another. When nothing is
 * pending, the response is written with the specification's value completion: leaf
 * serialization, lists, abstract types resolved by `__typename`, and null propagation (a
 * failed field is null with an error carrying message, locations, path and extensions; a null
 * in a non-null place nulls the nearest nullable parent).
 *
 * Ownership: a run is malloc'ed; it borrows the graph, document and operation (the caller keeps
 * them alive until bff_gql_run_destroy) and copies the rest. */
#ifndef BFF_COMPOSE_GQL_RUN_H
#define BFF_COMPOSE_GQL_RUN_H

#include <stddef.h>

#include "compose/exec.h"
#include "compose/gql/graph.h"
#include "compose/json_write.h"

typedef struct st_bff_gql_run_t bff_gql_run_t;

typedef struct st_bff_gql_run_conf_t {
    const bff_gql_graph_t *graph;
    const bff_gql_document_t *doc;
    const bff_gql_operation_t *op;
    const char *variables; /* the coerced variables: a JSON object (copied) */
    size_t variables_len;
    const char *headers; /* {"lower-cased name": "value"} the graph's templates read (copied) */
    size_t headers_len;
    const char *auth; /* the verified principal's claims as JSON (copied); NULL = anonymous */
    size_t auth_len;
    const char *scopes; /* the principal's scopes, space-separated (copied); fields' guards */
    size_t scopes_len;
    const char *const *call_headers; /* lines sent with every call (request id, trace) */
    size_t ncall_headers;
    int safe_errors; /* errors name no upstream and carry no detail */
    const bff_fetch_ops_t *ops;
    void *host;
    /* Runs once when nothing is pending any more, unless the run was destroyed first; may run
     * inside bff_gql_run_start. The callee may destroy the run. */
    void (*on_done)(void *data, bff_gql_run_t *run);
    void *data;
} bff_gql_run_conf_t;

/* One executor run the operation made (a field's call, or one batch of parents' calls), kept for
 * the request's trace spans and the operators' debug view. */
typedef struct st_bff_gql_call_record_t {
    const char *resolver; /* "User.orders" */
    size_t upstream;      /* index into the profile's upstream list */
    uint64_t started_us, duration_us;
    long status;
    const char *err;  /* NULL = answered (a 404 included) */
    unsigned parents; /* parents the call served: more than one when batched */
    bff_exec_call_stats_t stats;
} bff_gql_call_record_t;

bff_gql_run_t *bff_gql_run_create(const bff_gql_run_conf_t *conf);
void bff_gql_run_start(bff_gql_run_t *run);
/** The deadline passed: calls in flight fail as timeouts, no new ones start, on_done runs. */
void bff_gql_run_expire(bff_gql_run_t *run);
void bff_gql_run_destroy(bff_gql_run_t *run);

/** Writes {"data": ..., "errors": [...]} (errors only when there are any). After on_done. */
void bff_gql_run_write(bff_gql_run_t *run, bff_jwrite_t *out);
/** The executor runs the operation made, in the order they finished (*n of them). */
const bff_gql_call_record_t *bff_gql_run_records(const bff_gql_run_t *run, size_t *n);
/** Errors in the response (after bff_gql_run_write). */
size_t bff_gql_run_error_count(const bff_gql_run_t *run);
/** What the upstreams' Cache-Control said over the run's calls, as bff_exec_cache_hints. */
void bff_gql_run_cache_hints(const bff_gql_run_t *run, int *max_age_s, unsigned *flags);
/** Upstream calls made, and how many failed. */
size_t bff_gql_run_calls(const bff_gql_run_t *run, size_t *failed);

#endif
