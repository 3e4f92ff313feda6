/* Unit tests for compose/yaml_tree.c: node positions, ${VAR} expansion, duplicate keys, anchors,
 * multi-document and syntax errors with positions, typed getters and unknown-key hints. */
#include "compose/diag.c"
#include "compose/yaml_tree.c"

#include <unistd.h>

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

static bff_yaml_doc_t *load(const char *text, bff_diag_t *diag)
{
    return bff_yaml_load_string("t.yaml", text, strlen(text), diag);
}

/* Every entry as "file:line:column: text", one per line (static buffer). */

#define ASSERT_POS(node, l, c)                                                                     \
    do {                                                                                           \
        ASSERT_TRUE((node) != NULL);                                                               \
        if ((node) != NULL) {                                                                      \
            ASSERT_INT_EQ((node)->line, (l));                                                      \
            ASSERT_INT_EQ((node)->column, (c));                                                    \
        }                                                                                          \
    } while (0)

/* Loads a document that must fail and checks the one expected message is among the errors. */
static void expect_load_error(const char *text, const char *expected)
{
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load(text, &d);
    /* A broken structure gives no document; a value that cannot be expanded gives one marked
     * failed, so that loaders find the file's other problems too. */
    if (doc != NULL && !bff_yaml_doc_failed(doc))
        TAP_FAIL("expected load failure for: %s", text);
    ASSERT_TRUE(d.size >= 1);
    ASSERT_STR_CONTAINS(diag_text(&d), expected);
    bff_yaml_free(doc);
    bff_diag_clear(&d);
}

static void test_positions(void)
{
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("a: 1\n"
                               "b:\n"
                               "  c: x\n"
                               "  d: [1, \"2\"]\n"
                               "e:\n"
                               "  - f: g\n"
                               "  - 'h'\n",
                               &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_INT_EQ(d.size, 0);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *root = bff_yaml_root(doc);
    ASSERT_INT_EQ(root->kind, BFF_YAML_MAP);
    ASSERT_INT_EQ(root->size, 3);
    ASSERT_POS(root, 1, 1);
    ASSERT_STR_EQ(root->file, "t.yaml");
    ASSERT_POS(root->keys[0], 1, 1);
    ASSERT_STR_EQ(root->keys[0]->str, "a");
    ASSERT_POS(bff_yaml_get(root, "a"), 1, 4);
    ASSERT_STR_EQ(bff_yaml_get(root, "a")->str, "1");
    ASSERT_INT_EQ(bff_yaml_get(root, "a")->quoted, 0);

    const bff_yaml_node_t *b = bff_yaml_get(root, "b");
    ASSERT_POS(root->keys[1], 2, 1);
    ASSERT_INT_EQ(b->kind, BFF_YAML_MAP);
    ASSERT_POS(b, 3, 3); /* a block mapping starts at its first key */
    ASSERT_POS(b->keys[0], 3, 3);
    ASSERT_POS(bff_yaml_get(b, "c"), 3, 6);
    const bff_yaml_node_t *dd = bff_yaml_get(b, "d");
    ASSERT_INT_EQ(dd->kind, BFF_YAML_SEQ);
    ASSERT_POS(dd, 4, 6);
    ASSERT_INT_EQ(dd->size, 2);
    ASSERT_POS(dd->items[0], 4, 7);
    ASSERT_POS(dd->items[1], 4, 10); /* at the opening quote */
    ASSERT_STR_EQ(dd->items[1]->str, "2");
    ASSERT_INT_EQ(dd->items[1]->quoted, 1);
    ASSERT_TRUE(dd->keys == NULL);

    const bff_yaml_node_t *e = bff_yaml_get(root, "e");
    ASSERT_INT_EQ(e->kind, BFF_YAML_SEQ);
    ASSERT_POS(e, 6, 3);
    ASSERT_POS(e->items[0], 6, 5);
    ASSERT_POS(bff_yaml_get(e->items[0], "f"), 6, 8);
    ASSERT_POS(e->items[1], 7, 5);
    ASSERT_INT_EQ(e->items[1]->quoted, 1);

    /* Lookups on non-maps and absent keys. */
    ASSERT_TRUE(bff_yaml_get(root, "zz") == NULL);
    ASSERT_TRUE(bff_yaml_get(e, "f") == NULL);
    ASSERT_TRUE(bff_yaml_get(NULL, "a") == NULL);

    /* bff_yaml_error points at a node. */
    bff_yaml_error(&d, dd->items[1], "bad %s", "thing");
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:4:10: bad thing");
    bff_diag_clear(&d);
    bff_yaml_error(&d, NULL, "no position");
    ASSERT_STR_EQ(diag_text(&d), "no position");
    bff_diag_clear(&d);
    bff_yaml_free(doc);
}

static void test_many_children_keep_order(void)
{
    /* Enough keys and items to grow the child arrays several times. */
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 100; ++i)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "k%d: v%d\n", i, i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "list:\n");
    for (int i = 0; i < 37; ++i)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "  - %d\n", i);
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load(text, &d);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *root = bff_yaml_root(doc);
    ASSERT_INT_EQ(root->size, 101);
    int ok = 1;
    for (int i = 0; i < 100; ++i) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        ok &= strcmp(root->keys[i]->str, k) == 0 && strcmp(root->items[i]->str, v) == 0 &&
              root->keys[i]->line == (unsigned)i + 1;
    }
    ASSERT_TRUE(ok);
    const bff_yaml_node_t *list = bff_yaml_get(root, "list");
    ASSERT_INT_EQ(list->size, 37);
    ASSERT_STR_EQ(list->items[36]->str, "36");
    ASSERT_INT_EQ(list->items[36]->line, 138);
    bff_yaml_free(doc);
}

