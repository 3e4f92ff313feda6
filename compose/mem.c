/* The aborting allocators of mem.h. */
#include "compose/mem.h"

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
