/* The definitions every schema has: the built-in scalars and directives of the specification
 * and the introspection types (section 4), with graphql-js 16's descriptions and shape (it
 * also lets arguments and input fields be deprecated, which the October 2021 text does not
 * yet). They are made as an SDL document so the builder treats them like any other source. */
#include <string.h>

#include "compose/gql/schema_internal.h"

const char *const bff_gql_directive_location_names[BFF_GQL_DL_COUNT] = {
    [BFF_GQL_DL_QUERY] = "QUERY",
    [BFF_GQL_DL_MUTATION] = "MUTATION",
    [BFF_GQL_DL_SUBSCRIPTION] = "SUBSCRIPTION",
    [BFF_GQL_DL_FIELD] = "FIELD",
    [BFF_GQL_DL_FRAGMENT_DEFINITION] = "FRAGMENT_DEFINITION",
    [BFF_GQL_DL_FRAGMENT_SPREAD] = "FRAGMENT_SPREAD",
    [BFF_GQL_DL_INLINE_FRAGMENT] = "INLINE_FRAGMENT",
    [BFF_GQL_DL_VARIABLE_DEFINITION] = "VARIABLE_DEFINITION",
    [BFF_GQL_DL_SCHEMA] = "SCHEMA",
    [BFF_GQL_DL_SCALAR] = "SCALAR",
    [BFF_GQL_DL_OBJECT] = "OBJECT",
    [BFF_GQL_DL_FIELD_DEFINITION] = "FIELD_DEFINITION",
    [BFF_GQL_DL_ARGUMENT_DEFINITION] = "ARGUMENT_DEFINITION",
    [BFF_GQL_DL_INTERFACE] = "INTERFACE",
    [BFF_GQL_DL_UNION] = "UNION",
    [BFF_GQL_DL_ENUM] = "ENUM",
    [BFF_GQL_DL_ENUM_VALUE] = "ENUM_VALUE",
    [BFF_GQL_DL_INPUT_OBJECT] = "INPUT_OBJECT",
    [BFF_GQL_DL_INPUT_FIELD_DEFINITION] = "INPUT_FIELD_DEFINITION",
};

typedef struct {
    const char *name, *description;
} named_text_t;

static const named_text_t scalars[] = {
    {"Int", "The `Int` scalar type represents non-fractional signed whole numeric values. Int "
            "can represent values between -(2^31) and 2^31 - 1."},
    {"Float", "The `Float` scalar type represents signed double-precision fractional values as "
              "specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point)."},
    {"String", "The `String` scalar type represents textual data, represented as UTF-8 "
               "character sequences. The String type is most often used by GraphQL to represent "
               "free-form human-readable text."},
    {"Boolean", "The `Boolean` scalar type represents `true` or `false`."},
    {"ID", "The `ID` scalar type represents a unique identifier, often used to refetch an object "
           "or as key for a cache. The ID type appears in a JSON response as a String; however, "
           "it is not intended to be human-readable. When expected as an input type, any string "
           "(such as `\"4\"`) or integer (such as `4`) input value will be accepted as an ID."},
};

typedef struct {
    const char *name, *type, *description;
    int include_deprecated; /* the field takes (includeDeprecated: Boolean = false) */
} field_text_t;

typedef struct {
    const char *name, *description;
    const field_text_t *fields;
    size_t nfields;
} object_text_t;

static const field_text_t schema_fields[] = {
    {"description", "String", NULL, 0},
    {"types", "[__Type!]!", "A list of all types supported by this server.", 0},
    {"queryType", "__Type!", "The type that query operations will be rooted at.", 0},
    {"mutationType", "__Type",
     "If this server supports mutation, the type that mutation operations will be rooted at.", 0},
    {"subscriptionType", "__Type",
     "If this server support subscription, the type that subscription operations will be "
     "rooted at.",
     0},
    {"directives", "[__Directive!]!", "A list of all directives supported by this server.", 0},
};

static const field_text_t type_fields[] = {
    {"kind", "__TypeKind!", NULL, 0},
    {"name", "String", NULL, 0},
    {"description", "String", NULL, 0},
    {"specifiedByURL", "String", NULL, 0},
    {"fields", "[__Field!]", NULL, 1},
    {"interfaces", "[__Type!]", NULL, 0},
    {"possibleTypes", "[__Type!]", NULL, 0},
    {"enumValues", "[__EnumValue!]", NULL, 1},
    {"inputFields", "[__InputValue!]", NULL, 1},
    {"ofType", "__Type", NULL, 0},
};

