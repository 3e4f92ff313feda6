/* Unit tests for compose/json_scan.c, by hand: token layout, navigation, unescaping, numbers,
 * limits and reuse, and the string fast path. The case folders and random documents are in
 * test_json_scan_cases.c, the writer (json_write.c) in test_json_write.c. */
#include "compose/diag.c"
#include "compose/json_scan.c"
#include "compose/json_write.c"

#include "tests/unit/tap.h"
#include "tests/unit/jdoc_invariants.h"

#define SCAN(doc, s) bff_jdoc_scan((doc), (s), strlen(s), 0, 64, NULL, NULL)

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

/* Strings of every length 0..40 around the 16- and 8-byte fast paths, with a special byte at each
 * spot, and a valid escape or UTF-8 sequence at each spot (the string goes on after it). */
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
        static const char *const fine[] = {"\\n", "\xc3\xa9", "\\u00e9", "\xe2\x82\xac"};
        for (size_t at = 1; at <= len + 1; ++at)
            for (size_t f = 0; f < sizeof(fine) / sizeof(fine[0]); ++f) {
                char s[80];
                size_t flen = strlen(fine[f]);
                s[0] = '"';
                memset(s + 1, 'a', len);
                memmove(s + at + flen, s + at, len + 1 - at);
                memcpy(s + at, fine[f], flen);
                s[len + flen + 1] = '"';
                if (bff_jdoc_scan(&doc, s, len + flen + 2, 0, 64, &err, &off) != 0 ||
                    doc.toks[0].end - doc.toks[0].start != len + flen ||
                    doc.toks[0].escaped != (fine[f][0] == '\\'))
                    TAP_FAIL("len %zu, %s at %zu", len, fine[f], at);
            }
    }
    bff_jdoc_dispose(&doc);
}

int main(void)
{
    TAP_RUN(test_layout);
    TAP_RUN(test_navigation);
    TAP_RUN(test_unescape);
    TAP_RUN(test_numbers);
    TAP_RUN(test_limits_and_reuse);
    TAP_RUN(test_string_fast_path);
    TAP_DONE();
}
