/* The response shaping language: a tree compiled from the spec's `response:` (and a source's
 * `body:`), evaluated against scanned upstream bodies straight into a JSON writer. */
#ifndef BFF_COMPOSE_SHAPE_H
#define BFF_COMPOSE_SHAPE_H

#include "compose/bindings.h"
#include "compose/diag.h"
#include "compose/json_scan.h"
#include "compose/json_write.h"
#include "compose/jpath.h"
#include "compose/template.h"
#include "compose/yaml_tree.h"

typedef enum en_bff_shape_kind_t {
    BFF_SHAPE_OBJECT,
    BFF_SHAPE_PATH,
    BFF_SHAPE_TEMPLATE,
    BFF_SHAPE_LITERAL,
    BFF_SHAPE_MERGE,
} bff_shape_kind_t;

typedef enum en_bff_merge_policy_t {
    BFF_MERGE_REPLACE, /* later parts replace earlier keys (shallow) */
    BFF_MERGE_DEEP,    /* objects merge recursively; later scalars win */
    BFF_MERGE_APPEND,  /* like deep, and arrays are concatenated */
    BFF_MERGE_KEYED,   /* like deep, and arrays of objects merge by `merge_key` */
} bff_merge_policy_t;

typedef enum en_bff_filter_op_t {
    BFF_FILTER_NONE,
    BFF_FILTER_EQ,
    BFF_FILTER_NE,
    BFF_FILTER_LT,
    BFF_FILTER_LE,
    BFF_FILTER_GT,
    BFF_FILTER_GE,
    BFF_FILTER_EXISTS,
} bff_filter_op_t;

typedef enum en_bff_format_t {
    BFF_FORMAT_NONE,
    BFF_FORMAT_DATE,   /* ISO timestamp -> YYYY-MM-DD */
    BFF_FORMAT_STRING, /* any scalar as a JSON string */
    BFF_FORMAT_NUMBER, /* numeric string -> number */
    BFF_FORMAT_UPPER,
    BFF_FORMAT_LOWER,
} bff_format_t;

typedef struct st_bff_shape_t bff_shape_t;
struct st_bff_shape_t {
    bff_shape_kind_t kind;
    const char *file;
    unsigned line, column;
    /* OBJECT */
    size_t nfields;
    char **keys;
    bff_shape_t **fields;
    /* PATH */
    bff_jpath_t path;
    int binding;
    /* TEMPLATE */
    bff_template_t tmpl;
    /* LITERAL (and the serialized $default of any value) */
    char *literal_json;
    /* MERGE */
    size_t nparts;
    bff_shape_t **parts;
    bff_merge_policy_t policy;
    char *merge_key;
    /* Pipeline for PATH and MERGE values, applied in this order. */
    struct {
        bff_jpath_t path; /* relative to the element */
        bff_filter_op_t op;
        char *value_json; /* literal compared against */
        bff_jdoc_t value; /* value_json, scanned at load */
        bff_jpath_t ref;  /* or a request value / source value: `rating >= {minRating}` */
        int ref_binding;  /* -1 = no ref; an absent ref value skips the filter */
    } filter;
    bff_jpath_t *sort; /* $sort keys, relative to the element, most significant first */
    int *sort_desc;    /* per key: descending ("-date") */
    size_t nsort;
    int count;           /* $count: the number of elements instead of the elements */
    int64_t limit;       /* -1: none */
    bff_shape_t *select; /* per element of an array, or on the object */
    char **allow;        /* keep only these keys (dotted paths allowed for nesting) */
    size_t nallow;
    char **deny; /* drop these keys (dotted paths allowed) */
    size_t ndeny;
    bff_format_t format;
    char *default_json; /* written when the value is absent or null */
};

/** Resolves a path root to a binding for the shape being parsed; -1 = unknown (error). */
typedef int (*bff_shape_resolve_cb)(void *ctx, const char *root);

/** Compiles a shape from YAML. Errors go to diag with positions; returns NULL on error.
 * `resolve` maps every path root outside $select to a binding. */
bff_shape_t *bff_shape_parse(const bff_yaml_node_t *node, bff_shape_resolve_cb resolve,
                             void *resolve_ctx, bff_diag_t *diag);
void bff_shape_free(bff_shape_t *shape);
/** Calls `cb` for every binding any path or template in the shape refers to. */
void bff_shape_foreach_binding(const bff_shape_t *shape, void (*cb)(void *ctx, int binding),
                               void *ctx);
/** Calls `cb` for every path and template reference in the shape, with its binding. */
void bff_shape_foreach_path(bff_shape_t *shape,
                            void (*cb)(void *ctx, bff_jpath_t *path, int binding), void *ctx);

/** Writes the JSON for `shape` into `w`. Absent values become null (or $default). Never fails:
 * malformed cases degrade to null; size limits are the writer's. */
void bff_shape_eval(const bff_shape_t *shape, const bff_shape_env_t *env, bff_jwrite_t *w);

/** Converts a YAML value to JSON text (plain true/false/null/numbers keep their JSON type,
 * quoted scalars are strings). Returns a malloc'ed string. */
char *bff_shape_yaml_to_json(const bff_yaml_node_t *node);
#endif
