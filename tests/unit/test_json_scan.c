/* Unit tests for compose/json_scan.c and compose/json_write.c: case folders, navigation,
 * unescaping, a random-document oracle for token layout, and the writer's contract. */
#include "compose/diag.c"
#include "compose/json_scan.c"
#include "compose/json_write.c"

#include <dirent.h>
#include <sys/stat.h>

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

#define SCAN(doc, s) bff_jdoc_scan((doc), (s), strlen(s), 0, 64, NULL, NULL)

/* Sorted list of "*.json" names in dir (caller frees each and the array). */
static char **list_json(const char *dir, size_t *count)
{
    char **names = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        *count = 0;
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        names = bff_realloc(names, (n + 1) * sizeof(*names));
        names[n++] = bff_strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; ++i) {
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; --j) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    }
    *count = n;
    return names;
}

/* Structural invariants every successful scan must satisfy; returns the first violation. */
static const char *check_invariants(const bff_jdoc_t *doc)
{
    if (doc->ntoks == 0 || doc->toks[0].next != doc->ntoks)
        return "root does not span all tokens";
    for (uint32_t i = 0; i < doc->ntoks; ++i) {
        const bff_jtok_t *t = doc->toks + i;
        if (t->next <= i || t->next > doc->ntoks)
            return "next out of range";
        if (t->start > t->end || t->end > doc->len)
            return "byte range out of input";
        if (t->type < BFF_J_OBJECT || t->type > BFF_J_NULL)
            return "bad type";
        if (t->type != BFF_J_OBJECT && t->type != BFF_J_ARRAY) {
            if (t->next != i + 1 || t->size != 0)
                return "scalar with children";
            continue;
        }
        /* Walking the children by skip links must land exactly on next. */
        uint32_t j = i + 1;
        for (uint32_t k = 0; k < t->size; ++k) {
            if (j >= t->next)
                return "children overrun subtree";
            if (t->type == BFF_J_OBJECT) {
                if (doc->toks[j].type != BFF_J_STRING)
                    return "key is not a string";
                ++j;
            }
            if (doc->toks[j].start < t->start || doc->toks[j].end > t->end)
                return "child outside parent bytes";
            j = doc->toks[j].next;
        }
        if (j != t->next)
            return "children do not end at next";
    }
    return NULL;
}

/* Naive recursive subtree end: the oracle for `next`. */
static uint32_t naive_end(const bff_jdoc_t *doc, uint32_t i)
{
    const bff_jtok_t *t = doc->toks + i;
    uint32_t j = i + 1;
    if (t->type == BFF_J_ARRAY) {
        for (uint32_t k = 0; k < t->size; ++k)
            j = naive_end(doc, j);
    } else if (t->type == BFF_J_OBJECT) {
        for (uint32_t k = 0; k < t->size; ++k)
            j = naive_end(doc, j + 1);
    }
    return j;
}

static char *unescaped(const bff_jdoc_t *doc, uint32_t tok, size_t *len)
{
    char *s = bff_malloc(doc->toks[tok].end - doc->toks[tok].start + 1);
    *len = bff_jdoc_unescape(doc, tok, s);
    s[*len] = '\0';
    return s;
}

/* Re-emits value `i` through the writer (strings unescaped then re-escaped); returns its next. */
static uint32_t reemit(const bff_jdoc_t *doc, uint32_t i, bff_jwrite_t *w)
{
    const bff_jtok_t *t = doc->toks + i;
    size_t len;
    switch (t->type) {
    case BFF_J_OBJECT:
    case BFF_J_ARRAY: {
        int obj = t->type == BFF_J_OBJECT;
        bff_jwrite_open(w, obj ? '{' : '[');
        uint32_t j = i + 1;
        for (uint32_t k = 0; k < t->size; ++k) {
            if (obj) {
                char *key = unescaped(doc, j, &len);
                bff_jwrite_key(w, key, len);
                free(key);
                ++j;
            }
            j = reemit(doc, j, w);
        }
        bff_jwrite_close(w, obj ? '}' : ']');
        return j;
    }
    case BFF_J_STRING: {
        char *s = unescaped(doc, i, &len);
        bff_jwrite_str(w, s, len);
        free(s);
        return i + 1;
    }
    default: {
        const char *raw = bff_jdoc_raw(doc, i, &len);
        bff_jwrite_raw(w, raw, len);
        return i + 1;
    }
    }
}

/* Re-emits doc, rescans the output and compares the two token streams; returns a violation. */
static const char *check_roundtrip(const bff_jdoc_t *doc)
{
    static char msg[128];
    const char *ret = NULL;
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, 1 << 26);
    reemit(doc, 0, &w);
    bff_jdoc_t again = {0};
    const char *err = NULL;
    size_t off = 0;
    if (bff_jwrite_done(&w) != 0) {
        ret = "writer refused the re-emitted document";
    } else if (bff_jdoc_scan(&again, w.buf, w.len, 0, 64, &err, &off) != 0) {
        snprintf(msg, sizeof(msg), "re-emitted output does not scan: %s at %zu", err, off);
        ret = msg;
    } else if (again.ntoks != doc->ntoks) {
        ret = "token count changed";
    }
    for (uint32_t i = 0; ret == NULL && i < doc->ntoks; ++i) {
        const bff_jtok_t *a = doc->toks + i, *b = again.toks + i;
        if (a->type != b->type || a->size != b->size || a->next != b->next) {
            ret = "token shape changed";
        } else if (a->type == BFF_J_STRING) {
            size_t la, lb;
            char *sa = unescaped(doc, i, &la), *sb = unescaped(&again, i, &lb);
            if (la != lb || memcmp(sa, sb, la) != 0)
                ret = "string content changed";
            free(sa);
            free(sb);
        }
    }
    bff_jdoc_dispose(&again);
    bff_jwrite_dispose(&w);
    return ret;
}

