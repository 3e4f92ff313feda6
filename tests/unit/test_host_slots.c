/* The per-host line in front of curl: slots up to the cap, arrival order, a waiter leaving the
 * line, a cap that changes, and hosts shared by key: scripts of operations, checked per step. */
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
    bff_host_t *h = bff_host_acquire(t, "http://a:1", 10);
    bff_host_wait_t waiters[8];
    memset(waiters, 0, sizeof(waiters));
    for (const step_t *st = scripts[s].steps; st->op != 0; ++st) {
        int got = 0;
        bff_host_wait_t *w = NULL;
        switch (st->op) {
        case 'e':
            got = bff_host_try_enter(h, st->cap);
            if (!got)
                bff_host_wait(h, &waiters[st->arg]);
            break;
        case 'l':
        case 'n':
            w = st->op == 'l' ? bff_host_leave(h, st->cap) : bff_host_next(h, st->cap);
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
    while (bff_host_held(h) != 0) /* the rest go, the last waiters through the slots */
        (void)bff_host_leave(h, 1);
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

static void test_hosts_are_shared_by_key(void)
{
    bff_host_slots_t *t = bff_host_slots_create();
    bff_host_t *a = bff_host_acquire(t, "http://a:1/ignored", 10);
    bff_host_t *b = bff_host_acquire(t, "http://a:1", 10);
    bff_host_t *c = bff_host_acquire(t, "http://a:12", 11);
    ASSERT_TRUE(a == b);
    ASSERT_TRUE(a != c);
    ASSERT_INT_EQ(bff_host_try_enter(a, 1), 1);
    ASSERT_INT_EQ(bff_host_try_enter(b, 1), 0); /* one host, one cap */
    ASSERT_INT_EQ(bff_host_try_enter(c, 1), 1);
    ASSERT_TRUE(bff_host_leave(a, 1) == NULL);
    ASSERT_TRUE(bff_host_leave(c, 1) == NULL);
    bff_host_release(a);
    bff_host_release(b); /* the last reference frees it; c lives on */
    ASSERT_INT_EQ(bff_host_held(c), 0);
    bff_host_release(c);
    bff_host_slots_destroy(t);
}

int main(void)
{
    TAP_RUN(test_scripts);
    TAP_RUN(test_hosts_are_shared_by_key);
    TAP_DONE();
}
