/* Unit tests of the executor with a fake fetcher: no sockets, no loop, a fake clock. Each test
 * compiles a spec from YAML, starts a run, then completes the calls the run asked for in an
 * order of its choosing, and checks what started when, what was coalesced, and the outcome.
 * Linked against the pure library alone. */
#include "compose/exec.h"

#include "compose/errors.h"
#include "compose/spec.h"
#include "tests/unit/tap.h"

#define MAX_CALLS 64

typedef struct fake_call {
    int live, cancelled;
    size_t upstream;
    char method[8];
    char path[256];
    char headers[512]; /* lines joined by '\n' */
    char body[256];
    bff_fetch_cb cb;
    void *data;
} fake_call_t;

typedef struct fake_host {
    fake_call_t calls[MAX_CALLS];
    size_t ncalls;
    uint64_t now;
    const char *fail_fast; /* start returns NULL with this error */
    int client_gone;
    int done_count;
    bff_exec_state_t done_state;
    int destroy_in_done;
    bff_exec_t *exec;
} fake_host_t;

static void *fake_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                        const char **err)
{
    fake_host_t *h = host;
    if (h->fail_fast != NULL) {
        *err = h->fail_fast;
        return NULL;
    }
    fake_call_t *c = h->calls + h->ncalls++;
    memset(c, 0, sizeof(*c));
    c->live = 1;
    c->upstream = req->upstream;
    snprintf(c->method, sizeof(c->method), "%s", req->method);
    snprintf(c->path, sizeof(c->path), "%s", req->path);
    size_t n = 0;
    for (size_t i = 0; i != req->nheaders; ++i)
        n += (size_t)snprintf(c->headers + n, sizeof(c->headers) - n, "%s\n", req->headers[i]);
    if (req->body != NULL)
        snprintf(c->body, sizeof(c->body), "%.*s", (int)req->body_len, req->body);
    c->cb = cb;
    c->data = data;
    return c;
}

static void fake_cancel(void *host, void *call)
{
    fake_call_t *c = call;
    ASSERT_TRUE(c->live);
    c->live = 0;
    c->cancelled = 1;
}

static uint64_t fake_now(void *host)
{
    return ((fake_host_t *)host)->now;
}

static int fake_client_gone(void *host)
{
    return ((fake_host_t *)host)->client_gone;
}

static const bff_fetch_ops_t ops = {fake_start, fake_cancel, fake_now, fake_client_gone};

static void on_done(void *data, bff_exec_t *exec)
{
    fake_host_t *h = data;
    ++h->done_count;
    h->done_state = bff_exec_state(exec);
    if (h->destroy_in_done) {
        bff_exec_destroy(exec);
        h->exec = NULL;
    }
}

/* Answers call `i` (by start order) with `status`/`body`, or with an error. */
static void complete(fake_host_t *h, size_t i, const char *err, long status, const char *body)
{
    fake_call_t *c = h->calls + i;
    ASSERT_TRUE(c->live);
    c->live = 0;
    h->now += 1000;
    bff_fetch_result_t res = {.err = err, .status = status, .duration_us = 1000};
    if (body != NULL) {
        res.body = bff_strdup(body);
        res.body_len = strlen(body);
    }
    snprintf(res.detail, sizeof(res.detail), "%s", err ? "it failed" : "");
    c->cb(c->data, &res);
}

typedef struct fixture {
    bff_yaml_doc_t *doc;
    bff_spec_t *spec;
    fake_host_t host;
    bff_exec_t *exec;
} fixture_t;

static const char *const upstream_names[] = {"users", "orders", "catalog"};

static int setup(fixture_t *f, const char *yaml, const char *request_doc)
{
    memset(f, 0, sizeof(*f));
    bff_diag_t diag = {0};
    f->doc = bff_yaml_load_string("test.yaml", yaml, strlen(yaml), &diag);
    bff_spec_env_t env = {upstream_names, 3};
    f->spec = f->doc ? bff_spec_parse(bff_yaml_root(f->doc), &env, &diag) : NULL;
    if (f->spec == NULL) {
        for (size_t i = 0; i != diag.size; ++i) {
            char line[512];
            bff_diag_format(&diag, i, line, sizeof(line));
            printf("#   spec error: %s\n", line);
        }
        bff_diag_clear(&diag);
        TAP_FAIL("%s", "the test's spec does not compile");
        return -1;
    }
    bff_diag_clear(&diag);
    const char *lines[] = {"X-Request-ID: r1"};
    bff_exec_conf_t conf = {.plan = &f->spec->plan,
                            .request_doc = request_doc,
                            .request_doc_len = strlen(request_doc),
                            .headers = lines,
                            .nheaders = 1,
                            .ops = &ops,
                            .host = &f->host,
                            .on_done = on_done,
                            .data = &f->host};
    f->exec = f->host.exec = bff_exec_create(&conf);
    ASSERT_TRUE(f->exec != NULL);
    return f->exec != NULL ? 0 : -1;
}