static void test_valid_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/json_scan/valid", source_dir());
    size_t n;
    char **names = list_json(dir, &n);
    ASSERT_TRUE(n >= 20);
    bff_jdoc_t doc = {0};
    for (size_t i = 0; i < n; ++i) {
        char path[2048];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *json = read_file(path, &len);
        ASSERT_TRUE(json != NULL);
        const char *err = NULL, *bad;
        size_t off = 0;
        if (bff_jdoc_scan(&doc, json, len, 0, 64, &err, &off) != 0) {
            TAP_FAIL("%s: rejected: %s at %zu", names[i], err, off);
        } else if ((bad = check_invariants(&doc)) != NULL) {
            TAP_FAIL("%s: %s", names[i], bad);
        } else if ((bad = check_roundtrip(&doc)) != NULL) {
            TAP_FAIL("%s: %s", names[i], bad);
        }
        free(json);
        free(names[i]);
    }
    free(names);
    bff_jdoc_dispose(&doc);
}

static void test_invalid_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/json_scan/invalid", source_dir());
    size_t n;
    char **names = list_json(dir, &n);
    ASSERT_TRUE(n >= 25);
    bff_jdoc_t doc = {0};
    for (size_t i = 0; i < n; ++i) {
        char path[2048];
        size_t len, elen;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *json = read_file(path, &len);
        snprintf(path + strlen(path) - 5, 6, ".err");
        char *expect = read_file(path, &elen);
        ASSERT_TRUE(json != NULL && expect != NULL);
        if (json == NULL || expect == NULL) {
            free(json);
            free(expect);
            free(names[i]);
            continue;
        }
        /* The .err file is "<offset> <message>\n". */
        expect = bff_realloc(expect, elen + 1);
        expect[elen] = '\0';
        expect[strcspn(expect, "\n")] = '\0';
        char got[256];
        const char *err = NULL;
        size_t off = 0;
        if (bff_jdoc_scan(&doc, json, len, 0, 64, &err, &off) == 0)
            snprintf(got, sizeof(got), "accepted");
        else
            snprintf(got, sizeof(got), "%zu %s", off, err);
        if (strcmp(got, expect) != 0)
            TAP_FAIL("%s: got \"%s\", expected \"%s\"", names[i], got, expect);
        ASSERT_INT_EQ(doc.ntoks, 0);
        free(json);
        free(expect);
        free(names[i]);
    }
    free(names);
    bff_jdoc_dispose(&doc);
}

static void test_layout(void)
{
    const char *s = "{\"a\":[1,\"x\"],\"b\":{\"c\":true},\"d\":null}";
    bff_jdoc_t doc = {0};
    ASSERT_INT_EQ(SCAN(&doc, s), 0);
    ASSERT_INT_EQ(doc.ntoks, 11);
    /* 0 { 1 "a" 2 [ 3 1 4 "x" 5 "b" 6 { 7 "c" 8 true 9 "d" 10 null */
    static const struct {
        uint8_t type;
        uint32_t start, end, next, size;
    } want[] = {
        {BFF_J_OBJECT, 0, 37, 11, 3},  {BFF_J_STRING, 2, 3, 2, 0},   {BFF_J_ARRAY, 5, 12, 5, 2},
        {BFF_J_NUMBER, 6, 7, 4, 0},    {BFF_J_STRING, 9, 10, 5, 0},  {BFF_J_STRING, 14, 15, 6, 0},
        {BFF_J_OBJECT, 17, 27, 9, 1},  {BFF_J_STRING, 19, 20, 8, 0}, {BFF_J_TRUE, 22, 26, 9, 0},
        {BFF_J_STRING, 29, 30, 10, 0}, {BFF_J_NULL, 32, 36, 11, 0},
    };
    for (uint32_t i = 0; i < doc.ntoks && i < 11; ++i) {
        ASSERT_INT_EQ(doc.toks[i].type, want[i].type);
        ASSERT_INT_EQ(doc.toks[i].start, want[i].start);
        ASSERT_INT_EQ(doc.toks[i].end, want[i].end);
        ASSERT_INT_EQ(doc.toks[i].next, want[i].next);
        ASSERT_INT_EQ(doc.toks[i].size, want[i].size);
    }
    size_t len;
    const char *raw = bff_jdoc_raw(&doc, 2, &len);
    ASSERT_INT_EQ(len, 7);
    ASSERT_TRUE(memcmp(raw, "[1,\"x\"]", 7) == 0);
    raw = bff_jdoc_raw(&doc, 4, &len);
    ASSERT_INT_EQ(len, 3);
    ASSERT_TRUE(memcmp(raw, "\"x\"", 3) == 0);
    bff_jdoc_dispose(&doc);
}

