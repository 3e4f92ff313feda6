/* Unit tests for compose/jpath.c and compose/template.c, what response shapes are made of: paths
 * (parsing, evaluation over a document) and templates (parsing, rendering with and without URL
 * encoding). The shapes themselves are in test_shape.c. */
#include "compose/jpath.c"
#include "compose/template.c"
#include "compose/shape_parse.c"
#include "compose/shape_eval.c"

#include "tests/unit/tap.h"

/* ---- paths ---- */

static void test_jpath_parse(void)
{
    bff_jpath_t p;
    const char *err = NULL;
    const char *full = "user.orders[-1].items[1:3][*].id";
    ASSERT_INT_EQ(bff_jpath_parse(full, strlen(full), &p, &err), 0);
    ASSERT_STR_EQ(p.root, "user");
    ASSERT_STR_EQ(p.text, "user.orders[-1].items[1:3][*].id");
    ASSERT_INT_EQ(p.nsteps, 6);
    ASSERT_INT_EQ(p.multi, 1);
    ASSERT_INT_EQ(p.steps[0].kind, BFF_JPATH_FIELD);
    ASSERT_STR_EQ(p.steps[0].name, "orders");
    ASSERT_INT_EQ(p.steps[1].kind, BFF_JPATH_INDEX);
    ASSERT_INT_EQ(p.steps[1].index, -1);
    ASSERT_INT_EQ(p.steps[3].kind, BFF_JPATH_SLICE);
    ASSERT_TRUE(p.steps[3].has_start && p.steps[3].has_end);
    ASSERT_INT_EQ(p.steps[3].index, 1);
    ASSERT_INT_EQ(p.steps[3].end, 3);
    ASSERT_INT_EQ(p.steps[4].kind, BFF_JPATH_EACH);
    ASSERT_STR_EQ(p.steps[5].name, "id");
    bff_jpath_dispose(&p);
    ASSERT_TRUE(p.steps == NULL && p.nsteps == 0);

    ASSERT_INT_EQ(bff_jpath_parse("a[:5]", 5, &p, &err), 0);
    ASSERT_TRUE(!p.steps[0].has_start && p.steps[0].has_end && p.multi);
    bff_jpath_dispose(&p);
    ASSERT_INT_EQ(bff_jpath_parse("a[2:]", 5, &p, &err), 0);
    ASSERT_TRUE(p.steps[0].has_start && !p.steps[0].has_end);
    bff_jpath_dispose(&p);
    ASSERT_INT_EQ(bff_jpath_parse("a[\"odd key\"]['x.y']", 19, &p, &err), 0);
    ASSERT_INT_EQ(p.nsteps, 2);
    ASSERT_STR_EQ(p.steps[0].name, "odd key");
    ASSERT_STR_EQ(p.steps[1].name, "x.y");
    ASSERT_INT_EQ(p.multi, 0);
    bff_jpath_dispose(&p);
    ASSERT_INT_EQ(bff_jpath_parse("header.X-Request-Id", 19, &p, &err), 0);
    ASSERT_STR_EQ(p.steps[0].name, "X-Request-Id");
    bff_jpath_dispose(&p);
    /* Only `len` bytes count. */
    ASSERT_INT_EQ(bff_jpath_parse("abc.def ignored", 7, &p, &err), 0);
    ASSERT_STR_EQ(p.text, "abc.def");
    bff_jpath_dispose(&p);
    ASSERT_INT_EQ(bff_jpath_parse("root", 4, &p, &err), 0);
    ASSERT_INT_EQ(p.nsteps, 0);
    bff_jpath_dispose(&p);

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"", "a path must start with a name"},
        {".a", "a path must start with a name"},
        {"[0]", "a path must start with a name"},
        {"a.", "expected a field name after '.'"},
        {"a..b", "expected a field name after '.'"},
        {"a[", "expected an index, a slice or * inside []"},
        {"a[]", "expected an index, a slice or * inside []"},
        {"a[x]", "expected an index, a slice or * inside []"},
        {"a[-]", "expected an index, a slice or * inside []"},
        {"a[1", "expected ]"},
        {"a[1:2:3]", "expected ]"},
        {"a[*", "expected ] after *"},
        {"a[*x]", "expected ] after *"},
        {"a[\"x]", "unterminated quoted field name"},
        {"a[\"x\"", "unterminated quoted field name"},
        {"a['x\"]", "unterminated quoted field name"},
        {"a b", "unexpected character in path"},
        {"a/b", "unexpected character in path"},
        {"a[99999999999]", "expected an index, a slice or * inside []"},
    };
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        err = NULL;
        if (bff_jpath_parse(bad[i].text, strlen(bad[i].text), &p, &err) == 0) {
            TAP_FAIL("path '%s' accepted", bad[i].text);
            bff_jpath_dispose(&p);
            continue;
        }
        ASSERT_STR_EQ(err, bad[i].err);
        ASSERT_TRUE(p.steps == NULL && p.text == NULL && p.root == NULL);
    }

    /* 32 steps are fine, 33 are not. */
    char longp[256] = "r";
    size_t ll = 1;
    for (int i = 0; i < 32; ++i)
        ll += (size_t)snprintf(longp + ll, sizeof(longp) - ll, ".a");
    ASSERT_INT_EQ(bff_jpath_parse(longp, strlen(longp), &p, &err), 0);
    bff_jpath_dispose(&p);
    snprintf(longp + ll, sizeof(longp) - ll, "[0]");
    ASSERT_INT_EQ(bff_jpath_parse(longp, strlen(longp), &p, &err), -1);
    ASSERT_STR_EQ(err, "path has too many steps");
}

