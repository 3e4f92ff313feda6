/* Batched GraphQL requests (graph.yaml's `batching: { max: N }`): a POST whose JSON body is an
 * array of up to N operations is answered with the array of their answers, in order. Every
 * operation is prepared first (a malformed or invalid one answers its own errors without
 * holding back the others); then they run at once, or one after another when any of them is a
 * mutation, so a client batching a write and a read sees them in the order it sent them.
 * Elements bypass the response cache. The batch lives in the request's pool: a client that
 * hangs up takes it along, and the runs' own dispose hooks stop them. */
#include <string.h>

#include "compose/gql/parse.h"
#include "server/http/respond.h"
#include "server/stage/graphql_internal.h"

struct st_gql_batch_t {
    bff_req_t *r;
    const bff_gql_graph_t *g;
    size_t n, done, next;
    int response_json;
    int sequential; /* a mutation is in the batch */
    int preparing;  /* answers now are of operations that never run */
    int starting;   /* inside bff_gql_batch_start: answer after the loop */
    int answered;
    int is_get;
    uint64_t deadline_at;     /* the loop's clock: every operation ends by then */
    size_t inflight;          /* operations running */
    gql_prepared_t *prepared; /* entry NULL: answered already, or running */
    h2o_iovec_t *answers;
};

/* One element of the body: prepared now, run later (answered now if it never runs). */
static void prepare_element(void *ctx, size_t i, int status, const bff_gql_params_t *params,
                            const char *msg)
{
    gql_batch_t *b = ctx;
    if (i >= b->n)
        return;
    gql_out_t out = {.r = b->r, .response_json = b->response_json, .batch = b, .index = i};
    if (status != 0) {
        bff_gql_answer_message(&out, status, 1, "BAD_REQUEST", "%s", msg);
        return;
    }
    gql_prepared_t p;
    if (bff_gql_prepare(&out, b->g, params, b->is_get, &p) != 0)
        return;
    b->prepared[i] = p;
    b->sequential |= p.op->kind == BFF_GQL_MUTATION;
}

static void on_dispose(void *p)
{
    gql_batch_t *b = p;
    for (size_t i = 0; i != b->n; ++i)
        if (b->prepared[i].entry != NULL) {
            bff_gql_cache_release(b->prepared[i].entry);
            bff_jwrite_dispose(&b->prepared[i].vars);
        }
}

static void run_element(gql_batch_t *b, size_t i)
{
    gql_prepared_t p = b->prepared[i];
    b->prepared[i].entry = NULL; /* the run takes the reference */
    gql_out_t out = {.r = b->r, .response_json = b->response_json, .batch = b, .index = i};
    ++b->inflight;
    bff_gql_run_prepared(&out, b->g, p.entry, p.op, p.vars.buf, p.vars.len);
    bff_jwrite_dispose(&p.vars);
}

/* Sequential batches: the next operation still to run, if any. */
static void run_next(gql_batch_t *b)
{
    while (b->next != b->n && b->prepared[b->next].entry == NULL)
        ++b->next;
    if (b->next != b->n)
        run_element(b, b->next++);
}

static void answer(gql_batch_t *b)
{
    h2o_req_t *req = b->r->req;
    size_t len = 2;
    for (size_t i = 0; i != b->n; ++i)
        len += b->answers[i].len + 1;
    char *body = h2o_mem_alloc_pool(&req->pool, len), *p = body;
    *p++ = '[';
    for (size_t i = 0; i != b->n; ++i) {
        if (i != 0)
            *p++ = ',';
        memcpy(p, b->answers[i].base, b->answers[i].len);
        p += b->answers[i].len;
    }
    *p++ = ']';
    static const h2o_iovec_t type_json = {H2O_STRLIT("application/json")};
    static const h2o_iovec_t type_gql = {H2O_STRLIT("application/graphql-response+json")};
    bff_respond_typed(req, 200, "OK", b->response_json ? type_gql : type_json,
                      h2o_iovec_init(body, (size_t)(p - body)));
    bff_req_sent(b->r);
}

uint64_t bff_gql_batch_deadline(const gql_batch_t *b)
{
    return b->deadline_at;
}

void bff_gql_batch_put(gql_batch_t *b, size_t index, const char *json, size_t len)
{
    b->answers[index] = h2o_strdup(&b->r->req->pool, json, len);
    ++b->done;
    if (b->preparing)
        return;
    --b->inflight;
    if (b->starting)
        return;
    if (b->sequential && b->inflight == 0)
        run_next(b); /* its answer may come at once, and answer the batch in there */
    if (b->done == b->n && !b->answered) {
        b->answered = 1;
        answer(b);
    }
}

bff_stage_result_t bff_gql_batch_start(bff_req_t *r, const bff_gql_graph_t *g, size_t n,
                                       int response_json, int is_get)
{
    h2o_mem_pool_t *pool = &r->req->pool;
    gql_batch_t *b = h2o_mem_alloc_shared(pool, sizeof(*b), on_dispose);
    memset(b, 0, sizeof(*b));
    b->r = r;
    b->g = g;
    b->n = n;
    b->response_json = response_json;
    b->prepared = h2o_mem_alloc_pool(pool, n * sizeof(*b->prepared));
    memset(b->prepared, 0, n * sizeof(*b->prepared));
    b->answers = h2o_mem_alloc_pool(pool, n * sizeof(*b->answers));
    b->starting = b->preparing = 1;
    b->is_get = is_get;
    b->deadline_at = h2o_now(r->site->worker->loop) +
                     (g->timeout_ms ? g->timeout_ms : r->profile->request_timeout_ms);
    bff_gql_read_batch(r->req, prepare_element, b); /* the body was read as an array already */
    b->preparing = 0;
    if (b->sequential) {
        do /* one at a time: the next when the last answered at once */
            run_next(b);
        while (b->inflight == 0 && b->next != b->n);
    } else {
        for (size_t i = 0; i != n; ++i)
            if (b->prepared[i].entry != NULL)
                run_element(b, i);
    }
    b->starting = 0;
    if (b->done == b->n) {
        b->answered = 1;
        answer(b);
    }
    return BFF_STAGE_PENDING;
}