static void test_navigation(void)
{
    const char *s = "{\"id\":7,\"a\\u0062c\":\"v1\",\"x\\\"y\":[10,20,30],\"\\u00e9t\\u00e9\":2,"
                    "\"\\uD83D\\uDE00\":3,\"id\":8,\"ab\":4}";
    bff_jdoc_t doc = {0};
    ASSERT_INT_EQ(SCAN(&doc, s), 0);
    uint32_t v = bff_jdoc_obj_get(&doc, 0, "id", 2);
    ASSERT_INT_EQ(v, 2); /* the first of the duplicates */
    ASSERT_TRUE(memcmp(s + doc.toks[v].start, "7", 1) == 0);
    v = bff_jdoc_obj_get(&doc, 0, "abc", 3);
    ASSERT_TRUE(v != BFF_JDOC_NONE && bff_jdoc_equals_str(&doc, v, "v1", 2));
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "ab", 2), doc.ntoks - 1);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "abcd", 4), BFF_JDOC_NONE);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "a\\u0062c", 8), BFF_JDOC_NONE);
    uint32_t arr = bff_jdoc_obj_get(&doc, 0, "x\"y", 3);
    ASSERT_TRUE(arr != BFF_JDOC_NONE && doc.toks[arr].type == BFF_J_ARRAY);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "\xc3\xa9t\xc3\xa9", 5) != BFF_JDOC_NONE, 1);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "\xf0\x9f\x98\x80", 4) != BFF_JDOC_NONE, 1);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "\xf0\x9f\x98", 3), BFF_JDOC_NONE);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, arr, "id", 2), BFF_JDOC_NONE); /* not an object */
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 9999, "id", 2), BFF_JDOC_NONE);

    int64_t n;
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, bff_jdoc_arr_get(&doc, arr, 0), &n), 0);
    ASSERT_INT_EQ(n, 10);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, bff_jdoc_arr_get(&doc, arr, 2), &n), 0);
    ASSERT_INT_EQ(n, 30);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, bff_jdoc_arr_get(&doc, arr, -1), &n), 0);
    ASSERT_INT_EQ(n, 30);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, bff_jdoc_arr_get(&doc, arr, -3), &n), 0);
    ASSERT_INT_EQ(n, 10);
    ASSERT_INT_EQ(bff_jdoc_arr_get(&doc, arr, 3), BFF_JDOC_NONE);
    ASSERT_INT_EQ(bff_jdoc_arr_get(&doc, arr, -4), BFF_JDOC_NONE);
    ASSERT_INT_EQ(bff_jdoc_arr_get(&doc, 0, 0), BFF_JDOC_NONE); /* not an array */
    ASSERT_INT_EQ(bff_jdoc_arr_get(&doc, arr, INT64_MIN), BFF_JDOC_NONE);

    /* Member iteration: key at k, value at k + 1, next key at toks[k + 1].next. */
    uint32_t k = 1, count = 0;
    for (uint32_t m = 0; m < doc.toks[0].size; ++m, ++count)
        k = doc.toks[k + 1].next;
    ASSERT_INT_EQ(count, 7);
    ASSERT_INT_EQ(k, doc.ntoks);
    bff_jdoc_dispose(&doc);
}