/* Evaluates `path` from the root of `json`; returns the raw text of the results joined by '|'. */
static const char *eval_raw(const char *json, const char *path, size_t max)
{
    static char out[1024];
    bff_jdoc_t doc = {0};
    bff_jpath_t p;
    const char *err;
    out[0] = '\0';
    if (bff_jdoc_scan(&doc, json, strlen(json), 0, 0, NULL, NULL) != 0 ||
        bff_jpath_parse(path, strlen(path), &p, &err) != 0) {
        bff_jdoc_dispose(&doc);
        return "(error)";
    }
    uint32_t toks[64];
    size_t n = bff_jpath_eval(&p, 0, &doc, 0, toks, max), len = 0;
    for (size_t i = 0; i != n; ++i) {
        size_t rl;
        const char *raw = bff_jdoc_raw(&doc, toks[i], &rl);
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s", i ? "|" : "", (int)rl, raw);
    }
    bff_jpath_dispose(&p);
    bff_jdoc_dispose(&doc);
    return out;
}

static void test_jpath_eval(void)
{
    const char *j = "{\"a\":{\"b\":[10,20,30,40,50],\"o\":[{\"id\":1,\"t\":[\"x\"]},{\"id\":2},"
                    "{\"t\":[\"y\",\"z\"]}],\"odd key\":true,\"e\":[]}}";
    static const struct {
        const char *path, *want;
    } cases[] = {
        {"r.a.b[0]", "10"},
        {"r.a.b[4]", "50"},
        {"r.a.b[5]", ""},
        {"r.a.b[-1]", "50"},
        {"r.a.b[-5]", "10"},
        {"r.a.b[-6]", ""},
        {"r.a.b[:2]", "10|20"},
        {"r.a.b[3:]", "40|50"},
        {"r.a.b[-2:]", "40|50"},
        {"r.a.b[1:-1]", "20|30|40"},
        {"r.a.b[-100:1]", "10"},
        {"r.a.b[2:2]", ""},
        {"r.a.b[4:1]", ""},
        {"r.a.b[*]", "10|20|30|40|50"},
        {"r.a.o[*].id", "1|2"},
        {"r.a.o[*].t[*]", "\"x\"|\"y\"|\"z\""},
        {"r.a.o[*].t[0]", "\"x\"|\"y\""},
        {"r.a.o[1]", "{\"id\":2}"},
        {"r.a[\"odd key\"]", "true"},
        {"r.a.e[*]", ""},
        {"r.a.e[0]", ""},
        {"r.a.b.c", ""},
        {"r.a[0]", ""},
        {"r.a.o[*]", "{\"id\":1,\"t\":[\"x\"]}|{\"id\":2}|{\"t\":[\"y\",\"z\"]}"},
        {"r.a.b[*].x", ""},
        {"r", "{\"a\":{\"b\":[10,20,30,40,50],\"o\":[{\"id\":1,\"t\":[\"x\"]},{\"id\":2},"
              "{\"t\":[\"y\",\"z\"]}],\"odd key\":true,\"e\":[]}}"},
    };
    /* The root segment names the document; evaluation starts at the steps. */
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *got = eval_raw(j, cases[i].path, 64);
        if (strcmp(got, cases[i].want) != 0)
            TAP_FAIL("%s:\n#     got:      %s\n#     expected: %s", cases[i].path, got,
                     cases[i].want);
    }
    /* `max` caps a multi-valued result; a single value needs room for one. */
    ASSERT_STR_EQ(eval_raw(j, "r.a.b[*]", 2), "10|20");
    ASSERT_STR_EQ(eval_raw(j, "r.a.o[*].t[*]", 2), "\"x\"|\"y\"");
    ASSERT_STR_EQ(eval_raw(j, "r.a.b[0]", 0), "");

    /* `first` skips steps; out-of-range tokens yield nothing. */
    bff_jdoc_t doc = {0};
    bff_jpath_t p;
    const char *err;
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, j, strlen(j), 0, 0, NULL, NULL), 0);
    ASSERT_INT_EQ(bff_jpath_parse("r.a.b[1]", 8, &p, &err), 0);
    uint32_t out[4];
    uint32_t a = bff_jdoc_obj_get(&doc, 0, "a", 1);
    ASSERT_INT_EQ(bff_jpath_eval(&p, 1, &doc, a, out, 4), 1);
    ASSERT_INT_EQ(doc.toks[out[0]].type, BFF_J_NUMBER);
    ASSERT_INT_EQ(bff_jpath_eval(&p, 0, &doc, BFF_JDOC_NONE, out, 4), 0);
    ASSERT_INT_EQ(bff_jpath_eval(&p, 0, &doc, doc.ntoks, out, 4), 0);
    ASSERT_INT_EQ(bff_jpath_eval(&p, 3, &doc, a, out, 4), 1); /* no steps left: the token itself */
    ASSERT_INT_EQ(out[0], a);
    bff_jpath_dispose(&p);
    bff_jdoc_dispose(&doc);
}

