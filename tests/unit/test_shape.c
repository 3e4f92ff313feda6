/* Unit tests for compose/shape_parse.c and compose/shape_eval.c: tests/cases/shape/<name>/ folders
 * (shape.yaml, sources.json, optional request.json, expected.json compared through jansson), then
 * shapes evaluated against an inline environment, compile errors and the module's helpers. The
 * paths and templates shapes are made of (jpath.c, template.c) are in test_jpath_template.c. */
#include "compose/jpath.c"
#include "compose/template.c"
#include "compose/shape_parse.c"
#include "compose/shape_eval.c"

#include <jansson.h>

#include <dirent.h>
#include <sys/stat.h>

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

/* ---- the environment of a case: named sources, a request doc, an optional item ---- */

#define MAX_CASE_SOURCES 16

typedef struct {
    char *names[MAX_CASE_SOURCES];
    bff_jdoc_t docs[MAX_CASE_SOURCES];
    const bff_jdoc_t *doc_ptrs[MAX_CASE_SOURCES];
    uint32_t roots[MAX_CASE_SOURCES];
    size_t n;
    char *sources_text, *request_text;
    bff_jdoc_t all, request;
    int has_request;
} case_env_t;

/* Binds roots: source names to their index in sources.json, request.json's members (and
 * `header`) to the request, `item` to the for-each item. */
static int resolve_case(void *ctx, const char *root)
{
    const case_env_t *ce = ctx;
    for (size_t i = 0; i != ce->n; ++i)
        if (strcmp(ce->names[i], root) == 0)
            return (int)i;
    if (strcmp(root, "item") == 0)
        return BFF_BIND_ITEM;
    if (strcmp(root, "header") == 0)
        return BFF_BIND_REQUEST;
    if (ce->has_request && bff_jdoc_obj_get(&ce->request, 0, root, strlen(root)) != BFF_JDOC_NONE)
        return BFF_BIND_REQUEST;
    return -1;
}

/* Scans `text` as an object {name: body, ...}; each body becomes a source doc of its own. */
static int case_env_sources(case_env_t *ce, char *text)
{
    ce->sources_text = text;
    if (bff_jdoc_scan(&ce->all, text, strlen(text), 0, 0, NULL, NULL) != 0 ||
        ce->all.toks[0].type != BFF_J_OBJECT || ce->all.toks[0].size > MAX_CASE_SOURCES)
        return -1;
    for (uint32_t i = 0, k = 1; i != ce->all.toks[0].size; ++i, k = ce->all.toks[k + 1].next) {
        const bff_jtok_t *key = ce->all.toks + k;
        ce->names[i] = bff_malloc(key->end - key->start + 1);
        ce->names[i][bff_jdoc_unescape(&ce->all, k, ce->names[i])] = '\0';
        size_t len;
        const char *raw = bff_jdoc_raw(&ce->all, k + 1, &len);
        if (bff_jdoc_scan(ce->docs + i, raw, len, 0, 0, NULL, NULL) != 0)
            return -1;
        ce->doc_ptrs[i] = ce->docs + i;
        ce->roots[i] = 0;
        ce->n = i + 1;
    }
    return 0;
}

static void case_env_dispose(case_env_t *ce)
{
    for (size_t i = 0; i != ce->n; ++i) {
        free(ce->names[i]);
        bff_jdoc_dispose(ce->docs + i);
    }
    bff_jdoc_dispose(&ce->all);
    bff_jdoc_dispose(&ce->request);
    free(ce->sources_text);
    free(ce->request_text);
    memset(ce, 0, sizeof(*ce));
}

static bff_shape_env_t shape_env_of(const case_env_t *ce)
{
    bff_shape_env_t env = {.source_docs = ce->doc_ptrs,
                           .source_roots = ce->roots,
                           .nsources = ce->n,
                           .request_doc = ce->has_request ? &ce->request : NULL};
    return env;
}

/* Parses YAML text as a shape against `ce`; NULL with the diagnostics in `diag`. */
static bff_shape_t *parse_shape_text(const char *yaml, case_env_t *ce, bff_diag_t *diag,
                                     bff_yaml_doc_t **doc)
{
    *doc = bff_yaml_load_string("shape.yaml", yaml, strlen(yaml), diag);
    if (*doc == NULL)
        return NULL;
    return bff_shape_parse(bff_yaml_root(*doc), resolve_case, ce, diag);
}