static void teardown(fixture_t *f)
{
    bff_exec_destroy(f->host.exec);
    bff_spec_free(f->spec);
    bff_yaml_free(f->doc);
}

/* The JSON a source's value shapes to, e.g. "{\"id\":7}" (static buffer). */
static const char *value_of(fixture_t *f, const char *path_text)
{
    static char out[2048];
    bff_shape_env_t env = bff_exec_env(f->exec);
    bff_jpath_t path;
    const char *err;
    out[0] = '\0';
    if (bff_jpath_parse(path_text, strlen(path_text), &path, &err) != 0)
        return "(bad path)";
    ssize_t src = -1;
    for (size_t i = 0; i != f->spec->plan.nsources; ++i)
        if (strcmp(f->spec->plan.sources[i].name, path.root) == 0)
            src = (ssize_t)i;
    const bff_jdoc_t *doc = NULL;
    uint32_t tok;
    if (src >= 0 && bff_binding_eval(&path, (int)src, &env, NULL, 0, &doc, &tok, 1) == 1) {
        const bff_jtok_t *t = doc->toks + tok;
        size_t start = t->start - (t->type == BFF_J_STRING),
               end = t->end + (t->type == BFF_J_STRING);
        snprintf(out, sizeof(out), "%.*s", (int)(end - start), doc->json + start);
    } else {
        snprintf(out, sizeof(out), "(absent)");
    }
    bff_jpath_dispose(&path);
    return out;
}

static void test_dependency_order(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /d/{userId}\n"
              "sources:\n"
              "  orders: { upstream: orders, path: \"/orders?user={user.id}\" }\n"
              "  user: { upstream: users, path: \"/users/{userId}\" }\n"
              "  recs: { upstream: catalog, path: \"/recs/{userId}\" }\n"
              "response: { name: user.name }\n",
              "{\"userId\":\"42\"}") != 0)
        return;
    bff_exec_start(f.exec);
    /* Independent sources start at once, in dependency order; the chained one waits. */
    ASSERT_INT_EQ(f.host.ncalls, 2);
    ASSERT_STR_EQ(f.host.calls[0].path, "/users/42");
    ASSERT_STR_EQ(f.host.calls[1].path, "/recs/42");
    ASSERT_INT_EQ(f.host.calls[1].upstream, 2);
    ASSERT_STR_CONTAINS(f.host.calls[0].headers, "X-Request-ID: r1");
    ASSERT_INT_EQ(bff_exec_outcome(f.exec, 0)->state, BFF_SRC_WAITING);
    ASSERT_TRUE(bff_exec_has_unstarted_work(f.exec));
    complete(&f.host, 1, NULL, 200, "[1,2]");
    ASSERT_INT_EQ(f.host.ncalls, 2);
    complete(&f.host, 0, NULL, 200, "{\"id\":7,\"name\":\"Ada\"}");
    ASSERT_INT_EQ(f.host.ncalls, 3);
    ASSERT_STR_EQ(f.host.calls[2].path, "/orders?user=7");
    ASSERT_INT_EQ(f.host.done_count, 0);
    complete(&f.host, 2, NULL, 200, "{\"orders\":[]}");
    ASSERT_INT_EQ(f.host.done_count, 1);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    ASSERT_INT_EQ(bff_exec_partial(f.exec), 0);
    ASSERT_STR_EQ(value_of(&f, "user.name"), "\"Ada\"");
    ASSERT_STR_EQ(value_of(&f, "orders.orders"), "[]");
    ASSERT_INT_EQ(bff_exec_outcome(f.exec, 1)->duration_us, 1000);
    teardown(&f);
}

