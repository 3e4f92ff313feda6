/* What the validator's files share (validate.c: the traversal and the rules on operations,
 * variables and directives; validate_fields.c: fields, arguments, subscriptions;
 * validate_values.c: literals, types, variable usages; validate_fragments.c: fragment rules;
 * validate_overlap.c: field merging; validate_limits.c: cost limits; validate_util.c: maps,
 * strings, suggestions). The traversal follows graphql-js 16's visitor: each node is entered,
 * its children visited, then left, and at each step the rules run in specifiedRules order, so
 * errors come out in the order graphql-js reports them. */
#ifndef BFF_COMPOSE_GQL_VALIDATE_INTERNAL_H
#define BFF_COMPOSE_GQL_VALIDATE_INTERNAL_H

#include <stdint.h>

#include "compose/gql/validate.h"
#include "compose/text.h"

/* Syntactic nesting the walks follow (the parser bounds it far lower); deeper is refused. */
#define VD_MAX_NESTING 512

/* ---- validate_util.c: maps, strings, suggestions ---- */

/* String keys (not copied) to size_t values; clearing is O(1) (a generation count). */
typedef struct st_vd_strmap_slot_t {
    const char *key;
    size_t value;
    unsigned gen;
} vd_strmap_slot_t;

typedef struct st_vd_strmap_t {
    vd_strmap_slot_t *slots;
    size_t cap, n;
    unsigned gen;
} vd_strmap_t;

/** The value of key, or NULL. */
size_t *vd_strmap_get(const vd_strmap_t *m, const char *key);
/** The value of key, added with `value` if absent (*added says which). */
size_t *vd_strmap_put(vd_strmap_t *m, const char *key, size_t value, int *added);
void vd_strmap_clear(vd_strmap_t *m);
void vd_strmap_dispose(vd_strmap_t *m);

/* Pairs of words (pointers, indices) to a word. */
typedef struct st_vd_pmap_slot_t {
    uintptr_t a, b, value;
    int used;
} vd_pmap_slot_t;

typedef struct st_vd_pmap_t {
    vd_pmap_slot_t *slots;
    size_t cap, n;
} vd_pmap_t;

uintptr_t *vd_pmap_get(const vd_pmap_t *m, uintptr_t a, uintptr_t b);
uintptr_t *vd_pmap_put(vd_pmap_t *m, uintptr_t a, uintptr_t b, uintptr_t value, int *added);
void vd_pmap_dispose(vd_pmap_t *m);

/* A growing string (compose/text.h: bff_text_put, _puts, _printf append to it). */
typedef bff_text_t vd_buf_t;

/* Its text: "" when nothing was added. */
const char *vd_buf_str(vd_buf_t *b);
void vd_buf_dispose(vd_buf_t *b);

/** graphql-js's naturalCompare: digit runs compare as numbers. */
int vd_natural_compare(const char *a, const char *b);
/** graphql-js's suggestionList: the options within lexical distance of input, closest first
 * (ties by naturalCompare), into out (room for n); returns how many. */
size_t vd_suggestion_list(const char *input, const char *const *options, size_t n,
                          const char **out);
/** graphql-js's didYouMean: " Did you mean <what> "a", "b", or "c"?" for the first five
 * names, nothing if there are none. */
void vd_did_you_mean(vd_buf_t *b, const char *what, const char *const *names, size_t n);
/** suggestionList then didYouMean. */
void vd_suggest(vd_buf_t *b, const char *what, const char *input, const char *const *options,
                size_t n);

/** For names[0..n): first[i] = the index of the first name equal to names[i] (i itself for a
 * first occurrence) and next[i] = the next index with that name (SIZE_MAX = none). */
void vd_group_names(const char *const *names, size_t n, size_t *first, size_t *next);

/* ---- the context (validate.c) ---- */

/* A variable as used: where, and what the position expects (TypeInfo's view). */
typedef struct st_vd_usage_t {
    const char *name;
    bff_gql_loc_t loc;
    const bff_gql_wrapped_t *type; /* NULL = unknown position */
    int has_default;               /* the argument or input field has a default */
} vd_usage_t;

