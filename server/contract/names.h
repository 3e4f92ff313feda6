/* Names the consumer contracts give an endpoint, derived from its spec file's name so they
 * stay put when a route changes: "me-dashboard.yaml" is operationId meDashboard and the
 * TypeScript types MeDashboardParams and MeDashboardResponse. Unique within a profile. */
#ifndef BFF_SERVER_CONTRACT_NAMES_H
#define BFF_SERVER_CONTRACT_NAMES_H

#include <stddef.h>

struct st_bff_profile_t;

/** One malloc'ed camelCase name per endpoint, in the profile's order (a duplicate gets a
 * number); free with bff_contract_names_free. */
char **bff_contract_names(const struct st_bff_profile_t *p);
void bff_contract_names_free(char **names, size_t n);
/** "meDashboard" -> "MeDashboard" into buf. */
void bff_contract_type_name(const char *name, char *buf, size_t size);

#endif
