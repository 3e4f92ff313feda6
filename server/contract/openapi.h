/* The OpenAPI 3.1 document of a profile's REST routes (and its GraphQL endpoint), built once
 * per loaded configuration from the compiled specs: typed parameters, request bodies, response
 * schemas from the shapes (compose/shape_schema.h), the auth schemes and the answers bffd
 * itself gives (errors, 401/403, 429 with the rate-limit headers, partial answers). */
#ifndef BFF_SERVER_CONTRACT_OPENAPI_H
#define BFF_SERVER_CONTRACT_OPENAPI_H

#include <jansson.h>

struct st_bff_profile_t;

/** The document as a new jansson value. Pure: reads the profile only. */
json_t *bff_openapi_build(const struct st_bff_profile_t *p);
/** The document as JSON text (malloc'ed, *len set); `pretty` indents it. */
char *bff_openapi_render(const struct st_bff_profile_t *p, int pretty, size_t *len);

#endif
