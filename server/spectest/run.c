/* One spec test case through the server's decisions (run.h), then its checks. */
#include "server/spectest/run.h"

#include <ctype.h>
#include <h2o.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "compose/gql/run.h"
#include "compose/mem.h"
#include "server/http/request_doc.h"
#include "server/http/respond.h"
#include "server/http/router.h"
#include "server/spectest/diff.h"
#include "server/spectest/replay.h"
#include "server/stage/compose.h"
#include "server/spectest/graphql_case.h"

void bff_st_fail(bff_st_result_t *res, const char *fmt, ...)
{
    char buf[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    res->failures = bff_realloc(res->failures, (res->nfailures + 1) * sizeof(*res->failures));
    res->failures[res->nfailures++] = bff_strndup(buf, strlen(buf));
}

/* The client's headers as h2o would hand them to the stages: lower-case names. */
static void request_headers(const bff_st_case_t *c, h2o_mem_pool_t *pool, h2o_headers_t *out,
                            const char **idempotency_key)
{
    for (size_t i = 0; i != c->nheaders; ++i) {
        size_t n = strlen(c->headers[i].name);
        char *name = h2o_mem_alloc_pool(pool, n + 1);
        for (size_t k = 0; k <= n; ++k)
            name[k] = (char)tolower((unsigned char)c->headers[i].name[k]);
        h2o_add_header_by_str(pool, out, name, n, 1, NULL,
                              h2o_strdup(pool, c->headers[i].value, SIZE_MAX).base,
                              strlen(c->headers[i].value));
        if (strcmp(name, "idempotency-key") == 0)
            *idempotency_key = c->headers[i].value;
    }
}

static void on_done(void *data, bff_exec_t *exec)
{
    *(int *)data = 1;
}

/* The composition, as the compose stage runs it, on the recordings. */
static void compose(const bff_profile_t *profile, const bff_spec_t *spec, h2o_iovec_t doc,
                    const char *idempotency_key, bff_st_replay_t *replay, bff_answer_t *a,
                    bff_st_result_t *res)
{
    char key_line[300];
    const char *lines[1];
    size_t nlines = 0;
    if (idempotency_key != NULL) { /* forwarded, and lets writes retry */
        snprintf(key_line, sizeof(key_line), "Idempotency-Key: %s", idempotency_key);
        lines[nlines++] = key_line;
    }
    int done = 0;
    bff_exec_conf_t conf = {.plan = &spec->plan,
                            .request_doc = doc.base,
                            .request_doc_len = doc.len,
                            .headers = lines,
                            .nheaders = nlines,
                            .idempotency_key = idempotency_key != NULL,
                            .ops = &bff_st_replay_ops,
                            .host = replay,
                            .on_done = on_done,
                            .data = &done};
    bff_exec_t *exec = bff_exec_create(&conf);
    if (exec == NULL) {
        bff_answer_error(a, 400, bff_code_bad_parameter, "request values could not be encoded",
                         NULL);
        return;
    }
    bff_input_problem_t problem;
    const char *missing = bff_exec_missing_input(exec, &problem);
    if (missing != NULL) {
        bff_compose_answer_missing_input(missing, problem, a);
    } else {
        bff_exec_start(exec);
        bff_st_replay_drain(replay);
        if (!done)
            bff_st_fail(res, "the composition did not finish (a call was never answered)");
        else
            bff_compose_answer(profile, spec, exec, a);
    }
    bff_exec_destroy(exec);
}

/* What the answer's header `name` is on the wire: its own headers, and Content-Type as
 * respond.c adds it. */
static const char *answer_header(const bff_answer_t *a, const char *name)
{
    for (size_t i = 0; i != a->nheaders; ++i)
        if (strcasecmp(a->headers[i].name, name) == 0)
            return a->headers[i].value;
    if (strcasecmp(name, "content-type") == 0)
        return a->status == 204 || a->status == 304 ? NULL : "application/json";
    return NULL;
}

static void check(const char *file, const bff_st_case_t *c, const bff_answer_t *a,
                  bff_st_result_t *res)
{
    if (c->expect_status != 0 && c->expect_status != a->status)
        bff_st_fail(res, "status: expected %d, got %d%s%.*s", c->expect_status, a->status,
                    a->body ? " with body " : "",
                    a->body ? (int)(a->body_len > 300 ? 300 : a->body_len) : 0,
                    a->body ? a->body : "");
    for (size_t i = 0; i != c->nexpect_headers; ++i) {
        const bff_st_header_t *h = c->expect_headers + i;
        const char *got = answer_header(a, h->name);
        if (h->value == NULL && got != NULL)
            bff_st_fail(res, "header %s: expected none, got \"%s\"", h->name, got);
        else if (h->value != NULL && got == NULL)
            bff_st_fail(res, "header %s: expected \"%s\", got none", h->name, h->value);
        else if (h->value != NULL && strcmp(h->value, got) != 0)
            bff_st_fail(res, "header %s: expected \"%s\", got \"%s\"", h->name, h->value, got);
    }
    char diff[1024];
    int head = strcmp(c->method, "HEAD") == 0; /* the server sends no body: none to compare */
    if (c->expect_body != NULL && head)
        bff_st_fail(res, "%s:%u:%u: a HEAD answer has no body to expect", file,
                    c->expect_body_at->line, c->expect_body_at->column);
    else if (c->expect_body != NULL &&
             bff_st_json_diff(c->expect_body, a->body, a->body_len, c->expect_subset, "body", diff,
                              sizeof(diff)) != 0)
        bff_st_fail(res, "%s:%u:%u: %s", file, c->expect_body_at->line, c->expect_body_at->column,
                    diff);
}

void bff_st_case_run(const bff_profile_t *profile, const char *file, bff_st_case_t *c,
                     bff_st_result_t *res)
{
    memset(res, 0, sizeof(*res));
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    const char *q = strchr(c->path, '?');
    h2o_iovec_t path = h2o_iovec_init(c->path, q ? (size_t)(q - c->path) : strlen(c->path));
    h2o_iovec_t query = q ? h2o_iovec_init(q + 1, strlen(q + 1)) : h2o_iovec_init(NULL, 0);
    const bff_gql_graph_t *g = profile->graph;
    bff_answer_t a;
    bff_answer_init(&a);
    bff_route_match_t match;
    bff_st_replay_t replay;
    bff_st_replay_init(&replay, profile, c);
    if (g != NULL && h2o_memis(path.base, path.len, g->path, strlen(g->path))) {
        h2o_headers_t headers = {NULL, 0, 0};
        const char *key = NULL;
        request_headers(c, &pool, &headers, &key);
        bff_st_run_graphql(profile, c, &headers, &pool, &replay, &a, res);
    } else if (bff_router_resolve(profile, h2o_iovec_init(c->method, strlen(c->method)), path,
                                  &pool, &match, &a) == 0) {
        h2o_headers_t headers = {NULL, 0, 0};
        const char *key = NULL;
        request_headers(c, &pool, &headers, &key);
        h2o_iovec_t entity =
            c->body ? h2o_iovec_init(c->body, strlen(c->body)) : h2o_iovec_init(NULL, 0);
        h2o_iovec_t claims =
            c->claims ? h2o_iovec_init(c->claims, strlen(c->claims)) : h2o_iovec_init(NULL, 0);
        h2o_iovec_t doc;
        if (bff_request_doc_build(profile, match.spec, match.values, query, &headers, entity,
                                  claims, &pool, &doc, &a) != 0)
            ; /* answered: a parameter or the body was refused */
        else if (match.spec->graphql_op != NULL)
            bff_st_run_stored(profile, match.spec, doc, &headers, c->claims, &replay, &a, res);
        else
            compose(profile, match.spec, doc, key, &replay, &a, res);
    }
    for (size_t i = 0; i != replay.nproblems; ++i)
        bff_st_fail(res, "%s", replay.problems[i]);
    for (size_t i = 0; i != c->nrecords; ++i)
        if (c->records[i].used == 0)
            bff_st_fail(res, "%s:%u:%u: recording never called: %s %s on upstream %s", file,
                        c->records[i].at->line, c->records[i].at->column, c->records[i].method,
                        c->records[i].path, c->records[i].upstream_name);
    if (a.status != 0)
        check(file, c, &a, res);
    bff_st_replay_dispose(&replay);
    bff_answer_dispose(&a);
    h2o_mem_clear_pool(&pool);
}

void bff_st_result_dispose(bff_st_result_t *res)
{
    for (size_t i = 0; i != res->nfailures; ++i)
        free(res->failures[i]);
    free(res->failures);
    memset(res, 0, sizeof(*res));
}