static void test_identical_calls_coalesce(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /c\n"
              "sources:\n"
              "  a: { upstream: users, path: /same }\n"
              "  b: { upstream: users, path: /same }\n"
              "  c: { upstream: orders, path: /same }\n"
              "  d: { upstream: users, path: /same, headers: { X-Other: yes } }\n"
              "response: { a: a, b: b }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    /* a and b are one call; another upstream or another header is another call. */
    ASSERT_INT_EQ(f.host.ncalls, 3);
    complete(&f.host, 0, NULL, 200, "1");
    ASSERT_INT_EQ(bff_exec_outcome(f.exec, 0)->state, BFF_SRC_DONE);
    ASSERT_INT_EQ(bff_exec_outcome(f.exec, 1)->state, BFF_SRC_DONE);
    ASSERT_STR_EQ(value_of(&f, "b"), "1");
    complete(&f.host, 1, NULL, 200, "2");
    complete(&f.host, 2, NULL, 200, "3");
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    ASSERT_STR_EQ(value_of(&f, "d"), "3");
    teardown(&f);
}

static void test_for_each_cap_and_order(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /f\n"
              "sources:\n"
              "  list: { upstream: orders, path: /list }\n"
              "  detail:\n"
              "    upstream: catalog\n"
              "    path: \"/items/{item.id}\"\n"
              "    for_each: { items: list.items, concurrency: 2, max: 4 }\n"
              "response: { d: detail }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    ASSERT_INT_EQ(f.host.ncalls, 1);
    complete(&f.host, 0, NULL, 200,
             "{\"items\":[{\"id\":1},{\"id\":2},{\"id\":3},{\"id\":2},{\"id\":5},{\"id\":6}]}");
    /* Two at a time. */
    ASSERT_INT_EQ(f.host.ncalls, 3);
    ASSERT_STR_EQ(f.host.calls[1].path, "/items/1");
    ASSERT_STR_EQ(f.host.calls[2].path, "/items/2");
    ASSERT_TRUE(bff_exec_has_unstarted_work(f.exec));
    complete(&f.host, 2, NULL, 200, "\"two\"");
    /* A slot freed: the third item starts. */
    ASSERT_INT_EQ(f.host.ncalls, 4);
    ASSERT_STR_EQ(f.host.calls[3].path, "/items/3");
    ASSERT_TRUE(bff_exec_has_unstarted_work(f.exec));
    complete(&f.host, 3, NULL, 200, "\"three\"");
    /* The fourth repeats item 2, answered already: it joins that call instead of a new one. */
    ASSERT_INT_EQ(f.host.ncalls, 4);
    ASSERT_TRUE(!bff_exec_has_unstarted_work(f.exec));
    ASSERT_INT_EQ(f.host.done_count, 0);
    complete(&f.host, 1, NULL, 200, "\"one\"");
    /* max: 4 cut items 5 and 6; results keep the array's order, not the arrival order. */
    ASSERT_INT_EQ(f.host.ncalls, 4);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    ASSERT_STR_EQ(value_of(&f, "detail"), "[\"one\",\"two\",\"three\",\"two\"]");
    teardown(&f);
}

