/* Fuzz harness for compose/gql/validate*.c: the input is parsed as an executable document (with
 * small limits) and, when it parses, validated against the schema of the validator's tests
 * (tests/cases/gql_validate/schema.graphql, loaded once) with small cost limits, then everything
 * is freed. The schema is looked for from the current folder (the repository root, as the
 * replay runs), $BFF_SOURCE_DIR, then beside this file's source; without it the harness aborts
 * rather than pass without validating anything. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/diag.h"
#include "compose/gql/parse.h"
#include "compose/gql/schema.h"
#include "compose/gql/validate.h"
#include "compose/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 1 << 14, n = 0, r;
    char *buf = bff_malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += r;
        if (n == cap - 1)
            buf = bff_realloc(buf, cap *= 2);
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static bff_gql_schema_t *load_schema(void)
{
    static const char rel[] = "tests/cases/gql_validate/schema.graphql";
    char paths[3][1024];
    const char *env = getenv("BFF_SOURCE_DIR");
    snprintf(paths[0], sizeof(paths[0]), "%s", rel);
    snprintf(paths[1], sizeof(paths[1]), "%s/%s", env != NULL ? env : ".", rel);
    /* __FILE__ is tests/fuzz/fuzz_gql_validate.c under the source root. */
    const char *file = __FILE__, *end = strstr(file, "tests/fuzz/");
    snprintf(paths[2], sizeof(paths[2]), "%.*s%s", end != NULL ? (int)(end - file) : 0, file, rel);
    for (size_t i = 0; i != 3; ++i) {
        size_t len;
        char *text = slurp(paths[i], &len);
        if (text == NULL)
            continue;
        bff_gql_errors_t errs = {0};
        bff_gql_sdl_t *sdl = bff_gql_parse_sdl(text, len, &errs);
        bff_gql_schema_t *s = NULL;
        if (sdl != NULL) {
            bff_gql_schema_source_t src = {sdl, paths[i]};
            bff_diag_t diag = {0};
            s = bff_gql_schema_build(&src, 1, NULL, &diag);
            bff_diag_clear(&diag);
        }
        bff_gql_sdl_free(sdl);
        bff_gql_errors_dispose(&errs);
        free(text);
        if (s != NULL)
            return s;
    }
    fprintf(stderr, "fuzz_gql_validate: cannot load %s\n", rel);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bff_gql_schema_t *schema;
    if (schema == NULL)
        schema = load_schema(); /* kept for the process: one schema serves every input */
    bff_gql_parse_limits_t plimits = {1 << 16, 4096, 48};
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = bff_gql_parse((const char *)data, size, &plimits, &errs);
    if (doc != NULL) {
        /* Even sizes run with cost limits, odd ones without. */
        bff_gql_validate_limits_t limits = {8, 16, 200};
        size_t n = bff_gql_validate(schema, doc, size % 2 == 0 ? &limits : NULL, &errs);
        if (n < errs.n && errs.n <= (errs.max != 0 ? errs.max : 100))
            abort(); /* a reported error that was not counted */
        for (size_t i = 0; i != errs.n; ++i)
            if (errs.items[i].message == NULL || errs.items[i].message[0] == '\0')
                abort();
    }
    bff_gql_errors_dispose(&errs);
    bff_gql_document_free(doc);
    return 0;
}
