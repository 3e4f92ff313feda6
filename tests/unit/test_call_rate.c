/* The per-upstream call limiter shared by worker threads: exact admission under contention,
 * one more call per interval, and one shared state per profile, upstream and limit. */
#include "server/fetch/call_rate.h"

#include <pthread.h>
#include <stdatomic.h>

#include "tests/unit/tap.h"

#define THREADS 4
#define TRIES 20000

static bff_call_rate_t *shared;
static _Atomic unsigned admitted;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i != TRIES; ++i)
        if (bff_call_rate_take(shared, 1000000))
            atomic_fetch_add(&admitted, 1);
    return NULL;
}

static void test_threads_admit_exactly_the_burst(void)
{
    shared = bff_call_rate_acquire("p", "fragile", 50, 1000, 10); /* 50/s: one per 20 ms */
    pthread_t t[THREADS];
    for (int i = 0; i != THREADS; ++i)
        pthread_create(t + i, NULL, hammer, NULL);
    for (int i = 0; i != THREADS; ++i)
        pthread_join(t[i], NULL);
    ASSERT_INT_EQ(atomic_load(&admitted), 10);
    ASSERT_TRUE(!bff_call_rate_take(shared, 1000000 + 19999));
    ASSERT_TRUE(bff_call_rate_take(shared, 1000000 + 20000)); /* one interval later: one more */
    ASSERT_TRUE(!bff_call_rate_take(shared, 1000000 + 20000));
    bff_call_rate_release(shared);
}

static void test_one_state_per_profile_upstream_and_limit(void)
{
    bff_call_rate_t *a = bff_call_rate_acquire("p", "u", 1, 60000, 1);
    bff_call_rate_t *b = bff_call_rate_acquire("p", "u", 1, 60000, 1);
    bff_call_rate_t *c = bff_call_rate_acquire("q", "u", 1, 60000, 1);
    bff_call_rate_t *d = bff_call_rate_acquire("p", "u", 2, 60000, 1);
    ASSERT_TRUE(a == b);
    ASSERT_TRUE(a != c && a != d);
    ASSERT_TRUE(bff_call_rate_take(a, 5000000));
    ASSERT_TRUE(!bff_call_rate_take(b, 5000000));
    ASSERT_TRUE(bff_call_rate_take(c, 5000000));
    bff_call_rate_release(a);
    bff_call_rate_release(b);
    bff_call_rate_release(c);
    bff_call_rate_release(d);
}

int main(void)
{
    TAP_RUN(test_threads_admit_exactly_the_burst);
    TAP_RUN(test_one_state_per_profile_upstream_and_limit);
    TAP_DONE();
}
