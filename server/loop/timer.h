/* Variable-delay timers for one worker (h2o 2.2.5 only has fixed-delay queues). A short sorted
 * list is enough: timers here are retry back-offs and request deadlines, a handful at a time. */
#ifndef BFF_SERVER_TIMER_H
#define BFF_SERVER_TIMER_H

#include <h2o.h>
#include <stdint.h>

typedef struct st_bff_timer_t bff_timer_t;
typedef void (*bff_timer_cb)(bff_timer_t *timer);

struct st_bff_timer_t {
    uint64_t at; /* loop time in ms */
    bff_timer_cb cb;
    h2o_linklist_t _link;
};

typedef struct st_bff_timers_t {
    h2o_evloop_t *loop;
    h2o_linklist_t pending; /* sorted by `at` */
} bff_timers_t;

void bff_timers_init(bff_timers_t *timers, h2o_evloop_t *loop);
/** Arms `timer` to call `cb` once after `delay_ms`; re-arming an armed timer moves it. */
void bff_timer_start(bff_timers_t *timers, bff_timer_t *timer, uint64_t delay_ms, bff_timer_cb cb);
/** Disarms; safe on a timer that is not armed (zero-initialised or already fired). */
void bff_timer_cancel(bff_timer_t *timer);
int bff_timer_is_armed(const bff_timer_t *timer);
/** How long the loop may sleep (at most `cap`). */
int32_t bff_timers_wait_ms(bff_timers_t *timers, int32_t cap);
/** Fires every timer that is due; returns how many fired. */
size_t bff_timers_run(bff_timers_t *timers);

#endif
