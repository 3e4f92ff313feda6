/* Evaluates binding roots against a request's values. */
#include "compose/bindings.h"

#include <ctype.h>
#include <string.h>

const char *const bff_reserved_roots[] = {"body", "auth", "claims", "args", "parent", NULL};

int bff_is_valid_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; ++s)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

int bff_is_reserved_root(const char *name)
{
    static const char *const builtin[] = {"header", "item", "items", "request", NULL};
    for (const char *const *r = builtin; *r; ++r)
        if (strcmp(*r, name) == 0)
            return 1;
    for (const char *const *r = bff_reserved_roots; *r; ++r)
        if (strcmp(*r, name) == 0)
            return 1;
    return 0;
}

int bff_binding_is_meta(const bff_jpath_t *path)
{
    return path->nsteps != 0 && path->steps[0].kind == BFF_JPATH_FIELD &&
           (strcmp(path->steps[0].name, "$status") == 0 ||
            strcmp(path->steps[0].name, "$headers") == 0);
}

size_t bff_binding_eval(const bff_jpath_t *path, int binding, const bff_shape_env_t *env,
                        const bff_jdoc_t *elem_doc, uint32_t elem_tok, const bff_jdoc_t **doc,
                        uint32_t *out, size_t max)
{
    uint32_t start;
    switch (binding) {
    case BFF_BIND_ELEMENT:
        *doc = elem_doc;
        if (*doc == NULL)
            return 0;
        if (strcmp(path->root, "@") == 0)
            start = elem_tok;
        else
            start = bff_jdoc_obj_get(*doc, elem_tok, path->root, strlen(path->root));
        break;
    case BFF_BIND_ITEM:
        *doc = env->item_doc;
        if (*doc == NULL)
            return 0;
        start = env->item_tok;
        break;
    case BFF_BIND_REQUEST:
        *doc = env->request_doc;
        if (*doc == NULL)
            return 0;
        start = bff_jdoc_obj_get(*doc, 0, path->root, strlen(path->root));
        break;
    default:
        if (binding < 0 || (size_t)binding >= env->nsources)
            return 0;
        if (bff_binding_is_meta(path)) { /* the meta doc holds "$status" and "$headers" */
            if (env->source_meta == NULL || (*doc = env->source_meta[binding]) == NULL)
                return 0;
            return bff_jpath_eval(path, 0, *doc, 0, out, max);
        }
        if (env->source_docs[binding] == NULL)
            return 0;
        *doc = env->source_docs[binding];
        start = env->source_roots[binding];
        break;
    }
    if (start == UINT32_MAX)
        return 0;
    return bff_jpath_eval(path, 0, *doc, start, out, max);
}

void bff_binding_note_header(bff_jpath_t *path, int binding, void (*note)(void *ctx, const char *),
                             void *ctx)
{
    if (binding != BFF_BIND_REQUEST || strcmp(path->root, "header") != 0 || path->nsteps == 0 ||
        path->steps[0].kind != BFF_JPATH_FIELD)
        return;
    for (char *c = path->steps[0].name; *c; ++c)
        *c = (char)tolower((unsigned char)*c);
    note(ctx, path->steps[0].name);
}
