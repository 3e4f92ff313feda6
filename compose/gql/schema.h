/* A GraphQL schema, resolved from SDL documents: every type reference points at its type, every
 * object type knows its interfaces and every abstract type its possible types, and the built-in
 * scalars (Int, Float, String, Boolean, ID), directives (@skip, @include, @deprecated,
 * @specifiedBy) and introspection types (__Schema, __Type, __Field, __InputValue, __EnumValue,
 * __Directive, __TypeKind, __DirectiveLocation) are part of it. Building checks the type system
 * rules of the specification (section 3: unique names, known types, input/output positions,
 * interface implementations, non-empty unions and enums, ...) and reports each problem with its
 * file, line and column. A profile may hide types and fields: hidden ones do not exist for it,
 * introspection included. Immutable once built; one per profile and configuration. */
#ifndef BFF_COMPOSE_GQL_SCHEMA_H
#define BFF_COMPOSE_GQL_SCHEMA_H

#include <stddef.h>

#include "compose/diag.h"
#include "compose/gql/ast.h"

typedef struct st_bff_gql_type_t bff_gql_type_t;

/** A resolved type reference: NON_NULL and LIST_OF wrap, NAMED ends the chain. */
typedef struct st_bff_gql_wrapped_t bff_gql_wrapped_t;
struct st_bff_gql_wrapped_t {
    bff_gql_type_ref_kind_t kind;
    const bff_gql_type_t *named; /* NAMED */
    const bff_gql_wrapped_t *of; /* LIST_OF, NON_NULL */
};

typedef struct st_bff_gql_input_value_t {
    const char *name;
    const char *description; /* NULL = none */
    const bff_gql_wrapped_t *type;
    const bff_gql_value_t *default_value; /* NULL = none (lives in the schema) */
    const char *default_text;             /* default_value printed as GraphQL, for
                                             introspection's defaultValue; NULL = none */
    int is_deprecated;
    const char *deprecation_reason;
} bff_gql_input_value_t;

typedef struct st_bff_gql_field_t {
    const char *name;
    const char *description;
    bff_gql_input_value_t *args;
    size_t nargs;
    const bff_gql_wrapped_t *type;
    int is_deprecated;
    const char *deprecation_reason;
    const bff_gql_type_t *owner; /* the object or interface type it belongs to */
    const char *file;            /* where it was defined, for binding errors */
    unsigned line, column;
} bff_gql_field_t;

typedef struct st_bff_gql_enum_value_t {
    const char *name;
    const char *description;
    int is_deprecated;
    const char *deprecation_reason;
} bff_gql_enum_value_t;

struct st_bff_gql_type_t {
    bff_gql_type_kind_t kind;
    const char *name;
    const char *description;
    const char *specified_by_url; /* SCALAR; NULL = none */
    bff_gql_field_t *fields;      /* OBJECT_TYPE, INTERFACE: in definition order */
    size_t nfields;
    const bff_gql_type_t **interfaces; /* OBJECT_TYPE, INTERFACE */
    size_t ninterfaces;
    const bff_gql_type_t **possible_types; /* INTERFACE, UNION: object types, by name */
    size_t npossible_types;
    bff_gql_enum_value_t *values; /* ENUM_TYPE */
    size_t nvalues;
    bff_gql_input_value_t *input_fields; /* INPUT_OBJECT */
    size_t ninput_fields;
    int is_builtin;   /* a built-in scalar or an introspection type */
    const char *file; /* where it was defined (NULL for built-ins) */
    unsigned line, column;
};

typedef struct st_bff_gql_directive_t_def {
    const char *name;
    const char *description;
    bff_gql_input_value_t *args;
    size_t nargs;
    int repeatable;
    unsigned locations; /* bits: 1u << BFF_GQL_DL_* */
} bff_gql_directive_info_t;