static void test_unescape(void)
{
    const char *s =
        "[\"plain\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20ac\\uD83D\\uDE00\","
        "\"nul\\u0000x\",\"\"]";
    bff_jdoc_t doc = {0};
    ASSERT_INT_EQ(SCAN(&doc, s), 0);
    char buf[64];
    size_t n = bff_jdoc_unescape(&doc, 1, buf);
    ASSERT_INT_EQ(n, 5);
    ASSERT_INT_EQ(doc.toks[1].escaped, 0);
    ASSERT_TRUE(memcmp(buf, "plain", 5) == 0);
    n = bff_jdoc_unescape(&doc, 2, buf);
    ASSERT_INT_EQ(doc.toks[2].escaped, 1);
    ASSERT_INT_EQ(n, 12);
    ASSERT_TRUE(memcmp(buf, "a\"b\\c/d\b\f\n\r\t", 12) == 0);
    n = bff_jdoc_unescape(&doc, 3, buf);
    ASSERT_INT_EQ(n, 10);
    ASSERT_TRUE(memcmp(buf, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10) == 0);
    ASSERT_TRUE(bff_jdoc_equals_str(&doc, 3, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    ASSERT_TRUE(!bff_jdoc_equals_str(&doc, 3, "A\xc3\xa9\xe2\x82\xac", 6));
    n = bff_jdoc_unescape(&doc, 4, buf);
    ASSERT_INT_EQ(n, 5);
    ASSERT_TRUE(memcmp(buf, "nul\0x", 5) == 0);
    ASSERT_TRUE(bff_jdoc_equals_str(&doc, 4, "nul\0x", 5));
    ASSERT_INT_EQ(bff_jdoc_unescape(&doc, 5, buf), 0);
    ASSERT_TRUE(bff_jdoc_equals_str(&doc, 5, "", 0));
    ASSERT_INT_EQ(bff_jdoc_unescape(&doc, 0, buf), 0); /* not a string */
    ASSERT_TRUE(!bff_jdoc_equals_str(&doc, 0, "", 0));
    bff_jdoc_dispose(&doc);
}

static void test_numbers(void)
{
    const char *s = "[0,-0,42,-17,1.5,-2.5e3,1e400,123456789012345678,9223372036854775807,"
                    "-9223372036854775808,9223372036854775808,3.0,3e2,0.1,1e-400,\"x\"]";
    bff_jdoc_t doc = {0};
    ASSERT_INT_EQ(SCAN(&doc, s), 0);
    double d;
    int64_t v;
#define EL(i) bff_jdoc_arr_get(&doc, 0, (i))
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(2), &d), 0);
    ASSERT_TRUE(d == 42.0);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(3), &d), 0);
    ASSERT_TRUE(d == -17.0);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(4), &d), 0);
    ASSERT_TRUE(d == 1.5);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(5), &d), 0);
    ASSERT_TRUE(d == -2500.0);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(6), &d), -1); /* overflows a double */
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(7), &d), 0);
    ASSERT_TRUE(d == 123456789012345678.0);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(13), &d), 0);
    ASSERT_TRUE(d == 0.1);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(14), &d), 0);
    ASSERT_TRUE(d == 0.0);
    ASSERT_INT_EQ(bff_jdoc_to_double(&doc, EL(15), &d), -1); /* a string */

    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(0), &v), 0);
    ASSERT_INT_EQ(v, 0);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(1), &v), 0);
    ASSERT_INT_EQ(v, 0);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(3), &v), 0);
    ASSERT_INT_EQ(v, -17);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(4), &v), -1); /* fraction */
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(7), &v), 0);
    ASSERT_INT_EQ(v, 123456789012345678LL);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(8), &v), 0);
    ASSERT_INT_EQ(v, INT64_MAX);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(9), &v), 0);
    ASSERT_INT_EQ(v, INT64_MIN);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(10), &v), -1); /* out of range */
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(11), &v), 0);
    ASSERT_INT_EQ(v, 3);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(12), &v), 0);
    ASSERT_INT_EQ(v, 300);
    ASSERT_INT_EQ(bff_jdoc_to_int64(&doc, EL(6), &v), -1);
#undef EL
    bff_jdoc_dispose(&doc);
}

static void test_limits_and_reuse(void)
{
    bff_jdoc_t doc = {0};
    const char *err = NULL;
    size_t off = 0;
    const char *s = "[1,2,3,4]";
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, s, strlen(s), 5, 64, &err, &off), 0);
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, s, strlen(s), 4, 64, &err, &off), -1);
    ASSERT_STR_EQ(err, "too many tokens");
    ASSERT_INT_EQ(off, 7);

    /* Depth: default 64 when 0, clamped to 256. */
    char deep[600];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, deep + 300 - 64, 128, 0, 0, &err, &off), 0);
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, deep + 300 - 65, 130, 0, 0, &err, &off), -1);
    ASSERT_STR_EQ(err, "too deeply nested");
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, deep + 300 - 256, 512, 0, 1000, &err, &off), 0);
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, deep + 300 - 257, 514, 0, 1000, &err, &off), -1);
    ASSERT_INT_EQ(off, 256);
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, "[[1]]", 5, 0, 1, &err, &off), -1);
    ASSERT_INT_EQ(off, 1);

    /* Growth beyond the initial estimate, then reuse without reallocating. */
    char big[8192];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 2000; ++i) {
        big[n++] = '0';
        big[n++] = ',';
    }
    big[n - 1] = ']';
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, big, n, 0, 64, &err, &off), 0);
    ASSERT_INT_EQ(doc.ntoks, 2001);
    ASSERT_INT_EQ(doc.toks[0].size, 2000);
    ASSERT_TRUE(check_invariants(&doc) == NULL);
    bff_jtok_t *before = doc.toks;
    uint32_t cap = doc.cap;
    for (int i = 0; i < 3; ++i) {
        ASSERT_INT_EQ(bff_jdoc_scan(&doc, big, n, 0, 64, &err, &off), 0);
        ASSERT_INT_EQ(SCAN(&doc, "{\"a\":1}"), 0);
    }
    ASSERT_TRUE(doc.toks == before);
    ASSERT_INT_EQ(doc.cap, cap);
    ASSERT_INT_EQ(doc.ntoks, 3);

    /* A failed scan leaves no tokens but keeps the storage; NULL err pointers are fine. */
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, "[1,", 3, 0, 64, NULL, NULL), -1);
    ASSERT_INT_EQ(doc.ntoks, 0);
    ASSERT_TRUE(doc.toks == before);

    /* Not NUL-terminated: the scanner must stop at len. */
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, "123456", 3, 0, 64, &err, &off), 0);
    ASSERT_INT_EQ(doc.toks[0].end, 3);
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, "\"abc\"", 4, 0, 64, &err, &off), -1);
    ASSERT_STR_EQ(err, "unterminated string");
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, "true", 3, 0, 64, &err, &off), -1);
    ASSERT_STR_EQ(err, "invalid literal");
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, "\"\\uD83D\\uDE00\"", 12, 0, 64, &err, &off), -1);
    ASSERT_STR_EQ(err, "invalid surrogate pair");
    ASSERT_INT_EQ(bff_jdoc_scan(&doc, NULL, 0, 0, 64, &err, &off), -1);
    ASSERT_STR_EQ(err, "empty body");
    ASSERT_INT_EQ(SCAN(&doc, "{\"\":1,\"\\u0041\":2}"), 0);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, NULL, 0), 2);
    ASSERT_INT_EQ(bff_jdoc_obj_get(&doc, 0, "A", 1), 4);
    ASSERT_INT_EQ(bff_jdoc_equals_str(&doc, 1, NULL, 0), 1);
    ASSERT_INT_EQ(bff_jdoc_equals_str(&doc, 3, NULL, 0), 0);
    bff_jdoc_dispose(&doc);
    ASSERT_TRUE(doc.toks == NULL && doc.cap == 0);
}