static void test_empty_documents(void)
{
    static const char *const empties[] = {"", "# only a comment\n", "---\n", "---\n...\n", "\n\n"};
    for (size_t i = 0; i != sizeof(empties) / sizeof(empties[0]); ++i) {
        bff_diag_t d = {0};
        bff_yaml_doc_t *doc = load(empties[i], &d);
        ASSERT_TRUE(doc != NULL);
        ASSERT_INT_EQ(d.size, 0);
        if (doc != NULL) {
            ASSERT_INT_EQ(bff_yaml_root(doc)->kind, BFF_YAML_MAP);
            ASSERT_INT_EQ(bff_yaml_root(doc)->size, 0);
        }
        bff_yaml_free(doc);
    }
    /* A quoted empty string is a value, not an empty document. */
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("''\n", &d);
    ASSERT_TRUE(doc != NULL);
    if (doc != NULL) {
        ASSERT_INT_EQ(bff_yaml_root(doc)->kind, BFF_YAML_SCALAR);
        ASSERT_INT_EQ(bff_yaml_root(doc)->quoted, 1);
    }
    bff_yaml_free(doc);
}

static void test_env_expansion(void)
{
    setenv("BFF_T_SET", "hello", 1);
    setenv("BFF_T_EMPTY", "", 1);
    unsetenv("BFF_T_UNSET");
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("set: ${BFF_T_SET}\n"
                               "dflt: ${BFF_T_UNSET:-fallback}\n"
                               "set_wins: ${BFF_T_SET:-fallback}\n"
                               "empty_uses_default: ${BFF_T_EMPTY:-dflt}\n"
                               "empty_default: \"${BFF_T_UNSET:-}\"\n"
                               "mixed: \"a-${BFF_T_SET}-${BFF_T_UNSET:-b}-c\"\n"
                               "escaped: $${BFF_T_SET}\n"
                               "dollars: a$b$$c$\n"
                               "colon_default: ${BFF_T_UNSET:-x:-y}\n"
                               "url: ${BFF_T_UNSET:-http://127.0.0.1:9100}\n"
                               "${BFF_T_SET:-k}_key: in keys too\n",
                               &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(diag_text(&d), "");
    if (doc != NULL) {
        const bff_yaml_node_t *r = bff_yaml_root(doc);
        ASSERT_STR_EQ(bff_yaml_get(r, "set")->str, "hello");
        ASSERT_INT_EQ(bff_yaml_get(r, "set")->len, 5);
        ASSERT_STR_EQ(bff_yaml_get(r, "dflt")->str, "fallback");
        ASSERT_STR_EQ(bff_yaml_get(r, "set_wins")->str, "hello");
        ASSERT_STR_EQ(bff_yaml_get(r, "empty_uses_default")->str, "dflt");
        ASSERT_STR_EQ(bff_yaml_get(r, "empty_default")->str, "");
        ASSERT_INT_EQ(bff_yaml_get(r, "empty_default")->len, 0);
        ASSERT_STR_EQ(bff_yaml_get(r, "mixed")->str, "a-hello-b-c");
        ASSERT_STR_EQ(bff_yaml_get(r, "escaped")->str, "${BFF_T_SET}");
        ASSERT_STR_EQ(bff_yaml_get(r, "dollars")->str, "a$b$$c$");
        ASSERT_STR_EQ(bff_yaml_get(r, "colon_default")->str, "x:-y");
        ASSERT_STR_EQ(bff_yaml_get(r, "url")->str, "http://127.0.0.1:9100");
        ASSERT_STR_EQ(bff_yaml_get(r, "hello_key")->str, "in keys too");
    }
    bff_yaml_free(doc);
    bff_diag_clear(&d);

    /* A long value grows the output buffer. */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    setenv("BFF_T_BIG", big, 1);
    doc = load("v: ${BFF_T_BIG}${BFF_T_BIG}\n", &d);
    ASSERT_TRUE(doc != NULL);
    if (doc != NULL)
        ASSERT_INT_EQ(bff_yaml_get(bff_yaml_root(doc), "v")->len, 2 * (sizeof(big) - 1));
    bff_yaml_free(doc);
    unsetenv("BFF_T_BIG");
}

static void test_env_errors(void)
{
    unsetenv("BFF_T_UNSET");
    setenv("BFF_T_EMPTY", "", 1);
    expect_load_error("a: 1\nb: ${BFF_T_UNSET}\n",
                      "t.yaml:2:4: environment variable BFF_T_UNSET is not set and has no default "
                      "(write ${BFF_T_UNSET:-default})");
    /* Set but empty counts as unset, as with the shell's ${X:-y}. */
    expect_load_error("b: ${BFF_T_EMPTY}\n",
                      "t.yaml:1:4: environment variable BFF_T_EMPTY is not set");
    expect_load_error("a:\n  b: \"x${BFF_T_SET\"\n", "t.yaml:2:6: unterminated ${ in value");
    expect_load_error("a: ${}\n", "t.yaml:1:4: bad environment variable reference");
    expect_load_error("a: ${:-x}\n", "t.yaml:1:4: bad environment variable reference");
    /* Every failing scalar is reported, not just the first. */
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("a: ${BFF_T_UNSET}\nb: ${BFF_T_UNSET}\n", &d);
    ASSERT_TRUE(doc != NULL && bff_yaml_doc_failed(doc));
    bff_yaml_free(doc);
    ASSERT_INT_EQ(d.size, 2);
    ASSERT_STR_CONTAINS(diag_text(&d), "t.yaml:2:4:");
    bff_diag_clear(&d);
}

static void test_duplicate_keys(void)
{
    expect_load_error("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a'");
    expect_load_error("top:\n  x: 1\n  y: 2\n  x: 3\n", "t.yaml:4:3: duplicate key 'x'");
    expect_load_error("m: {k: 1, k: 2}\n", "t.yaml:1:11: duplicate key 'k'");
    /* Keys compare after expansion. */
    setenv("BFF_T_SET", "hello", 1);
    expect_load_error("hello: 1\n${BFF_T_SET}: 2\n", "t.yaml:2:1: duplicate key 'hello'");
    /* The same key in different maps is fine. */
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("a: {x: 1}\nb: {x: 2}\n", &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_INT_EQ(d.size, 0);
    bff_yaml_free(doc);
}

static void test_anchors_and_aliases(void)
{
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("base: &b {x: 1, y: [a, b]}\n"
                               "other: *b\n"
                               "s: &s hello\n"
                               "t: *s\n"
                               "list: [*s, *b]\n"
                               "re: &s again\n"
                               "latest: *s\n",
                               &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(diag_text(&d), "");
    if (doc != NULL) {
        const bff_yaml_node_t *r = bff_yaml_root(doc);
        const bff_yaml_node_t *base = bff_yaml_get(r, "base"), *other = bff_yaml_get(r, "other");
        ASSERT_TRUE(base == other); /* shared, positioned at the anchored node */
        ASSERT_INT_EQ(other->kind, BFF_YAML_MAP);
        ASSERT_STR_EQ(bff_yaml_get(other, "x")->str, "1");
        ASSERT_STR_EQ(bff_yaml_get(r, "t")->str, "hello");
        const bff_yaml_node_t *list = bff_yaml_get(r, "list");
        ASSERT_INT_EQ(list->size, 2);
        ASSERT_STR_EQ(list->items[0]->str, "hello");
        ASSERT_TRUE(list->items[1] == base);
        /* A re-defined anchor: later aliases see the latest definition. */
        ASSERT_STR_EQ(bff_yaml_get(r, "latest")->str, "again");
    }
    bff_yaml_free(doc);

    expect_load_error("a: 1\nb: *nope\n", "t.yaml:2:4: unknown anchor 'nope'");
    /* An alias used as a mapping key must name a scalar. */
    expect_load_error("a: &m {x: 1}\n? *m\n: 2\n", "mapping keys must be plain strings");
    /* A collection that contains an alias to itself would make the tree cyclic. */
    expect_load_error("x: &a [1, *a]\n", "t.yaml:1:11:");
    expect_load_error("x: &a {k: *a}\n", "t.yaml:1:11:");
}

static void test_alias_expansion_is_bounded(void)
{
    /* "Billion laughs": each level refers to the previous one ten times. The tree shares nodes,
     * but a consumer walking it would visit 10^9 of them; the loader refuses. */
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof(text), "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; ++i)
        n += (size_t)snprintf(
            text + n, sizeof(text) - n,
            "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i - 1,
            i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    expect_load_error(text, "aliases");
    /* Modest reuse stays fine. */
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("a: &a [1, 2, 3]\nb: [*a, *a, *a]\nc: [*a, *a]\n", &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(diag_text(&d), "");
    bff_yaml_free(doc);
}

static void test_multi_document(void)
{
    expect_load_error("a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document per file");
    expect_load_error("---\na: 1\n...\n---\nb: 2\n", "t.yaml:4:1: only one YAML document per file");
    /* An explicit start and end marker around one document is fine. */
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("---\na: 1\n...\n", &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_INT_EQ(d.size, 0);
    if (doc != NULL)
        ASSERT_POS(bff_yaml_get(bff_yaml_root(doc), "a"), 2, 4);
    bff_yaml_free(doc);
}

static void test_syntax_errors(void)
{
    expect_load_error("a: b: c\n", "t.yaml:1:5: mapping values are not allowed in this context");
    /* A tab where indentation is says so, wherever libyaml trips over it. */
    expect_load_error("a:\n\tb: 1\n", "t.yaml:2:1: tabs are not allowed for indentation");
    expect_load_error("a:\n  b: 1\n\tc: 2\n", "t.yaml:3:1: tabs are not allowed for indentation");
    /* Bytes that are not text are placed where they are, not at 1:1. */
    expect_load_error("a: 1\nb: \"x\xffy\"\n",
                      "t.yaml:2:6: invalid leading UTF-8 octet (byte 0xff)");
    {
        bff_diag_t d = {0};
        const char text[] = "a: 1\nbb: x\0y\n";
        ASSERT_TRUE(bff_yaml_load_string("t.yaml", text, sizeof(text) - 1, &d) == NULL);
        ASSERT_STR_CONTAINS(diag_text(&d), "t.yaml:2:6: control characters are not allowed");
        bff_diag_clear(&d);
    }
    expect_load_error("a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']'");
    /* The start of the unterminated construct is named, not only where the input ran out. */
    expect_load_error("a: [1, 2\n", "1:4");
    expect_load_error("x: 1\nk: \"abc\n", "t.yaml:3:1: found unexpected end of stream");
    expect_load_error("x: 1\nk: \"abc\n", "2:4");
    expect_load_error("a:\n  - 1\n  b: 2\n", "t.yaml:3:3:");
    expect_load_error("a: 1\n b: 2\n", "t.yaml:2:3:");
    /* A node that is not a plain scalar cannot be a key. */
    expect_load_error("? [a, b]\n: 1\n", "t.yaml:1:3: mapping keys must be plain strings");
}

static void test_depth_limit(void)
{
    char text[512];
    size_t n = 0;
    for (int i = 0; i < 70; ++i)
        text[n++] = '[';
    for (int i = 0; i < 70; ++i)
        text[n++] = ']';
    text[n] = '\0';
    expect_load_error(text, "nesting deeper than 64 levels");
    /* 64 levels are fine. */
    n = 0;
    for (int i = 0; i < 63; ++i)
        text[n++] = '[';
    for (int i = 0; i < 63; ++i)
        text[n++] = ']';
    text[n] = '\0';
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load(text, &d);
    ASSERT_TRUE(doc != NULL);
    ASSERT_STR_EQ(diag_text(&d), "");
    bff_yaml_free(doc);

    /* The limit holds through aliases: a 40-deep node used 30 levels down is 70 deep. */
    for (int inner = 30; inner >= 20; inner -= 10) {
        n = (size_t)snprintf(text, sizeof(text), "a: &a ");
        for (int i = 0; i < 40; ++i)
            text[n++] = '[';
        for (int i = 0; i < 40; ++i)
            text[n++] = ']';
        n += (size_t)snprintf(text + n, sizeof(text) - n, "\nb: ");
        for (int i = 0; i < inner; ++i)
            text[n++] = '[';
        n += (size_t)snprintf(text + n, sizeof(text) - n, "*a");
        for (int i = 0; i < inner; ++i)
            text[n++] = ']';
        text[n] = '\0';
        if (inner == 30) {
            expect_load_error(text,
                              "t.yaml:2:34: nesting deeper than 64 levels (through alias '*a')");
        } else {
            doc = load(text, &d);
            ASSERT_TRUE(doc != NULL);
            ASSERT_STR_EQ(diag_text(&d), "");
            bff_yaml_free(doc);
        }
    }
}

static void test_load_file(void)
{
    bff_diag_t d = {0};
    ASSERT_TRUE(bff_yaml_load_file("/nonexistent/dir/x.yaml", &d) == NULL);
    ASSERT_STR_CONTAINS(diag_text(&d), "/nonexistent/dir/x.yaml: cannot open:");
    bff_diag_clear(&d);

    char path[] = "/tmp/bff_yaml_tree_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    if (fd < 0)
        return;
    /* Bigger than the loader's first read buffer. */
    FILE *fp = fdopen(fd, "w");
    for (int i = 0; i < 600; ++i)
        fprintf(fp, "key_number_%d: value\n", i);
    fprintf(fp, "bad: ${BFF_T_UNSET}\n");
    fclose(fp);
    unsetenv("BFF_T_UNSET");
    bff_yaml_doc_t *failed = bff_yaml_load_file(path, &d);
    ASSERT_TRUE(failed != NULL && bff_yaml_doc_failed(failed));
    bff_yaml_free(failed);
    char expected[256];
    snprintf(expected, sizeof(expected), "%s:601:6: environment variable BFF_T_UNSET", path);
    ASSERT_STR_CONTAINS(diag_text(&d), expected);
    bff_diag_clear(&d);

    setenv("BFF_T_UNSET", "now set", 1);
    bff_yaml_doc_t *doc = bff_yaml_load_file(path, &d);
    unsetenv("BFF_T_UNSET");
    ASSERT_TRUE(doc != NULL);
    if (doc != NULL) {
        const bff_yaml_node_t *r = bff_yaml_root(doc);
        ASSERT_INT_EQ(r->size, 601);
        ASSERT_STR_EQ(r->file, path);
        ASSERT_STR_EQ(bff_yaml_get(r, "bad")->str, "now set");
    }
    bff_yaml_free(doc);
    unlink(path);
}

static void test_get_str_and_bool(void)
{
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("name: web\n"
                               "list: [1]\n"
                               "t1: true\nt2: yes\nt3: on\nt4: True\nt5: TRUE\n"
                               "f1: false\nf2: no\nf3: off\nf4: False\n"
                               "maybe: perhaps\n"
                               "quoted: \"true\"\n",
                               &d);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *r = bff_yaml_root(doc);
    const char *s = "untouched";
    ASSERT_INT_EQ(bff_yaml_get_str(&d, r, "name", 1, &s), 0);
    ASSERT_STR_EQ(s, "web");
    s = "untouched";
    ASSERT_INT_EQ(bff_yaml_get_str(&d, r, "absent", 0, &s), 0);
    ASSERT_STR_EQ(s, "untouched");
    ASSERT_INT_EQ(d.size, 0);
    ASSERT_INT_EQ(bff_yaml_get_str(&d, r, "absent", 1, &s), -1);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:1:1: missing required key 'absent'");
    bff_diag_clear(&d);
    ASSERT_INT_EQ(bff_yaml_get_str(&d, r, "list", 0, &s), -1);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:2:7: 'list' must be a scalar value");
    bff_diag_clear(&d);

    /* YAML 1.2's core schema: True and TRUE are booleans too (no "must be true or false"). */
    static const char *const truthy[] = {"t1", "t2", "t3", "t4", "t5", "quoted"}, *const falsy[] = {
                                                                                      "f1", "f2",
                                                                                      "f3", "f4"};
    for (size_t i = 0; i != 6; ++i) {
        int b = 0;
        ASSERT_INT_EQ(bff_yaml_get_bool(&d, r, truthy[i], &b), 0);
        ASSERT_INT_EQ(b, 1);
    }
    for (size_t i = 0; i != 4; ++i) {
        int b = 1;
        ASSERT_INT_EQ(bff_yaml_get_bool(&d, r, falsy[i], &b), 0);
        ASSERT_INT_EQ(b, 0);
    }
    int b = 7;
    ASSERT_INT_EQ(bff_yaml_get_bool(&d, r, "absent", &b), 0);
    ASSERT_INT_EQ(b, 7);
    ASSERT_INT_EQ(d.size, 0);
    ASSERT_INT_EQ(bff_yaml_get_bool(&d, r, "maybe", &b), -1);
    ASSERT_INT_EQ(b, 7);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:12:8: 'maybe' must be true or false, not 'perhaps'");
    bff_diag_clear(&d);
    bff_yaml_free(doc);
}

static void test_get_int(void)
{
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc =
        load("n: 42\nneg: -7\nbig: 9223372036854775807\nover: 9223372036854775808\n"
             "word: abc\ntrail: 12abc\nfrac: 1.5\nmap: {a: 1}\n",
             &d);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *r = bff_yaml_root(doc);
    int64_t v = -1;
    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "n", 1, 0, 100, &v), 0);
    ASSERT_INT_EQ(v, 42);
    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "neg", 1, -10, 10, &v), 0);
    ASSERT_INT_EQ(v, -7);
    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "big", 1, INT64_MIN, INT64_MAX, &v), 0);
    ASSERT_INT_EQ(v, INT64_MAX);
    /* Bounds are inclusive. */
    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "n", 1, 42, 42, &v), 0);
    v = 5;
    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "absent", 0, 0, 1, &v), 0);
    ASSERT_INT_EQ(v, 5);
    ASSERT_INT_EQ(d.size, 0);

    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "n", 1, 0, 10, &v), -1);
    ASSERT_INT_EQ(v, 5);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:1:4: 'n' must be between 0 and 10");
    bff_diag_clear(&d);
    ASSERT_INT_EQ(bff_yaml_get_int(&d, r, "neg", 1, 0, 10, &v), -1);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:2:6: 'neg' must be between 0 and 10");
    bff_diag_clear(&d);
    static const struct {
        const char *key, *msg;
    } bad[] = {{"over", "t.yaml:4:7: 'over' must be an integer, not '9223372036854775808'"},
               {"word", "t.yaml:5:7: 'word' must be an integer, not 'abc'"},
               {"trail", "t.yaml:6:8: 'trail' must be an integer, not '12abc'"},
               {"frac", "t.yaml:7:7: 'frac' must be an integer, not '1.5'"},
               {"map", "t.yaml:8:6: 'map' must be a scalar value"},
               {"absent", "t.yaml:1:1: missing required key 'absent'"}};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        ASSERT_INT_EQ(bff_yaml_get_int(&d, r, bad[i].key, 1, INT64_MIN, INT64_MAX, &v), -1);
        ASSERT_STR_EQ(diag_text(&d), bad[i].msg);
        bff_diag_clear(&d);
    }
    ASSERT_INT_EQ(v, 5);
    bff_yaml_free(doc);

    int64_t x = 0;
    ASSERT_INT_EQ(bff_parse_int("-9223372036854775808", &x), 0);
    ASSERT_INT_EQ(x, INT64_MIN);
    ASSERT_INT_EQ(bff_parse_int("", &x), -1);
    ASSERT_INT_EQ(bff_parse_int("0x10", &x), -1);
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {{"250ms", 250},    {"2s", 2000},
                {"1m", 60000},     {"1h", 3600000},
                {"0s", 0},         {"1500", 1500},
                {"0", 0},          {"90s", 90000},
                {"24h", 86400000}, {"18446744073709551615ms", UINT64_MAX}};
    for (size_t i = 0; i != sizeof(good) / sizeof(good[0]); ++i) {
        uint64_t v = 12345;
        if (bff_parse_duration_ms(good[i].text, &v) != 0)
            TAP_FAIL("duration '%s' rejected", good[i].text);
        else
            ASSERT_INT_EQ(v, good[i].ms);
    }
    static const char *const bad[] = {"",
                                      "ms",
                                      "1.5s",
                                      "2 s",
                                      "-1s",
                                      " 2s",
                                      "10x",
                                      "1d",
                                      "2S",
                                      "1sec",
                                      "1e3",
                                      "18446744073709551615s",
                                      "99999999999999999999"};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        uint64_t v = 12345;
        if (bff_parse_duration_ms(bad[i], &v) == 0)
            TAP_FAIL("duration '%s' accepted as %llu", bad[i], (unsigned long long)v);
        ASSERT_INT_EQ(v, 12345);
    }

    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("timeout: 250ms\nslow: 1m\nbad: fast\nlist: []\n", &d);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *r = bff_yaml_root(doc);
    uint64_t v = 0;
    ASSERT_INT_EQ(bff_yaml_get_duration_ms(&d, r, "timeout", &v), 0);
    ASSERT_INT_EQ(v, 250);
    ASSERT_INT_EQ(bff_yaml_get_duration_ms(&d, r, "slow", &v), 0);
    ASSERT_INT_EQ(v, 60000);
    v = 9;
    ASSERT_INT_EQ(bff_yaml_get_duration_ms(&d, r, "absent", &v), 0);
    ASSERT_INT_EQ(v, 9);
    ASSERT_INT_EQ(d.size, 0);
    ASSERT_INT_EQ(bff_yaml_get_duration_ms(&d, r, "bad", &v), -1);
    ASSERT_STR_EQ(diag_text(&d),
                  "t.yaml:3:6: 'bad' must be a duration like 250ms, 2s or 1m, not 'fast'");
    bff_diag_clear(&d);
    ASSERT_INT_EQ(bff_yaml_get_duration_ms(&d, r, "list", &v), -1);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:4:7: 'list' must be a scalar value");
    bff_diag_clear(&d);
    bff_yaml_free(doc);
}