/* Evaluates and returns the output as a NUL-terminated string (caller frees), or NULL if the
 * writer reports a malformed or overflowing document. */
static char *eval_to_string(const bff_shape_t *shape, const bff_shape_env_t *env, size_t max)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, max);
    bff_shape_eval(shape, env, &w);
    char *out = bff_jwrite_done(&w) == 0 ? bff_strndup(w.buf, w.len) : NULL;
    bff_jwrite_dispose(&w);
    return out;
}

/* Compares JSON texts: equal values (json_equal) and the same key order. */
static int json_same(const char *got, const char *expected, char **got_canon, char **exp_canon)
{
    json_error_t err;
    json_t *a = json_loads(got, JSON_DECODE_ANY, &err),
           *b = json_loads(expected, JSON_DECODE_ANY, &err);
    *got_canon = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : bff_strdup(got);
    *exp_canon =
        b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY) : bff_strdup("(bad expected.json)");
    int same = a != NULL && b != NULL && json_equal(a, b) && strcmp(*got_canon, *exp_canon) == 0;
    json_decref(a);
    json_decref(b);
    return same;
}

static void run_case(const char *dir, const char *name)
{
    char path[1200];
    case_env_t ce = {0};
    snprintf(path, sizeof(path), "%s/%s/sources.json", dir, name);
    char *sources = read_file(path, NULL);
    if (sources == NULL || case_env_sources(&ce, sources) != 0) {
        TAP_FAIL("%s: unreadable or bad sources.json", name);
        if (ce.sources_text == NULL)
            free(sources);
        case_env_dispose(&ce);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s/request.json", dir, name);
    if ((ce.request_text = read_file(path, NULL)) != NULL) {
        ce.has_request = bff_jdoc_scan(&ce.request, ce.request_text, strlen(ce.request_text), 0, 0,
                                       NULL, NULL) == 0;
        ASSERT_TRUE(ce.has_request);
    }
    snprintf(path, sizeof(path), "%s/%s/expected.json", dir, name);
    char *expected = read_file(path, NULL);
    snprintf(path, sizeof(path), "%s/%s/shape.yaml", dir, name);
    bff_diag_t diag = {0};
    bff_yaml_doc_t *ydoc = bff_yaml_load_file(path, &diag);
    bff_shape_t *shape =
        ydoc ? bff_shape_parse(bff_yaml_root(ydoc), resolve_case, &ce, &diag) : NULL;
    if (expected == NULL) {
        TAP_FAIL("%s: no expected.json", name);
    } else if (shape == NULL) {
        TAP_FAIL("%s: shape rejected:\n%s", name, diag_text(&diag));
    } else {
        bff_shape_env_t env = shape_env_of(&ce);
        char *got = eval_to_string(shape, &env, 1 << 20);
        bff_jdoc_t check = {0};
        const char *err = NULL;
        if (got == NULL) {
            TAP_FAIL("%s: the writer rejected the output", name);
        } else if (bff_jdoc_scan(&check, got, strlen(got), 0, 0, &err, NULL) != 0) {
            TAP_FAIL("%s: output is not valid JSON (%s): %s", name, err, got);
        } else {
            char *gc, *ec;
            if (!json_same(got, expected, &gc, &ec))
                TAP_FAIL("%s:\n#     got:      %s\n#     expected: %s", name, gc, ec);
            free(gc);
            free(ec);
        }
        bff_jdoc_dispose(&check);
        free(got);
    }
    bff_shape_free(shape);
    bff_yaml_free(ydoc);
    bff_diag_clear(&diag);
    free(expected);
    case_env_dispose(&ce);
}

static void test_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/shape", source_dir());
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    if (d == NULL)
        return;
    char *names[128];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 128) {
        if (de->d_name[0] != '.')
            names[n++] = bff_strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; ++i)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; --j) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    ASSERT_TRUE(n >= 20);
    for (size_t i = 0; i != n; ++i) {
        int before = tap_current_failed;
        tap_current_failed = 0;
        run_case(dir, names[i]);
        if (tap_current_failed)
            printf("#   case %s failed\n", names[i]);
        tap_current_failed |= before;
        free(names[i]);
    }
}

