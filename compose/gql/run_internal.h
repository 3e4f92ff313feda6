/* What run.c (calls, lifecycle) and walk.c (the selection walk, value completion) share. */
#ifndef BFF_COMPOSE_GQL_RUN_INTERNAL_H
#define BFF_COMPOSE_GQL_RUN_INTERNAL_H

#include "compose/gql/run.h"
#include "compose/json_scan.h"

typedef enum en_gql_call_state_t {
    GQL_CALL_QUEUED,
    GQL_CALL_RUNNING,
    GQL_CALL_DONE,
} gql_call_state_t;

/* An item of a for-each resolver's list that failed while others did not. */
typedef struct st_gql_item_failure_t {
    size_t index;
    const char *err; /* a bff_err_* */
    long status;
    char detail[160];
} gql_item_failure_t;

/* One resolved (resolver, arguments, parent): an upstream call, or a computed value. */
typedef struct st_gql_call_t {
    const bff_gql_resolver_t *res;
    char *key; /* {"args":..,"parent":..,"header":..}: the request doc of its run */
    size_t keylen;
    uint64_t hash;
    gql_call_state_t state;
    bff_exec_t *exec;
    bff_gql_run_t *run;
    char *json; /* the field's value as JSON; NULL = null */
    size_t len;
    bff_jdoc_t doc;
    const char *err;  /* failed: a bff_err_* reason, or a message of our own */
    long status;      /* the upstream's status, when known */
    char detail[200]; /* for clients (never a host or URL) */
    size_t upstream;  /* for the error's `upstream` */
    int counted;      /* an upstream call (counts against max_calls) */
    /* A for-each resolver that lost items: each one's failure (its index in the value, when the
     * value is the list itself), or with a `value` shape, whose indexes may differ, just `partial`
     * (the source's detail) for one error on the field. */
    gql_item_failure_t *failures;
    size_t nfailures;
    char partial[200];
    size_t left_out; /* a for-each resolver's items past its `max`, never fetched */
    /* A resolver batched over parents: its key (parent.KEY, raw JSON) and arguments, both
     * inside `key`; calls of one resolver with equal arguments share a batch. */
    const char *item, *args;
    size_t item_len, args_len;
} gql_call_t;

typedef struct st_gql_batch_t gql_batch_t;

typedef struct st_gql_error_t {
    char *json; /* one complete error object */
    size_t len;
} gql_error_t;

struct st_bff_gql_run_t {
    bff_gql_run_conf_t conf;
    char *variables;
    bff_jdoc_t vars;
    char *headers;
    size_t headers_len;
    char *auth; /* the principal's claims (JSON); NULL = anonymous */
    size_t auth_len;
    char *scopes; /* the principal's scopes, space-separated ("" = none) */
    char **call_headers;
    gql_call_t **table; /* open addressing by hash */
    size_t table_cap, ncalls;
    gql_call_t **queue; /* waiting for a free slot, in order */
    size_t nqueue, queue_cap, queue_head;
    gql_call_t **batch_wait; /* batched calls met by the current planning pass */
    size_t nbatch_wait, batch_wait_cap;
    gql_batch_t *batches; /* batches in flight */
    bff_gql_call_record_t *records;
    size_t nrecords, records_cap;
    size_t running, made, failed;
    int cache_max_age;    /* the shortest Cache-Control max-age of the calls (BFF_CC_MAX_AGE) */
    unsigned cache_flags; /* BFF_CC_* any call's Cache-Control set */
    int expired, walking, dirty, done;
    bff_jdoc_t introspection;
    int introspection_ready;
    /* writing */
    gql_error_t *errors;
    size_t nerrors, errors_cap;
    struct {
        const char *key; /* NULL: an index */
        size_t index;
    } path[256];
    unsigned depth;
};

extern const char bff_gql_err_call_limit[]; /* the operation reached max_calls */

/** Marks a call failed with a bff_err_* reason (or one of ours) and a client-safe detail. */
void bff_gql_call_fail(bff_gql_run_t *run, gql_call_t *c, const char *err, const char *detail);
/** Sets a call's value from materialized JSON (NULL = null). */
void bff_gql_call_set_value(gql_call_t *c, const char *json, size_t len);
/** Settles a finished executor run's outcome into the run's records and cache hints;
 * returns 0 when the source answered, 1 for a 404 (null, no error), -1 when it failed (then
 * *err and detail are set). */
int bff_gql_exec_settle(bff_gql_run_t *run, const bff_gql_resolver_t *res, unsigned parents,
                        bff_exec_t *exec, const char **err, long *status, char *detail,
                        size_t detail_size);
/** Plans again (a call landed): starts what became ready; on_done once nothing is pending. */
void bff_gql_run_settle(bff_gql_run_t *run);

/** run_batch.c: a batched call waits for the end of the planning pass. */
void bff_gql_batch_wait(bff_gql_run_t *run, gql_call_t *c);
/** Sends the calls waiting into batches; returns 1 when any was waiting. */
int bff_gql_batch_flush(bff_gql_run_t *run);
/** The deadline passed: batches in flight fail as timeouts. */
void bff_gql_batch_expire(bff_gql_run_t *run);
void bff_gql_batch_destroy_all(bff_gql_run_t *run);

/** Finds or starts the call for (res, key); never NULL. */
gql_call_t *bff_gql_call_get(bff_gql_run_t *run, const bff_gql_resolver_t *res, const char *key,
                             size_t keylen);
/** Walks the operation: plans (out == NULL; returns 1 while anything is pending) or writes the
 * response's `data` value into out (returns 0). */
int bff_gql_walk(bff_gql_run_t *run, bff_jwrite_t *out);
/** Records an error at the current path. `call` (may be NULL) adds upstream extensions. */
void bff_gql_run_error(bff_gql_run_t *run, const bff_gql_loc_t *loc, const char *code,
                       const gql_call_t *call, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