static void test_sizes(void)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {{"512", 512},        {"0", 0},
                {"100B", 100},       {"16KiB", 16384},
                {"16KB", 16384},     {"2k", 2048},
                {"2K", 2048},        {"1MiB", 1 << 20},
                {"3MB", 3u << 20},   {"1m", 1 << 20},
                {"1M", 1 << 20},     {"1GiB", 1ull << 30},
                {"2GB", 2ull << 30}, {"17179869183GiB", 17179869183ull << 30}};
    for (size_t i = 0; i != sizeof(good) / sizeof(good[0]); ++i) {
        uint64_t v = 12345;
        if (bff_parse_size(good[i].text, &v) != 0)
            TAP_FAIL("size '%s' rejected", good[i].text);
        else
            ASSERT_INT_EQ(v, good[i].bytes);
    }
    static const char *const bad[] = {"",   "KiB",  "1TiB", "1.5MiB", "1 KiB",
                                      "-1", "1kib", "1Kb",  "1g",     "17179869184GiB"};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        uint64_t v = 12345;
        if (bff_parse_size(bad[i], &v) == 0)
            TAP_FAIL("size '%s' accepted as %llu", bad[i], (unsigned long long)v);
    }

    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("limits:\n  body: 64KiB\n  header: lots\n", &d);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *limits = bff_yaml_get(bff_yaml_root(doc), "limits");
    uint64_t v = 0;
    ASSERT_INT_EQ(bff_yaml_get_size(&d, limits, "body", &v), 0);
    ASSERT_INT_EQ(v, 65536);
    ASSERT_INT_EQ(bff_yaml_get_size(&d, limits, "header", &v), -1);
    ASSERT_STR_EQ(diag_text(&d),
                  "t.yaml:3:11: 'header' must be a size like 64KiB or 1MiB, not 'lots'");
    bff_diag_clear(&d);
    bff_yaml_free(doc);
}

