/* Helpers shared by the unit tests: where the sources are, reading case files, and all of a
 * diag's messages as one string. Header-only and static, like tap.h. */
#ifndef BFF_TESTS_TEST_UTIL_H
#define BFF_TESTS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "compose/diag.h"

static __attribute__((unused)) const char *source_dir(void)
{
    const char *d = getenv("BFF_SOURCE_DIR");
    return d != NULL && *d != '\0' ? d : ".";
}

static __attribute__((unused)) char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = bff_malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += r;
        if (n == cap - 1)
            buf = bff_realloc(buf, cap *= 2);
    }
    fclose(fp);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static __attribute__((unused)) const char *diag_text(const bff_diag_t *diag)
{
    static char all[8192];
    size_t n = 0;
    all[0] = '\0';
    for (size_t i = 0; i != diag->size && n < sizeof(all) - 1; ++i) {
        char line[1400];
        bff_diag_format(diag, i, line, sizeof(line));
        n += (size_t)snprintf(all + n, sizeof(all) - n, "%s%s", i ? "\n" : "", line);
    }
    return all;
}

#endif