typedef struct st_vd_usages_t {
    vd_usage_t *items;
    size_t n, cap;
} vd_usages_t;

typedef struct st_vd_frag_t {
    const bff_gql_fragment_t *def;
    size_t name_id; /* index of its name among the distinct fragment names */
    /* getFragmentSpreads of its selection set (computed once) */
    const bff_gql_selection_t **spreads;
    size_t nspreads;
    int spreads_done;
    vd_usages_t usages; /* getVariableUsages (computed once) */
    int usages_done;
} vd_frag_t;

typedef struct st_vd_overlap_t vd_overlap_t;

typedef struct st_vd_ctx_t {
    const bff_gql_schema_t *schema;
    const bff_gql_document_t *doc;
    bff_gql_errors_t *errs;
    size_t found;          /* errors found (recorded or not) */
    int full;              /* the error list is full: the walks stop */
    int too_deep;          /* a walk met VD_MAX_NESTING (reported once) */
    bff_gql_arena_t arena; /* scratch that lives as long as the validation */
    vd_frag_t *frags;
    size_t nfrags;
    vd_strmap_t frag_ids; /* fragment name -> name id */
    size_t nfrag_names;
    size_t *frag_last;            /* name id -> the last definition of that name (getFragment) */
    size_t *frag_first;           /* name id -> the first one (UniqueFragmentNames) */
    unsigned char *cycle_visited; /* NoFragmentCycles: name id -> visited */
    size_t *cycle_index;          /* name id -> position on the spread path, SIZE_MAX = off it */
    vd_pmap_t members;            /* (type, name) -> field / input field / enum value, memoized */
    vd_overlap_t *overlap;
} vd_ctx_t;

