/* Unit tests of GraphQL execution (compose/gql/run.c, walk.c, values.c, graph.c) with a fake
 * fetcher, data-driven over tests/cases/gql_run/<name>/:
 *   graph.yaml       the bindings (its `schema:` names a file of the case folder)
 *   query.graphql    the operation; variables.json optional
 *   upstream.json    {"METHOD /path": {"status": 200, "body": ...}, ...}: the fake upstream
 *                    (absent = 404; `error`: "timeout" or "connect"; `raw_body`: a body as
 *                    written, for JSON jansson cannot hold); a write is looked up
 *                    with its body appended ("POST /orders {...}") when the line alone is absent
 *   calls.txt        optional: the calls started in each round, one round per line
 *                    ("GET /users/1 GET /recs/1"), to check parallelism, chaining, dedupe
 *   expected.json    the response {data, errors}, compared through jansson with key order
 * Without graph.yaml a case uses _shared/graph.yaml. A round answers every call in flight (in
 * start order); the run must finish. Linked against the pure library alone. */
#include <jansson.h>

#include <dirent.h>
#include <sys/stat.h>

#include "compose/errors.h"
#include "compose/gql/parse.h"
#include "compose/gql/run.h"
#include "compose/gql/validate.h"
#include "compose/gql/values.h"
#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

#define MAX_CALLS 256

typedef struct fake_call {
    int live;
    char line[512]; /* "GET /path" */
    char body[512];
    bff_fetch_cb cb;
    void *data;
} fake_call_t;

typedef struct fake_host {
    fake_call_t calls[MAX_CALLS];
    size_t ncalls;
    uint64_t now;
    int done;
} fake_host_t;

static void *fake_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                        const char **err)
{
    fake_host_t *h = host;
    if (h->ncalls == MAX_CALLS) {
        *err = "too many calls in a test";
        return NULL;
    }
    fake_call_t *c = h->calls + h->ncalls++;
    memset(c, 0, sizeof(*c));
    c->live = 1;
    snprintf(c->line, sizeof(c->line), "%s %s", req->method, req->path);
    if (req->body != NULL)
        snprintf(c->body, sizeof(c->body), "%.*s", (int)req->body_len, req->body);
    c->cb = cb;
    c->data = data;
    return c;
}

static void fake_cancel(void *host, void *call)
{
    ((fake_call_t *)call)->live = 0;
}

static uint64_t fake_now(void *host)
{
    return ((fake_host_t *)host)->now;
}

static const bff_fetch_ops_t ops = {fake_start, fake_cancel, fake_now, NULL};

static void on_done(void *data, bff_gql_run_t *run)
{
    (void)run;
    ++((fake_host_t *)data)->done;
}

static void answer(fake_host_t *h, fake_call_t *c, json_t *upstream)
{
    c->live = 0;
    h->now += 1000;
    bff_fetch_result_t res = {.duration_us = 1000, .status = 404};
    json_t *entry = json_object_get(upstream, c->line);
    if (entry == NULL && c->body[0] != '\0') {
        char key[1100];
        snprintf(key, sizeof(key), "%s %s", c->line, c->body);
        entry = json_object_get(upstream, key);
    }
    if (entry != NULL) {
        res.status = (long)json_integer_value(json_object_get(entry, "status"));
        if (res.status == 0)
            res.status = 200;
        json_t *body = json_object_get(entry, "body"), *raw = json_object_get(entry, "raw_body");
        if (body != NULL) {
            res.body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
            res.body_len = strlen(res.body);
        } else if (json_is_string(raw)) { /* JSON jansson cannot hold (1e400), as written */
            res.body = strdup(json_string_value(raw));
            res.body_len = strlen(res.body);
        }
        json_t *err = json_object_get(entry, "error"); /* "timeout" or "connect" */
        if (err != NULL) {
            res.err = strcmp(json_string_value(err), "timeout") == 0 ? bff_err_upstream_timeout
                                                                     : bff_err_upstream_connect;
            res.status = 0;
            snprintf(res.detail, sizeof(res.detail), "%s", json_string_value(err));
        }
        snprintf(res.content_type, sizeof(res.content_type), "application/json");
    }
    if (res.status >= 300 && res.err == NULL) {
        res.err = bff_err_upstream_status;
        snprintf(res.detail, sizeof(res.detail), "the upstream answered %ld", res.status);
    }
    /* bff_fetch_result_t's body is malloc'ed; jansson's json_dumps uses malloc too. */
    c->cb(c->data, &res);
}

/* JSON texts equal as values and in key order (json_dumps with sorted keys differs). */
static int same_json(const char *got, const char *expected, char **got_canon)
{
    json_error_t e;
    json_t *a = json_loads(got, JSON_DECODE_ANY, &e),
           *b = json_loads(expected, JSON_DECODE_ANY, &e);
    *got_canon = a != NULL ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
                           : strdup(got);
    char *exp_canon =
        b != NULL ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
    int same = a != NULL && b != NULL && json_equal(a, b) && strcmp(*got_canon, exp_canon) == 0;
    free(exp_canon);
    json_decref(a);
    json_decref(b);
    return same;
}

