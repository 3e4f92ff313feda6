/* Unit tests for compose/json_write.c, the writer's contract: escaping, structure, misuse,
 * the output cap and numbers (each printed double must scan back as the same double). */
#include "compose/diag.c"
#include "compose/json_scan.c"
#include "compose/json_write.c"

#include "tests/unit/tap.h"

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
    TAP_RUN(test_write_escaping);
    TAP_RUN(test_write_structure);
    TAP_RUN(test_write_misuse);
    TAP_RUN(test_write_overflow);
    TAP_RUN(test_write_numbers);
    TAP_DONE();
}
