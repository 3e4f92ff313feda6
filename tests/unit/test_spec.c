/* Unit tests for compose/spec.c: tests/cases/spec/valid|invalid folders (invalid cases name the
 * expected `file:line:column: message`), then the derived facts: dependency masks and order,
 * request headers, route matching and route identity. */
#include "compose/spec.c"

#include <dirent.h>

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

static const char *const upstream_names[] = {"users", "orders", "catalog", "notifications",
                                             "shipping"};
static const bff_spec_env_t spec_env = {upstream_names, 5};

/* Sorted names in `dir` ending with `suffix` (caller frees each and the array). */
static char **list_dir(const char *dir, const char *suffix, size_t *count)
{
    char **names = NULL;
    size_t n = 0, sl = strlen(suffix);
    DIR *d = opendir(dir);
    *count = 0;
    if (d == NULL)
        return NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
            continue;
        names = bff_realloc(names, (n + 1) * sizeof(*names));
        names[n++] = bff_strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; ++i)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; --j) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    *count = n;
    return names;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(names[i]);
    free(names);
}

/* A loaded spec with the YAML it came from. */
typedef struct {
    bff_yaml_doc_t *doc;
    bff_spec_t *spec;
    bff_diag_t diag;
} loaded_t;

static void load_text(loaded_t *l, const char *text)
{
    memset(l, 0, sizeof(*l));
    l->doc = bff_yaml_load_string("t.yaml", text, strlen(text), &l->diag);
    if (l->doc != NULL)
        l->spec = bff_spec_parse(bff_yaml_root(l->doc), &spec_env, &l->diag);
}

static void load_path(loaded_t *l, const char *path)
{
    memset(l, 0, sizeof(*l));
    l->doc = bff_yaml_load_file(path, &l->diag);
    if (l->doc != NULL)
        l->spec = bff_spec_parse(bff_yaml_root(l->doc), &spec_env, &l->diag);
}

static void load_case(loaded_t *l, const char *kind, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/cases/spec/%s/%s", source_dir(), kind, name);
    load_path(l, path);
}

static void unload(loaded_t *l)
{
    bff_spec_free(l->spec);
    bff_yaml_free(l->doc);
    bff_diag_clear(&l->diag);
}

static void clear_case_env(void)
{
    unsetenv("BFF_TEST_SPEC_METHOD");
    unsetenv("BFF_TEST_SPEC_TIMEOUT");
    unsetenv("BFF_TEST_SPEC_UPSTREAM");
}

