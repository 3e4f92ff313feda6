/* Stage: the profile's IP lists. The client's address (behind trusted_proxies, as every part
 * of bffd sees it) in ip_deny, or not in a non-empty ip_allow, is answered 403. Runs after the
 * built-in /health and /ready, so an orchestrator's probes pass whatever the lists say. */
#include "server/http/client_addr.h"
#include "server/http/respond.h"
#include "server/stage/pipeline.h"

bff_stage_result_t bff_stage_iplist(bff_req_t *r)
{
    const bff_profile_t *p = r->profile;
    if (p->nip_allow == 0 && p->nip_deny == 0)
        return BFF_STAGE_NEXT;
    char addr[64];
    size_t n =
        bff_client_address(r->req, p->trusted_proxies, p->ntrusted_proxies, addr, sizeof(addr));
    int ok = n != 0 && !bff_cidrs_contain(p->ip_deny, p->nip_deny, addr) &&
             (p->nip_allow == 0 || bff_cidrs_contain(p->ip_allow, p->nip_allow, addr));
    if (ok)
        return BFF_STAGE_NEXT;
    bff_stage_refuse(r, 403, "forbidden", "this address may not call this API", NULL);
    return BFF_STAGE_RESPONDED;
}