/* ---- templates ---- */

static void test_template_parse(void)
{
    bff_template_t t;
    const char *err = NULL;
    size_t off = 0;
    ASSERT_INT_EQ(bff_template_parse("/users/{userId}/orders/{ order.id }", &t, &err, &off), 0);
    ASSERT_INT_EQ(t.nparts, 4);
    ASSERT_STR_EQ(t.parts[0].literal, "/users/");
    ASSERT_TRUE(t.parts[1].literal == NULL);
    ASSERT_STR_EQ(t.parts[1].ref.root, "userId");
    ASSERT_INT_EQ(t.parts[1].binding, -1);
    ASSERT_STR_EQ(t.parts[2].literal, "/orders/");
    ASSERT_STR_EQ(t.parts[3].ref.text, "order.id"); /* spaces inside braces are trimmed */
    ASSERT_INT_EQ(bff_template_is_single_ref(&t), 0);
    ASSERT_STR_EQ(t.text, "/users/{userId}/orders/{ order.id }");
    bff_template_dispose(&t);

    /* Escaped braces join the neighbouring literal text. */
    ASSERT_INT_EQ(bff_template_parse("a{{b}}c{{", &t, &err, &off), 0);
    ASSERT_INT_EQ(t.nparts, 1);
    ASSERT_STR_EQ(t.parts[0].literal, "a{b}c{");
    ASSERT_INT_EQ(t.parts[0].literal_len, 6);
    bff_template_dispose(&t);
    ASSERT_INT_EQ(bff_template_parse("{{{x}}}", &t, &err, &off), 0);
    ASSERT_INT_EQ(t.nparts, 3);
    ASSERT_STR_EQ(t.parts[0].literal, "{");
    ASSERT_STR_EQ(t.parts[1].ref.root, "x");
    ASSERT_STR_EQ(t.parts[2].literal, "}");
    bff_template_dispose(&t);
    ASSERT_INT_EQ(bff_template_parse("{x}", &t, &err, &off), 0);
    ASSERT_INT_EQ(bff_template_is_single_ref(&t), 1);
    bff_template_dispose(&t);
    ASSERT_INT_EQ(bff_template_parse("{a}{b}", &t, &err, &off), 0);
    ASSERT_INT_EQ(t.nparts, 2);
    ASSERT_INT_EQ(bff_template_is_single_ref(&t), 0);
    bff_template_dispose(&t);
    ASSERT_INT_EQ(bff_template_parse("", &t, &err, &off), 0);
    ASSERT_INT_EQ(t.nparts, 0);
    ASSERT_INT_EQ(bff_template_is_single_ref(&t), 0);
    bff_template_dispose(&t);

    static const struct {
        const char *text, *err;
        size_t off;
    } bad[] = {
        {"abc}", "unmatched '}' (write }} for a literal brace)", 3},
        {"ab{cd", "unterminated '{' (write {{ for a literal brace)", 2},
        {"x{a b}", "unexpected character in path", 1},
        {"x{}", "a path must start with a name", 1},
        {"{a}{", "unterminated '{' (write {{ for a literal brace)", 3},
        {"{a}b{c.}", "expected a field name after '.'", 4},
        {"{a{b}", "unexpected character in path", 0},
    };
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        err = NULL;
        off = 999;
        if (bff_template_parse(bad[i].text, &t, &err, &off) == 0) {
            TAP_FAIL("template '%s' accepted", bad[i].text);
            bff_template_dispose(&t);
            continue;
        }
        ASSERT_STR_EQ(err, bad[i].err);
        ASSERT_INT_EQ(off, bad[i].off);
        ASSERT_TRUE(t.parts == NULL && t.text == NULL);
    }
}