static ssize_t source_index(const bff_spec_t *spec, const char *name)
{
    for (size_t i = 0; i != spec->plan.nsources; ++i)
        if (strcmp(spec->plan.sources[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

/* Every source appears once in `order`, after all of its dependencies. */
static int order_is_topological(const bff_spec_t *spec)
{
    uint64_t placed = 0;
    for (size_t i = 0; i != spec->plan.nsources; ++i) {
        unsigned s = spec->plan.order[i];
        if (s >= spec->plan.nsources || (placed & ((uint64_t)1 << s)) ||
            (spec->plan.sources[s].deps & ~placed) != 0)
            return 0;
        placed |= (uint64_t)1 << s;
    }
    return 1;
}

static void test_valid_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/spec/valid", source_dir());
    size_t n;
    char **names = list_dir(dir, ".yaml", &n);
    ASSERT_TRUE(n >= 5);
    clear_case_env();
    for (size_t i = 0; i != n; ++i) {
        loaded_t l;
        load_case(&l, "valid", names[i]);
        if (l.spec == NULL)
            TAP_FAIL("%s: rejected:\n%s", names[i], diag_text(&l.diag));
        else if (l.diag.size != 0)
            TAP_FAIL("%s: accepted with errors:\n%s", names[i], diag_text(&l.diag));
        else if (!order_is_topological(l.spec))
            TAP_FAIL("%s: order is not topological", names[i]);
        unload(&l);
    }
    free_list(names, n);
}

/* Each invalid/<name>.yaml fails, and every line of <name>.err appears in its diagnostics. */
static void test_invalid_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/spec/invalid", source_dir());
    size_t n, nerr;
    char **names = list_dir(dir, ".yaml", &n), **errs = list_dir(dir, ".err", &nerr);
    ASSERT_TRUE(n >= 12);
    ASSERT_INT_EQ(n, nerr); /* every case states its expected error */
    for (size_t i = 0; i != n; ++i) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%.*s.err", dir, (int)(strlen(names[i]) - 5), names[i]);
        char *expected = read_file(path, NULL);
        if (expected == NULL || expected[0] == '\0') {
            TAP_FAIL("%s: no expected error file", names[i]);
            free(expected);
            continue;
        }
        loaded_t l;
        load_case(&l, "invalid", names[i]);
        if (l.spec != NULL)
            TAP_FAIL("%s: accepted", names[i]);
        if (l.diag.size == 0)
            TAP_FAIL("%s: rejected without a message", names[i]);
        const char *got = diag_text(&l.diag);
        for (char *line = strtok(expected, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (strstr(got, line) == NULL)
                TAP_FAIL("%s:\n#     expected: %s\n#     got:      %s", names[i], line, got);
        }
        free(expected);
        unload(&l);
    }
    free_list(names, n);
    free_list(errs, nerr);
}

static void test_env_positions(void)
{
    /* An expanded value keeps the position of the text it came from. */
    setenv("BFF_TEST_SPEC_UPSTREAM", "billing", 1);
    loaded_t l;
    load_case(&l, "valid", "anchors_env.yaml");
    ASSERT_TRUE(l.spec == NULL);
    ASSERT_STR_CONTAINS(diag_text(&l.diag),
                        "anchors_env.yaml:6:15: source 'user' uses upstream 'billing', which the "
                        "profile does not define");
    unload(&l);
    clear_case_env();
    setenv("BFF_TEST_SPEC_METHOD", "PATCH", 1);
    setenv("BFF_TEST_SPEC_TIMEOUT", "2s", 1);
    load_case(&l, "valid", "anchors_env.yaml");
    ASSERT_TRUE(l.spec != NULL);
    if (l.spec != NULL) {
        ASSERT_STR_EQ(l.spec->method, "PATCH");
        ASSERT_INT_EQ(l.spec->timeout_ms, 2000);
    }
    unload(&l);
    clear_case_env();
}

static void test_model_of_dashboard(void)
{
    loaded_t l;
    load_case(&l, "valid", "dashboard.yaml");
    const bff_spec_t *s = l.spec;
    ASSERT_TRUE(s != NULL);
    if (s == NULL)
        return;
    ASSERT_STR_EQ(s->method, "GET");
    ASSERT_STR_EQ(s->route, "/dashboard/{userId}");
    ASSERT_STR_EQ(s->description, "Home screen in one round trip.");
    ASSERT_INT_EQ(s->line, 2);
    ASSERT_INT_EQ(s->column, 11);
    ASSERT_INT_EQ(s->timeout_ms, 1500);
    ASSERT_INT_EQ(s->nsegments, 2);
    ASSERT_STR_EQ(s->segments[0].literal, "dashboard");
    ASSERT_TRUE(s->segments[1].literal == NULL);
    ASSERT_INT_EQ(s->segments[1].param, 0);

    ASSERT_INT_EQ(s->nparams, 4); /* path parameters first, then query in order */
    const bff_param_t *p = s->params;
    ASSERT_STR_EQ(p[0].name, "userId");
    ASSERT_INT_EQ(p[0].in_path, 1);
    ASSERT_INT_EQ(p[0].required, 1);
    ASSERT_INT_EQ(p[0].max_length, 64);
    ASSERT_STR_EQ(p[1].name, "limit");
    ASSERT_INT_EQ(p[1].in_path, 0);
    ASSERT_INT_EQ(p[1].type, BFF_PARAM_INT);
    ASSERT_STR_EQ(p[1].default_value, "5");
    ASSERT_INT_EQ(p[1].has_min, 1);
    ASSERT_INT_EQ(p[1].has_max, 1);
    ASSERT_TRUE(p[1].min == 1.0 && p[1].max == 10.0);
    ASSERT_STR_EQ(p[2].name, "lang");
    ASSERT_INT_EQ(p[2].nenum, 3);
    ASSERT_STR_EQ(p[2].enum_values[2], "fr");
    ASSERT_INT_EQ(p[2].required, 0);
    ASSERT_INT_EQ(p[3].type, BFF_PARAM_BOOL);
    ASSERT_TRUE(p[3].default_value == NULL);

    ASSERT_INT_EQ(s->plan.nsources, 4);
    const bff_source_t *user = s->plan.sources, *orders = s->plan.sources + 1,
                       *unread = s->plan.sources + 3;
    ASSERT_STR_EQ(user->name, "user");
    ASSERT_INT_EQ(user->line, 12);
    ASSERT_INT_EQ(user->column, 3);
    ASSERT_INT_EQ(user->upstream, 0);
    ASSERT_STR_EQ(user->method, "GET");
    ASSERT_INT_EQ(user->timeout_ms, 300);
    ASSERT_INT_EQ(user->retries, 2);
    ASSERT_INT_EQ(user->optional, 0);
    ASSERT_INT_EQ(user->mode, BFF_SOURCE_ONCE);
    ASSERT_STR_EQ(user->path.text, "/users/{userId}");
    ASSERT_INT_EQ(user->path.nparts, 2);
    ASSERT_INT_EQ(user->path.parts[1].binding, BFF_BIND_REQUEST);
    ASSERT_INT_EQ(orders->optional, 1);
    ASSERT_STR_EQ(orders->fallback_json, "{\"orders\":[]}");
    ASSERT_INT_EQ(orders->upstream, 1);
    ASSERT_INT_EQ(unread->upstream, 3);
    ASSERT_TRUE(unread->fallback_json == NULL);
    for (size_t i = 0; i != 4; ++i) {
        ASSERT_INT_EQ(s->plan.sources[i].deps, 0);
        ASSERT_INT_EQ(s->plan.order[i], i); /* independent sources keep declaration order */
    }
    ASSERT_INT_EQ(s->nrequest_headers, 0);
    ASSERT_TRUE(s->response != NULL && s->response->kind == BFF_SHAPE_OBJECT);
    unload(&l);
}

static void test_deps_and_order(void)
{
    loaded_t l;
    load_case(&l, "valid", "chain_headers.yaml");
    const bff_spec_t *s = l.spec;
    ASSERT_TRUE(s != NULL);
    if (s == NULL)
        return;
    ssize_t notify = source_index(s, "notify"), user = source_index(s, "user"),
            order = source_index(s, "order");
    ASSERT_TRUE(notify == 0 && user == 1 && order == 2);
    /* notify reads user (path) and order (header, body); user reads order; order reads a param. */
    ASSERT_INT_EQ(s->plan.sources[0].deps, (1u << 1) | (1u << 2));
    ASSERT_INT_EQ(s->plan.sources[1].deps, 1u << 2);
    ASSERT_INT_EQ(s->plan.sources[2].deps, 0);
    ASSERT_INT_EQ(s->plan.order[0], 2);
    ASSERT_INT_EQ(s->plan.order[1], 1);
    ASSERT_INT_EQ(s->plan.order[2], 0);
    ASSERT_STR_EQ(s->plan.sources[0].method, "POST");
    ASSERT_INT_EQ(s->plan.sources[0].nheaders, 2);
    ASSERT_STR_EQ(s->plan.sources[0].headers[0].name, "X-Tenant");
    ASSERT_TRUE(s->plan.sources[0].body != NULL);
    unload(&l);

    /* for_each / batch: the items path makes a dependency; `item` does not. */
    load_case(&l, "valid", "for_each_batch.yaml");
    s = l.spec;
    ASSERT_TRUE(s != NULL);
    if (s == NULL)
        return;
    const bff_source_t *products = s->plan.sources + 1, *prices = s->plan.sources + 2;
    ASSERT_INT_EQ(products->mode, BFF_SOURCE_FOR_EACH);
    ASSERT_INT_EQ(products->deps, 1);
    ASSERT_INT_EQ(products->items_binding, 0);
    ASSERT_INT_EQ(products->concurrency, 4);
    ASSERT_INT_EQ(products->max_items, 20);
    ASSERT_INT_EQ(products->path.parts[1].binding, BFF_BIND_ITEM);
    ASSERT_INT_EQ(prices->mode, BFF_SOURCE_BATCH);
    ASSERT_STR_EQ(prices->separator, ";");
    ASSERT_INT_EQ(prices->max_items, 50);
    ASSERT_INT_EQ(prices->items.multi, 1);
    ASSERT_INT_EQ(prices->path.parts[1].binding, BFF_BIND_ITEM);
    ASSERT_INT_EQ(prices->deps, 1);
    unload(&l);

    /* A diamond, declared bottom-up. */
    load_text(&l, "endpoint: GET /d/{id}\n"
                  "sources:\n"
                  "  d: {upstream: users, path: \"/d/{b.x}/{c.y}\"}\n"
                  "  c: {upstream: users, path: \"/c/{a.z}\"}\n"
                  "  b: {upstream: users, path: \"/b/{a.z}\"}\n"
                  "  a: {upstream: users, path: \"/a/{id}\"}\n"
                  "response: {d: d}\n");
    s = l.spec;
    ASSERT_STR_EQ(diag_text(&l.diag), "");
    if (s != NULL) {
        ASSERT_INT_EQ(s->plan.sources[0].deps, 0x6);
        ASSERT_INT_EQ(s->plan.sources[1].deps, 0x8);
        ASSERT_INT_EQ(s->plan.sources[2].deps, 0x8);
        ASSERT_INT_EQ(s->plan.sources[3].deps, 0);
        ASSERT_TRUE(order_is_topological(s));
        ASSERT_INT_EQ(s->plan.order[0], 3);
        ASSERT_INT_EQ(s->plan.order[3], 0);
    }
    unload(&l);

    /* Dependencies from a body shape and from the response (the latter add none). */
    load_text(&l, "endpoint: POST /p\n"
                  "sources:\n"
                  "  a: {upstream: users, path: /a}\n"
                  "  b:\n"
                  "    upstream: users\n"
                  "    path: /b\n"
                  "    method: POST\n"
                  "    body: {x: a.x, y: {$merge: [a.p, {$value: {q: 1}}]}}\n"
                  "response: {a: a, b: b}\n");
    ASSERT_STR_EQ(diag_text(&l.diag), "");
    if (l.spec != NULL) {
        ASSERT_INT_EQ(l.spec->plan.sources[0].deps, 0);
        ASSERT_INT_EQ(l.spec->plan.sources[1].deps, 1);
    }
    unload(&l);

    /* A cycle names its own sources only: not those that merely wait behind it. */
    load_text(&l, "endpoint: GET /c\n"
                  "sources:\n"
                  "  behind: {upstream: users, path: \"/x/{a.id}\"}\n"
                  "  a: {upstream: users, path: \"/a/{b.id}\"}\n"
                  "  b: {upstream: users, path: \"/b/{a.id}\"}\n"
                  "  c: {upstream: users, path: \"/c/{c2.id}\"}\n"
                  "  c2: {upstream: users, path: \"/c2/{c.id}\"}\n"
                  "response: {a: a}\n");
    ASSERT_STR_EQ(diag_text(&l.diag),
                  "t.yaml:4:3: sources depend on each other in a cycle: a, b, c, c2");
    unload(&l);
}

static void test_many_sources(void)
{
    /* 64 sources in a chain (s63 <- s62 <- ... <- s0) use every bit of the mask. */
    char *text = bff_malloc(64 * 80 + 256);
    size_t n = (size_t)snprintf(text, 64, "endpoint: GET /chain\nsources:\n");
    for (int i = 63; i >= 0; --i) {
        if (i == 0)
            n += (size_t)snprintf(text + n, 80, "  s0: {upstream: users, path: /s}\n");
        else
            n += (size_t)snprintf(text + n, 80, "  s%d: {upstream: users, path: \"/s/{s%d.id}\"}\n",
                                  i, i - 1);
    }
    snprintf(text + n, 64, "response: {last: s63.id}\n");
    loaded_t l;
    load_text(&l, text);
    ASSERT_STR_EQ(diag_text(&l.diag), "");
    if (l.spec != NULL) {
        ASSERT_INT_EQ(l.spec->plan.nsources, 64);
        /* Declared first, s63 depends on s62, declared second: bit 1. s1 (index 62) needs bit 63.
         */
        ASSERT_INT_EQ(l.spec->plan.sources[0].deps, (uint64_t)1 << 1);
        ASSERT_TRUE(l.spec->plan.sources[62].deps == (uint64_t)1 << 63);
        ASSERT_INT_EQ(l.spec->plan.order[0], 63);
        ASSERT_INT_EQ(l.spec->plan.order[63], 0);
        ASSERT_TRUE(order_is_topological(l.spec));
    }
    unload(&l);

    /* 65 are too many. */
    n = (size_t)snprintf(text, 64, "endpoint: GET /many\nsources:\n");
    for (int i = 0; i < 65; ++i)
        n += (size_t)snprintf(text + n, 80, "  s%d: {upstream: users, path: /s}\n", i);
    snprintf(text + n, 64, "response: {a: s0}\n");
    load_text(&l, text);
    ASSERT_TRUE(l.spec == NULL);
    ASSERT_STR_CONTAINS(diag_text(&l.diag), "t.yaml:3:3: at most 64 sources per endpoint");
    unload(&l);
    free(text);
}

static int has_header(const bff_spec_t *s, const char *name)
{
    for (size_t i = 0; i != s->nrequest_headers; ++i)
        if (strcmp(s->request_headers[i], name) == 0)
            return 1;
    return 0;
}

static void test_request_headers(void)
{
    loaded_t l;
    load_case(&l, "valid", "chain_headers.yaml");
    const bff_spec_t *s = l.spec;
    ASSERT_TRUE(s != NULL);
    if (s == NULL)
        return;
    /* Lower-cased, each once: X-Tenant and x-tenant are the same header. */
    ASSERT_TRUE(has_header(s, "x-tenant"));
    ASSERT_TRUE(has_header(s, "accept-language"));
    /* Read by the response shape, not by any source template. */
    ASSERT_TRUE(has_header(s, "user-agent"));
    ASSERT_INT_EQ(s->nrequest_headers, 3);

    /* The server puts the collected headers, lower-cased, under "header" in the request doc:
     * a template written with the header's usual capitals must find them there. */
    const char *reqjson = "{\"orderId\":\"o1\",\"header\":{\"x-tenant\":\"acme corp\"}}";
    bff_jdoc_t req = {0};
    ASSERT_INT_EQ(bff_jdoc_scan(&req, reqjson, strlen(reqjson), 0, 0, NULL, NULL), 0);
    bff_shape_env_t env = {.request_doc = &req};
    bff_jwrite_t out;
    bff_jwrite_init(&out, 64, 4096);
    bff_template_miss_t missing = {NULL, 0};
    const bff_template_t *xt = &s->plan.sources[0].headers[0].value; /* "{header.X-Tenant}" */
    ASSERT_INT_EQ(bff_template_render(xt, &env, 0, &out, &missing), 0);
    ASSERT_TRUE(missing.ref == NULL);
    ASSERT_INT_EQ(out.len, 9);
    ASSERT_TRUE(out.len == 9 && memcmp(out.buf, "acme corp", 9) == 0);
    bff_jwrite_reset(&out);
    ASSERT_INT_EQ(
        bff_template_render(&s->plan.sources[2].headers[0].value, &env, 1, &out, &missing), 0);
    ASSERT_TRUE(out.len == 11 && memcmp(out.buf, "acme%20corp", 11) == 0);
    bff_jwrite_dispose(&out);
    bff_jdoc_dispose(&req);
    unload(&l);

    /* Headers read by a body shape, $template and quoted names count too; bare `header` does not
     * name one, and a path parameter is not a header. */
    load_text(&l, "endpoint: POST /h/{id}\n"
                  "sources:\n"
                  "  a:\n"
                  "    upstream: users\n"
                  "    path: /a/{id}\n"
                  "    body:\n"
                  "      t: header.X-Trace-Id\n"
                  "      m: {$template: \"by {header.X-Mode}\"}\n"
                  "      q: 'header[\"X-Quoted\"]'\n"
                  "  b:\n"
                  "    upstream: users\n"
                  "    path: /b/{item}\n"
                  "    for_each: {items: header.X-Ids}\n"
                  "response:\n"
                  "  all: header\n"
                  "  id: id\n");
    ASSERT_STR_EQ(diag_text(&l.diag), "");
    if (l.spec != NULL) {
        ASSERT_TRUE(has_header(l.spec, "x-trace-id"));
        ASSERT_TRUE(has_header(l.spec, "x-mode"));
        ASSERT_TRUE(has_header(l.spec, "x-quoted"));
        ASSERT_TRUE(has_header(l.spec, "x-ids"));
        ASSERT_INT_EQ(l.spec->nrequest_headers, 4);
        ASSERT_INT_EQ(l.spec->plan.sources[1].items_binding, BFF_BIND_REQUEST);
    }
    unload(&l);
}

typedef struct {
    const char *path;
    int match;
    const char *v0, *v1;
} match_case_t;

static void check_matches(const char *route, const match_case_t *cases, size_t n)
{
    char text[256];
    snprintf(text, sizeof(text), "endpoint: GET %s\nresponse: {$value: 1}\n", route);
    loaded_t l;
    load_text(&l, text);
    ASSERT_STR_EQ(diag_text(&l.diag), "");
    if (l.spec == NULL) {
        unload(&l);
        return;
    }
    for (size_t i = 0; i != n; ++i) {
        size_t values[4][2] = {{0}};
        int got = bff_spec_match(l.spec, cases[i].path, strlen(cases[i].path), values) ? 1 : 0;
        if (got != cases[i].match) {
            TAP_FAIL("route %s, path '%s': match %d, expected %d", route, cases[i].path, got,
                     cases[i].match);
            continue;
        }
        const char *expect[2] = {cases[i].v0, cases[i].v1};
        for (size_t k = 0; k != 2 && got; ++k) {
            if (expect[k] == NULL)
                continue;
            char v[64];
            snprintf(v, sizeof(v), "%.*s", (int)values[k][1], cases[i].path + values[k][0]);
            ASSERT_STR_EQ(v, expect[k]);
        }
    }
    unload(&l);
}

static void test_match(void)
{
    static const match_case_t two[] = {
        {"/users/42/orders/7", 1, "42", "7"},
        {"/users/a%2Fb/orders/x-y.z", 1, "a%2Fb", "x-y.z"}, /* raw, still encoded */
        {"/users/42/orders/7/", 0, NULL, NULL},             /* no trailing slash */
        {"/users//orders/7", 0, NULL, NULL},                /* empty parameter */
        {"/users/42/orders/", 0, NULL, NULL},
        {"/users/42/orders", 0, NULL, NULL},
        {"/users/42/orders/7/x", 0, NULL, NULL},
        {"/Users/42/orders/7", 0, NULL, NULL}, /* literals are case-sensitive */
        {"users/42/orders/7", 0, NULL, NULL},
        {"/users/42/order/7", 0, NULL, NULL},
        {"", 0, NULL, NULL},
        {"/", 0, NULL, NULL},
    };
    check_matches("/users/{userId}/orders/{orderId}", two, sizeof(two) / sizeof(two[0]));

    static const match_case_t root[] = {
        {"/", 1, NULL, NULL}, {"", 0, NULL, NULL}, {"//", 0, NULL, NULL}, {"/x", 0, NULL, NULL}};
    check_matches("/", root, sizeof(root) / sizeof(root[0]));

    static const match_case_t literal[] = {{"/health", 1, NULL, NULL},
                                           {"/health/", 0, NULL, NULL},
                                           {"/healthz", 0, NULL, NULL},
                                           {"/healt", 0, NULL, NULL}};
    check_matches("/health", literal, sizeof(literal) / sizeof(literal[0]));

    /* A route written with a trailing slash wants one. */
    static const match_case_t slash[] = {{"/users/", 1, NULL, NULL}, {"/users", 0, NULL, NULL}};
    check_matches("/users/", slash, sizeof(slash) / sizeof(slash[0]));

    static const match_case_t first[] = {
        {"/abc/items", 1, "abc", NULL}, {"/abc", 0, NULL, NULL}, {"//items", 0, NULL, NULL}};
    check_matches("/{id}/items", first, sizeof(first) / sizeof(first[0]));

    /* The length given is honoured: the path need not be NUL-terminated there. */
    loaded_t l;
    load_text(&l, "endpoint: GET /a/{x}\nresponse: {$value: 1}\n");
    if (l.spec != NULL) {
        size_t values[1][2];
        ASSERT_INT_EQ(bff_spec_match(l.spec, "/a/bc?q=1", 5, values), 1);
        ASSERT_INT_EQ(values[0][0], 3);
        ASSERT_INT_EQ(values[0][1], 2);
        ASSERT_INT_EQ(bff_spec_match(l.spec, "/a/bc/d", 5, values), 1);
    }
    unload(&l);
}

static void test_path_parameter_limit(void)
{
    /* bff_spec_match stores one value per path parameter; callers size for 64. */
    char text[2048];
    for (int nparams = 64; nparams <= 65; ++nparams) {
        size_t n = (size_t)snprintf(text, sizeof(text), "endpoint: GET ");
        for (int i = 0; i < nparams; ++i)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "/{p%d}", i);
        snprintf(text + n, sizeof(text) - n, "\nresponse: {a: p0}\n");
        loaded_t l;
        load_text(&l, text);
        if (nparams == 64) {
            ASSERT_STR_EQ(diag_text(&l.diag), "");
            ASSERT_TRUE(l.spec != NULL && l.spec->nparams == 64);
        } else {
            ASSERT_TRUE(l.spec == NULL);
            ASSERT_STR_EQ(diag_text(&l.diag), "t.yaml:1:11: at most 64 path parameters");
        }
        unload(&l);
    }
}

static void test_same_route(void)
{
    static const struct {
        const char *a, *b;
        int same;
    } cases[] = {
        {"GET /users/{id}", "GET /users/{userId}", 1}, /* parameter names do not matter */
        {"GET /users/{id}", "POST /users/{id}", 1},    /* methods are the router's business */
        {"GET /users/{id}", "GET /users/me", 0},
        {"GET /users/me", "GET /users/me", 1},
        {"GET /users/{id}", "GET /users/{id}/x", 0},
        {"GET /users/{id}", "GET /users/{id}/", 0},
        {"GET /a/{x}/c", "GET /a/b/{y}", 0},
        {"GET /", "GET /", 1},
        {"GET /", "GET /x", 0},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char ta[128], tb[128];
        snprintf(ta, sizeof(ta), "endpoint: %s\nresponse: {$value: 1}\n", cases[i].a);
        snprintf(tb, sizeof(tb), "endpoint: %s\nresponse: {$value: 1}\n", cases[i].b);
        loaded_t a, b;
        load_text(&a, ta);
        load_text(&b, tb);
        ASSERT_TRUE(a.spec != NULL && b.spec != NULL);
        if (a.spec != NULL && b.spec != NULL) {
            if (bff_spec_same_route(a.spec, b.spec) != cases[i].same ||
                bff_spec_same_route(b.spec, a.spec) != cases[i].same)
                TAP_FAIL("same_route('%s', '%s') != %d", cases[i].a, cases[i].b, cases[i].same);
        }
        unload(&a);
        unload(&b);
    }
}

static void test_reports_every_problem(void)
{
    loaded_t l;
    load_text(&l, "endpoint: GET /u/{id}\n"
                  "timeout: soon\n"
                  "sources:\n"
                  "  a: {upstream: nope, path: /a}\n"
                  "  b: {upstream: users, path: \"/b/{zz}\"}\n"
                  "response: {x: a.x, y: c.y}\n");
    ASSERT_TRUE(l.spec == NULL);
    const char *got = diag_text(&l.diag);
    ASSERT_STR_CONTAINS(got, "t.yaml:2:10: 'timeout' must be a duration");
    ASSERT_STR_CONTAINS(got, "t.yaml:4:17: source 'a' uses upstream 'nope'");
    ASSERT_STR_CONTAINS(got, "t.yaml:5:30: path refers to 'zz'");
    ASSERT_STR_CONTAINS(got, "t.yaml:6:23: 'c' is not a source, a parameter or 'header'");
    unload(&l);

    /* One mistake, one message: a source that is both for_each and batch still knows `item`. */
    load_case(&l, "invalid", "for_each_and_batch.yaml");
    ASSERT_INT_EQ(l.diag.size, 1);
    unload(&l);

    /* Not a mapping at all. */
    load_text(&l, "- just\n- a list\n");
    ASSERT_TRUE(l.spec == NULL);
    ASSERT_STR_EQ(diag_text(&l.diag), "t.yaml:1:1: an endpoint spec must be a mapping");
    unload(&l);
}

int main(void)
{
    TAP_RUN(test_valid_cases);
    TAP_RUN(test_invalid_cases);
    TAP_RUN(test_env_positions);
    TAP_RUN(test_model_of_dashboard);
    TAP_RUN(test_deps_and_order);
    TAP_RUN(test_many_sources);
    TAP_RUN(test_request_headers);
    TAP_RUN(test_match);
    TAP_RUN(test_path_parameter_limit);
    TAP_RUN(test_same_route);
    TAP_RUN(test_reports_every_problem);
    TAP_DONE();
}
