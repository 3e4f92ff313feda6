/* TypeScript declarations of a profile's contracts (`bffd types DIR`): for every endpoint an
 * interface of its parameters (<Name>Params), of its request body when it reads one
 * (<Name>Body) and of its answer (<Name>Response), plus the shared error types; <Name> comes
 * from the spec's file name (names.h). The types are rendered from the same JSON Schemas as
 * the OpenAPI document (compose/shape_schema.h). */
#ifndef BFF_SERVER_CONTRACT_TS_TYPES_H
#define BFF_SERVER_CONTRACT_TS_TYPES_H

#include <jansson.h>
#include <stddef.h>

struct st_bff_profile_t;

/** The declarations as one malloc'ed text. */
char *bff_ts_types_render(const struct st_bff_profile_t *p);
/** A JSON Schema as a TypeScript type expression (malloc'ed); `indent` is the nesting depth
 * for object members. */
char *bff_ts_of_schema(const json_t *schema, unsigned indent);

#endif
