/* Instance choice for one upstream on one worker: smooth weighted round robin (as nginx) or
 * least outstanding calls per weight, skipping instances that passive health checking ejected
 * after consecutive failures. Pure state: the caller supplies the time. */
#ifndef BFF_SERVER_FETCH_BALANCE_H
#define BFF_SERVER_FETCH_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "server/core/profile.h"

typedef struct st_bff_instance_t {
    const bff_instance_conf_t *conf;
    unsigned outstanding; /* calls in flight (the caller counts them) */
    unsigned consecutive_failures;
    uint64_t ejected_until;
    int64_t current_weight; /* smooth weighted round robin */
} bff_instance_t;

/** Picks the instance for the next call at `now` (ms). When every instance is ejected, the one
 * back soonest (failing everything would be worse). Never NULL for n >= 1. */
bff_instance_t *bff_balance_pick(bff_instance_t *instances, size_t n, bff_lb_policy_t policy,
                                 uint64_t now);
/** Records a call's verdict; ejects the instance after too many failures in a row (only when
 * there is another instance to go to). */
void bff_balance_record(bff_instance_t *inst, size_t ninstances,
                        const bff_passive_health_conf_t *conf, int failed, uint64_t now);

#endif
