/* Instance choice: smooth weighted round robin, least outstanding per weight, passive
 * ejection and its expiry, and the fallback when every instance is ejected. */
#include "server/fetch/balance.h"

#include "tests/unit/tap.h"

static bff_instance_conf_t confs[3] = {{"http://a", 5}, {"http://b", 1}, {"http://c", 1}};

static void init(bff_instance_t *in, size_t n)
{
    memset(in, 0, n * sizeof(*in));
    for (size_t i = 0; i != n; ++i)
        in[i].conf = confs + i;
}

static void test_weighted_round_robin_is_smooth(void)
{
    bff_instance_t in[3];
    init(in, 3);
    /* nginx's sequence for weights 5,1,1: a a b a c a a */
    const char *expect = "aabacaa";
    char got[8] = "";
    for (int i = 0; i != 7; ++i)
        got[i] = bff_balance_pick(in, 3, BFF_LB_ROUND_ROBIN, 0)->conf->url[7];
    ASSERT_STR_EQ(got, expect);
}

static void test_least_outstanding_per_weight(void)
{
    bff_instance_t in[3];
    init(in, 3);
    in[0].outstanding = 9; /* 9/5 */
    in[1].outstanding = 2; /* 2/1 */
    in[2].outstanding = 1; /* 1/1 */
    ASSERT_TRUE(bff_balance_pick(in, 3, BFF_LB_LEAST_OUTSTANDING, 0) == in + 2);
    in[2].outstanding = 3;
    ASSERT_TRUE(bff_balance_pick(in, 3, BFF_LB_LEAST_OUTSTANDING, 0) == in + 0);
}

static void test_ejection_and_return(void)
{
    bff_instance_t in[3];
    init(in, 3);
    bff_passive_health_conf_t ph = {.consecutive_failures = 2, .ejection_ms = 1000};
    bff_balance_record(in + 0, 3, &ph, 1, 100);
    bff_balance_record(in + 0, 3, &ph, 0, 100); /* a success resets the count */
    bff_balance_record(in + 0, 3, &ph, 1, 100);
    ASSERT_INT_EQ(in[0].ejected_until, 0);
    bff_balance_record(in + 0, 3, &ph, 1, 100);
    ASSERT_INT_EQ(in[0].ejected_until, 1100);
    for (int i = 0; i != 10; ++i)
        ASSERT_TRUE(bff_balance_pick(in, 3, BFF_LB_ROUND_ROBIN, 500) != in + 0);
    int saw_a = 0;
    for (int i = 0; i != 10; ++i)
        saw_a |= bff_balance_pick(in, 3, BFF_LB_ROUND_ROBIN, 1100) == in + 0;
    ASSERT_TRUE(saw_a);
}

static void test_every_instance_ejected(void)
{
    bff_instance_t in[3];
    init(in, 3);
    in[0].ejected_until = 900;
    in[1].ejected_until = 700;
    in[2].ejected_until = 800;
    /* Rather than failing everything: the one back soonest. */
    ASSERT_TRUE(bff_balance_pick(in, 3, BFF_LB_ROUND_ROBIN, 100) == in + 1);
    ASSERT_TRUE(bff_balance_pick(in, 3, BFF_LB_LEAST_OUTSTANDING, 100) == in + 1);
    /* A single instance is never ejected: there is nowhere else to go. */
    bff_passive_health_conf_t ph = {.consecutive_failures = 1, .ejection_ms = 1000};
    bff_instance_t one[1];
    init(one, 1);
    bff_balance_record(one, 1, &ph, 1, 0);
    ASSERT_INT_EQ(one[0].ejected_until, 0);
}

int main(void)
{
    TAP_RUN(test_weighted_round_robin_is_smooth);
    TAP_RUN(test_least_outstanding_per_weight);
    TAP_RUN(test_ejection_and_return);
    TAP_RUN(test_every_instance_ejected);
    TAP_DONE();
}
