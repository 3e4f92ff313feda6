/* Who a request comes from, once the auth stage verified it: everything in the request's pool. */
#ifndef BFF_SERVER_AUTH_PRINCIPAL_H
#define BFF_SERVER_AUTH_PRINCIPAL_H

#include <h2o.h>

#define BFF_MAX_CLAIM_HEADERS 16 /* claims_to_headers entries sent with each call */

typedef struct st_bff_principal_t {
    const char *kind;        /* "jwt", "cookie" or "api_key" */
    h2o_iovec_t id;          /* the token's sub, or the API key's name */
    h2o_iovec_t plan;        /* the rate plan it asks for; empty = the profile's default */
    h2o_iovec_t scopes;      /* space-separated */
    h2o_iovec_t claims_json; /* the request doc's `auth`: the claims, or {sub, plan} of a key */
    h2o_iovec_t token; /* the verified token as it came (relayed where asked); API keys: none */
    const char **upstream_headers; /* "X-User-ID: 42" lines (claims_to_headers) */
    size_t nupstream_headers;
} bff_principal_t;

#endif
