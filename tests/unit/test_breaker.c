/* The circuit breaker's state machine: opening by count and by ratio, cooldown, the single
 * half-open trial, and a cancelled trial that frees the slot. */
#include "server/fetch/breaker.h"

#include "tests/unit/tap.h"

static const bff_breaker_conf_t conf = {.consecutive_failures = 3,
                                        .error_ratio_percent = 50,
                                        .min_calls = 10,
                                        .window_ms = 1000,
                                        .cooldown_ms = 500};

static void test_opens_after_consecutive_failures(void)
{
    bff_breaker_t b = {0};
    int call;
    for (int i = 0; i != 2; ++i) {
        ASSERT_TRUE(bff_breaker_allows(&b, &conf, &call, 10));
        bff_breaker_record(&b, &conf, 1, 10);
    }
    bff_breaker_record(&b, &conf, 0, 10); /* a success resets the run */
    ASSERT_INT_EQ(b.state, BFF_BREAKER_CLOSED);
    for (int i = 0; i != 3; ++i)
        bff_breaker_record(&b, &conf, 1, 20);
    ASSERT_INT_EQ(b.state, BFF_BREAKER_OPEN);
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &call, 20));
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &call, 519)); /* cooling down */
}

static void test_opens_by_ratio_only_after_min_calls(void)
{
    bff_breaker_conf_t c = conf;
    c.consecutive_failures = 0; /* ratio only */
    bff_breaker_t b = {0};
    for (int i = 0; i != 4; ++i) { /* 4 failures of 8 calls: under min_calls */
        bff_breaker_record(&b, &c, 1, 100);
        bff_breaker_record(&b, &c, 0, 100);
    }
    ASSERT_INT_EQ(b.state, BFF_BREAKER_CLOSED);
    bff_breaker_record(&b, &c, 0, 100);
    bff_breaker_record(&b, &c, 1, 100); /* 5 of 10 = 50% */
    ASSERT_INT_EQ(b.state, BFF_BREAKER_OPEN);

    /* A new window forgets the old calls. */
    bff_breaker_t b2 = {0};
    for (int i = 0; i != 9; ++i)
        bff_breaker_record(&b2, &c, 1, 100);
    bff_breaker_record(&b2, &c, 1, 1200);
    ASSERT_INT_EQ(b2.state, BFF_BREAKER_CLOSED);
    ASSERT_INT_EQ(b2.window_calls, 1);
}

static void test_half_open_trial(void)
{
    bff_breaker_t b = {0};
    int first, second;
    for (int i = 0; i != 3; ++i)
        bff_breaker_record(&b, &conf, 1, 0);
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &first, 500));
    ASSERT_INT_EQ(b.state, BFF_BREAKER_HALF_OPEN);
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &second, 500)); /* one trial at a time */
    bff_breaker_record(&b, &conf, 1, 600);                     /* the trial failed */
    ASSERT_INT_EQ(b.state, BFF_BREAKER_OPEN);
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &second, 1000));
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &second, 1100));
    bff_breaker_record(&b, &conf, 0, 1110); /* the trial succeeded */
    ASSERT_INT_EQ(b.state, BFF_BREAKER_CLOSED);
    ASSERT_INT_EQ(b.consecutive_failures, 0);
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &first, 1111));
}

static void test_cancelled_trial_frees_the_slot(void)
{
    bff_breaker_t b = {0};
    int first, second;
    for (int i = 0; i != 3; ++i)
        bff_breaker_record(&b, &conf, 1, 0);
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &first, 600));
    bff_breaker_forget(&b, &second); /* not the trial: nothing changes */
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &second, 600));
    bff_breaker_forget(&b, &first);
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &second, 600));
    ASSERT_TRUE(b.trial == &second);
}

/* Two required sources of one request on a half-open upstream: the first is the trial, the
 * second is refused, the request fails and cancels the first. upstream.c lets a cancelled trial
 * run on detached, so its verdict still arrives and closes the breaker. */
static void test_detached_trial_closes_the_breaker(void)
{
    bff_breaker_t b = {0};
    int trial, sibling, next;
    for (int i = 0; i != 3; ++i)
        bff_breaker_record(&b, &conf, 1, 0);
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &trial, 600));
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &sibling, 600));
    ASSERT_TRUE(!bff_breaker_allows(&b, &conf, &next, 650)); /* the detached trial still runs */
    bff_breaker_record(&b, &conf, 0, 700);                   /* its verdict, after the cancel */
    ASSERT_INT_EQ(b.state, BFF_BREAKER_CLOSED);
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &sibling, 701));
    ASSERT_TRUE(bff_breaker_allows(&b, &conf, &next, 701));
}

int main(void)
{
    TAP_RUN(test_opens_after_consecutive_failures);
    TAP_RUN(test_opens_by_ratio_only_after_min_calls);
    TAP_RUN(test_half_open_trial);
    TAP_RUN(test_cancelled_trial_frees_the_slot);
    TAP_RUN(test_detached_trial_closes_the_breaker);
    TAP_DONE();
}