static void test_unknown_keys(void)
{
    static const char *const allowed[] = {"upstream", "timeout", "retries", "path", NULL};
    bff_diag_t d = {0};
    bff_yaml_doc_t *doc = load("src:\n"
                               "  upstream: users\n"
                               "  timout: 2s\n"
                               "  zzzzzz: 1\n"
                               "  Path: /x\n"
                               "ok:\n"
                               "  path: /y\n"
                               "scalar: 1\n",
                               &d);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    const bff_yaml_node_t *r = bff_yaml_root(doc);
    ASSERT_INT_EQ(bff_yaml_check_map(&d, bff_yaml_get(r, "src"), "a source", allowed), -1);
    ASSERT_INT_EQ(d.size, 3); /* every unknown key is reported */
    char line[256];
    bff_diag_format(&d, 0, line, sizeof(line));
    ASSERT_STR_EQ(line, "t.yaml:3:3: unknown key 'timout' in a source (did you mean 'timeout'?)");
    bff_diag_format(&d, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, "t.yaml:4:3: unknown key 'zzzzzz' in a source");
    bff_diag_format(&d, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, "t.yaml:5:3: unknown key 'Path' in a source (did you mean 'path'?)");
    bff_diag_clear(&d);

    ASSERT_INT_EQ(bff_yaml_check_map(&d, bff_yaml_get(r, "ok"), "a source", allowed), 0);
    ASSERT_INT_EQ(d.size, 0);
    ASSERT_INT_EQ(bff_yaml_check_map(&d, bff_yaml_get(r, "scalar"), "a source", allowed), -1);
    ASSERT_STR_EQ(diag_text(&d), "t.yaml:8:9: a source must be a mapping");
    bff_diag_clear(&d);
    ASSERT_INT_EQ(bff_yaml_check_map(&d, NULL, "a source", allowed), -1);
    ASSERT_STR_EQ(diag_text(&d), "a source must be a mapping");
    bff_diag_clear(&d);
    bff_yaml_free(doc);
}