/* Strings of every length 0..40 around the 8-byte fast path, with a special byte at each spot. */
static void test_string_fast_path(void)
{
    bff_jdoc_t doc = {0};
    char buf[64];
    const char *err;
    size_t off;
    for (size_t len = 0; len <= 40; ++len) {
        buf[0] = '"';
        memset(buf + 1, 'a', len);
        buf[len + 1] = '"';
        ASSERT_INT_EQ(bff_jdoc_scan(&doc, buf, len + 2, 0, 64, &err, &off), 0);
        ASSERT_INT_EQ(doc.toks[0].end - doc.toks[0].start, len);
        for (size_t at = 1; at <= len; ++at) {
            static const struct {
                char c;
                const char *err;
            } bad[] = {{'\x01', "control character in string"},
                       {'\x1f', "control character in string"},
                       {'\x80', "invalid UTF-8"},
                       {'\xff', "invalid UTF-8"},
                       {'\\', "invalid escape"}};
            for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); ++b) {
                buf[at] = bad[b].c;
                err = NULL;
                /* A backslash just before the closing quote escapes it. */
                int eaten = bad[b].c == '\\' && at == len;
                const char *want = eaten ? "unterminated string" : bad[b].err;
                if (bff_jdoc_scan(&doc, buf, len + 2, 0, 64, &err, &off) != -1 ||
                    strcmp(err, want) != 0 || off != (eaten ? 0 : at))
                    TAP_FAIL("len %zu, byte 0x%02x at %zu: %s at %zu", len, (unsigned char)bad[b].c,
                             at, err ? err : "accepted", off);
            }
            buf[at] = '"'; /* an early quote ends the string: trailing data follows */
            if (at < len) {
                ASSERT_INT_EQ(bff_jdoc_scan(&doc, buf, len + 2, 0, 64, &err, &off), -1);
                ASSERT_INT_EQ(off, at + 1);
            }
            buf[at] = 'a';
        }
    }
    bff_jdoc_dispose(&doc);
}

/* Random documents built alongside the tokens they must produce. */

struct gen {
    uint64_t rng;
    char *buf;
    size_t len, cap;
    bff_jtok_t *want;
    uint32_t nwant, wantcap;
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return (uint32_t)(g->rng % n);
}

static void put(struct gen *g, const char *s, size_t n)
{
    if (g->len + n > g->cap) {
        g->cap = (g->len + n) * 2;
        g->buf = bff_realloc(g->buf, g->cap);
    }
    memcpy(g->buf + g->len, s, n);
    g->len += n;
}

