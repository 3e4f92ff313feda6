/* Collects user-facing errors with file:line:column positions; never prints unless asked. */
#include "compose/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
    fputs("bffd: out of memory\n", stderr);
    abort();
}

void *bff_malloc(size_t size)
{
    void *p = malloc(size == 0 ? 1 : size);
    if (p == NULL)
        out_of_memory();
    return p;
}

void *bff_calloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    if (p == NULL)
        out_of_memory();
    return p;
}

void *bff_realloc(void *p, size_t size)
{
    p = realloc(p, size == 0 ? 1 : size);
    if (p == NULL)
        out_of_memory();
    return p;
}

char *bff_strndup(const char *s, size_t len)
{
    char *d = bff_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *bff_strdup(const char *s)
{
    return bff_strndup(s, strlen(s));
}

void bff_diag_add(bff_diag_t *diag, const char *file, unsigned line, unsigned column,
                  const char *fmt, ...)
{
    if (diag->size == diag->capacity) {
        diag->capacity = diag->capacity ? diag->capacity * 2 : 8;
        diag->entries = bff_realloc(diag->entries, diag->capacity * sizeof(diag->entries[0]));
    }
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    bff_error_t *e = diag->entries + diag->size++;
    e->file = file ? bff_strdup(file) : NULL;
    e->line = line;
    e->column = column;
    e->text = bff_strdup(text);
}

void bff_diag_format(const bff_diag_t *diag, size_t i, char *buf, size_t bufsize)
{
    const bff_error_t *e = diag->entries + i;
    if (e->file && e->line)
        snprintf(buf, bufsize, "%s:%u:%u: %s", e->file, e->line, e->column, e->text);
    else if (e->file)
        snprintf(buf, bufsize, "%s: %s", e->file, e->text);
    else
        snprintf(buf, bufsize, "%s", e->text);
}

void bff_diag_print(const bff_diag_t *diag)
{
    char buf[1400];
    for (size_t i = 0; i != diag->size; ++i) {
        bff_diag_format(diag, i, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
    }
}

void bff_diag_clear(bff_diag_t *diag)
{
    for (size_t i = 0; i != diag->size; ++i) {
        free(diag->entries[i].file);
        free(diag->entries[i].text);
    }
    free(diag->entries);
    diag->entries = NULL;
    diag->size = diag->capacity = 0;
}
