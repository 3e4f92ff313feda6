/* The profile loader's last step (profile_settle.c): what needs the whole profile at once. */
#ifndef BFF_SERVER_CORE_PROFILE_SETTLE_H
#define BFF_SERVER_CORE_PROFILE_SETTLE_H

#include "compose/diag.h"
#include "server/core/profile.h"

/** Cache policies take the profile's defaults and their digests; auth, scopes and rate limits
 * are checked against the profile's blocks and plans. Returns 0, or -1 after reporting. */
int bff_profile_settle(bff_diag_t *diag, bff_profile_t *p);

#endif