static void put_ws(struct gen *g)
{
    static const char *ws[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
    const char *w = ws[rnd(g, 7)];
    put(g, w, strlen(w));
}

static uint32_t expect(struct gen *g, uint8_t type, size_t start)
{
    if (g->nwant == g->wantcap) {
        g->wantcap = g->wantcap ? g->wantcap * 2 : 64;
        g->want = bff_realloc(g->want, g->wantcap * sizeof(*g->want));
    }
    g->want[g->nwant] = (bff_jtok_t){(uint32_t)start, 0, g->nwant + 1, 0, type, 0};
    return g->nwant++;
}

static void gen_string(struct gen *g)
{
    static const char *pieces[] = {"a",
                                   "key",
                                   "0123456789abcdef",
                                   " ",
                                   "\\n",
                                   "\\\"",
                                   "\\\\",
                                   "\\u00e9",
                                   "\\uD83D\\uDE00",
                                   "\xc3\xa9",
                                   "\xe2\x82\xac",
                                   "\xf0\x9f\x98\x80",
                                   "\\/",
                                   "\\u0000",
                                   "}",
                                   "]",
                                   ",",
                                   ":"};
    put(g, "\"", 1);
    uint32_t t = expect(g, BFF_J_STRING, g->len);
    for (uint32_t n = rnd(g, 6); n > 0; --n) {
        const char *p = pieces[rnd(g, sizeof(pieces) / sizeof(pieces[0]))];
        if (p[0] == '\\')
            g->want[t].escaped = 1;
        put(g, p, strlen(p));
    }
    g->want[t].end = (uint32_t)g->len;
    put(g, "\"", 1);
}

static void gen_value(struct gen *g, int depth)
{
    static const char *nums[] = {"0", "-0", "7", "-12", "3.25", "1e10", "-2.5E-3", "100000000000"};
    static const char *lits[] = {"true", "false", "null"};
    static const uint8_t littypes[] = {BFF_J_TRUE, BFF_J_FALSE, BFF_J_NULL};
    uint32_t kind = rnd(g, depth >= 12 ? 3 : 6);
    put_ws(g);
    if (kind == 0) {
        gen_string(g);
    } else if (kind == 1) {
        const char *n = nums[rnd(g, 8)];
        uint32_t t = expect(g, BFF_J_NUMBER, g->len);
        put(g, n, strlen(n));
        g->want[t].end = (uint32_t)g->len;
    } else if (kind == 2) {
        uint32_t l = rnd(g, 3);
        uint32_t t = expect(g, littypes[l], g->len);
        put(g, lits[l], strlen(lits[l]));
        g->want[t].end = (uint32_t)g->len;
    } else {
        int obj = kind == 3;
        uint32_t t = expect(g, obj ? BFF_J_OBJECT : BFF_J_ARRAY, g->len);
        put(g, obj ? "{" : "[", 1);
        uint32_t n = rnd(g, 5);
        for (uint32_t i = 0; i < n; ++i) {
            if (i > 0)
                put(g, ",", 1);
            if (obj) {
                put_ws(g);
                gen_string(g);
                put_ws(g);
                put(g, ":", 1);
            }
            gen_value(g, depth + 1);
            put_ws(g);
        }
        if (n == 0)
            put_ws(g);
        put(g, obj ? "}" : "]", 1);
        g->want[t].size = n;
        g->want[t].end = (uint32_t)g->len;
        g->want[t].next = g->nwant;
    }
}

static void test_random_documents(void)
{
    struct gen g = {.rng = 0x9e3779b97f4a7c15ull};
    bff_jdoc_t doc = {0};
    int failures = 0;
    for (int iter = 0; iter < 3000 && failures < 5; ++iter) {
        g.len = 0;
        g.nwant = 0;
        gen_value(&g, 0);
        put_ws(&g);
        const char *err = NULL;
        size_t off = 0;
        const char *bad = NULL;
        if (bff_jdoc_scan(&doc, g.buf, g.len, 0, 64, &err, &off) != 0) {
            bad = err;
        } else if (doc.ntoks != g.nwant) {
            bad = "token count";
        } else {
            for (uint32_t i = 0; i < doc.ntoks && bad == NULL; ++i) {
                const bff_jtok_t *a = doc.toks + i, *b = g.want + i;
                if (a->type != b->type || a->start != b->start || a->end != b->end ||
                    a->next != b->next || a->size != b->size || a->escaped != b->escaped)
                    bad = "token differs from the generator's";
                else if (a->next != naive_end(&doc, i))
                    bad = "next differs from the naive count";
            }
        }
        if (bad == NULL)
            bad = check_invariants(&doc);
        if (bad == NULL)
            bad = check_roundtrip(&doc);
        if (bad != NULL) {
            ++failures;
            TAP_FAIL("iteration %d: %s (offset %zu) in: %.*s", iter, bad, off, (int)g.len, g.buf);
        }
    }
    free(g.buf);
    free(g.want);
    bff_jdoc_dispose(&doc);
}

/* Writer. */

static char *wstr(const bff_jwrite_t *w)
{
    static char out[4096];
    snprintf(out, sizeof(out), "%.*s", (int)w->len, w->buf);
    return out;
}

static void test_write_escaping(void)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 4, 1 << 20);
    bff_jwrite_str(&w, "a\"b\\c\n\t\r\b\f\x01\x1f\x7f/\xc3\xa9", 16);
    ASSERT_STR_EQ(wstr(&w), "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\xc3\xa9\"");
    ASSERT_INT_EQ(bff_jwrite_done(&w), 0);

    /* Every length around the 8-byte fast path, with an escape at each position. */
    for (size_t len = 0; len < 24; ++len) {
        for (size_t at = 0; at <= len; ++at) {
            char in[32], want[64];
            memset(in, 'x', len);
            size_t wl = 0;
            want[wl++] = '"';
            for (size_t i = 0; i < len; ++i) {
                if (i == at) {
                    in[i] = '\n';
                    want[wl++] = '\\';
                    want[wl++] = 'n';
                } else {
                    want[wl++] = 'x';
                }
            }
            want[wl++] = '"';
            bff_jwrite_reset(&w);
            bff_jwrite_str(&w, in, len);
            if (w.len != wl || memcmp(w.buf, want, wl) != 0)
                TAP_FAIL("len %zu at %zu: %s", len, at, wstr(&w));
        }
    }
    bff_jwrite_reset(&w);
    bff_jwrite_str(&w, NULL, 0);
    ASSERT_STR_EQ(wstr(&w), "\"\"");
    bff_jwrite_dispose(&w);
}

