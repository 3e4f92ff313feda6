/* GraphQL syntax trees (October 2021 specification): executable documents (operations and
 * fragments, what clients send) and type system documents (SDL, what the schema files hold).
 * Every node, string and array lives in the document's arena and goes with it; names and
 * string values are NUL-terminated, decoded (escapes and block strings resolved). Positions are
 * 1-based line and column in Unicode code points, as GraphQL `locations` report them. */
#ifndef BFF_COMPOSE_GQL_AST_H
#define BFF_COMPOSE_GQL_AST_H

#include <stddef.h>

#include "compose/gql/arena.h"

typedef struct st_bff_gql_loc_t {
    unsigned line, column;
} bff_gql_loc_t;

/* ---- values ---- */

typedef enum en_bff_gql_value_kind_t {
    BFF_GQL_VARIABLE, /* $name: str = "name" */
    BFF_GQL_INT,      /* str = the literal as written ("-12") */
    BFF_GQL_FLOAT,    /* str = the literal as written ("1.5e3") */
    BFF_GQL_STRING,   /* str/len = the decoded UTF-8 (may hold NUL from \u0000) */
    BFF_GQL_BOOLEAN,  /* boolean */
    BFF_GQL_NULL,
    BFF_GQL_ENUM,   /* str = the enum value's name */
    BFF_GQL_LIST,   /* items */
    BFF_GQL_OBJECT, /* fields */
} bff_gql_value_kind_t;

typedef struct st_bff_gql_value_t bff_gql_value_t;
typedef struct st_bff_gql_object_field_t {
    const char *name;
    bff_gql_loc_t loc;
    bff_gql_value_t *value;
} bff_gql_object_field_t;

struct st_bff_gql_value_t {
    bff_gql_value_kind_t kind;
    bff_gql_loc_t loc;
    const char *str;
    size_t len;
    int boolean;
    bff_gql_value_t **items;
    size_t nitems;
    bff_gql_object_field_t *fields;
    size_t nfields;
};

/* ---- types as written: Name, [T], T! ---- */

typedef enum en_bff_gql_type_ref_kind_t {
    BFF_GQL_NAMED,
    BFF_GQL_LIST_OF,
    BFF_GQL_NON_NULL,
} bff_gql_type_ref_kind_t;

typedef struct st_bff_gql_type_ref_t bff_gql_type_ref_t;
struct st_bff_gql_type_ref_t {
    bff_gql_type_ref_kind_t kind;
    bff_gql_loc_t loc;
    const char *name;       /* NAMED */
    bff_gql_type_ref_t *of; /* LIST_OF, NON_NULL */
};

/* ---- directives and arguments ---- */

typedef struct st_bff_gql_argument_t {
    const char *name;
    bff_gql_loc_t loc;
    bff_gql_value_t *value;
} bff_gql_argument_t;

typedef struct st_bff_gql_directive_t {
    const char *name;
    bff_gql_loc_t loc; /* of the '@' */
    bff_gql_argument_t *args;
    size_t nargs;
} bff_gql_directive_t;

/* ---- executable documents ---- */

typedef enum en_bff_gql_selection_kind_t {
    BFF_GQL_FIELD,
    BFF_GQL_FRAGMENT_SPREAD,
    BFF_GQL_INLINE_FRAGMENT,
} bff_gql_selection_kind_t;

typedef struct st_bff_gql_selection_set_t bff_gql_selection_set_t;

typedef struct st_bff_gql_selection_t {
    bff_gql_selection_kind_t kind;
    bff_gql_loc_t loc; /* FIELD: of the alias or name; spreads and inline fragments: of '...' */
    const char *alias; /* FIELD; NULL = none */
    const char *name;  /* FIELD: the field; FRAGMENT_SPREAD: the fragment */
    bff_gql_loc_t name_loc;   /* of name (0:0 = not recorded) */
    bff_gql_argument_t *args; /* FIELD */
    size_t nargs;
    bff_gql_directive_t *directives;
    size_t ndirectives;
    const char *type_condition; /* INLINE_FRAGMENT; NULL = none */
    bff_gql_loc_t type_condition_loc;
    bff_gql_selection_set_t *selection_set; /* FIELD: NULL for a leaf; fragments: never NULL */
} bff_gql_selection_t;

struct st_bff_gql_selection_set_t {
    bff_gql_loc_t loc; /* of '{' */
    bff_gql_selection_t *items;
    size_t nitems;
};

typedef enum en_bff_gql_operation_kind_t {
    BFF_GQL_QUERY,
    BFF_GQL_MUTATION,
    BFF_GQL_SUBSCRIPTION,
} bff_gql_operation_kind_t;

typedef struct st_bff_gql_variable_def_t {
    const char *name;       /* without '$' */
    bff_gql_loc_t loc;      /* of '$' */
    bff_gql_loc_t name_loc; /* of name (0:0 = not recorded) */
    bff_gql_type_ref_t *type;
    bff_gql_value_t *default_value; /* NULL = none */
    bff_gql_directive_t *directives;
    size_t ndirectives;
} bff_gql_variable_def_t;

