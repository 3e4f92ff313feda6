/* The profile's `cors:` block (cors.h). */
#include "server/http/cors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

/* A YAML list of words joined with ", " (lower-cased when `lower`); NULL when absent. */
static char *join(const bff_yaml_node_t *node, bff_diag_t *diag, const char *what, int lower,
                  const char *dflt, int *ret)
{
    if (node == NULL)
        return dflt != NULL ? bff_strdup(dflt) : NULL;
    if (node->kind != BFF_YAML_SEQ) {
        bff_yaml_error(diag, node, "'%s' is a list", what);
        *ret = -1;
        return NULL;
    }
    size_t n = 1;
    for (size_t i = 0; i != node->size; ++i)
        n += node->items[i]->len + 2;
    char *out = bff_calloc(1, n);
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *v = node->items[i];
        int ok = v->kind == BFF_YAML_SCALAR && v->len != 0;
        for (size_t k = 0; ok && k != v->len; ++k)
            ok = isalnum((unsigned char)v->str[k]) || v->str[k] == '-' || v->str[k] == '_';
        if (!ok) {
            bff_yaml_error(diag, v, "a %s is a token such as %s", what,
                           lower ? "content-type" : "GET");
            *ret = -1;
            continue;
        }
        if (out[0] != '\0')
            strcat(out, ", ");
        size_t at = strlen(out);
        strcat(out, v->str);
        for (char *c = out + at; lower && *c; ++c)
            *c = (char)tolower((unsigned char)*c);
    }
    return out;
}

int bff_cors_conf_parse(const bff_yaml_node_t *node, bff_diag_t *diag, bff_cors_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    if (node == NULL)
        return 0;
    static const char *const keys[] = {"origins",     "methods", "headers", "expose_headers",
                                       "credentials", "max_age", NULL};
    if (bff_yaml_check_map(diag, node, "cors", keys) != 0)
        return -1;
    c->present = 1;
    int ret = 0;
    const bff_yaml_node_t *origins = bff_yaml_get(node, "origins");
    if (origins == NULL || origins->kind != BFF_YAML_SEQ || origins->size == 0) {
        bff_yaml_error(diag, origins != NULL ? origins : node,
                       "cors needs 'origins': a list such as [\"https://app.example.com\"] "
                       "(or [\"*\"])");
        ret = -1;
    } else {
        c->origins = bff_calloc(origins->size, sizeof(char *));
        for (size_t i = 0; i != origins->size; ++i) {
            const bff_yaml_node_t *o = origins->items[i];
            if (o->kind != BFF_YAML_SCALAR ||
                (strcmp(o->str, "*") != 0 && strncmp(o->str, "http://", 7) != 0 &&
                 strncmp(o->str, "https://", 8) != 0) ||
                (o->len > 1 && o->str[o->len - 1] == '/')) {
                bff_yaml_error(diag, o, "an origin is scheme://host[:port] without a path, or *");
                ret = -1;
                continue;
            }
            c->any_origin |= strcmp(o->str, "*") == 0;
            c->origins[c->norigins++] = bff_strdup(o->str);
        }
    }
    c->methods = join(bff_yaml_get(node, "methods"), diag, "method", 0, "GET, HEAD, POST", &ret);
    c->headers =
        join(bff_yaml_get(node, "headers"), diag, "header", 1, "authorization, content-type", &ret);
    c->expose_headers = join(bff_yaml_get(node, "expose_headers"), diag, "header", 1,
                             "x-cache, etag, ratelimit, ratelimit-policy, retry-after, "
                             "bff-partial, x-request-id",
                             &ret);
    ret |= bff_yaml_get_bool(diag, node, "credentials", &c->credentials);
    c->max_age_ms = 600000;
    ret |= bff_yaml_get_duration_ms(diag, node, "max_age", &c->max_age_ms);
    if (c->any_origin && c->credentials) {
        bff_yaml_error(diag, node,
                       "credentials: true needs explicit origins (browsers refuse "
                       "credentials with *)");
        ret = -1;
    }
    return ret;
}

void bff_cors_conf_dispose(bff_cors_conf_t *c)
{
    for (size_t i = 0; i != c->norigins; ++i)
        free(c->origins[i]);
    free(c->origins);
    free(c->methods);
    free(c->headers);
    free(c->expose_headers);
    memset(c, 0, sizeof(*c));
}

int bff_cors_origin_allowed(const bff_cors_conf_t *c, const char *origin, size_t len)
{
    if (c->any_origin)
        return 1;
    for (size_t i = 0; i != c->norigins; ++i)
        if (strlen(c->origins[i]) == len && strncasecmp(c->origins[i], origin, len) == 0)
            return 1;
    return 0;
}