/* Renders `text` with roots bound: `s` -> the source doc, `req`/header -> request, `item` ->
 * item. Returns the rendering (static) or "(-1 missing=<ref>)". */
static const char *render_with(const char *text, int urlencode, int preencoded)
{
    static char out[512];
    static const char *src_json = "{\"name\":\"Ada Lovelace\",\"path\":\"a/b?c&d=e#f\",\"uni\":"
                                  "\"caf\\u00e9 \\\"q\\\"\",\"safe\":\"AZaz09-_.~\",\"n\":-1.5,"
                                  "\"i\":42,\"t\":true,\"f\":false,\"z\":null,\"o\":{\"a\":1},"
                                  "\"l\":[1,2],\"pct\":\"100%\",\"empty\":\"\","
                                  "\"dot\":\".\",\"dots\":\"..\"}";
    static const char *req_json = "{\"id\":\"u 1\",\"header\":{\"x-mode\":\"fast lane\"}}";
    static const char *item_json = "{\"sku\":\"A B\",\"joined\":\"1%2C2\"}";
    bff_jdoc_t src = {0}, req = {0}, item = {0};
    bff_jdoc_scan(&src, src_json, strlen(src_json), 0, 0, NULL, NULL);
    bff_jdoc_scan(&req, req_json, strlen(req_json), 0, 0, NULL, NULL);
    bff_jdoc_scan(&item, item_json, strlen(item_json), 0, 0, NULL, NULL);
    const bff_jdoc_t *docs[1] = {&src};
    uint32_t roots[1] = {0};
    bff_shape_env_t env = {.source_docs = docs,
                           .source_roots = roots,
                           .nsources = 1,
                           .request_doc = &req,
                           .item_doc = &item,
                           .item_preencoded = preencoded};

    bff_template_t t;
    const char *err;
    size_t off;
    if (bff_template_parse(text, &t, &err, &off) != 0) {
        snprintf(out, sizeof(out), "(parse error)");
    } else {
        for (size_t i = 0; i != t.nparts; ++i) {
            const char *root = t.parts[i].ref.root;
            if (t.parts[i].literal != NULL)
                continue;
            t.parts[i].binding = strcmp(root, "s") == 0      ? 0
                                 : strcmp(root, "item") == 0 ? BFF_BIND_ITEM
                                                             : BFF_BIND_REQUEST;
        }
        bff_jwrite_t w;
        bff_jwrite_init(&w, 16, 4096);
        bff_template_miss_t miss = {NULL, 0};
        int r = bff_template_render(&t, &env, urlencode, &w, &miss);
        const char *what = miss.bad_segment ? "segment" : "missing";
        if (r != 0)
            snprintf(out, sizeof(out), "(-1 %s=%s)", what, miss.ref ? miss.ref : "?");
        else if (miss.ref != NULL)
            snprintf(out, sizeof(out), "%.*s(%s=%s)", (int)w.len, w.buf, what, miss.ref);
        else
            snprintf(out, sizeof(out), "%.*s", (int)w.len, w.buf);
        bff_jwrite_dispose(&w);
        bff_template_dispose(&t);
    }
    bff_jdoc_dispose(&src);
    bff_jdoc_dispose(&req);
    bff_jdoc_dispose(&item);
    return out;
}