/* Directive locations (the __DirectiveLocation enum), bit positions of `locations`. */
enum {
    BFF_GQL_DL_QUERY,
    BFF_GQL_DL_MUTATION,
    BFF_GQL_DL_SUBSCRIPTION,
    BFF_GQL_DL_FIELD,
    BFF_GQL_DL_FRAGMENT_DEFINITION,
    BFF_GQL_DL_FRAGMENT_SPREAD,
    BFF_GQL_DL_INLINE_FRAGMENT,
    BFF_GQL_DL_VARIABLE_DEFINITION,
    BFF_GQL_DL_SCHEMA,
    BFF_GQL_DL_SCALAR,
    BFF_GQL_DL_OBJECT,
    BFF_GQL_DL_FIELD_DEFINITION,
    BFF_GQL_DL_ARGUMENT_DEFINITION,
    BFF_GQL_DL_INTERFACE,
    BFF_GQL_DL_UNION,
    BFF_GQL_DL_ENUM,
    BFF_GQL_DL_ENUM_VALUE,
    BFF_GQL_DL_INPUT_OBJECT,
    BFF_GQL_DL_INPUT_FIELD_DEFINITION,
    BFF_GQL_DL_COUNT
};
extern const char *const bff_gql_directive_location_names[BFF_GQL_DL_COUNT];

typedef struct st_bff_gql_schema_t {
    bff_gql_arena_t arena;
    const char *description;
    const bff_gql_type_t **types; /* sorted by name, built-ins and introspection types included */
    size_t ntypes;
    const bff_gql_type_t *query, *mutation, *subscription; /* NULL = none (query never is) */
    const bff_gql_directive_info_t **directives;           /* built-ins first, then by name */
    size_t ndirectives;
    /* The meta fields' definitions, for validation and introspection: __typename on every
     * composite type, __schema and __type on the query type. */
    const bff_gql_field_t *typename_field, *schema_field, *type_field;
} bff_gql_schema_t;

/** One SDL input: a parsed document and the file it came from (for error positions). */
typedef struct st_bff_gql_schema_source_t {
    const bff_gql_sdl_t *sdl;
    const char *file;
} bff_gql_schema_source_t;

/** Builds a schema from SDL documents (definitions and extensions may be spread across them),
 * leaving out `hidden` names ("Type" or "Type.field"; NULL-terminated, may be NULL). A field
 * whose type is hidden, an unknown hidden name, or any type system rule broken is reported to
 * diag as `file:line:column: message`; returns NULL if there was any problem. The schema copies
 * what it keeps: the SDL documents may be freed afterwards. */
bff_gql_schema_t *bff_gql_schema_build(const bff_gql_schema_source_t *sources, size_t nsources,
                                       const char *const *hidden, bff_diag_t *diag);
void bff_gql_schema_free(bff_gql_schema_t *schema);

/** The named type, or NULL. */
const bff_gql_type_t *bff_gql_schema_type(const bff_gql_schema_t *schema, const char *name);
/** The field of an object or interface type, or NULL; `__typename` (any composite type) and,
 * on the query type, `__schema` and `__type` resolve to the meta fields. */
const bff_gql_field_t *bff_gql_schema_field(const bff_gql_schema_t *schema,
                                            const bff_gql_type_t *type, const char *name);
const bff_gql_directive_info_t *bff_gql_schema_directive(const bff_gql_schema_t *schema,
                                                         const char *name);
/** 1 if object type `obj` is `abstract` itself or one of its possible types. */
int bff_gql_type_is_possible(const bff_gql_type_t *abstract, const bff_gql_type_t *obj);
/** The named type at the end of a wrapped reference. */
const bff_gql_type_t *bff_gql_unwrap(const bff_gql_wrapped_t *t);
/** Prints a wrapped type as GraphQL writes it ("[User!]!") into buf; returns buf. */
const char *bff_gql_type_print(const bff_gql_wrapped_t *t, char *buf, size_t size);
/** 1 for SCALAR and ENUM_TYPE (leaf types); input types: SCALAR, ENUM_TYPE, INPUT_OBJECT. */
int bff_gql_type_is_leaf(const bff_gql_type_t *t);
int bff_gql_type_is_input(const bff_gql_type_t *t);

#endif
