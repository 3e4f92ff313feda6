/* The per-upstream, per-host line in front of curl: slots up to the cap, arrival order, a waiter
 * leaving the line, a cap that changes (scripts of operations, checked per step); lines shared by
 * owner and host, and the peak curl must allow per host. */
#include "server/fetch/host_slots.h"

#include <string.h>

#include "tests/unit/tap.h"

/* One script step: 'e' try_enter (want: 1 entered, 0 queued as waiter `arg`), 'l' leave (want:
 * the waiter handed the slot, -1 none), 'u' waiter `arg` leaves the line, 'n' next after a cap
 * change (want as for 'l'); `cap` applies to the step; held/waiting are checked after it. */
typedef struct {
    char op;
    int arg;
    unsigned cap;
    int want;
    unsigned held;
    size_t waiting;
} step_t;

static const struct {
    const char *name;
    step_t steps[12];
} scripts[] = {
    {"under the cap, no line", {{'e', 0, 2, 1, 1, 0}, {'e', 0, 2, 1, 2, 0}, {'l', 0, 2, -1, 1, 0}}},
    {"beyond the cap, first come first served",
     {{'e', 0, 1, 1, 1, 0},
      {'e', 1, 1, 0, 1, 1},
      {'e', 2, 1, 0, 1, 2},
      {'l', 0, 1, 1, 1, 1},
      {'l', 0, 1, 2, 1, 0},
      {'l', 0, 1, -1, 0, 0}}},
    {"nobody overtakes the line, even with a slot free",
     {{'e', 0, 1, 1, 1, 0},
      {'e', 1, 1, 0, 1, 1},
      {'e', 2, 2, 0, 1, 2}, /* the cap grew: still behind waiter 1 */
      {'n', 0, 2, 1, 2, 1},
      {'n', 0, 2, -1, 2, 1}}},
    {"a waiter that leaves the line is never handed a slot",
     {{'e', 0, 1, 1, 1, 0},
      {'e', 1, 1, 0, 1, 1},
      {'e', 2, 1, 0, 1, 2},
      {'e', 3, 1, 0, 1, 3},
      {'u', 2, 1, 0, 1, 2},
      {'u', 1, 1, 0, 1, 1},
      {'l', 0, 1, 3, 1, 0}}},
    {"a cap that shrank holds the line until enough leave",
     {{'e', 0, 3, 1, 1, 0},
      {'e', 0, 3, 1, 2, 0},
      {'e', 0, 3, 1, 3, 0},
      {'e', 1, 1, 0, 3, 1},
      {'l', 0, 1, -1, 2, 1},
      {'l', 0, 1, -1, 1, 1},
      {'l', 0, 1, 1, 1, 0}}},
};

static void run_script(size_t s)
{
    bff_host_slots_t *t = bff_host_slots_create();
    bff_host_t *h = bff_host_acquire(t, "p\nu", "http://a:1", 10, 1);
    bff_host_wait_t waiters[8];
    memset(waiters, 0, sizeof(waiters));
    for (const step_t *st = scripts[s].steps; st->op != 0; ++st) {
        int got = 0;
        bff_host_wait_t *w = NULL;
        bff_host_set_cap(h, st->cap);
        switch (st->op) {
        case 'e':
            got = bff_host_try_enter(h);
            if (!got)
                bff_host_wait(h, &waiters[st->arg]);
            break;
        case 'l':
        case 'n':
            w = st->op == 'l' ? bff_host_leave(h) : bff_host_next(h);
            got = w == NULL ? -1 : (int)(w - waiters);
            if (w != NULL)
                ASSERT_TRUE(w->host == NULL); /* out of the line */
            break;
        case 'u':
            bff_host_unwait(&waiters[st->arg]);
            break;
        }
        if (st->op != 'u')
            ASSERT_INT_EQ(got, st->want);
        ASSERT_INT_EQ(bff_host_held(h), st->held);
        ASSERT_INT_EQ(bff_host_waiting(h), st->waiting);
    }
    bff_host_set_cap(h, 1);
    while (bff_host_held(h) != 0) /* the rest go, the last waiters through the slots */
        (void)bff_host_leave(h);
    ASSERT_INT_EQ(bff_host_waiting(h), 0);
    bff_host_release(h);
    bff_host_slots_destroy(t);
}

static void test_scripts(void)
{
    for (size_t s = 0; s != sizeof(scripts) / sizeof(scripts[0]); ++s) {
        int failed_before = tap_current_failed;
        tap_current_failed = 0;
        run_script(s);
        if (tap_current_failed)
            printf("#   in script: %s\n", scripts[s].name);
        tap_current_failed |= failed_before;
    }
}

