/* `openapi:` of profile.yaml (openapi_conf.h). */
#include "server/contract/openapi_conf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/mem.h"
#include "server/core/profile.h"

static int parse_map(const bff_yaml_node_t *n, bff_diag_t *diag, bff_openapi_conf_t *c)
{
    static const char *const keys[] = {"enabled",     "path",    "title", "version",
                                       "description", "servers", NULL};
    if (bff_yaml_check_map(diag, n, "openapi", keys) != 0)
        return -1;
    const char *path = NULL, *title = NULL, *version = NULL, *desc = NULL;
    int ret = bff_yaml_get_bool(diag, n, "enabled", &c->enabled);
    ret |= bff_yaml_get_str(diag, n, "path", 0, &path);
    ret |= bff_yaml_get_str(diag, n, "title", 0, &title);
    ret |= bff_yaml_get_str(diag, n, "version", 0, &version);
    ret |= bff_yaml_get_str(diag, n, "description", 0, &desc);
    if (path != NULL) {
        if (path[0] != '/' || strpbrk(path, "?#{} \t") != NULL) {
            bff_yaml_error(diag, bff_yaml_get(n, "path"),
                           "openapi path must be a plain path such as /openapi.json, not '%s'",
                           path);
            ret = -1;
        } else {
            const bff_yaml_node_t *at = bff_yaml_get(n, "path");
            free(c->path);
            c->path = bff_strdup(path);
            c->line = at->line, c->column = at->column; /* a clash is the path's fault */
        }
    }
    if (title != NULL)
        c->title = bff_strdup(title);
    if (version != NULL) {
        free(c->version);
        c->version = bff_strdup(version);
    }
    if (desc != NULL)
        c->description = bff_strdup(desc);
    const bff_yaml_node_t *servers = bff_yaml_get(n, "servers");
    if (servers != NULL) {
        if (servers->kind != BFF_YAML_SEQ) {
            bff_yaml_error(diag, servers, "'servers' must be a list of base URLs");
            return -1;
        }
        c->servers = bff_calloc(servers->size ? servers->size : 1, sizeof(char *));
        for (size_t i = 0; i != servers->size; ++i) {
            const bff_yaml_node_t *s = servers->items[i];
            if (s->kind != BFF_YAML_SCALAR || *s->str == '\0') {
                bff_yaml_error(diag, s, "a server is a base URL such as https://api.example.com");
                ret = -1;
                continue;
            }
            c->servers[c->nservers++] = bff_strdup(s->str);
        }
    }
    return ret;
}

int bff_openapi_conf_parse(const bff_yaml_node_t *root, bff_diag_t *diag, bff_openapi_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->path = bff_strdup("/openapi.json");
    c->version = bff_strdup("1.0.0");
    const bff_yaml_node_t *n = bff_yaml_get(root, "openapi");
    if (n == NULL)
        return 0;
    c->file = bff_strdup(n->file), c->line = n->line, c->column = n->column;
    if (n->kind == BFF_YAML_SCALAR) {
        if (strcasecmp(n->str, "on") == 0 || strcasecmp(n->str, "true") == 0 ||
            strcasecmp(n->str, "yes") == 0)
            c->enabled = 1;
        else if (strcasecmp(n->str, "off") != 0 && strcasecmp(n->str, "false") != 0 &&
                 strcasecmp(n->str, "no") != 0) {
            bff_yaml_error(diag, n,
                           "openapi is on, off or a mapping (path, title, version, "
                           "description, servers), not '%s'",
                           n->str);
            return -1;
        }
        return 0;
    }
    c->enabled = 1; /* a mapping turns it on unless it says enabled: false */
    return parse_map(n, diag, c);
}

int bff_openapi_conf_check(const bff_profile_t *p, bff_diag_t *diag)
{
    const bff_openapi_conf_t *c = &p->openapi;
    if (!c->enabled)
        return 0;
    const char *clash = NULL;
    if (strcmp(c->path, "/health") == 0 || strcmp(c->path, "/ready") == 0)
        clash = c->path;
    if (p->graph != NULL && strcmp(p->graph->path, c->path) == 0)
        clash = "the GraphQL path";
    /* A route that matches the path, parameters included (GET /{page} would never be reached
     * there: the document is answered before routing). */
    size_t values[BFF_SPEC_MAX_PATH_PARAMS][2];
    for (size_t i = 0; clash == NULL && i != p->nendpoints; ++i)
        if (bff_spec_match(p->endpoints[i], c->path, strlen(c->path), values))
            clash = p->endpoints[i]->file;
    if (clash == NULL)
        return 0;
    bff_diag_add(diag, c->file, c->line, c->column, "the openapi path %s is already taken (%s)",
                 c->path, clash);
    return -1;
}

void bff_openapi_conf_dispose(bff_openapi_conf_t *c)
{
    free(c->path);
    free(c->title);
    free(c->version);
    free(c->description);
    free(c->file);
    for (size_t i = 0; i != c->nservers; ++i)
        free(c->servers[i]);
    free(c->servers);
    memset(c, 0, sizeof(*c));
}
