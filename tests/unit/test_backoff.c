/* Retry back-off: exponential growth, jitter within [d/2, d], and the deadline check. */
#include "server/fetch/backoff.h"

#include "tests/unit/tap.h"

static void test_growth_and_jitter_bounds(void)
{
    for (unsigned attempt = 1; attempt != 6; ++attempt) {
        uint64_t d = (uint64_t)BFF_BACKOFF_BASE_MS << (attempt - 1);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint64_t r = 0; r != 4 * d; ++r) {
            uint64_t b = bff_backoff_ms(attempt, r * 0x9e3779b97f4a7c15ull);
            lo = b < lo ? b : lo;
            hi = b > hi ? b : hi;
        }
        ASSERT_INT_EQ(lo, d / 2);
        ASSERT_INT_EQ(hi, d / 2 * 2); /* integer halves: [12, 24] for d = 25 */
    }
    /* Absurd attempt numbers do not overflow the shift. */
    ASSERT_TRUE(bff_backoff_ms(200, 0) <= ((uint64_t)BFF_BACKOFF_BASE_MS << 20));
}

static void test_fits_before_deadline(void)
{
    ASSERT_TRUE(bff_backoff_fits(1000, 25, 0)); /* no deadline */
    ASSERT_TRUE(bff_backoff_fits(1000, 25, 1000 + 25 + 2 * BFF_MIN_ATTEMPT_MS + 1));
    ASSERT_TRUE(!bff_backoff_fits(1000, 25, 1000 + 25 + 2 * BFF_MIN_ATTEMPT_MS));
    ASSERT_TRUE(!bff_backoff_fits(1000, 25, 900));
}

int main(void)
{
    TAP_RUN(test_growth_and_jitter_bounds);
    TAP_RUN(test_fits_before_deadline);
    TAP_DONE();
}