static void test_template_render(void)
{
    static const struct {
        const char *text;
        int urlencode;
        const char *want;
    } cases[] = {
        {"/users/{id}", 1, "/users/u%201"},
        {"/users/{id}", 0, "/users/u 1"},
        {"/p/{s.path}", 1, "/p/a%2Fb%3Fc%26d%3De%23f"},
        {"/p/{s.uni}", 1, "/p/caf%C3%A9%20%22q%22"},
        {"{s.uni}", 0, "caf\xc3\xa9 \"q\""},
        {"/{s.safe}", 1, "/AZaz09-_.~"},
        {"/{s.pct}", 1, "/100%25"},
        {"?n={s.n}&i={s.i}&t={s.t}&f={s.f}", 1, "?n=-1.5&i=42&t=true&f=false"},
        {"{s.name} ({s.i})", 0, "Ada Lovelace (42)"},
        /* Empty, "." or ".." as a whole path segment: `//` or a climb, refused; inside a
         * segment or in the query they are ordinary text. */
        {"/e/{s.empty}/", 1, "(-1 segment=s.empty)"},
        {"/e/{s.empty}", 1, "(-1 segment=s.empty)"},
        {"/e/{s.empty}?q=1", 1, "(-1 segment=s.empty)"},
        {"/e/{s.empty}.json", 1, "/e/.json"},
        {"/e/x{s.empty}/", 1, "/e/x/"},
        {"/e?q={s.empty}", 1, "/e?q="},
        {"/e/{s.dot}/x", 1, "(-1 segment=s.dot)"},
        {"/e/{s.dots}", 1, "(-1 segment=s.dots)"},
        {"/e/v{s.dots}", 1, "/e/v.."},
        {"/e?q={s.dots}", 1, "/e?q=.."},
        {"/e/{s.empty}/", 0, "/e//"},
        {"h={header.x-mode}", 1, "h=fast%20lane"},
        {"literal only, no encoding: a b", 1, "literal only, no encoding: a b"},
        {"{{x}} {s.i}", 1, "{x} 42"},
        {"/products/{item.sku}", 1, "/products/A%20B"},
        {"/products?ids={item.joined}", 1, "/products?ids=1%252C2"},
        /* Missing, null or structured values: an error for URLs, empty text otherwise. */
        {"/x/{s.nope}", 1, "(-1 missing=s.nope)"},
        {"/x/{s.z}", 1, "(-1 missing=s.z)"},
        {"/x/{s.o}", 1, "(-1 missing=s.o)"},
        {"/x/{s.l}", 1, "(-1 missing=s.l)"},
        {"a{s.nope}b", 0, "ab(missing=s.nope)"},
        {"a{s.z}b", 0, "ab"},
        {"a{s.o}b", 0, "ab(missing=s.o)"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *got = render_with(cases[i].text, cases[i].urlencode, 0);
        if (strcmp(got, cases[i].want) != 0)
            TAP_FAIL("'%s' (urlencode %d):\n#     got:      %s\n#     expected: %s", cases[i].text,
                     cases[i].urlencode, got, cases[i].want);
    }
    /* A batch's `{items}` arrives already encoded: inserted verbatim, other refs still encoded. */
    ASSERT_STR_EQ(render_with("/products?ids={item.joined}&u={id}", 1, 1),
                  "/products?ids=1%2C2&u=u%201");
}

int main(void)
{
    TAP_RUN(test_jpath_parse);
    TAP_RUN(test_jpath_eval);
    TAP_RUN(test_template_parse);
    TAP_RUN(test_template_render);
    TAP_DONE();
}
