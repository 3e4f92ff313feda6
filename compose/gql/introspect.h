/* Introspection as data: the whole schema written once, at load, as the JSON value of
 * `__schema` ({description, queryType, mutationType, subscriptionType, types, directives}, each
 * type complete with fields, args, interfaces, possibleTypes, enumValues, inputFields and
 * deprecated members included and flagged). Execution then answers introspection fields like
 * any other object data: a type reference ({kind, name, ofType}) is completed from the full
 * type of that name, and `includeDeprecated: false` filters flagged members. */
#ifndef BFF_COMPOSE_GQL_INTROSPECT_H
#define BFF_COMPOSE_GQL_INTROSPECT_H

#include <stddef.h>

#include "compose/gql/schema.h"

/** malloc'ed JSON text of the __schema value; its length in *len. */
char *bff_gql_introspection_json(const bff_gql_schema_t *schema, size_t *len);

#endif
