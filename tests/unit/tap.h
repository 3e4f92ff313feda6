/* Minimal TAP output and typed asserts that print both values (libuv ASSERT_EQ style). */
#ifndef BFF_TESTS_TAP_H
#define BFF_TESTS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed, tap_current_failed;

#define TAP_FAIL(fmt, ...)                                                                         \
    do {                                                                                           \
        printf("#   %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);                           \
        tap_current_failed = 1;                                                                    \
    } while (0)

#define ASSERT_TRUE(e)                                                                             \
    do {                                                                                           \
        if (!(e))                                                                                  \
            TAP_FAIL("expected true: %s", #e);                                                     \
    } while (0)

#define ASSERT_INT_EQ(a, b)                                                                        \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            TAP_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);                                    \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                       \
            TAP_FAIL("%s == %s:\n#     got:      %s\n#     expected: %s", #a, #b,                  \
                     a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                      \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (h_ == NULL || strstr(h_, n_) == NULL)                                                  \
            TAP_FAIL("%s contains %s:\n#     got: %s", #hay, n_, h_ ? h_ : "(null)");              \
    } while (0)

#define TAP_RUN(fn)                                                                                \
    do {                                                                                           \
        tap_current_failed = 0;                                                                    \
        fn();                                                                                      \
        ++tap_count;                                                                               \
        if (tap_current_failed)                                                                    \
            ++tap_failed;                                                                          \
        printf("%s %d - %s\n", tap_current_failed ? "not ok" : "ok", tap_count, #fn);              \
        fflush(stdout);                                                                            \
    } while (0)

#define TAP_DONE()                                                                                 \
    do {                                                                                           \
        printf("1..%d\n", tap_count);                                                              \
        return tap_failed ? 1 : 0;                                                                 \
    } while (0)

#endif