static void test_for_each_partial_and_input_failure(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /p\n"
              "sources:\n"
              "  list: { upstream: orders, path: /list }\n"
              "  detail:\n"
              "    upstream: catalog\n"
              "    path: \"/items/{item}\"\n"
              "    optional: true\n"
              "    for_each: { items: list, concurrency: 8 }\n"
              "response: { d: detail }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    complete(&f.host, 0, NULL, 200, "[\"a\",\"b\",\"c\"]");
    ASSERT_INT_EQ(f.host.ncalls, 4);
    complete(&f.host, 1, NULL, 200, "1");
    complete(&f.host, 2, bff_err_upstream_status, 503, NULL);
    complete(&f.host, 3, NULL, 200, "not json");
    const bff_source_outcome_t *o = bff_exec_outcome(f.exec, 1);
    ASSERT_INT_EQ(o->state, BFF_SRC_DONE);
    ASSERT_TRUE(o->err == bff_err_partial);
    ASSERT_STR_EQ(o->detail, "2 of 3 items failed: #1 (b), #2 (c)"); /* index and key */
    ASSERT_STR_EQ(value_of(&f, "detail"), "[1,null,null]");
    ASSERT_INT_EQ(bff_exec_partial(f.exec), 1);
    teardown(&f);

    /* The list itself fails: the for-each source fails too ("input failed"), with no call. */
    if (setup(&f,
              "endpoint: GET /p\n"
              "sources:\n"
              "  list: { upstream: orders, path: /list, optional: true }\n"
              "  detail:\n"
              "    upstream: catalog\n"
              "    path: \"/items/{item}\"\n"
              "    optional: true\n"
              "    for_each: { items: list }\n"
              "response: { d: detail }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    complete(&f.host, 0, bff_err_upstream_timeout, 0, NULL);
    ASSERT_INT_EQ(f.host.ncalls, 1);
    ASSERT_TRUE(bff_exec_outcome(f.exec, 1)->err == bff_err_input_failed);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    teardown(&f);
}

static void test_batch_joins_items(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /b\n"
              "sources:\n"
              "  list: { upstream: orders, path: /list }\n"
              "  prices:\n"
              "    upstream: catalog\n"
              "    path: \"/prices?ids={items}\"\n"
              "    batch: { items: \"list[*].sku\", separator: \",\", max: 3 }\n"
              "response: { p: prices }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    complete(&f.host, 0, NULL, 200,
             "[{\"sku\":\"a b\"},{\"sku\":\"c\"},{\"sku\":\"d\"},{\"sku\":\"e\"}]");
    /* Each element is URL-encoded, the separator is not; max: 3 splits the list into calls of
     * at most three, whose answers merge into one value. */
    ASSERT_INT_EQ(f.host.ncalls, 3);
    ASSERT_STR_EQ(f.host.calls[1].path, "/prices?ids=a%20b,c,d");
    ASSERT_STR_EQ(f.host.calls[2].path, "/prices?ids=e");
    complete(&f.host, 2, NULL, 200, "{\"prices\":[4]}");
    ASSERT_INT_EQ(f.host.done_count, 0);
    complete(&f.host, 1, NULL, 200, "{\"ok\":true,\"prices\":[1,2,3]}");
    ASSERT_STR_EQ(value_of(&f, "prices.ok"), "true");
    ASSERT_STR_EQ(value_of(&f, "prices.prices"), "[1,2,3,4]"); /* chunk order, not arrival */
    teardown(&f);
}

static void test_fallback_and_required_failure(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /x\n"
              "sources:\n"
              "  user: { upstream: users, path: /u }\n"
              "  recs: { upstream: catalog, path: /r, optional: true, fallback: { items: [] } }\n"
              "  slow: { upstream: orders, path: /s, optional: true }\n"
              "response: { r: recs.items }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    complete(&f.host, 1, bff_err_circuit_open, 0, NULL);
    const bff_source_outcome_t *o = bff_exec_outcome(f.exec, 1);
    ASSERT_INT_EQ(o->state, BFF_SRC_FAILED);
    ASSERT_TRUE(o->err == bff_err_circuit_open);
    ASSERT_STR_EQ(value_of(&f, "recs.items"), "[]"); /* the fallback stands in */
    ASSERT_INT_EQ(f.host.done_count, 0);
    /* A required failure ends the run at once and cancels what is still out. */
    complete(&f.host, 0, bff_err_upstream_status, 500, NULL);
    ASSERT_INT_EQ(f.host.done_count, 1);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_FAILED);
    ASSERT_INT_EQ(bff_exec_failed_source(f.exec), 0);
    ASSERT_INT_EQ(bff_exec_outcome(f.exec, 0)->status, 500);
    ASSERT_TRUE(f.host.calls[2].cancelled);
    teardown(&f);
}

static void test_invalid_json_and_head(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /j\n"
              "sources:\n"
              "  bad: { upstream: users, path: /bad, optional: true }\n"
              "  probe: { upstream: users, method: HEAD, path: /probe }\n"
              "response: { p: probe }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    ASSERT_STR_EQ(f.host.calls[1].method, "HEAD");
    complete(&f.host, 0, NULL, 200, "{\"a\":");
    complete(&f.host, 1, NULL, 200, NULL); /* HEAD: no body, and that is fine */
    ASSERT_TRUE(bff_exec_outcome(f.exec, 0)->err == bff_err_invalid_json);
    ASSERT_STR_CONTAINS(bff_exec_outcome(f.exec, 0)->detail, "unexpected end of input");
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    ASSERT_STR_EQ(value_of(&f, "probe"), "null");
    teardown(&f);
}

static void test_deadline(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /t\n"
              "sources:\n"
              "  a: { upstream: users, path: /a }\n"
              "  b: { upstream: users, path: \"/b/{a.id}\" }\n"
              "response: { b: b }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    bff_exec_expire(f.exec, "the deadline passed");
    ASSERT_INT_EQ(f.host.done_count, 1);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_FAILED);
    ASSERT_TRUE(f.host.calls[0].cancelled);
    ASSERT_TRUE(bff_exec_outcome(f.exec, 0)->err == bff_err_upstream_timeout);
    ASSERT_TRUE(bff_exec_outcome(f.exec, 1)->err == bff_err_upstream_timeout);
    ASSERT_STR_EQ(bff_exec_outcome(f.exec, 1)->detail, "the deadline passed");
    bff_exec_expire(f.exec, "again"); /* once only */
    ASSERT_INT_EQ(f.host.done_count, 1);
    teardown(&f);
}

