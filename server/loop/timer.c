/* A sorted list of one-shot timers checked once per loop turn. */
#include "server/loop/timer.h"

void bff_timers_init(bff_timers_t *timers, h2o_evloop_t *loop)
{
    timers->loop = loop;
    h2o_linklist_init_anchor(&timers->pending);
}

int bff_timer_is_armed(const bff_timer_t *timer)
{
    return h2o_linklist_is_linked((h2o_linklist_t *)&timer->_link);
}

void bff_timer_cancel(bff_timer_t *timer)
{
    if (bff_timer_is_armed(timer))
        h2o_linklist_unlink(&timer->_link);
}

void bff_timer_start(bff_timers_t *timers, bff_timer_t *timer, uint64_t delay_ms, bff_timer_cb cb)
{
    bff_timer_cancel(timer);
    timer->at = h2o_now(timers->loop) + delay_ms;
    timer->cb = cb;
    /* From the back: a new timer is almost always the latest (per-request deadlines and
     * watchdogs of equal delay), so insertion is O(1) however many are armed. */
    h2o_linklist_t *pos = timers->pending.prev;
    while (pos != &timers->pending &&
           H2O_STRUCT_FROM_MEMBER(bff_timer_t, _link, pos)->at > timer->at)
        pos = pos->prev;
    h2o_linklist_insert(pos->next, &timer->_link);
}

int32_t bff_timers_wait_ms(bff_timers_t *timers, int32_t cap)
{
    if (h2o_linklist_is_empty(&timers->pending))
        return cap;
    uint64_t at = H2O_STRUCT_FROM_MEMBER(bff_timer_t, _link, timers->pending.next)->at;
    uint64_t now = h2o_now(timers->loop);
    if (at <= now)
        return 0;
    return at - now < (uint64_t)cap ? (int32_t)(at - now) : cap;
}

size_t bff_timers_run(bff_timers_t *timers)
{
    uint64_t now = h2o_now(timers->loop);
    size_t fired = 0;
    while (!h2o_linklist_is_empty(&timers->pending)) {
        bff_timer_t *t = H2O_STRUCT_FROM_MEMBER(bff_timer_t, _link, timers->pending.next);
        if (t->at > now)
            break;
        h2o_linklist_unlink(&t->_link);
        t->cb(t);
        ++fired;
    }
    return fired;
}