static void test_diag_format(void)
{
    bff_diag_t d = {0};
    for (int i = 0; i < 20; ++i) /* grows past the first capacity */
        bff_diag_add(&d, "f.yaml", (unsigned)i + 1, 2, "problem %d", i);
    bff_diag_add(&d, "f.yaml", 0, 0, "no line");
    bff_diag_add(&d, NULL, 3, 4, "no file");
    char buf[64];
    bff_diag_format(&d, 19, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "f.yaml:20:2: problem 19");
    bff_diag_format(&d, 20, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "f.yaml: no line");
    bff_diag_format(&d, 21, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "no file");
    bff_diag_format(&d, 0, buf, 8); /* truncated, still terminated */
    ASSERT_STR_EQ(buf, "f.yaml:");
    bff_diag_clear(&d);
    ASSERT_INT_EQ(d.size, 0);
    bff_diag_add(&d, "g", 1, 1, "reuse");
    ASSERT_STR_EQ(diag_text(&d), "g:1:1: reuse");
    bff_diag_clear(&d);
}

int main(void)
{
    TAP_RUN(test_positions);
    TAP_RUN(test_many_children_keep_order);
    TAP_RUN(test_empty_documents);
    TAP_RUN(test_env_expansion);
    TAP_RUN(test_env_errors);
    TAP_RUN(test_duplicate_keys);
    TAP_RUN(test_anchors_and_aliases);
    TAP_RUN(test_alias_expansion_is_bounded);
    TAP_RUN(test_multi_document);
    TAP_RUN(test_syntax_errors);
    TAP_RUN(test_depth_limit);
    TAP_RUN(test_load_file);
    TAP_RUN(test_get_str_and_bool);
    TAP_RUN(test_get_int);
    TAP_RUN(test_durations);
    TAP_RUN(test_sizes);
    TAP_RUN(test_unknown_keys);
    TAP_RUN(test_diag_format);
    TAP_DONE();
}