static void test_fail_fast_answers_from_start(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /ff\n"
              "sources:\n"
              "  a: { upstream: users, path: /a, optional: true }\n"
              "  b: { upstream: users, path: /b, optional: true }\n"
              "response: { a: a }\n",
              "{}") != 0)
        return;
    f.host.fail_fast = bff_err_circuit_open;
    f.host.destroy_in_done = 1; /* the host may free the run from on_done */
    bff_exec_start(f.exec);
    ASSERT_INT_EQ(f.host.done_count, 1);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    ASSERT_TRUE(f.host.exec == NULL);
    teardown(&f);
}

static void test_client_gone_and_destroy(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /g\n"
              "sources:\n"
              "  a: { upstream: users, path: /a }\n"
              "  b: { upstream: users, path: \"/b/{a.id}\" }\n"
              "  c: { upstream: orders, path: /c }\n"
              "response: { b: b }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    f.host.client_gone = 1;
    complete(&f.host, 0, NULL, 200, "{\"id\":1}");
    /* b would start now: the host is asked first, and the run ends without starting it. */
    ASSERT_INT_EQ(f.host.ncalls, 2);
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_ABANDONED);
    ASSERT_TRUE(f.host.calls[1].cancelled);
    teardown(&f);

    /* Destroyed while calls are out: they are cancelled and on_done never runs. */
    if (setup(&f,
              "endpoint: GET /g\n"
              "sources:\n"
              "  a: { upstream: users, path: /a }\n"
              "response: { a: a }\n",
              "{}") != 0)
        return;
    bff_exec_start(f.exec);
    bff_exec_destroy(f.exec);
    f.host.exec = NULL;
    ASSERT_TRUE(f.host.calls[0].cancelled);
    ASSERT_INT_EQ(f.host.done_count, 0);
    teardown(&f);
}

static void test_request_values_and_bodies(void)
{
    fixture_t f;
    if (setup(&f,
              "endpoint: GET /r/{id}\n"
              "sources:\n"
              "  a:\n"
              "    upstream: users\n"
              "    method: POST\n"
              "    path: \"/a/{id}?q={header.x-q}\"\n"
              "    headers: { Authorization: \"{header.authorization}\" }\n"
              "    body: { user: id, fixed: { $value: 1 } }\n"
              "  b: { upstream: users, path: \"/b/{missing.x}\", optional: true }\n"
              "  missing: { upstream: orders, path: /m, optional: true }\n"
              "response: { a: a }\n",
              "{\"id\":\"a/b c\",\"header\":{\"x-q\":\"1&2\",\"authorization\":\"Bearer t\"}}") !=
        0)
        return;
    bff_exec_start(f.exec);
    ASSERT_STR_EQ(f.host.calls[0].path, "/a/a%2Fb%20c?q=1%262");
    ASSERT_STR_EQ(f.host.calls[0].method, "POST");
    ASSERT_STR_CONTAINS(f.host.calls[0].headers, "Authorization: Bearer t\n");
    ASSERT_STR_CONTAINS(f.host.calls[0].headers, "Content-Type: application/json\n");
    ASSERT_STR_EQ(f.host.calls[0].body, "{\"user\":\"a/b c\",\"fixed\":1}");
    /* A URL whose value is missing is not sent: the source fails as a bad request. */
    complete(&f.host, 1, NULL, 200, "{}");
    ASSERT_INT_EQ(f.host.ncalls, 2);
    ASSERT_TRUE(bff_exec_outcome(f.exec, 1)->err == bff_err_bad_request);
    ASSERT_STR_CONTAINS(bff_exec_outcome(f.exec, 1)->detail, "missing.x");
    complete(&f.host, 0, NULL, 201, "{}");
    ASSERT_INT_EQ(f.host.done_state, BFF_EXEC_COMPLETE);
    teardown(&f);
}

int main(void)
{
    TAP_RUN(test_dependency_order);
    TAP_RUN(test_identical_calls_coalesce);
    TAP_RUN(test_for_each_cap_and_order);
    TAP_RUN(test_for_each_partial_and_input_failure);
    TAP_RUN(test_batch_joins_items);
    TAP_RUN(test_fallback_and_required_failure);
    TAP_RUN(test_invalid_json_and_head);
    TAP_RUN(test_deadline);
    TAP_RUN(test_fail_fast_answers_from_start);
    TAP_RUN(test_client_gone_and_destroy);
    TAP_RUN(test_request_values_and_bodies);
    TAP_DONE();
}
