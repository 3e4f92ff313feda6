/* Reading verified claims: a claim as text for a header, and the principal's scopes. Shared by
 * the auth stage and `bffd test` (whose cases give claims instead of a token), so both read a
 * token's claims the same way. */
#ifndef BFF_SERVER_AUTH_CLAIMS_H
#define BFF_SERVER_AUTH_CLAIMS_H

#include <jansson.h>
#include <stddef.h>

/** A claim as header text: a string, a number, or strings joined with commas. Returns its
 * length, or -1 (another type, or longer than `size`). */
int bff_claim_text(json_t *v, char *out, size_t size);
/** The scopes of `claims`, space-separated: the claim `scope_claim` (NULL: "scope"), else
 * "scp"; a string as it is, or an array of strings joined (in `buf`). NULL when there are none
 * or they cannot be read. The result lives as long as `claims` or `buf`. */
const char *bff_claims_scopes(json_t *claims, const char *scope_claim, char *buf, size_t size);

#endif
