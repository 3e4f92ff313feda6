/* auth, scopes and rate_limit (access.h). */
#include "compose/access.h"

#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

/* auth, scopes and rate_limit: who may call the endpoint, and how often. */
int bff_access_parse(const bff_yaml_node_t *root, bff_diag_t *diag, bff_access_t *a)
{
    memset(a, 0, sizeof(*a));
    int ret = 0;
    const char *mode = NULL;
    ret |= bff_yaml_get_str(diag, root, "auth", 0, &mode);
    if (mode == NULL || strcmp(mode, "none") == 0 || strcmp(mode, "off") == 0 ||
        strcmp(mode, "false") == 0)
        a->auth = BFF_AUTH_NONE;
    else if (strcmp(mode, "optional") == 0)
        a->auth = BFF_AUTH_OPTIONAL;
    else if (strcmp(mode, "required") == 0 || strcmp(mode, "true") == 0)
        a->auth = BFF_AUTH_REQUIRED;
    else {
        bff_yaml_error(diag, bff_yaml_get(root, "auth"),
                       "auth is required, optional or none, not '%s'", mode);
        ret = -1;
    }
    const bff_yaml_node_t *scopes = bff_yaml_get(root, "scopes");
    if (scopes != NULL) {
        if (scopes->kind != BFF_YAML_SEQ) {
            bff_yaml_error(diag, scopes, "'scopes' is a list such as [orders:read]");
            ret = -1;
        } else {
            a->scopes = bff_calloc(scopes->size ? scopes->size : 1, sizeof(char *));
            for (size_t i = 0; i != scopes->size; ++i) {
                if (scopes->items[i]->kind != BFF_YAML_SCALAR || scopes->items[i]->len == 0) {
                    bff_yaml_error(diag, scopes->items[i], "a scope is a word");
                    ret = -1;
                    continue;
                }
                a->scopes[a->nscopes++] = bff_strdup(scopes->items[i]->str);
            }
            if (a->auth == BFF_AUTH_NONE && a->nscopes != 0) {
                bff_yaml_error(diag, scopes, "scopes need auth: required");
                ret = -1;
            }
        }
    }
    const char *limit = NULL;
    ret |= bff_yaml_get_str(diag, root, "rate_limit", 0, &limit);
    if (limit != NULL && strcmp(limit, "off") != 0 && strcmp(limit, "false") != 0) {
        a->rate_limited = 1;
        if (strcmp(limit, "on") != 0 && strcmp(limit, "true") != 0)
            a->rate_plan = bff_strdup(limit); /* checked against the profile's plans */
    }
    return ret;
}

void bff_access_dispose(bff_access_t *a)
{
    for (size_t i = 0; i != a->nscopes; ++i)
        free(a->scopes[i]);
    free(a->scopes);
    free(a->rate_plan);
    memset(a, 0, sizeof(*a));
}