static void test_lines_are_shared_by_owner_and_host(void)
{
    bff_host_slots_t *t = bff_host_slots_create();
    bff_host_t *a = bff_host_acquire(t, "p\nusers", "http://a:1/ignored", 10, 1);
    bff_host_t *b = bff_host_acquire(t, "p\nusers", "http://a:1", 10, 1); /* a reload's copy */
    bff_host_t *c = bff_host_acquire(t, "p\nusers", "http://a:12", 11, 1);
    bff_host_t *d = bff_host_acquire(t, "p\norders", "http://a:1", 10, 1);
    ASSERT_TRUE(a == b);
    ASSERT_TRUE(a != c && a != d);
    ASSERT_INT_EQ(bff_host_try_enter(a), 1);
    ASSERT_INT_EQ(bff_host_try_enter(b), 0); /* one line, one cap */
    ASSERT_INT_EQ(bff_host_try_enter(c), 1); /* another host of the same upstream */
    ASSERT_INT_EQ(bff_host_try_enter(d), 1); /* another upstream on the same host */
    ASSERT_TRUE(bff_host_leave(a) == NULL);
    ASSERT_TRUE(bff_host_leave(c) == NULL);
    ASSERT_TRUE(bff_host_leave(d) == NULL);
    bff_host_release(a);
    bff_host_release(b); /* the last reference frees it; c lives on */
    ASSERT_INT_EQ(bff_host_held(c), 0);
    bff_host_release(c);
    bff_host_release(d);
    bff_host_slots_destroy(t);
}

static void test_the_newest_cap_wins(void)
{
    bff_host_slots_t *t = bff_host_slots_create();
    bff_host_t *old = bff_host_acquire(t, "p\nusers", "http://a:1", 10, 1);
    ASSERT_INT_EQ(bff_host_try_enter(old), 1);
    bff_host_t *now = bff_host_acquire(t, "p\nusers", "http://a:1", 10, 2); /* a reload raised it */
    ASSERT_INT_EQ(bff_host_try_enter(now), 1);
    ASSERT_INT_EQ(bff_host_try_enter(now), 0);
    bff_host_release(old); /* the old configuration drains: its cap does not come back */
    ASSERT_INT_EQ(bff_host_try_enter(now), 0);
    ASSERT_INT_EQ(bff_host_held(now), 2);
    (void)bff_host_leave(now);
    (void)bff_host_leave(now);
    bff_host_release(now);
    bff_host_slots_destroy(t);
}

/* curl must allow, per host, what all lines to that host may hold at once. */
static void test_the_peak_sums_the_lines_of_one_host(void)
{
    bff_host_slots_t *t = bff_host_slots_create();
    ASSERT_INT_EQ(bff_host_slots_peak(t), 0);
    bff_host_t *u1 = bff_host_acquire(t, "p\nusers", "http://a:1", 10, 8);
    bff_host_t *o1 = bff_host_acquire(t, "p\norders", "http://a:1", 10, 4);
    bff_host_t *u2 = bff_host_acquire(t, "p\nusers", "http://b:1", 10, 8);
    bff_host_t *q1 = bff_host_acquire(t, "q\nusers", "http://a:1", 10, 2);
    bff_host_t *x = bff_host_acquire(t, "q\nbig", "http://c:1", 10, 13);
    ASSERT_INT_EQ(bff_host_slots_peak(t), 14); /* a:1 = 8 + 4 + 2, more than c:1's 13 */
    bff_host_slots_sum_t sum;
    bff_host_slots_sum(t, &sum);
    ASSERT_INT_EQ(sum.total, 35);
    ASSERT_INT_EQ(sum.lines, 3);
    ASSERT_TRUE(sum.authority_len == 10 && memcmp(sum.authority, "http://a:1", 10) == 0);
    bff_host_release(o1);
    ASSERT_INT_EQ(bff_host_slots_peak(t), 13);
    bff_host_release(x);
    ASSERT_INT_EQ(bff_host_slots_peak(t), 10);
    bff_host_release(u1);
    bff_host_release(u2);
    bff_host_release(q1);
    ASSERT_INT_EQ(bff_host_slots_peak(t), 0);
    bff_host_slots_destroy(t);
}

int main(void)
{
    TAP_RUN(test_scripts);
    TAP_RUN(test_lines_are_shared_by_owner_and_host);
    TAP_RUN(test_the_newest_cap_wins);
    TAP_RUN(test_the_peak_sums_the_lines_of_one_host);
    TAP_DONE();
}