static void run_case(const char *dir, const char *name)
{
    char path[1024];
    printf("# case %s\n", name);
    snprintf(path, sizeof(path), "%s/graph.yaml", dir);
    struct stat st;
    if (stat(path, &st) != 0) /* most cases share one graph */
        snprintf(path, sizeof(path), "%s/../_shared/graph.yaml", dir);
    bff_diag_t diag = {0};
    static const char *const upstream_names[] = {"users", "orders", "catalog", "notifications",
                                                 "shipping"};
    bff_spec_env_t env = {upstream_names, 5};
    bff_gql_graph_t *graph = bff_gql_graph_load(path, &env, &diag);
    if (graph == NULL) {
        TAP_FAIL("%s: graph.yaml does not load:\n%s", name, diag_text(&diag));
        bff_diag_clear(&diag);
        return;
    }
    snprintf(path, sizeof(path), "%s/query.graphql", dir);
    size_t qlen;
    char *query = read_file(path, &qlen);
    snprintf(path, sizeof(path), "%s/variables.json", dir);
    char *variables = read_file(path, NULL);
    snprintf(path, sizeof(path), "%s/upstream.json", dir);
    char *upstream_text = read_file(path, NULL);
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    char *expected = read_file(path, NULL);
    snprintf(path, sizeof(path), "%s/calls.txt", dir);
    char *calls_expected = read_file(path, NULL);
    json_error_t jerr;
    json_t *upstream = upstream_text ? json_loads(upstream_text, 0, &jerr) : json_object();
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = query ? bff_gql_parse(query, qlen, NULL, &errs) : NULL;
    char out_text[65536] = "";
    char rounds[4096] = "";
    size_t rlen = 0;
    if (doc == NULL || bff_gql_validate(graph->schema, doc, NULL, &errs) != 0) {
        TAP_FAIL("%s: the query does not parse or validate: %s", name,
                 errs.n ? errs.items[0].message : "(no query.graphql)");
        goto Done;
    }
    bff_jdoc_t vars_in = {0};
    int has_vars = variables != NULL &&
                   bff_jdoc_scan(&vars_in, variables, strlen(variables), 0, 0, NULL, NULL) == 0;
    bff_jwrite_t vars;
    bff_jwrite_init(&vars, 256, 1 << 20);
    if (bff_gql_coerce_variables(graph->schema, doc->operations, has_vars ? &vars_in : NULL, 0,
                                 &vars, &errs) != 0) {
        /* A coercion failure is the expected outcome of some cases: show it as errors. */
        snprintf(out_text, sizeof(out_text), "{\"errors\":[{\"message\":\"%s\"}]}",
                 errs.items[0].message);
        bff_jwrite_dispose(&vars);
        bff_jdoc_dispose(&vars_in);
        goto Compare;
    }
    bff_jdoc_dispose(&vars_in);
    fake_host_t *host = calloc(1, sizeof(*host));
    const char *lines[] = {"X-Request-ID: r1"};
    bff_gql_run_conf_t conf = {.graph = graph,
                               .doc = doc,
                               .op = doc->operations,
                               .variables = vars.buf,
                               .variables_len = vars.len,
                               .headers = "{\"x-tenant\":\"t1\"}",
                               .headers_len = 17,
                               .call_headers = lines,
                               .ncall_headers = 1,
                               .ops = &ops,
                               .host = host,
                               .on_done = on_done,
                               .data = host};
    bff_gql_run_t *run = bff_gql_run_create(&conf);
    bff_jwrite_dispose(&vars);
    ASSERT_TRUE(run != NULL);
    if (run == NULL) {
        free(host);
        goto Done;
    }
    bff_gql_run_start(run);
    for (int round = 0; round != 20 && !host->done; ++round) {
        size_t first = 0, n = host->ncalls;
        /* This round's calls: those live now, in start order. */
        int any = 0;
        for (size_t i = first; i != n; ++i)
            if (host->calls[i].live) {
                rlen += (size_t)snprintf(rounds + rlen, sizeof(rounds) - rlen, "%s%s",
                                         any ? " " : "", host->calls[i].line);
                any = 1;
            }
        if (any)
            rlen += (size_t)snprintf(rounds + rlen, sizeof(rounds) - rlen, "\n");
        for (size_t i = first; i != n; ++i)
            if (host->calls[i].live)
                answer(host, host->calls + i, upstream);
    }
    ASSERT_TRUE(host->done == 1);
    if (host->done) {
        bff_jwrite_t w;
        bff_jwrite_init(&w, 4096, 1 << 20);
        bff_gql_run_write(run, &w);
        ASSERT_INT_EQ(bff_jwrite_done(&w), 0);
        snprintf(out_text, sizeof(out_text), "%.*s", (int)w.len, w.buf);
        bff_jwrite_dispose(&w);
    }
    bff_gql_run_destroy(run);
    free(host);
    if (calls_expected != NULL)
        ASSERT_STR_EQ(rounds, calls_expected);
Compare:;
    char *got = NULL;
    if (expected == NULL || !same_json(out_text, expected, &got))
        TAP_FAIL("%s:\n#     got:      %s\n#     expected: %s", name, got ? got : out_text,
                 expected ? expected : "(no expected.json)");
    free(got);
Done:
    bff_gql_errors_dispose(&errs);
    bff_gql_document_free(doc);
    bff_gql_graph_free(graph);
    json_decref(upstream);
    free(query);
    free(variables);
    free(upstream_text);
    free(expected);
    free(calls_expected);
    bff_diag_clear(&diag);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/gql_run", source_dir());
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    if (d == NULL)
        return;
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n != 256)
        /* one folder per case */
        if (de->d_name[0] != '.' && de->d_name[0] != '_') /* _shared holds no case */
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof(char *), compare_names);
    ASSERT_TRUE(n >= 5);
    for (size_t i = 0; i != n; ++i) {
        char sub[1300];
        snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]);
        run_case(sub, names[i]);
        free(names[i]);
    }
}

int main(void)
{
    TAP_RUN(test_cases);
    TAP_DONE();
}