static void test_write_structure(void)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 16, 1 << 20);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "id", 2);
    bff_jwrite_int(&w, 7);
    bff_jwrite_key(&w, "tags", 4);
    bff_jwrite_open(&w, '[');
    bff_jwrite_str(&w, "a", 1);
    bff_jwrite_null(&w);
    bff_jwrite_bool(&w, 1);
    bff_jwrite_bool(&w, 0);
    bff_jwrite_open(&w, '{');
    bff_jwrite_close(&w, '}');
    bff_jwrite_open(&w, '[');
    bff_jwrite_close(&w, ']');
    bff_jwrite_raw(&w, "{\"x\":[1,2]}", 11);
    bff_jwrite_close(&w, ']');
    bff_jwrite_key(&w, "k\"q", 3);
    bff_jwrite_double(&w, 0.5);
    bff_jwrite_close(&w, '}');
    ASSERT_STR_EQ(wstr(&w),
                  "{\"id\":7,\"tags\":[\"a\",null,true,false,{},[],{\"x\":[1,2]}],\"k\\\"q\":0.5}");
    ASSERT_INT_EQ(bff_jwrite_done(&w), 0);

    /* Hand-laid bytes bypass the tracking. */
    bff_jwrite_reset(&w);
    bff_jwrite_open(&w, '[');
    bff_jwrite_int(&w, 1);
    bff_jwrite_bytes(&w, ",2", 2);
    bff_jwrite_char(&w, ' ');
    bff_jwrite_close(&w, ']');
    ASSERT_STR_EQ(wstr(&w), "[1,2 ]");
    ASSERT_INT_EQ(bff_jwrite_done(&w), 0);

    /* Scalars at top level. */
    bff_jwrite_reset(&w);
    bff_jwrite_str(&w, "x", 1);
    ASSERT_INT_EQ(bff_jwrite_done(&w), 0);
    bff_jwrite_reset(&w);
    ASSERT_INT_EQ(bff_jwrite_done(&w), -1); /* nothing written */
    bff_jwrite_dispose(&w);
}

static void test_write_misuse(void)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 16, 1 << 20);
    static const char *cases[] = {"value in object without key",
                                  "two keys",
                                  "key in array",
                                  "key at top",
                                  "close after key",
                                  "mismatched close",
                                  "extra close",
                                  "two top-level values",
                                  "bad bracket",
                                  "unclosed"};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
        bff_jwrite_reset(&w);
        switch (c) {
        case 0:
            bff_jwrite_open(&w, '{');
            bff_jwrite_int(&w, 1);
            bff_jwrite_close(&w, '}');
            break;
        case 1:
            bff_jwrite_open(&w, '{');
            bff_jwrite_key(&w, "a", 1);
            bff_jwrite_key(&w, "b", 1);
            bff_jwrite_int(&w, 1);
            bff_jwrite_close(&w, '}');
            break;
        case 2:
            bff_jwrite_open(&w, '[');
            bff_jwrite_key(&w, "a", 1);
            bff_jwrite_int(&w, 1);
            bff_jwrite_close(&w, ']');
            break;
        case 3:
            bff_jwrite_key(&w, "a", 1);
            break;
        case 4:
            bff_jwrite_open(&w, '{');
            bff_jwrite_key(&w, "a", 1);
            bff_jwrite_close(&w, '}');
            break;
        case 5:
            bff_jwrite_open(&w, '[');
            bff_jwrite_close(&w, '}');
            break;
        case 6:
            bff_jwrite_open(&w, '[');
            bff_jwrite_close(&w, ']');
            bff_jwrite_close(&w, ']');
            break;
        case 7:
            bff_jwrite_int(&w, 1);
            bff_jwrite_int(&w, 2);
            break;
        case 8:
            bff_jwrite_open(&w, '(');
            break;
        case 9:
            bff_jwrite_open(&w, '[');
            break;
        }
        if (bff_jwrite_done(&w) != -1)
            TAP_FAIL("%s: accepted \"%s\"", cases[c], wstr(&w));
        ASSERT_INT_EQ(w.overflow, 0);
    }
    /* After a breach nothing more is written, even valid calls. */
    bff_jwrite_reset(&w);
    bff_jwrite_open(&w, '{');
    bff_jwrite_int(&w, 1);
    size_t len = w.len;
    bff_jwrite_key(&w, "a", 1);
    bff_jwrite_int(&w, 2);
    bff_jwrite_bytes(&w, "zz", 2);
    ASSERT_INT_EQ(w.len, len);

    /* Depth limit. */
    bff_jwrite_reset(&w);
    for (int i = 0; i < BFF_JWRITE_MAX_DEPTH; ++i)
        bff_jwrite_open(&w, '[');
    for (int i = 0; i < BFF_JWRITE_MAX_DEPTH; ++i)
        bff_jwrite_close(&w, ']');
    ASSERT_INT_EQ(bff_jwrite_done(&w), 0);
    bff_jwrite_reset(&w);
    for (int i = 0; i <= BFF_JWRITE_MAX_DEPTH; ++i)
        bff_jwrite_open(&w, '[');
    ASSERT_INT_EQ(bff_jwrite_done(&w), -1);
    bff_jwrite_dispose(&w);
}

