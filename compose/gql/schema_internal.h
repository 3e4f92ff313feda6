/* Private to the schema builder (schema.c, schema_members.c, schema_builtin.c, schema_sdl.c,
 * schema_check.c, schema_print.c): the scratch state of one build. Every AST node a built member
 * came from is kept next to it, so the checks can point at the exact definition; the whole state
 * goes when the build ends. */
#ifndef BFF_COMPOSE_GQL_SCHEMA_INTERNAL_H
#define BFF_COMPOSE_GQL_SCHEMA_INTERNAL_H

#include <stddef.h>

#include "compose/gql/schema.h"

/* Literals nest at most this deep (the parser bounds them lower); recursion over them stops
 * here whatever produced the tree. */
#define SB_MAX_VALUE_DEPTH 128

/* Grows an array in arena `a` when it is full (arena_grow copies; the old one stays until the
 * arena goes, which for the build's scratch arena is soon). */
#define GROW(a, arr, n, cap)                                                                       \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            size_t nc_ = (cap) != 0 ? (cap)*2 : 8;                                                 \
            (arr) = bff_gql_arena_grow((a), (arr), (n), nc_, sizeof(*(arr)));                      \
            (cap) = nc_;                                                                           \
        }                                                                                          \
    } while (0)

/* A source index for problems without a place (hidden names come from the configuration). */
#define SB_NO_SRC ((unsigned)-1)

typedef struct st_sb_error_t {
    unsigned src, line, column;
    size_t seq; /* report order, for equal positions */
    char *msg;  /* malloc'ed */
} sb_error_t;

/* A definition or an extension of a type, with the source it is in. */
typedef struct st_sb_part_t {
    const bff_gql_type_def_t *def;
    unsigned src;
} sb_part_t;

/* Where a built member (field, argument, enum value, interface, member) was written. */
typedef struct st_sb_origin_t {
    const void *ast; /* bff_gql_field_def_t, bff_gql_input_value_def_t, bff_gql_name_t, ... */
    unsigned src;
} sb_origin_t;

typedef struct st_sb_type_t {
    bff_gql_type_t *type; /* in the schema arena */
    sb_part_t *parts;     /* parts[0] is the definition, then the extensions in source order */
    size_t nparts, cap;
    unsigned order;     /* definition order */
    const char *hidden; /* the `hidden` entry that hides it; NULL = visible */
    /* Parallel to type->fields, type->input_fields, type->values, type->interfaces. */
    sb_origin_t *field_origins, *input_origins, *value_origins, *iface_origins;
    /* Union members as written (resolved or NULL), before possible_types is computed. */
    const bff_gql_type_t **members;
    sb_origin_t *member_origins;
    size_t nmembers;
    int cycle_visited, cycle_depth; /* input object cycle detection; depth -1 = not on path */
} sb_type_t;

typedef struct st_sb_directive_t {
    bff_gql_directive_info_t *info; /* in the schema arena */
    const bff_gql_directive_def_t *def;
    unsigned src;
    int duplicate; /* a second definition of a name: checked, never part of the schema */
} sb_directive_t;

/* A hidden "Type.field" entry. */
typedef struct st_sb_hidden_field_t {
    char *type, *field; /* malloc'ed */
    const char *text;
    int used;
} sb_hidden_field_t;

typedef struct st_sb_t {
    bff_gql_schema_t *schema;
    bff_gql_arena_t scratch; /* the built-in definitions' AST and other build-time data */
    const bff_gql_schema_source_t *sources;
    size_t nsources;
    unsigned builtin_src; /* == nsources: the built-in definitions */
    const bff_gql_sdl_t *builtin_sdl;
    const char **files; /* per source: its name in the schema arena; NULL for the built-ins */
    sb_type_t **types;  /* every first definition, in definition order */
    size_t ntypes, types_cap;
    sb_type_t **by_name;  /* the same, sorted by name */
    sb_directive_t *dirs; /* built-ins first, then definitions in source order */
    size_t ndirs, dirs_cap;
    sb_hidden_field_t *hidden_fields;
    size_t nhidden_fields;
    sb_error_t *errors;
    size_t nerrors, errors_cap;
} sb_t;

/* ---- schema.c ---- */
void bff_gql_sb_error(sb_t *b, unsigned src, bff_gql_loc_t loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** A copy in the schema's arena (NULL stays NULL). */
char *bff_gql_sb_strdup(sb_t *b, const char *s);
const bff_gql_sdl_t *bff_gql_sb_sdl_of(const sb_t *b, unsigned src);
/** Reports a user's name that starts with "__" (reserved for introspection). */
void bff_gql_sb_check_name(sb_t *b, unsigned src, const char *name, bff_gql_loc_t loc);
/** 1 if `hidden` names Type.field (and marks the entry used). */
int bff_gql_sb_is_hidden_field(sb_t *b, const char *type, const char *field);
/** The type of that name, hidden or not; NULL if none is defined. */
sb_type_t *bff_gql_sb_lookup(const sb_t *b, const char *name);
/** The directive of that name (first definition), or NULL. */
const sb_directive_t *bff_gql_sb_lookup_directive(const sb_t *b, const char *name);
/** The names of all types, for suggestions (malloc'ed array, caller frees). */
const char **bff_gql_sb_type_names(const sb_t *b, size_t *n);

/* ---- schema_members.c ---- */
/** Fields, arguments, interfaces, members, values and input fields of every visible type. */
void bff_gql_sb_build_types(sb_t *b);
/** Every directive definition, the built-ins first. */
void bff_gql_sb_build_directives(sb_t *b);
/** The wrapper chain of a reference in the schema's arena; NULL if its named type is unknown
 * (bff_gql_sb_check_sdl reports those) or hidden (reported here, naming `what`). */
const bff_gql_wrapped_t *bff_gql_sb_resolve_ref(sb_t *b, const bff_gql_type_ref_t *ref,
                                                unsigned src, const char *what);

/* ---- schema_builtin.c ---- */
/** The built-in scalars, introspection types and directives as a type system document in
 * `a`. */
const bff_gql_sdl_t *bff_gql_sb_builtin_sdl(bff_gql_arena_t *a);
/** A type reference from its GraphQL spelling ("[__Type!]!"), for trusted built-in text. */
bff_gql_type_ref_t *bff_gql_sb_type_ref(bff_gql_arena_t *a, const char *text);

/* ---- schema_sdl.c ---- */
/** Directives applied in the SDL (known, allowed there, unique, arguments) and type names
 * referenced (known): the rules of the SDL documents themselves, hidden parts included. */
void bff_gql_sb_check_sdl(sb_t *b);
/** Checks a constant literal against an input type, reporting with `what` ("User.orders(limit:)
 * has invalid default value: ") before each message. */
void bff_gql_sb_check_value(sb_t *b, unsigned src, const bff_gql_value_t *v,
                            const bff_gql_wrapped_t *t, const char *what);

/* ---- schema_check.c ---- */
/** The type system rules of the built (visible) schema: section 3's validation. */
void bff_gql_sb_check_types(sb_t *b);

/* ---- schema_print.c ---- */
/** A literal as graphql-js prints it: malloc'ed, NUL-terminated. */
char *bff_gql_sb_print_value(const bff_gql_value_t *v);
/** " Did you mean "A", "B", or "C"?" for the options close to `input` (graphql-js's
 * suggestionList and didYouMean; `what`, e.g. "the enum value", goes before the names), or ""
 * if none; written into buf. */
const char *bff_gql_sb_did_you_mean(char *buf, size_t size, const char *what, const char *input,
                                    const char *const *options, size_t n);

#endif
