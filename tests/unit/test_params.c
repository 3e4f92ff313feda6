/* Parameter parsing, table-driven: each case is a spec's parameter declarations, a request's
 * path values and query string, and either the request doc it must produce or the 400
 * message and the parameter named. */
#include "server/http/params.h"

#include "tests/unit/tap.h"

/* Cases that must succeed leave the error fields out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const char *const upstreams[] = {"users"};

typedef struct param_case {
    const char *name;
    const char *spec; /* YAML after the endpoint line */
    const char *route;
    const char *path_value; /* the single path value, raw; NULL = none */
    const char *query;      /* raw, without '?'; NULL = none */
    const char *doc;        /* expected request doc, or NULL when it must fail */
    const char *error;      /* expected message (substring) */
    const char *bad;        /* the parameter named, or NULL */
} param_case_t;

static const param_case_t cases[] = {
    {"path string decoded once", "", "GET /u/{id}", "a%2Fb%20c", NULL, "{\"id\":\"a/b c\"}"},
    {"plus is a plus in a path", "", "GET /u/{id}", "a+b", NULL, "{\"id\":\"a+b\"}"},
    {"plus is a space in a query", "query: { q: {} }\n", "GET /s", NULL, "q=a+b%21",
     "{\"q\":\"a b!\"}"},
    {"int within bounds", "params: { id: { type: int, min: 1, max: 10 } }\n", "GET /u/{id}", "7",
     NULL, "{\"id\":7}"},
    {"int out of bounds", "params: { id: { type: int, min: 1, max: 10 } }\n", "GET /u/{id}", "11",
     NULL, NULL, "must be an integer between 1 and 10", "id"},
    {"int not a number", "params: { id: { type: int } }\n", "GET /u/{id}", "7x", NULL, NULL,
     "must be an integer", "id"},
    {"int with a fraction", "params: { id: { type: int } }\n", "GET /u/{id}", "7.5", NULL, NULL,
     "must be an integer", "id"},
    {"number keeps its text", "query: { p: { type: number } }\n", "GET /s", NULL, "p=-1.50e3",
     "{\"p\":-1.50e3}"},
    {"number not in JSON's grammar", "query: { p: { type: number } }\n", "GET /s", NULL, "p=%2B5",
     NULL, "must be a number", "p"},
    {"number hex refused", "query: { p: { type: number } }\n", "GET /s", NULL, "p=0x10", NULL,
     "must be a number", "p"},
    {"bool words", "query: { b: { type: bool } }\n", "GET /s", NULL, "b=1", "{\"b\":true}"},
    {"bool other", "query: { b: { type: bool } }\n", "GET /s", NULL, "b=yes", NULL,
     "must be true or false", "b"},
    {"enum", "query: { s: { enum: [new, old] } }\n", "GET /s", NULL, "s=mid", NULL,
     "must be one of the allowed values", "s"},
    {"max_length", "query: { s: { max_length: 3 } }\n", "GET /s", NULL, "s=abcd", NULL,
     "longer than 3 characters", "s"},
    {"required query missing", "query: { s: { required: true } }\n", "GET /s", NULL, "t=1", NULL,
     "query parameter 's' is required", "s"},
    {"default applies", "query: { limit: { type: int, default: 10 } }\n", "GET /s", NULL, NULL,
     "{\"limit\":10}"},
    {"absent optional left out", "query: { s: {} }\n", "GET /s", NULL, "", "{}"},
    {"first of repeated wins", "query: { s: {} }\n", "GET /s", NULL, "s=1&s=2", "{\"s\":\"1\"}"},
    {"empty value", "query: { s: {} }\n", "GET /s", NULL, "s", "{\"s\":\"\"}"},
    {"bad escape", "query: { s: {} }\n", "GET /s", NULL, "s=%zz", NULL,
     "malformed percent-encoding", "s"},
    {"encoded NUL refused", "", "GET /u/{id}", "a%00b", NULL, NULL, "malformed percent-encoding",
     "id"},
    {"truncated escape", "", "GET /u/{id}", "a%2", NULL, NULL, "malformed percent-encoding", "id"},
    {"invalid UTF-8 refused (found by fuzz_request)", "query: { q: {} }\n", "GET /s", NULL,
     "q=a%89%8Cb", NULL, "is not valid UTF-8", "q"},
    {"overlong UTF-8 refused", "query: { q: {} }\n", "GET /s", NULL, "q=%C0%AF", NULL,
     "is not valid UTF-8", "q"},
    {"dot-segment refused", "", "GET /u/{id}", "%2e%2E", NULL, NULL, "cannot be '.' or '..'", "id"},
    {"single dot refused", "", "GET /u/{id}", ".", NULL, NULL, "cannot be '.' or '..'", "id"},
    {"dots inside a value pass", "", "GET /u/{id}", "a..b", NULL, "{\"id\":\"a..b\"}"},
    {"utf-8 and quotes escaped", "", "GET /u/{id}", "%C3%A9%22", NULL, "{\"id\":\"\xc3\xa9\\\"\"}"},
};

