/* The error list of error.h. */
#include "compose/gql/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

void bff_gql_error_add(bff_gql_errors_t *errs, const bff_gql_loc_t *locs, size_t nlocs,
                       const char *fmt, ...)
{
    size_t max = errs->max != 0 ? errs->max : 100;
    if (errs->n >= max)
        return;
    if (errs->n == errs->cap) {
        errs->cap = errs->cap != 0 ? errs->cap * 2 : 4;
        errs->items = bff_realloc(errs->items, errs->cap * sizeof(*errs->items));
    }
    bff_gql_error_t *e = errs->items + errs->n++;
    memset(e, 0, sizeof(*e));
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    e->message = bff_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(e->message, (size_t)len + 1, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i != nlocs && i != BFF_GQL_ERROR_MAX_LOCS; ++i)
        e->locs[e->nlocs++] = locs[i];
}

void bff_gql_errors_dispose(bff_gql_errors_t *errs)
{
    for (size_t i = 0; i != errs->n; ++i)
        free(errs->items[i].message);
    free(errs->items);
    errs->items = NULL;
    errs->n = errs->cap = 0;
}