/* ---- shapes evaluated against an inline environment ---- */

typedef struct {
    case_env_t ce;
    bff_yaml_doc_t *ydoc;
    bff_shape_t *shape;
    bff_diag_t diag;
} inline_t;

static int inline_setup(inline_t *t, const char *sources_json, const char *request_json,
                        const char *yaml)
{
    memset(t, 0, sizeof(*t));
    if (case_env_sources(&t->ce, bff_strdup(sources_json)) != 0)
        return -1;
    if (request_json != NULL) {
        t->ce.request_text = bff_strdup(request_json);
        t->ce.has_request = bff_jdoc_scan(&t->ce.request, t->ce.request_text,
                                          strlen(t->ce.request_text), 0, 0, NULL, NULL) == 0;
    }
    t->shape = parse_shape_text(yaml, &t->ce, &t->diag, &t->ydoc);
    return t->shape != NULL ? 0 : -1;
}

static void inline_teardown(inline_t *t)
{
    bff_shape_free(t->shape);
    bff_yaml_free(t->ydoc);
    bff_diag_clear(&t->diag);
    case_env_dispose(&t->ce);
}

#define ASSERT_JSON_EQ(got, expected)                                                              \
    do {                                                                                           \
        char *gc_, *ec_;                                                                           \
        const char *g_ = (got);                                                                    \
        if (g_ == NULL)                                                                            \
            TAP_FAIL("%s produced no output", #got);                                               \
        else if (!json_same(g_, (expected), &gc_, &ec_))                                           \
            TAP_FAIL("%s:\n#     got:      %s\n#     expected: %s", #got, gc_, ec_);               \
        if (g_ != NULL) {                                                                          \
            free(gc_);                                                                             \
            free(ec_);                                                                             \
        }                                                                                          \
    } while (0)

static void test_unavailable_source(void)
{
    /* A source that failed (optional) has no doc: everything from it is absent. */
    inline_t t;
    int r = inline_setup(&t, "{\"a\":{\"x\":1,\"l\":[1,2]},\"b\":{\"y\":2}}", NULL,
                         "x: a.x\n"
                         "y: b.y\n"
                         "yd: {$from: b.y, $default: -1}\n"
                         "all: \"b.l[*]\"\n"
                         "allDefault: {$from: \"b.l[*]\", $default: []}\n"
                         "t: \"{a.x}-{b.y}\"\n"
                         "single: \"{b.y}\"\n"
                         "m: {$merge: [a, b]}\n"
                         "sel: {$from: b, $select: [y]}\n");
    ASSERT_INT_EQ(r, 0);
    if (r == 0) {
        t.ce.doc_ptrs[1] = NULL;
        bff_shape_env_t env = shape_env_of(&t.ce);
        char *got = eval_to_string(t.shape, &env, 4096);
        ASSERT_JSON_EQ(got,
                       "{\"x\":1,\"y\":null,\"yd\":-1,\"all\":null,\"allDefault\":[],"
                       "\"t\":\"1-\",\"single\":null,\"m\":{\"x\":1,\"l\":[1,2]},\"sel\":null}");
        free(got);
        /* No sources at all, no request. */
        bff_shape_env_t none = {.nsources = 0};
        got = eval_to_string(t.shape, &none, 4096);
        ASSERT_JSON_EQ(got, "{\"x\":null,\"y\":null,\"yd\":-1,\"all\":null,\"allDefault\":[],"
                            "\"t\":\"-\",\"single\":null,\"m\":null,\"sel\":null}");
        free(got);
    }
    inline_teardown(&t);
}

/* $merge keeps every scalar's text: jansson (used before) printed 146.60 as
 * 146.59999999999999, lost integers beyond 64 bits and dropped parts holding \u0000. */
static void test_merge_keeps_number_text(void)
{
    inline_t t;
    int r = inline_setup(&t,
                         "{\"a\":{\"total\":146.60,\"big\":123456789012345678901234567890,"
                         "\"e\":1E+2,\"s\":\"x\\u0000y\",\"n\":{\"k\":0.10}},"
                         "\"b\":{\"tax\":7.50,\"n\":{\"j\":-0.0}},"
                         "\"l\":{\"items\":[{\"id\":1,\"p\":1.10},{\"id\":2,\"p\":2.20}]},"
                         "\"m\":{\"items\":[{\"id\":2,\"p\":2.25},{\"id\":3,\"p\":3.30}]}}",
                         NULL,
                         "m: {$merge: [a, b]}\n"
                         "k: {$merge: [l.items, m.items], $policy: keyed, $key: id}\n");
    ASSERT_INT_EQ(r, 0);
    if (r == 0) {
        bff_shape_env_t env = shape_env_of(&t.ce);
        char *got = eval_to_string(t.shape, &env, 4096);
        ASSERT_STR_EQ(got, "{\"m\":{\"total\":146.60,\"big\":123456789012345678901234567890,"
                           "\"e\":1E+2,\"s\":\"x\\u0000y\",\"n\":{\"k\":0.10,\"j\":-0.0},"
                           "\"tax\":7.50},"
                           "\"k\":[{\"id\":1,\"p\":1.10},{\"id\":2,\"p\":2.25},"
                           "{\"id\":3,\"p\":3.30}]}");
        free(got);
    }
    inline_teardown(&t);
}

static void test_item_binding(void)
{
    inline_t t;
    int r = inline_setup(&t, "{\"order\":{\"id\":9}}", NULL,
                         "sku: item.sku\n"
                         "qty: {$from: item.qty, $default: 1}\n"
                         "label: \"{order.id}/{item.sku}\"\n"
                         "whole: item\n");
    ASSERT_INT_EQ(r, 0);
    if (r == 0) {
        const char *items = "[{\"sku\":\"A\",\"qty\":2},{\"sku\":\"B\"}]";
        bff_jdoc_t idoc = {0};
        ASSERT_INT_EQ(bff_jdoc_scan(&idoc, items, strlen(items), 0, 0, NULL, NULL), 0);
        bff_shape_env_t env = shape_env_of(&t.ce);
        env.item_doc = &idoc;
        env.item_tok = bff_jdoc_arr_get(&idoc, 0, 1);
        char *got = eval_to_string(t.shape, &env, 4096);
        ASSERT_JSON_EQ(got,
                       "{\"sku\":\"B\",\"qty\":1,\"label\":\"9/B\",\"whole\":{\"sku\":\"B\"}}");
        free(got);
        env.item_doc = NULL;
        got = eval_to_string(t.shape, &env, 4096);
        ASSERT_JSON_EQ(got, "{\"sku\":null,\"qty\":1,\"label\":\"9/\",\"whole\":null}");
        free(got);
        bff_jdoc_dispose(&idoc);
    }
    inline_teardown(&t);
}

static void test_many_elements(void)
{
    /* 5000 elements: a single path with a pipeline sees all; a multi path is capped. */
    size_t cap = 5000 * 12 + 64, n = 0;
    char *json = bff_malloc(cap);
    n += (size_t)snprintf(json + n, cap - n, "{\"s\":{\"l\":[");
    for (int i = 0; i < 5000; ++i)
        n += (size_t)snprintf(json + n, cap - n, "%s{\"v\":%d}", i ? "," : "", i);
    snprintf(json + n, cap - n, "]}}");
    inline_t t;
    int r = inline_setup(&t, json, NULL,
                         "last: {$from: s.l, $filter: \"v >= 4999\"}\n"
                         "count: {$from: \"s.l[*].v\", $filter: \"v exists\"}\n"
                         "tail: {$from: \"s.l[-2:].v\"}\n"
                         "many: {$from: \"s.l[*].v\", $limit: 100000}\n");
    ASSERT_INT_EQ(r, 0);
    if (r == 0) {
        bff_shape_env_t env = shape_env_of(&t.ce);
        char *got = eval_to_string(t.shape, &env, 1 << 20);
        ASSERT_TRUE(got != NULL);
        json_t *v = got ? json_loads(got, 0, NULL) : NULL;
        ASSERT_TRUE(v != NULL);
        if (v != NULL) {
            ASSERT_INT_EQ(json_array_size(json_object_get(v, "last")), 1);
            ASSERT_INT_EQ(json_array_size(json_object_get(v, "count")), 0);
            ASSERT_INT_EQ(json_integer_value(json_array_get(json_object_get(v, "tail"), 1)), 4999);
            ASSERT_INT_EQ(json_array_size(json_object_get(v, "many")), MAX_MULTI);
        }
        json_decref(v);
        free(got);
    }
    inline_teardown(&t);
    free(json);
}

static void test_output_cap(void)
{
    /* A writer too small for the result fails cleanly, whatever path produced the bytes. */
    inline_t t;
    int r = inline_setup(&t,
                         "{\"a\":{\"text\":\"0123456789012345678901234567890123456789\","
                         "\"l\":[1,2,3,4,5,6,7,8,9]}}",
                         NULL,
                         "raw: a\n"
                         "m: {$merge: [a, {$value: {x: 1}}]}\n"
                         "t: \"{a.text}{a.text}\"\n"
                         "s: {$from: a.l, $select: {v: \"@\"}}\n");
    ASSERT_INT_EQ(r, 0);
    for (size_t max = 1; r == 0 && max < 200; max += 7) {
        bff_jwrite_t w;
        bff_jwrite_init(&w, 8, max);
        bff_shape_env_t env = shape_env_of(&t.ce);
        bff_shape_eval(t.shape, &env, &w);
        ASSERT_INT_EQ(bff_jwrite_done(&w), -1);
        ASSERT_INT_EQ(w.overflow, 1);
        ASSERT_TRUE(w.len <= max);
        bff_jwrite_dispose(&w);
    }
    inline_teardown(&t);
}

/* ---- compile errors ---- */

static void test_shape_errors(void)
{
    static const struct {
        const char *yaml, *err;
    } cases[] = {
        {"a: [u.x, u.y]\n", "shape.yaml:1:4: a list here is ambiguous"},
        {"- u.x\n", "shape.yaml:1:1: a list here is ambiguous"},
        {"a: {$from: u.x, other: u.y}\n", "shape.yaml:1:4: a mapping either has $-keys (one value) "
                                          "or field names (an object), not both"},
        {"a: {$from: u.l, $limt: 3}\n",
         "shape.yaml:1:17: unknown key '$limt' in a $-value (did you mean '$limit'?)"},
        {"a: {$from: u.l, $limit: -1}\n", "shape.yaml:1:25: '$limit' must be between 0 and 100000"},
        {"a: {$from: u.l, $limit: many}\n",
         "shape.yaml:1:25: '$limit' must be an integer, not 'many'"},
        {"a: {$from: u.l, $format: title}\n",
         "shape.yaml:1:26: $format must be one of date, string, number, upper, lower"},
        {"a: {$from: u.l, $select: 3}\n",
         "shape.yaml:1:26: $select must be a list of fields or a mapping"},
        {"a: {$from: u.l, $select: [[x]]}\n",
         "shape.yaml:1:27: $select list entries must be field names"},
        {"a: {$from: u.l, $select: [\"x y\"]}\n",
         "shape.yaml:1:27: bad path 'x y': unexpected character in path"},
        {"a: {$from: u.l, $allow: x}\n", "shape.yaml:1:25: $allow must be a list of field names"},
        {"a: {$from: u.l, $deny: [{x: 1}]}\n",
         "shape.yaml:1:25: $deny entries must be field names"},
        {"a: {$merge: [u.x]}\n", "shape.yaml:1:13: $merge must be a list of at least two values"},
        {"a: {$merge: u.x}\n", "shape.yaml:1:13: $merge must be a list of at least two values"},
        {"a: {$merge: [u.x, u.y], $policy: union}\n",
         "shape.yaml:1:34: $policy must be replace, deep, append or keyed"},
        {"a: {$merge: [u.x, u.y], $policy: [deep]}\n",
         "shape.yaml:1:34: $policy must be replace, deep, append or keyed"},
        {"a: {$merge: [u.x, u.y], $policy: keyed}\n",
         "shape.yaml:1:34: $key (the field that identifies array elements) goes with $policy: "
         "keyed"},
        {"a: {$merge: [u.x, [1]]}\n", "shape.yaml:1:19: a list here is ambiguous"},
        {"a: {$from: u.x, $key: id}\n", "shape.yaml:1:23: $policy and $key only apply to $merge"},
        {"a: {$value: [1], $policy: append}\n",
         "shape.yaml:1:27: $policy and $key only apply to $merge"},
        {"a: {$from: u.x, $value: 1}\n",
         "shape.yaml:1:4: a $-value needs exactly one of $from, $value, $template, $merge"},
        {"a: {$limit: 1}\n", "shape.yaml:1:4: a $-value needs exactly one of"},
        {"a: {$from: [u.x]}\n", "shape.yaml:1:12: $from must be a string"},
        {"a: {$template: {x: 1}}\n", "shape.yaml:1:16: $template must be a string"},
        {"a: {$template: \"{nope.x}\"}\n", "shape.yaml:1:16: 'nope' is not a source"},
        {"a: {$filter: \"x == 1\", $from: u.l}\n", ""},
        {"a: {$from: u.l, $filter: x}\n", "shape.yaml:1:26: $filter must read"},
        {"a: {$from: u.l, $filter: \"x ~ 1\"}\n", "shape.yaml:1:26: $filter must read"},
        {"a: {$from: u.l, $filter: \"x ==\"}\n", "shape.yaml:1:26: $filter must read"},
        {"a: {$from: u.l, $filter: \"x ==  \"}\n", "shape.yaml:1:26: $filter must read"},
        {"a: {$from: u.l, $filter: \"x==1\"}\n", "shape.yaml:1:26: $filter must read"},
        {"a: {$from: u.l, $filter: \"x. == 1\"}\n", "shape.yaml:1:26: $filter must read"},
        {"a: {$from: u.l, $filter: [x]}\n", "shape.yaml:1:26: $filter must read"},
        {"a: nope.x\n", "shape.yaml:1:4: 'nope' is not a source, a parameter or 'header'"},
        {"a: \"42\"\n", "shape.yaml:1:4: '42' is not a source"},
        {"a: u.x[\n", "shape.yaml:1:4: bad path 'u.x[': expected an index, a slice or * inside []"},
        {"a: \"{u.x\"\n", "shape.yaml:1:4: bad template: unterminated '{' (write {{ for a literal "
                          "brace) at offset 0"},
        {"a: \"x}\"\n", "shape.yaml:1:4: bad template: unmatched '}'"},
        {"a: \"@\"\n", "shape.yaml:1:4: '@' is not a source"}, /* `@` only inside $select */
        {"a: ~\n", "shape.yaml:1:4: bad path '~'"},
        {"a:\n", "shape.yaml:1:3: bad path ''"},
        /* Every problem is reported. */
        {"a: nope.x\nb: [1]\nc: {$from: u.l, $format: x}\n", "shape.yaml:3:26: $format must be"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        case_env_t ce = {0};
        case_env_sources(&ce, bff_strdup("{\"u\":{}}"));
        bff_diag_t diag = {0};
        bff_yaml_doc_t *ydoc;
        bff_shape_t *s = parse_shape_text(cases[i].yaml, &ce, &diag, &ydoc);
        if (cases[i].err[0] == '\0') {
            if (s == NULL)
                TAP_FAIL("'%s' rejected: %s", cases[i].yaml, diag_text(&diag));
        } else {
            if (s != NULL)
                TAP_FAIL("'%s' accepted", cases[i].yaml);
            if (strstr(diag_text(&diag), cases[i].err) == NULL)
                TAP_FAIL("'%s':\n#     got:      %s\n#     expected: %s", cases[i].yaml,
                         diag_text(&diag), cases[i].err);
        }
        bff_shape_free(s);
        bff_yaml_free(ydoc);
        bff_diag_clear(&diag);
        case_env_dispose(&ce);
    }

    /* Too deep. */
    char deep[2048];
    size_t n = 0;
    for (int i = 0; i < 40; ++i)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{a: ");
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "u.x");
    for (int i = 0; i < 40; ++i)
        deep[n++] = '}';
    deep[n] = '\0';
    case_env_t ce = {0};
    case_env_sources(&ce, bff_strdup("{\"u\":{}}"));
    bff_diag_t diag = {0};
    bff_yaml_doc_t *ydoc;
    bff_shape_t *s = parse_shape_text(deep, &ce, &diag, &ydoc);
    ASSERT_TRUE(s == NULL);
    ASSERT_STR_CONTAINS(diag_text(&diag), "response shape nested too deeply");
    bff_shape_free(s);
    bff_yaml_free(ydoc);
    bff_diag_clear(&diag);
    case_env_dispose(&ce);
}

/* ---- helpers of the module ---- */

static void test_yaml_to_json(void)
{
    static const struct {
        const char *yaml, *json;
    } cases[] = {
        {"v: 1", "1"},
        {"v: -2.5e3", "-2.5e3"},
        {"v: true", "true"},
        {"v: null", "null"},
        {"v: ~", "null"},
        {"v:", "null"},
        {"v: ''", "\"\""},
        {"v: '1'", "\"1\""},
        {"v: \"null\"", "\"null\""},
        {"v: yes", "\"yes\""},
        {"v: 0x1F", "\"0x1F\""},
        {"v: 012", "\"012\""},
        {"v: 1.", "\"1.\""},
        {"v: .5", "\".5\""},
        {"v: -.5", "\"-.5\""},
        {"v: 1e", "\"1e\""},
        {"v: 1e+", "\"1e+\""},
        {"v: NaN", "\"NaN\""},
        {"v: -inf", "\"-inf\""},
        {"v: 1_000", "\"1_000\""},
        {"v: 0", "0"},
        {"v: -0.0", "-0.0"},
        {"v: 1E-7", "1E-7"},
        {"v: 12345678901234567890", "12345678901234567890"},
        {"v: \"a\\\"b\\n\"", "\"a\\\"b\\n\""},
        {"v: [1, a, {b: [~]}]", "[1,\"a\",{\"b\":[null]}]"},
        {"v: {}", "{}"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        bff_diag_t diag = {0};
        bff_yaml_doc_t *doc =
            bff_yaml_load_string("t", cases[i].yaml, strlen(cases[i].yaml), &diag);
        if (doc == NULL) {
            TAP_FAIL("'%s': %s", cases[i].yaml, diag_text(&diag));
            bff_diag_clear(&diag);
            continue;
        }
        char *json = bff_shape_yaml_to_json(bff_yaml_get(bff_yaml_root(doc), "v"));
        ASSERT_STR_EQ(json, cases[i].json);
        bff_jdoc_t check = {0};
        if (bff_jdoc_scan(&check, json, strlen(json), 0, 0, NULL, NULL) != 0)
            TAP_FAIL("'%s' gave invalid JSON %s", cases[i].yaml, json);
        bff_jdoc_dispose(&check);
        free(json);
        bff_yaml_free(doc);
    }
}

static void collect_binding(void *ctx, int binding)
{
    int *seen = ctx;
    seen[binding + 8]++;
}

static void test_foreach_binding(void)
{
    inline_t t;
    int r = inline_setup(&t, "{\"a\":{},\"b\":{},\"c\":{}}", "{\"id\":1}",
                         "x: a.x\n"
                         "y: \"{b.y}-{id}\"\n"
                         "z: {$merge: [a.q, {k: c.k}]}\n"
                         "w: {$from: a.l, $select: {v: notasource}}\n"
                         "h: header.x\n"
                         "l: {$value: 1}\n");
    ASSERT_INT_EQ(r, 0);
    if (r == 0) {
        int seen[16] = {0};
        bff_shape_foreach_binding(t.shape, collect_binding, seen);
        ASSERT_INT_EQ(seen[8 + 0], 3); /* a: x, $merge part, $from */
        ASSERT_INT_EQ(seen[8 + 1], 1);
        ASSERT_INT_EQ(seen[8 + 2], 1);
        ASSERT_INT_EQ(seen[8 + BFF_BIND_REQUEST], 2); /* {id} and header.x */
        ASSERT_INT_EQ(seen[8 + BFF_BIND_ELEMENT], 0); /* $select is per element, not a source */
    }
    inline_teardown(&t);
}

int main(void)
{
    TAP_RUN(test_cases);
    TAP_RUN(test_unavailable_source);
    TAP_RUN(test_merge_keeps_number_text);
    TAP_RUN(test_item_binding);
    TAP_RUN(test_many_elements);
    TAP_RUN(test_output_cap);
    TAP_RUN(test_shape_errors);
    TAP_RUN(test_yaml_to_json);
    TAP_RUN(test_foreach_binding);
    TAP_DONE();
}
