/* A YAML document as a small tree whose every node remembers file:line:column, so that
 * validation anywhere can point at the offending text. `${VAR}` / `${VAR:-default}` in
 * scalars are expanded from the environment while loading. */
#ifndef BFF_COMPOSE_YAML_TREE_H
#define BFF_COMPOSE_YAML_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "compose/diag.h"

typedef enum en_bff_yaml_kind_t { BFF_YAML_SCALAR, BFF_YAML_MAP, BFF_YAML_SEQ } bff_yaml_kind_t;

typedef struct st_bff_yaml_node_t bff_yaml_node_t;
struct st_bff_yaml_node_t {
    bff_yaml_kind_t kind;
    const char *file;
    unsigned line, column;
    /* BFF_YAML_SCALAR: NUL-terminated value after env expansion; `quoted` when written in quotes.
     */
    char *str;
    size_t len;
    int quoted;
    int block;   /* a literal (|) or folded (>) block scalar: the text starts on the next line */
    int invalid; /* its ${VAR} could not be expanded (reported): checks skip it silently */
    /* BFF_YAML_MAP: keys[i] -> items[i], in document order. BFF_YAML_SEQ: items[i]. */
    size_t size;
    bff_yaml_node_t **keys;
    bff_yaml_node_t **items;
};

typedef struct st_bff_yaml_doc_t bff_yaml_doc_t;

/** Parses a file. Returns NULL after adding `file:line:column` errors to diag. Free with
 * bff_yaml_free. */
bff_yaml_doc_t *bff_yaml_load_file(const char *path, bff_diag_t *diag);
/** Parses a buffer; `name` is used as the file name in positions. */
bff_yaml_doc_t *bff_yaml_load_string(const char *name, const char *buf, size_t len,
                                     bff_diag_t *diag);
/** 1 when a value of the document could not be expanded (already reported): the document is
 * usable for finding further problems, but whatever loads it must fail. */
int bff_yaml_doc_failed(const bff_yaml_doc_t *doc);
/** The root node (an empty map for an empty document); borrowed, lives as long as the doc. */
bff_yaml_node_t *bff_yaml_root(bff_yaml_doc_t *doc);
void bff_yaml_free(bff_yaml_doc_t *doc);

/** Adds an error positioned at `node`. */
void bff_yaml_error(bff_diag_t *diag, const bff_yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Value of `key` in a map, or NULL (also when `map` is not a map). */
bff_yaml_node_t *bff_yaml_get(const bff_yaml_node_t *map, const char *key);
/** Checks that `node` is a map whose keys are all in the NULL-terminated `allowed` list.
 * Unknown keys are errors (with a "did you mean" hint). Returns 0 when all good, -1 otherwise. */
int bff_yaml_check_map(bff_diag_t *diag, const bff_yaml_node_t *node, const char *what,
                       const char *const *allowed);
/** Typed getters: 0 when absent (out untouched) or valid, -1 after reporting a type error.
 * `required` makes absence an error positioned at the map. */
int bff_yaml_get_str(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, int required,
                     const char **out);
int bff_yaml_get_int(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, int required,
                     int64_t min, int64_t max, int64_t *out);
int bff_yaml_get_bool(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, int *out);
/** Durations: "250ms", "2s", "1m", "1h", or a bare integer of milliseconds. */
int bff_yaml_get_duration_ms(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key,
                             uint64_t *out);
/** Sizes: "512", "16KiB", "1MiB", "1GiB" (also KB/MB/k/m as binary multiples). */
int bff_yaml_get_size(bff_diag_t *diag, const bff_yaml_node_t *map, const char *key, uint64_t *out);
/** Parsers behind the getters, for scalars found elsewhere. Return 0 / -1 (no diag). */
int bff_parse_duration_ms(const char *s, uint64_t *out);
int bff_parse_size(const char *s, uint64_t *out);
int bff_parse_int(const char *s, int64_t *out);

#endif