static void test_write_overflow(void)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 4, 10);
    bff_jwrite_open(&w, '[');
    bff_jwrite_str(&w, "abcdef", 6); /* 9 bytes so far */
    ASSERT_INT_EQ(w.overflow, 0);
    ASSERT_INT_EQ(w.len, 9);
    bff_jwrite_close(&w, ']');
    ASSERT_INT_EQ(w.len, 10);
    ASSERT_INT_EQ(bff_jwrite_done(&w), 0);
    ASSERT_TRUE(w.cap <= 10);

    bff_jwrite_reset(&w);
    bff_jwrite_open(&w, '[');
    bff_jwrite_str(&w, "abcdef", 6);
    bff_jwrite_int(&w, 1); /* ",1" would make 11 */
    ASSERT_INT_EQ(w.overflow, 1);
    size_t len = w.len;
    bff_jwrite_close(&w, ']'); /* would fit in the buffer, but the writer has failed */
    bff_jwrite_char(&w, 'x');
    ASSERT_INT_EQ(w.len, len);
    ASSERT_INT_EQ(bff_jwrite_done(&w), -1);

    /* An escape that pushes past the cap. */
    bff_jwrite_reset(&w);
    ASSERT_INT_EQ(w.overflow, 0);
    bff_jwrite_str(&w, "abcdef\n", 7); /* needs 10: fits exactly */
    ASSERT_INT_EQ(w.overflow, 0);
    ASSERT_STR_EQ(wstr(&w), "\"abcdef\\n\"");
    bff_jwrite_reset(&w);
    bff_jwrite_str(&w, "abcdef\x01", 7); /* needs 14 */
    ASSERT_INT_EQ(w.overflow, 1);
    ASSERT_INT_EQ(bff_jwrite_done(&w), -1);
    bff_jwrite_dispose(&w);

    bff_jwrite_init(&w, 0, 0);
    bff_jwrite_null(&w);
    ASSERT_INT_EQ(w.overflow, 1);
    ASSERT_INT_EQ(w.len, 0);
    bff_jwrite_dispose(&w);
}

static void test_write_numbers(void)
{
    static const struct {
        double d;
        const char *want;
    } dbl[] = {{0.0, "0"},
               {-0.0, "0"},
               {3.0, "3"},
               {-42.0, "-42"},
               {0.5, "0.5"},
               {0.1, "0.1"},
               {1.0 / 3, "0.3333333333333333"},
               {2.0 / 3, "0.6666666666666666"},
               {1e300, "1e+300"},
               {-1.5e-7, "-1.5e-07"},
               {9007199254740991.0, "9007199254740991"},
               {9007199254740992.0, "9007199254740992"},
               {5e-324, "4.94065645841247e-324"},
               {1.7976931348623157e308, "1.7976931348623157e+308"}};
    bff_jwrite_t w;
    bff_jwrite_init(&w, 8, 1 << 20);
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); ++i) {
        bff_jwrite_reset(&w);
        bff_jwrite_double(&w, dbl[i].d);
        ASSERT_STR_EQ(wstr(&w), dbl[i].want);
        /* Whatever it printed must be valid JSON that reads back as the same double. */
        bff_jdoc_t doc = {0};
        double back = -1;
        ASSERT_INT_EQ(bff_jdoc_scan(&doc, w.buf, w.len, 0, 64, NULL, NULL), 0);
        ASSERT_INT_EQ(bff_jdoc_to_double(&doc, 0, &back), 0);
        ASSERT_TRUE(back == dbl[i].d);
        bff_jdoc_dispose(&doc);
    }
    bff_jwrite_reset(&w);
    bff_jwrite_open(&w, '[');
    bff_jwrite_double(&w, NAN);
    bff_jwrite_double(&w, INFINITY);
    bff_jwrite_double(&w, -INFINITY);
    bff_jwrite_int(&w, 0);
    bff_jwrite_int(&w, -1);
    bff_jwrite_int(&w, 99);
    bff_jwrite_int(&w, 100);
    bff_jwrite_int(&w, INT64_MAX);
    bff_jwrite_int(&w, INT64_MIN);
    bff_jwrite_close(&w, ']');
    ASSERT_STR_EQ(wstr(&w),
                  "[null,null,null,0,-1,99,100,9223372036854775807,-9223372036854775808]");
    bff_jwrite_dispose(&w);
}

int main(void)
{
    TAP_RUN(test_valid_cases);
    TAP_RUN(test_invalid_cases);
    TAP_RUN(test_layout);
    TAP_RUN(test_navigation);
    TAP_RUN(test_unescape);
    TAP_RUN(test_numbers);
    TAP_RUN(test_limits_and_reuse);
    TAP_RUN(test_string_fast_path);
    TAP_RUN(test_random_documents);
    TAP_RUN(test_write_escaping);
    TAP_RUN(test_write_structure);
    TAP_RUN(test_write_misuse);
    TAP_RUN(test_write_overflow);
    TAP_RUN(test_write_numbers);
    TAP_DONE();
}
