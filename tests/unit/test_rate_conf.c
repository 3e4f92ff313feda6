/* Plans' quotas: parsing and the UTC calendar windows, months and leap years included; the
 * in-process GCRA (the Redis script's twin) with requests that cost several. */
#include "server/ratelimit/limiter.h"
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

static void test_gcra_takes_a_cost_all_or_nothing(void)
{
    /* 6 per minute, burst 6: one request every 10 s, six at once. */
    bff_rate_plan_t plan = {.name = "p", .limit = 6, .period_ms = 60000, .burst = 6};
    uint64_t tat = 0, now = 1000000000ull;
    bff_rate_verdict_t v;
    bff_gcra(now, &tat, &plan, 4, &v);
    ASSERT_INT_EQ(v.allowed, 1);
    ASSERT_INT_EQ(v.remaining, 2);
    ASSERT_INT_EQ(v.reset_s, 40);
    bff_gcra(now, &tat, &plan, 3, &v); /* 2 left: refused, and nothing taken */
    ASSERT_INT_EQ(v.allowed, 0);
    ASSERT_INT_EQ(v.remaining, 2);
    ASSERT_INT_EQ(v.retry_after_s, 10);
    bff_gcra(now, &tat, &plan, 2, &v);
    ASSERT_INT_EQ(v.allowed, 1);
    ASSERT_INT_EQ(v.remaining, 0);
    bff_gcra(now + 9000000, &tat, &plan, 1, &v);
    ASSERT_INT_EQ(v.allowed, 0);
    bff_gcra(now + 10000000, &tat, &plan, 1, &v); /* one interval later: one more */
    ASSERT_INT_EQ(v.allowed, 1);
    ASSERT_INT_EQ(v.remaining, 0);
}

int main(void)
{
    TAP_RUN(test_quota_parse);
    TAP_RUN(test_day_window_ends_at_midnight_utc);
    TAP_RUN(test_month_window_ends_on_the_first);
    TAP_RUN(test_gcra_takes_a_cost_all_or_nothing);
    TAP_DONE();
}