typedef struct st_bff_gql_operation_t {
    bff_gql_operation_kind_t kind;
    const char *name;       /* NULL = anonymous (also the `{ ... }` shorthand) */
    bff_gql_loc_t loc;      /* of the keyword, or of '{' for the shorthand */
    bff_gql_loc_t name_loc; /* of name (0:0 = not recorded) */
    bff_gql_variable_def_t *vars;
    size_t nvars;
    bff_gql_directive_t *directives;
    size_t ndirectives;
    bff_gql_selection_set_t *selection_set;
} bff_gql_operation_t;

typedef struct st_bff_gql_fragment_t {
    const char *name;
    bff_gql_loc_t loc;      /* of `fragment` */
    bff_gql_loc_t name_loc; /* of name (0:0 = not recorded) */
    const char *type_condition;
    bff_gql_loc_t type_condition_loc;
    bff_gql_directive_t *directives;
    size_t ndirectives;
    bff_gql_selection_set_t *selection_set;
} bff_gql_fragment_t;

/** An executable document: its operations and fragments in the order written. */
typedef struct st_bff_gql_document_t {
    bff_gql_arena_t arena;
    bff_gql_operation_t *operations;
    size_t noperations;
    bff_gql_fragment_t *fragments;
    size_t nfragments;
    size_t ntokens; /* lexical tokens read (for limits) */
} bff_gql_document_t;

/* ---- type system documents (SDL) ---- */

typedef struct st_bff_gql_input_value_def_t {
    const char *description; /* NULL = none */
    const char *name;
    bff_gql_loc_t loc;
    bff_gql_type_ref_t *type;
    bff_gql_value_t *default_value; /* NULL = none */
    bff_gql_directive_t *directives;
    size_t ndirectives;
} bff_gql_input_value_def_t;

typedef struct st_bff_gql_field_def_t {
    const char *description;
    const char *name;
    bff_gql_loc_t loc;
    bff_gql_input_value_def_t *args;
    size_t nargs;
    bff_gql_type_ref_t *type;
    bff_gql_directive_t *directives; /* @deprecated(reason: ...) among them */
    size_t ndirectives;
} bff_gql_field_def_t;

typedef struct st_bff_gql_enum_value_def_t {
    const char *description;
    const char *name;
    bff_gql_loc_t loc;
    bff_gql_directive_t *directives;
    size_t ndirectives;
} bff_gql_enum_value_def_t;

typedef enum en_bff_gql_type_kind_t {
    BFF_GQL_SCALAR,
    BFF_GQL_OBJECT_TYPE,
    BFF_GQL_INTERFACE,
    BFF_GQL_UNION,
    BFF_GQL_ENUM_TYPE,
    BFF_GQL_INPUT_OBJECT,
} bff_gql_type_kind_t;

typedef struct st_bff_gql_name_t {
    const char *name;
    bff_gql_loc_t loc;
} bff_gql_name_t;

/** A type definition, or an extension of one (`extend type ...`): the members a definition of
 * its kind can have are set, the others are empty. */
typedef struct st_bff_gql_type_def_t {
    bff_gql_type_kind_t kind;
    int is_extension;
    const char *description;
    const char *name;
    bff_gql_loc_t loc;          /* of the keyword (`type`, `extend`, ...) */
    bff_gql_name_t *interfaces; /* OBJECT_TYPE, INTERFACE: `implements A & B` */
    size_t ninterfaces;
    bff_gql_field_def_t *fields; /* OBJECT_TYPE, INTERFACE */
    size_t nfields;
    bff_gql_name_t *members; /* UNION */
    size_t nmembers;
    bff_gql_enum_value_def_t *values; /* ENUM_TYPE */
    size_t nvalues;
    bff_gql_input_value_def_t *input_fields; /* INPUT_OBJECT */
    size_t ninput_fields;
    bff_gql_directive_t *directives;
    size_t ndirectives;
} bff_gql_type_def_t;

typedef struct st_bff_gql_directive_def_t {
    const char *description;
    const char *name;
    bff_gql_loc_t loc;
    bff_gql_input_value_def_t *args;
    size_t nargs;
    int repeatable;
    bff_gql_name_t *locations; /* QUERY, FIELD, FIELD_DEFINITION, ... as written */
    size_t nlocations;
} bff_gql_directive_def_t;

/** `schema { query: Q mutation: M }` (or `extend schema`). */
typedef struct st_bff_gql_schema_def_t {
    const char *description;
    bff_gql_loc_t loc;
    int is_extension;
    bff_gql_name_t query, mutation, subscription; /* name NULL = not given */
    bff_gql_directive_t *directives;
    size_t ndirectives;
} bff_gql_schema_def_t;

/** A type system document, definitions in the order written. */
typedef struct st_bff_gql_sdl_t {
    bff_gql_arena_t arena;
    bff_gql_type_def_t *types;
    size_t ntypes;
    bff_gql_directive_def_t *directives;
    size_t ndirectives;
    bff_gql_schema_def_t *schemas;
    size_t nschemas;
} bff_gql_sdl_t;

#endif
