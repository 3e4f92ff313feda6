/* Endpoint names for the contracts (names.h). */
#include "server/contract/names.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/core/profile.h"

/* The file's base name as camelCase: words split at anything not a letter or digit. */
static char *camel_from_file(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t len = strcspn(base, ".");
    char *out = bff_malloc(len + 3);
    size_t n = 0;
    int upper = 0;
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)base[i];
        if (!isalnum(c)) {
            upper = n != 0;
            continue;
        }
        if (n == 0 && isdigit(c)) { /* an identifier cannot start with a digit */
            out[n++] = 'o';
            out[n++] = 'p';
            upper = 0;
        }
        char ch = (char)(upper ? toupper(c) : n == 0 ? tolower(c) : c);
        out[n++] = ch;
        upper = 0;
    }
    out[n] = '\0';
    if (n == 0) {
        free(out);
        return bff_strdup("endpoint");
    }
    return out;
}

char **bff_contract_names(const bff_profile_t *p)
{
    char **names = bff_calloc(p->nendpoints ? p->nendpoints : 1, sizeof(char *));
    for (size_t i = 0; i != p->nendpoints; ++i) {
        char *name = camel_from_file(p->endpoints[i]->file);
        for (unsigned k = 2;; ++k) {
            int taken = 0;
            for (size_t j = 0; j != i && !taken; ++j)
                taken = strcmp(names[j], name) == 0;
            if (!taken)
                break;
            char *base = camel_from_file(p->endpoints[i]->file);
            size_t size = strlen(base) + 12;
            free(name);
            name = bff_malloc(size);
            snprintf(name, size, "%s%u", base, k);
            free(base);
        }
        names[i] = name;
    }
    return names;
}

void bff_contract_names_free(char **names, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(names[i]);
    free(names);
}

void bff_contract_type_name(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s", name);
    buf[0] = (char)toupper((unsigned char)buf[0]);
}