void vd_error(vd_ctx_t *c, const bff_gql_loc_t *locs, size_t nlocs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Reports (once) a document nested beyond VD_MAX_NESTING; the walk goes no deeper. */
void vd_too_deep(vd_ctx_t *c, bff_gql_loc_t loc);

/** Where a name was written; the parser may leave name_loc unset (0:0), then the usual
 * spelling is assumed (`query Name`, `fragment Name`, `...Name`, `$name`). */
bff_gql_loc_t vd_op_name_loc(const bff_gql_operation_t *op);
bff_gql_loc_t vd_frag_name_loc(const bff_gql_fragment_t *f);
bff_gql_loc_t vd_spread_name_loc(const bff_gql_selection_t *s);
bff_gql_loc_t vd_var_name_loc(const bff_gql_variable_def_t *v);

/** getFragment: the last definition of that name, or NULL. */
vd_frag_t *vd_fragment(vd_ctx_t *c, const char *name);
/** The field of an object or interface type with the meta fields (TypeInfo's getFieldDef). */
const bff_gql_field_t *vd_field(vd_ctx_t *c, const bff_gql_type_t *parent, const char *name);
/** The type's own field, meta fields excluded (what getFields() holds). */
const bff_gql_field_t *vd_own_field(vd_ctx_t *c, const bff_gql_type_t *t, const char *name);
const bff_gql_input_value_t *vd_input_field(vd_ctx_t *c, const bff_gql_type_t *t, const char *name);
const bff_gql_enum_value_t *vd_enum_value(vd_ctx_t *c, const bff_gql_type_t *t, const char *name);
const bff_gql_input_value_t *vd_arg(const bff_gql_input_value_t *args, size_t n, const char *name);

/* ---- validate_values.c: types, literals, variable usages ---- */

int vd_is_composite(const bff_gql_type_t *t);
int vd_is_abstract(const bff_gql_type_t *t);
int vd_is_output(const bff_gql_type_t *t);
/** typeFromAST: the schema type a written type means (in the scratch arena), NULL if its name
 * is unknown. */
const bff_gql_wrapped_t *vd_type_from_ast(vd_ctx_t *c, const bff_gql_type_ref_t *ref);
/** The named type a written type ends with. */
const char *vd_type_ref_name(const bff_gql_type_ref_t *ref);
/** The nullable form of t (t itself unless NON_NULL). */
const bff_gql_wrapped_t *vd_nullable(const bff_gql_wrapped_t *t);
void vd_print_type(vd_buf_t *b, const bff_gql_wrapped_t *t);
void vd_print_type_ref(vd_buf_t *b, const bff_gql_type_ref_t *ref);
/** graphql-js's print of a literal. */
void vd_print_value(vd_buf_t *b, const bff_gql_value_t *v);
/** Whether two literals print the same once object fields are sorted (sameArguments). */
int vd_same_value(const bff_gql_value_t *a, const bff_gql_value_t *b, unsigned depth);
/** schema.isSubType(abstract, t): t an object or interface type of the abstract type. */
int vd_is_sub_type(const bff_gql_type_t *abstract, const bff_gql_type_t *t);
/** doTypesOverlap for composite types. */
int vd_types_overlap(const bff_gql_type_t *a, const bff_gql_type_t *b);
/** isTypeSubTypeOf. */
int vd_is_type_sub_type_of(const bff_gql_wrapped_t *sub, const bff_gql_wrapped_t *super);
/** ValuesOfCorrectType and UniqueInputFieldNames over a literal at a position of type `type`
 * (NULL = unknown). */
void vd_check_value(vd_ctx_t *c, const bff_gql_value_t *v, const bff_gql_wrapped_t *type,
                    unsigned depth);
/** getVariableUsages of an operation (directives and selection set) or a fragment. */
void vd_usages_of(vd_ctx_t *c, const bff_gql_directive_t *dirs, size_t ndirs,
                  const bff_gql_selection_set_t *set, const bff_gql_type_t *type, vd_usages_t *out);

/* ---- validate_fields.c ---- */

/** ScalarLeafs and FieldsOnCorrectType at a field's entry. */
void vd_field_enter(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *parent,
                    const bff_gql_field_t *def);
/** KnownArgumentNames for one argument of a field. */
void vd_field_argument(vd_ctx_t *c, const bff_gql_argument_t *arg, const bff_gql_type_t *parent,
                       const bff_gql_field_t *def, const bff_gql_input_value_t *arg_def);
/** ProvidedRequiredArguments at a field's exit. */
void vd_field_leave(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_field_t *def);
/** UniqueArgumentNames of a field or directive. */
void vd_unique_arguments(vd_ctx_t *c, const bff_gql_argument_t *args, size_t n);
/** SingleFieldSubscriptions. */
void vd_single_field_subscription(vd_ctx_t *c, const bff_gql_operation_t *op);

/* ---- validate_fragments.c ---- */

/** getFragmentSpreads of a selection set, in graphql-js's order (arena array). */
void vd_fragment_spreads(vd_ctx_t *c, const bff_gql_selection_set_t *set,
                         const bff_gql_selection_t ***out, size_t *n);
void vd_frag_spreads(vd_ctx_t *c, vd_frag_t *f);
/** getRecursivelyReferencedFragments: fragment indices into *out (malloc'ed), their count. */
size_t vd_referenced_fragments(vd_ctx_t *c, const bff_gql_operation_t *op, size_t **out);
/** NoFragmentCycles at a fragment definition. */
void vd_fragment_cycles(vd_ctx_t *c, vd_frag_t *f);
/** PossibleFragmentSpreads. */
void vd_possible_spread(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *parent);
void vd_possible_inline(vd_ctx_t *c, const bff_gql_selection_t *sel, const bff_gql_type_t *type,
                        const bff_gql_type_t *parent);
/** NoUnusedFragments at the document's end. */
void vd_unused_fragments(vd_ctx_t *c);

/* ---- validate_overlap.c ---- */

/** OverlappingFieldsCanBeMerged at a selection set whose parent type is `parent`. */
void vd_overlap(vd_ctx_t *c, const bff_gql_type_t *parent, const bff_gql_selection_set_t *set);
void vd_overlap_dispose(vd_ctx_t *c);

/* ---- validate_limits.c ---- */

void vd_limits(vd_ctx_t *c, const bff_gql_validate_limits_t *limits);

#endif
