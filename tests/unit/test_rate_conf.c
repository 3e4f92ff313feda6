/* Plans' quotas: parsing and the UTC calendar windows, months and leap years included. */
#include "server/ratelimit/rate_conf.h"

#include "tests/unit/tap.h"

static void test_quota_parse(void)
{
    uint64_t n = 0;
    bff_quota_window_t w;
    ASSERT_INT_EQ(bff_quota_parse("10000/day", &n, &w), 0);
    ASSERT_INT_EQ(n, 10000);
    ASSERT_INT_EQ(w, BFF_QUOTA_DAY);
    ASSERT_INT_EQ(bff_quota_parse("5/month", &n, &w), 0);
    ASSERT_INT_EQ(w, BFF_QUOTA_MONTH);
    ASSERT_INT_EQ(bff_quota_parse("5/week", &n, &w), -1);
    ASSERT_INT_EQ(bff_quota_parse("0/day", &n, &w), -1);
    ASSERT_INT_EQ(bff_quota_parse("/day", &n, &w), -1);
}

static void test_day_window_ends_at_midnight_utc(void)
{
    ASSERT_INT_EQ(bff_quota_window_end(1798761599, BFF_QUOTA_DAY), 1798761600);
    ASSERT_INT_EQ(bff_quota_window_end(1798761600, BFF_QUOTA_DAY), 1798761600 + 86400);
}

static void test_month_window_ends_on_the_first(void)
{
    /* 2024-02-10 (leap year) -> 2024-03-01; 2023-02-28 23:59:59 -> 2023-03-01 */
    ASSERT_INT_EQ(bff_quota_window_end(1707523200, BFF_QUOTA_MONTH), 1709251200);
    ASSERT_INT_EQ(bff_quota_window_end(1677628799, BFF_QUOTA_MONTH), 1677628800);
    /* 2026-12-31 23:59:59 -> 2027-01-01; the first second of a month stays in it */
    ASSERT_INT_EQ(bff_quota_window_end(1798761599, BFF_QUOTA_MONTH), 1798761600);
    ASSERT_INT_EQ(bff_quota_window_end(1798761600, BFF_QUOTA_MONTH), 1798761600 + 31 * 86400);
    /* 2000-02-15 (a leap century) -> 2000-03-01; 2026-04-30 12:00 -> 2026-05-01 */
    ASSERT_INT_EQ(bff_quota_window_end(950572800, BFF_QUOTA_MONTH), 951868800);
    ASSERT_INT_EQ(bff_quota_window_end(1777593600 - 43200, BFF_QUOTA_MONTH), 1777593600);
}

int main(void)
{
    TAP_RUN(test_quota_parse);
    TAP_RUN(test_day_window_ends_at_midnight_utc);
    TAP_RUN(test_month_window_ends_on_the_first);
    TAP_DONE();
}
