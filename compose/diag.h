/* Diagnostics: human-facing errors with a position, collected so a check reports every problem. */
#ifndef BFF_COMPOSE_DIAG_H
#define BFF_COMPOSE_DIAG_H

#include <stddef.h>

#include "compose/mem.h"

/** One problem found in user-written input. `file` may be NULL; line/column are 1-based, 0 =
 * unknown. */
typedef struct st_bff_error_t {
    char *file;
    unsigned line;
    unsigned column;
    char *text;
} bff_error_t;

/** A growing list of errors; owns its strings. */
typedef struct st_bff_diag_t {
    bff_error_t *entries;
    size_t size;
    size_t capacity;
} bff_diag_t;

/** Appends an error (printf-style message). Copies `file`. Aborts on out of memory. */
void bff_diag_add(bff_diag_t *diag, const char *file, unsigned line, unsigned column,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/** Formats entry `i` as `file:line:column: text` into buf (truncated to bufsize). */
void bff_diag_format(const bff_diag_t *diag, size_t i, char *buf, size_t bufsize);
/** Prints every entry, one per line, to stderr. */
void bff_diag_print(const bff_diag_t *diag);
/** Releases the entries; the diag can be reused afterwards. */
void bff_diag_clear(bff_diag_t *diag);

#endif
