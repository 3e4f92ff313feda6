/* Collects user-facing errors with file:line:column positions; never prints unless asked. */
#include "compose/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
