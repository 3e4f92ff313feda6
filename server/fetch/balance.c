/* Load balancing and passive ejection over an upstream's instances. */
#include "server/fetch/balance.h"

static int usable(const bff_instance_t *inst, uint64_t now)
{
    return inst->conf->weight != 0 && inst->ejected_until <= now;
}

bff_instance_t *bff_balance_pick(bff_instance_t *instances, size_t n, bff_lb_policy_t policy,
                                 uint64_t now)
{
    if (n == 1)
        return instances;
    bff_instance_t *best = NULL;
    if (policy == BFF_LB_LEAST_OUTSTANDING) {
        for (size_t i = 0; i != n; ++i) {
            bff_instance_t *in = instances + i;
            /* Compare outstanding/weight without division. */
            if (usable(in, now) &&
                (best == NULL || (uint64_t)in->outstanding * best->conf->weight <
                                     (uint64_t)best->outstanding * in->conf->weight))
                best = in;
        }
    } else { /* smooth weighted round robin (as nginx) */
        int64_t total = 0;
        for (size_t i = 0; i != n; ++i) {
            bff_instance_t *in = instances + i;
            if (!usable(in, now))
                continue;
            in->current_weight += in->conf->weight;
            total += in->conf->weight;
            if (best == NULL || in->current_weight > best->current_weight)
                best = in;
        }
        if (best != NULL)
            best->current_weight -= total;
    }
    if (best != NULL)
        return best;
    best = instances;
    for (size_t i = 1; i != n; ++i)
        if (instances[i].ejected_until < best->ejected_until)
            best = instances + i;
    return best;
}

void bff_balance_record(bff_instance_t *inst, size_t ninstances,
                        const bff_passive_health_conf_t *conf, int failed, uint64_t now)
{
    if (!failed) {
        inst->consecutive_failures = 0;
        return;
    }
    if (++inst->consecutive_failures >= conf->consecutive_failures && ninstances > 1) {
        inst->ejected_until = now + conf->ejection_ms;
        inst->consecutive_failures = 0;
    }
}
