/* compose/fmt.h against snprintf, which it replaces on the per-request path: the same bytes for
 * every case here, values chosen at the edges (zero, digit and width boundaries, all ones). */
#include "compose/fmt.h"

#include "tests/unit/tap.h"

static const uint64_t values[] = {0,
                                  1,
                                  9,
                                  10,
                                  15,
                                  16,
                                  99,
                                  100,
                                  255,
                                  4095,
                                  65535,
                                  999999,
                                  1000000,
                                  0xffffffffull,
                                  0x123456789abcdefull,
                                  0xfedcba9876543210ull,
                                  9999999999999999999ull,
                                  UINT64_MAX};

static void test_hex_as_zero_padded_llx(void)
{
    static const unsigned widths[] = {1, 2, 4, 12, 16};
    for (size_t i = 0; i != sizeof(values) / sizeof(values[0]); ++i) {
        for (size_t w = 0; w != sizeof(widths) / sizeof(widths[0]); ++w) {
            unsigned digits = widths[w];
            uint64_t v = digits == 16 ? values[i] : values[i] & ((1ull << (4 * digits)) - 1);
            char got[32], want[32];
            *bff_put_hex(got, v, digits) = '\0';
            snprintf(want, sizeof(want), "%0*llx", (int)digits, (unsigned long long)v);
            ASSERT_STR_EQ(got, want);
        }
    }
}

static void test_decimal_as_llu(void)
{
    for (size_t i = 0; i != sizeof(values) / sizeof(values[0]); ++i) {
        char got[32], want[32];
        *bff_put_u64(got, values[i]) = '\0';
        snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);
        ASSERT_STR_EQ(got, want);
    }
}

static void test_milliseconds_with_one_decimal(void)
{
    /* Away from ties (x.x50 ms) the bytes are %.1f's; at a tie the half goes up. */
    static const struct {
        uint64_t us;
        const char *want;
    } cases[] = {{0, "0.0"},
                 {49, "0.0"},
                 {50, "0.1"},
                 {149, "0.1"},
                 {150, "0.2"},
                 {999, "1.0"},
                 {1000, "1.0"},
                 {1234, "1.2"},
                 {1250, "1.3"},
                 {9949, "9.9"},
                 {9950, "10.0"},
                 {123456789, "123456.8"},
                 {UINT64_MAX, "18446744073709551.6"}};
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char got[32];
        *bff_put_ms1(got, cases[i].us) = '\0';
        ASSERT_STR_EQ(got, cases[i].want);
    }
    for (uint64_t us = 0; us < 200000; us += 7) {
        if (us % 100 == 50)
            continue;
        char got[32], want[32];
        *bff_put_ms1(got, us) = '\0';
        snprintf(want, sizeof(want), "%.1f", (double)us / 1000.0);
        ASSERT_STR_EQ(got, want);
    }
}

static void test_copy_truncates_like_snprintf(void)
{
    static const char *srcs[] = {"", "a", "application/json", "exactly8"};
    static const size_t sizes[] = {1, 2, 8, 9, 64};
    for (size_t i = 0; i != sizeof(srcs) / sizeof(srcs[0]); ++i) {
        for (size_t s = 0; s != sizeof(sizes) / sizeof(sizes[0]); ++s) {
            char got[64], want[64];
            memset(got, 'x', sizeof(got));
            size_t n = bff_copy_str(got, sizes[s], srcs[i]);
            snprintf(want, sizes[s], "%s", srcs[i]);
            ASSERT_STR_EQ(got, want);
            ASSERT_INT_EQ(n, strlen(want));
        }
    }
}

int main(void)
{
    TAP_RUN(test_hex_as_zero_padded_llx);
    TAP_RUN(test_decimal_as_llu);
    TAP_RUN(test_milliseconds_with_one_decimal);
    TAP_RUN(test_copy_truncates_like_snprintf);
    TAP_DONE();
}
