/* A growing text buffer, always NUL-terminated once written to: what bffd renders as text (the
 * Prometheus page, TypeScript declarations, GraphQL literals) is appended here. */
#ifndef BFF_COMPOSE_TEXT_H
#define BFF_COMPOSE_TEXT_H

#include <stddef.h>

/* Zero-initialize; `buf` is NULL until the first write, then owned (free it). */
typedef struct st_bff_text_t {
    char *buf;
    size_t len, cap;
} bff_text_t;

void bff_text_put(bff_text_t *t, const char *s, size_t n);
void bff_text_puts(bff_text_t *t, const char *s);
void bff_text_printf(bff_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
