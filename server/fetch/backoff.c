/* Back-off arithmetic for retries. */
#include "server/fetch/backoff.h"

uint64_t bff_backoff_ms(unsigned attempt, uint64_t rnd)
{
    unsigned shift = attempt > 1 ? attempt - 1 : 0;
    if (shift > 20)
        shift = 20;
    uint64_t d = (uint64_t)BFF_BACKOFF_BASE_MS << shift;
    return d / 2 + rnd % (d / 2 + 1);
}

int bff_backoff_fits(uint64_t now, uint64_t backoff_ms, uint64_t deadline_at)
{
    return deadline_at == 0 || now + backoff_ms + BFF_MIN_ATTEMPT_MS * 2 < deadline_at;
}
