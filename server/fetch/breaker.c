/* The breaker's state machine. */
#include "server/fetch/breaker.h"

int bff_breaker_allows(bff_breaker_t *b, const bff_breaker_conf_t *conf, const void *call,
                       uint64_t now)
{
    switch (b->state) {
    case BFF_BREAKER_CLOSED:
        return 1;
    case BFF_BREAKER_OPEN:
        if (now < b->opened_at + conf->cooldown_ms)
            return 0;
        b->state = BFF_BREAKER_HALF_OPEN;
        b->trial = NULL;
        /* fallthrough */
    case BFF_BREAKER_HALF_OPEN:
        if (b->trial != NULL)
            return 0;
        b->trial = call; /* exactly one trial call decides */
        return 1;
    }
    return 1;
}

static void open_breaker(bff_breaker_t *b, uint64_t now)
{
    b->state = BFF_BREAKER_OPEN;
    b->opened_at = now;
    b->trial = NULL;
}

void bff_breaker_record(bff_breaker_t *b, const bff_breaker_conf_t *conf, int failed, uint64_t now)
{
    if (b->state == BFF_BREAKER_HALF_OPEN) {
        b->trial = NULL;
        if (failed) {
            open_breaker(b, now);
        } else {
            b->state = BFF_BREAKER_CLOSED;
            b->consecutive_failures = 0;
            b->window_calls = b->window_failures = 0;
            b->window_start = now;
        }
        return;
    }
    if (now >= b->window_start + conf->window_ms) {
        b->window_start = now;
        b->window_calls = b->window_failures = 0;
    }
    ++b->window_calls;
    if (!failed) {
        b->consecutive_failures = 0;
        return;
    }
    ++b->window_failures;
    ++b->consecutive_failures;
    int by_count =
        conf->consecutive_failures != 0 && b->consecutive_failures >= conf->consecutive_failures;
    int by_ratio = conf->error_ratio_percent != 0 && b->window_calls >= conf->min_calls &&
                   b->window_failures * 100 >= conf->error_ratio_percent * b->window_calls;
    if (b->state == BFF_BREAKER_CLOSED && (by_count || by_ratio))
        open_breaker(b, now);
}

void bff_breaker_forget(bff_breaker_t *b, const void *call)
{
    if (b->trial == call)
        b->trial = NULL;
}
