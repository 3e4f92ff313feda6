/* GraphQL in spec test cases (graphql_case.h). */
#include "server/spectest/graphql_case.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "compose/gql/run.h"
#include "compose/mem.h"
#include "server/auth/claims.h"
#include "server/stage/graphql_internal.h"
#include "server/stage/graphql_rest.h"

static void on_run_done(void *data, bff_gql_run_t *run)
{
    *(int *)data = 1;
}

/* The case's principal's scopes, read from its claims as the auth stage reads a token's: the
 * profile's scope claim (else `scope`, else `scp`), a space-separated string or an array. */
static void claim_scopes(const bff_profile_t *profile, const char *claims, char *out, size_t size)
{
    out[0] = '\0';
    json_t *doc = claims != NULL ? json_loads(claims, 0, NULL) : NULL;
    const char *scopes =
        doc != NULL ? bff_claims_scopes(doc, profile->auth.scope_claim, out, size) : NULL;
    if (scopes == NULL)
        out[0] = '\0'; /* none, or unreadable: a partial join is not scopes */
    else if (scopes != out)
        snprintf(out, size, "%s", scopes);
    json_decref(doc);
}

/* A stored GraphQL operation, as the GraphQL stage runs it for a REST route, on the
 * recordings: the route's parameters as its variables, its data as the answer. */

/* Runs `op` of `doc` on the recordings; its {data, errors} into `out` (0), or -1 with a
 * failure noted. */
static int run_operation(const bff_profile_t *profile, const bff_gql_document_t *doc,
                         const bff_gql_operation_t *op, const bff_jwrite_t *vars,
                         const h2o_headers_t *headers, const char *claims, bff_st_replay_t *replay,
                         bff_jwrite_t *out, bff_st_result_t *res)
{
    const bff_gql_graph_t *g = profile->graph;
    bff_jwrite_t hdrs;
    bff_jwrite_init(&hdrs, 128, 64 * 1024);
    bff_gql_headers_json(g, headers, &hdrs);
    char scopes[1024];
    claim_scopes(profile, claims, scopes, sizeof(scopes));
    int done = 0;
    bff_gql_run_conf_t conf = {.graph = g,
                               .doc = doc,
                               .op = op,
                               .variables = vars->buf,
                               .variables_len = vars->len,
                               .headers = hdrs.buf,
                               .headers_len = hdrs.len,
                               .auth = claims,
                               .auth_len = claims != NULL ? strlen(claims) : 0,
                               .scopes = scopes,
                               .scopes_len = strlen(scopes),
                               .safe_errors = profile->errors == BFF_ERRORS_SAFE,
                               .ops = &bff_st_replay_ops,
                               .host = replay,
                               .on_done = on_run_done,
                               .data = &done};
    bff_gql_run_t *run = bff_gql_run_create(&conf);
    bff_jwrite_dispose(&hdrs);
    if (run == NULL) {
        bff_st_fail(res, "the operation's variables could not be read");
        return -1;
    }
    bff_gql_run_start(run);
    bff_st_replay_drain(replay);
    int ret = 0;
    if (!done) {
        bff_st_fail(res, "the operation did not finish (a call was never answered)");
        ret = -1;
    } else {
        bff_gql_run_write(run, out);
        if (bff_jwrite_done(out) != 0) {
            bff_st_fail(res, "the operation's answer is too large");
            ret = -1;
        }
    }
    bff_gql_run_destroy(run);
    return ret;
}

void bff_st_run_stored(const bff_profile_t *profile, const bff_spec_t *spec, h2o_iovec_t doc,
                       const h2o_headers_t *headers, const char *claims, bff_st_replay_t *replay,
                       bff_answer_t *a, bff_st_result_t *res)
{
    bff_jwrite_t vars, w;
    bff_jwrite_init(&vars, 256, 1u << 20);
    if (bff_graphql_rest_variables(profile->graph, spec, doc.base, doc.len, &vars, a) == 0) {
        bff_jwrite_init(&w, 4096, (size_t)64 << 20);
        if (run_operation(profile, spec->graphql_doc, spec->graphql_op, &vars, headers, claims,
                          replay, &w, res) == 0)
            bff_graphql_rest_answer(w.buf, w.len, a);
        bff_jwrite_dispose(&w);
    }
    bff_jwrite_dispose(&vars);
}

void bff_st_run_graphql(const bff_profile_t *profile, const bff_st_case_t *c,
                        h2o_headers_t *headers, h2o_mem_pool_t *pool, bff_st_replay_t *replay,
                        bff_answer_t *a, bff_st_result_t *res)
{
    const bff_gql_graph_t *g = profile->graph;
    /* The request as the stage reads it: method, path and query, headers, body. */
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    req.pool = *pool; /* borrowed: given back below, with what was allocated */
    req.method = h2o_iovec_init(c->method, strlen(c->method));
    req.path = h2o_iovec_init(c->path, strlen(c->path));
    const char *q = strchr(c->path, '?');
    req.query_at = q != NULL ? (size_t)(q - c->path) : SIZE_MAX;
    req.headers = *headers;
    if (c->body != NULL)
        req.entity = h2o_iovec_init(c->body, strlen(c->body));
    int is_get = strcmp(c->method, "GET") == 0;
    int rj = bff_gql_wants_response_json(&req);
    bff_gql_cache_t cache;
    memset(&cache, 0, sizeof(cache));
    gql_out_t out = {.response_json = rj, .answer = a, .cache = &cache};
    bff_gql_params_t params;
    size_t batch;
    char msg[256];
    int status = !is_get && strcmp(c->method, "POST") != 0
                     ? 405
                     : bff_gql_read_params(&req, -1, &batch, &params, msg, sizeof(msg));
    if (status == 405)
        snprintf(msg, sizeof(msg), "GraphQL is served over GET and POST.");
    else if (status == 0 && batch != 0)
        status = 400, snprintf(msg, sizeof(msg), "bffd test runs one operation per case.");
    gql_prepared_t p;
    if (status != 0) {
        bff_gql_answer_message(&out, status, 1, "BAD_REQUEST", "%s", msg);
    } else if (bff_gql_prepare(&out, g, &params, is_get, &p) == 0) {
        bff_jwrite_t w;
        bff_jwrite_init(&w, 4096, (size_t)64 << 20);
        if (run_operation(profile, p.entry->doc, p.op, &p.vars, headers, c->claims, replay, &w,
                          res) == 0) {
            a->status = 200;
            bff_answer_add_header(a, H2O_STRLIT("content-type"),
                                  rj ? "application/graphql-response+json" : "application/json",
                                  rj ? 33 : 16);
            bff_answer_set_body(a, w.buf, w.len);
        }
        bff_jwrite_dispose(&w);
        bff_jwrite_dispose(&p.vars);
        bff_gql_cache_release(p.entry);
    }
    for (size_t i = 0; i != BFF_GQL_CACHE_SLOTS; ++i)
        if (cache.slots[i] != NULL)
            bff_gql_cache_release(cache.slots[i]);
    *pool = req.pool;
}