static const field_text_t field_fields[] = {
    {"name", "String!", NULL, 0},          {"description", "String", NULL, 0},
    {"args", "[__InputValue!]!", NULL, 1}, {"type", "__Type!", NULL, 0},
    {"isDeprecated", "Boolean!", NULL, 0}, {"deprecationReason", "String", NULL, 0},
};

static const field_text_t input_value_fields[] = {
    {"name", "String!", NULL, 0},
    {"description", "String", NULL, 0},
    {"type", "__Type!", NULL, 0},
    {"defaultValue", "String",
     "A GraphQL-formatted string representing the default value for this input value.", 0},
    {"isDeprecated", "Boolean!", NULL, 0},
    {"deprecationReason", "String", NULL, 0},
};

static const field_text_t enum_value_fields[] = {
    {"name", "String!", NULL, 0},
    {"description", "String", NULL, 0},
    {"isDeprecated", "Boolean!", NULL, 0},
    {"deprecationReason", "String", NULL, 0},
};

static const field_text_t directive_fields[] = {
    {"name", "String!", NULL, 0},          {"description", "String", NULL, 0},
    {"isRepeatable", "Boolean!", NULL, 0}, {"locations", "[__DirectiveLocation!]!", NULL, 0},
    {"args", "[__InputValue!]!", NULL, 1},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const object_text_t objects[] = {
    {"__Schema",
     "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all available "
     "types and directives on the server, as well as the entry points for query, mutation, and "
     "subscription operations.",
     schema_fields, N(schema_fields)},
    {"__Type",
     "The fundamental unit of any GraphQL Schema is the type. There are many kinds of types in "
     "GraphQL as represented by the `__TypeKind` enum.\n\nDepending on the kind of a type, "
     "certain fields describe information about that type. Scalar types provide no information "
     "beyond a name, description and optional `specifiedByURL`, while Enum types provide their "
     "values. Object and Interface types provide the fields they describe. Abstract types, "
     "Union and Interface, provide the Object types possible at runtime. List and NonNull types "
     "compose other types.",
     type_fields, N(type_fields)},
    {"__Field",
     "Object and Interface types are described by a list of Fields, each of which has a name, "
     "potentially a list of arguments, and a return type.",
     field_fields, N(field_fields)},
    {"__InputValue",
     "Arguments provided to Fields or Directives and the input fields of an InputObject are "
     "represented as Input Values which describe their type and optionally a default value.",
     input_value_fields, N(input_value_fields)},
    {"__EnumValue",
     "One possible value for a given Enum. Enum values are unique values, not a placeholder for "
     "a string or numeric value. However an Enum value is returned in a JSON response as a "
     "string.",
     enum_value_fields, N(enum_value_fields)},
    {"__Directive",
     "A Directive provides a way to describe alternate runtime execution and type validation "
     "behavior in a GraphQL document.\n\nIn some cases, you need to provide options to alter "
     "GraphQL's execution behavior in ways field arguments will not suffice, such as "
     "conditionally including or skipping a field. Directives provide this by describing "
     "additional information to the executor.",
     directive_fields, N(directive_fields)},
};

static const named_text_t type_kinds[] = {
    {"SCALAR", "Indicates this type is a scalar."},
    {"OBJECT", "Indicates this type is an object. `fields` and `interfaces` are valid fields."},
    {"INTERFACE", "Indicates this type is an interface. `fields`, `interfaces`, and "
                  "`possibleTypes` are valid fields."},
    {"UNION", "Indicates this type is a union. `possibleTypes` is a valid field."},
    {"ENUM", "Indicates this type is an enum. `enumValues` is a valid field."},
    {"INPUT_OBJECT", "Indicates this type is an input object. `inputFields` is a valid field."},
    {"LIST", "Indicates this type is a list. `ofType` is a valid field."},
    {"NON_NULL", "Indicates this type is a non-null. `ofType` is a valid field."},
};

/* In the order of the DL_* bits. */
static const char *const location_descriptions[BFF_GQL_DL_COUNT] = {
    [BFF_GQL_DL_QUERY] = "Location adjacent to a query operation.",
    [BFF_GQL_DL_MUTATION] = "Location adjacent to a mutation operation.",
    [BFF_GQL_DL_SUBSCRIPTION] = "Location adjacent to a subscription operation.",
    [BFF_GQL_DL_FIELD] = "Location adjacent to a field.",
    [BFF_GQL_DL_FRAGMENT_DEFINITION] = "Location adjacent to a fragment definition.",
    [BFF_GQL_DL_FRAGMENT_SPREAD] = "Location adjacent to a fragment spread.",
    [BFF_GQL_DL_INLINE_FRAGMENT] = "Location adjacent to an inline fragment.",
    [BFF_GQL_DL_VARIABLE_DEFINITION] = "Location adjacent to a variable definition.",
    [BFF_GQL_DL_SCHEMA] = "Location adjacent to a schema definition.",
    [BFF_GQL_DL_SCALAR] = "Location adjacent to a scalar definition.",
    [BFF_GQL_DL_OBJECT] = "Location adjacent to an object type definition.",
    [BFF_GQL_DL_FIELD_DEFINITION] = "Location adjacent to a field definition.",
    [BFF_GQL_DL_ARGUMENT_DEFINITION] = "Location adjacent to an argument definition.",
    [BFF_GQL_DL_INTERFACE] = "Location adjacent to an interface definition.",
    [BFF_GQL_DL_UNION] = "Location adjacent to a union definition.",
    [BFF_GQL_DL_ENUM] = "Location adjacent to an enum definition.",
    [BFF_GQL_DL_ENUM_VALUE] = "Location adjacent to an enum value definition.",
    [BFF_GQL_DL_INPUT_OBJECT] = "Location adjacent to an input object type definition.",
    [BFF_GQL_DL_INPUT_FIELD_DEFINITION] = "Location adjacent to an input object field definition.",
};

#define DL(x) (1u << BFF_GQL_DL_##x)

typedef struct {
    const char *name, *description;
    const char *arg, *arg_type, *arg_description;
    const char *arg_default; /* a string default; NULL = none */
    unsigned locations;
} directive_text_t;

/* graphql-js's order: include, skip, deprecated, specifiedBy. */
static const directive_text_t directives[] = {
    {"include",
     "Directs the executor to include this field or fragment only when the `if` argument is "
     "true.",
     "if", "Boolean!", "Included when true.", NULL,
     DL(FIELD) | DL(FRAGMENT_SPREAD) | DL(INLINE_FRAGMENT)},
    {"skip", "Directs the executor to skip this field or fragment when the `if` argument is true.",
     "if", "Boolean!", "Skipped when true.", NULL,
     DL(FIELD) | DL(FRAGMENT_SPREAD) | DL(INLINE_FRAGMENT)},
    {"deprecated", "Marks an element of a GraphQL schema as no longer supported.", "reason",
     "String",
     "Explains why this element was deprecated, usually also including a suggestion for how to "
     "access supported similar data. Formatted using the Markdown syntax, as specified by "
     "[CommonMark](https://commonmark.org/).",
     "No longer supported",
     DL(FIELD_DEFINITION) | DL(ARGUMENT_DEFINITION) | DL(INPUT_FIELD_DEFINITION) | DL(ENUM_VALUE)},
    {"specifiedBy", "Exposes a URL that specifies the behavior of this scalar.", "url", "String!",
     "The URL that specifies the behavior of this scalar.", NULL, DL(SCALAR)},
};

bff_gql_type_ref_t *bff_gql_sb_type_ref(bff_gql_arena_t *a, const char *text)
{
    /* Peels the outermost wrapper each round: "T!" is NON_NULL of "T", "[T]" LIST_OF of "T". */
    size_t len = strlen(text);
    bff_gql_type_ref_t *head = NULL, **link = &head;
    for (;;) {
        bff_gql_type_ref_t *r = bff_gql_arena_alloc(a, sizeof(*r));
        *link = r;
        if (len > 0 && text[len - 1] == '!') {
            r->kind = BFF_GQL_NON_NULL;
            --len;
        } else if (len > 1 && text[0] == '[' && text[len - 1] == ']') {
            r->kind = BFF_GQL_LIST_OF;
            ++text;
            len -= 2;
        } else {
            r->kind = BFF_GQL_NAMED;
            r->name = bff_gql_arena_strndup(a, text, len);
            return head;
        }
        link = &r->of;
    }
}

static bff_gql_input_value_def_t *include_deprecated_arg(bff_gql_arena_t *a)
{
    bff_gql_input_value_def_t *arg = bff_gql_arena_alloc(a, sizeof(*arg));
    arg->name = "includeDeprecated";
    arg->type = bff_gql_sb_type_ref(a, "Boolean");
    arg->default_value = bff_gql_arena_alloc(a, sizeof(*arg->default_value));
    arg->default_value->kind = BFF_GQL_BOOLEAN;
    arg->default_value->boolean = 0;
    return arg;
}

static bff_gql_enum_value_def_t *enum_values(bff_gql_arena_t *a, const named_text_t *texts,
                                             size_t n)
{
    bff_gql_enum_value_def_t *v = bff_gql_arena_alloc(a, n * sizeof(*v));
    for (size_t i = 0; i != n; ++i) {
        v[i].name = texts[i].name;
        v[i].description = texts[i].description;
    }
    return v;
}

const bff_gql_sdl_t *bff_gql_sb_builtin_sdl(bff_gql_arena_t *a)
{
    bff_gql_sdl_t *sdl = bff_gql_arena_alloc(a, sizeof(*sdl));
    size_t ntypes = N(scalars) + N(objects) + 2;
    bff_gql_type_def_t *types = bff_gql_arena_alloc(a, ntypes * sizeof(*types));
    size_t n = 0;
    for (size_t i = 0; i != N(scalars); ++i, ++n) {
        types[n].kind = BFF_GQL_SCALAR;
        types[n].name = scalars[i].name;
        types[n].description = scalars[i].description;
    }
    for (size_t i = 0; i != N(objects); ++i, ++n) {
        const object_text_t *o = objects + i;
        types[n].kind = BFF_GQL_OBJECT_TYPE;
        types[n].name = o->name;
        types[n].description = o->description;
        types[n].fields = bff_gql_arena_alloc(a, o->nfields * sizeof(*types[n].fields));
        types[n].nfields = o->nfields;
        for (size_t f = 0; f != o->nfields; ++f) {
            bff_gql_field_def_t *fd = types[n].fields + f;
            fd->name = o->fields[f].name;
            fd->description = o->fields[f].description;
            fd->type = bff_gql_sb_type_ref(a, o->fields[f].type);
            if (o->fields[f].include_deprecated) {
                fd->args = include_deprecated_arg(a);
                fd->nargs = 1;
            }
        }
    }
    types[n].kind = BFF_GQL_ENUM_TYPE;
    types[n].name = "__TypeKind";
    types[n].description = "An enum describing what kind of type a given `__Type` is.";
    types[n].values = enum_values(a, type_kinds, N(type_kinds));
    types[n].nvalues = N(type_kinds);
    ++n;
    named_text_t locations[BFF_GQL_DL_COUNT];
    for (unsigned l = 0; l != BFF_GQL_DL_COUNT; ++l) {
        locations[l].name = bff_gql_directive_location_names[l];
        locations[l].description = location_descriptions[l];
    }
    types[n].kind = BFF_GQL_ENUM_TYPE;
    types[n].name = "__DirectiveLocation";
    types[n].description = "A Directive can be adjacent to many parts of the GraphQL language, a "
                           "__DirectiveLocation describes one such possible adjacencies.";
    types[n].values = enum_values(a, locations, BFF_GQL_DL_COUNT);
    types[n].nvalues = BFF_GQL_DL_COUNT;
    ++n;
    sdl->types = types;
    sdl->ntypes = n;

    bff_gql_directive_def_t *dirs = bff_gql_arena_alloc(a, N(directives) * sizeof(*dirs));
    for (size_t i = 0; i != N(directives); ++i) {
        const directive_text_t *d = directives + i;
        dirs[i].name = d->name;
        dirs[i].description = d->description;
        dirs[i].args = bff_gql_arena_alloc(a, sizeof(*dirs[i].args));
        dirs[i].nargs = 1;
        dirs[i].args->name = d->arg;
        dirs[i].args->description = d->arg_description;
        dirs[i].args->type = bff_gql_sb_type_ref(a, d->arg_type);
        if (d->arg_default != NULL) {
            bff_gql_value_t *v = bff_gql_arena_alloc(a, sizeof(*v));
            v->kind = BFF_GQL_STRING;
            v->str = d->arg_default;
            v->len = strlen(d->arg_default);
            dirs[i].args->default_value = v;
        }
        unsigned count = 0;
        for (unsigned l = 0; l != BFF_GQL_DL_COUNT; ++l)
            count += (d->locations >> l) & 1u;
        dirs[i].locations = bff_gql_arena_alloc(a, count * sizeof(*dirs[i].locations));
        for (unsigned l = 0; l != BFF_GQL_DL_COUNT; ++l)
            if (d->locations & (1u << l))
                dirs[i].locations[dirs[i].nlocations++].name = bff_gql_directive_location_names[l];
    }
    sdl->directives = dirs;
    sdl->ndirectives = N(directives);
    return sdl;
}