static void run_case(const param_case_t *c)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "endpoint: %s\n%sresponse: { ok: { $value: true } }\n", c->route,
             c->spec);
    bff_diag_t diag = {0};
    bff_yaml_doc_t *doc = bff_yaml_load_string("p.yaml", yaml, strlen(yaml), &diag);
    bff_spec_env_t env = {upstreams, 1};
    bff_spec_t *spec = doc ? bff_spec_parse(bff_yaml_root(doc), &env, &diag) : NULL;
    bff_yaml_free(doc);
    bff_diag_clear(&diag);
    if (spec == NULL) {
        TAP_FAIL("%s: the case's spec does not compile", c->name);
        return;
    }
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_headers_t headers = {NULL, 0, 0};
    h2o_iovec_t value = c->path_value ? h2o_iovec_init(c->path_value, strlen(c->path_value))
                                      : h2o_iovec_init(NULL, 0);
    h2o_iovec_t query =
        c->query ? h2o_iovec_init(c->query, strlen(c->query)) : h2o_iovec_init(NULL, 0);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, 4096);
    char msg[256] = "";
    const char *bad = NULL;
    int ret = bff_params_build(spec, &value, query, &headers, h2o_iovec_init(NULL, 0), &pool, &w,
                               msg, sizeof(msg), &bad);
    if (c->doc != NULL) {
        if (ret != 0)
            TAP_FAIL("%s: failed with '%s'", c->name, msg);
        else if (w.len != strlen(c->doc) || memcmp(w.buf, c->doc, w.len) != 0)
            TAP_FAIL("%s: doc %.*s, expected %s", c->name, (int)w.len, w.buf, c->doc);
    } else {
        if (ret == 0)
            TAP_FAIL("%s: accepted (%.*s)", c->name, (int)w.len, w.buf);
        else if (strstr(msg, c->error) == NULL)
            TAP_FAIL("%s: message '%s' lacks '%s'", c->name, msg, c->error);
        else if ((bad == NULL) != (c->bad == NULL) || (bad && strcmp(bad, c->bad) != 0))
            TAP_FAIL("%s: names '%s', expected '%s'", c->name, bad ? bad : "(none)",
                     c->bad ? c->bad : "(none)");
    }
    bff_jwrite_dispose(&w);
    h2o_mem_clear_pool(&pool);
    bff_spec_free(spec);
}

static void test_cases(void)
{
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i)
        run_case(cases + i);
}

static void test_headers_into_doc(void)
{
    const char *yaml = "endpoint: GET /h\n"
                       "sources: { a: { upstream: users, path: \"/a?t={header.X-Tenant}\" } }\n"
                       "response: { a: a }\n";
    bff_diag_t diag = {0};
    bff_yaml_doc_t *doc = bff_yaml_load_string("h.yaml", yaml, strlen(yaml), &diag);
    bff_spec_env_t env = {upstreams, 1};
    bff_spec_t *spec = bff_spec_parse(bff_yaml_root(doc), &env, &diag);
    bff_yaml_free(doc);
    ASSERT_TRUE(spec != NULL);
    if (spec == NULL)
        return;
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_headers_t headers = {NULL, 0, 0};
    h2o_add_header_by_str(&pool, &headers, H2O_STRLIT("x-tenant"), 0, NULL, H2O_STRLIT("t\"1"));
    h2o_add_header_by_str(&pool, &headers, H2O_STRLIT("x-other"), 0, NULL, H2O_STRLIT("no"));
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, 4096);
    char msg[256];
    const char *bad;
    ASSERT_INT_EQ(bff_params_build(spec, NULL, h2o_iovec_init(NULL, 0), &headers,
                                   h2o_iovec_init(NULL, 0), &pool, &w, msg, sizeof(msg), &bad),
                  0);
    /* Only the headers the spec reads, under lower-cased names, escaped. */
    ASSERT_TRUE(w.len == strlen("{\"header\":{\"x-tenant\":\"t\\\"1\"}}") &&
                memcmp(w.buf, "{\"header\":{\"x-tenant\":\"t\\\"1\"}}", w.len) == 0);
    bff_jwrite_dispose(&w);
    h2o_mem_clear_pool(&pool);
    bff_spec_free(spec);
    bff_diag_clear(&diag);
}

int main(void)
{
    TAP_RUN(test_cases);
    TAP_RUN(test_headers_into_doc);
    TAP_DONE();
}
