/* Loading graph.yaml: the schema files, the limits, and every resolver checked against the
 * schema. */
#include "compose/file.h"
#include "compose/gql/graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/apq.h"
#include "compose/gql/introspect.h"
#include "compose/mem.h"
#include "compose/yaml_tree.h"

typedef struct st_graph_loader_t {
    bff_gql_graph_t *graph;
    bff_diag_t *diag;
    const bff_spec_env_t *env;
    bff_gql_resolver_t *res; /* being loaded */
    int is_root_field;       /* no parent object */
    int value_scope;         /* `response` resolves (a source's value shape) */
} graph_loader_t;

/* "dir/of/graph.yaml" + "rel" -> a path relative to the graph file's folder. */
static char *relative_to(const char *file, const char *rel)
{
    if (rel[0] == '/')
        return bff_strdup(rel);
    const char *slash = strrchr(file, '/');
    size_t dirlen = slash != NULL ? (size_t)(slash - file) + 1 : 0;
    char *out = bff_malloc(dirlen + strlen(rel) + 1);
    memcpy(out, file, dirlen);
    strcpy(out + dirlen, rel);
    return out;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = bff_fopen_regular(path, NULL);
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = bff_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) != 0) {
        n += got;
        if (n == cap)
            buf = bff_realloc(buf, cap *= 2);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void add_request_header(void *ctx, const char *name)
{
    bff_gql_graph_t *g = ((graph_loader_t *)ctx)->graph;
    for (size_t i = 0; i != g->nrequest_headers; ++i)
        if (strcmp(g->request_headers[i], name) == 0)
            return;
    g->request_headers =
        bff_realloc(g->request_headers, (g->nrequest_headers + 1) * sizeof(char *));
    g->request_headers[g->nrequest_headers++] = bff_strdup(name);
}

/* The roots a resolver may read: `args`, `parent` (not on root fields), `header`, `auth`, and in a
 * source's value shape `response`. */
static int resolve_root(void *ctx, const char *root)
{
    graph_loader_t *gl = ctx;
    if (strcmp(root, "args") == 0 || strcmp(root, "header") == 0)
        return BFF_BIND_REQUEST;
    if (strcmp(root, "auth") == 0) { /* the verified principal's claims */
        gl->graph->reads_auth = 1;
        return BFF_BIND_REQUEST;
    }
    if (strcmp(root, "parent") == 0) {
        gl->res->reads_parent = 1;
        return gl->is_root_field ? -1 : BFF_BIND_REQUEST;
    }
    if (gl->value_scope && strcmp(root, "response") == 0)
        return 0;
    return -1;
}

static int load_schema(graph_loader_t *gl, const bff_yaml_node_t *root)
{
    const bff_yaml_node_t *node = bff_yaml_get(root, "schema");
    if (node == NULL) {
        bff_yaml_error(gl->diag, root,
                       "missing 'schema' (the SDL file or files, e.g. "
                       "../../schemas/shop.graphql)");
        return -1;
    }
    size_t nfiles = node->kind == BFF_YAML_SEQ ? node->size : 1;
    const bff_yaml_node_t *const *items =
        node->kind == BFF_YAML_SEQ ? (const bff_yaml_node_t *const *)node->items : &node;
    bff_gql_schema_source_t *sources = bff_calloc(nfiles ? nfiles : 1, sizeof(*sources));
    char **paths = bff_calloc(nfiles ? nfiles : 1, sizeof(char *));
    int ret = 0;
    for (size_t i = 0; i != nfiles; ++i) {
        if (items[i]->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(gl->diag, items[i], "'schema' is a file name or a list of them");
            ret = -1;
            continue;
        }
        paths[i] = relative_to(gl->graph->file, items[i]->str);
        size_t len;
        char *text = read_file(paths[i], &len);
        if (text == NULL) {
            bff_yaml_error(gl->diag, items[i], "cannot read the schema file '%s': %s",
                           items[i]->str, strerror(errno));
            ret = -1;
            continue;
        }
        bff_gql_errors_t errs = {0};
        sources[i].sdl = bff_gql_parse_sdl(text, len, &errs);
        sources[i].file = paths[i];
        for (size_t e = 0; e != errs.n; ++e)
            bff_diag_add(gl->diag, paths[i], errs.items[e].nlocs ? errs.items[e].locs[0].line : 0,
                         errs.items[e].nlocs ? errs.items[e].locs[0].column : 0, "%s",
                         errs.items[e].message);
        bff_gql_errors_dispose(&errs);
        free(text);
        if (sources[i].sdl == NULL)
            ret = -1;
    }
    char **hidden = NULL;
    const bff_yaml_node_t *hide = bff_yaml_get(root, "hide");
    if (hide != NULL) {
        if (hide->kind != BFF_YAML_SEQ) {
            bff_yaml_error(gl->diag, hide, "'hide' is a list of Type or Type.field names");
            ret = -1;
        } else {
            hidden = bff_calloc(hide->size + 1, sizeof(char *));
            for (size_t i = 0; i != hide->size; ++i)
                hidden[i] = hide->items[i]->kind == BFF_YAML_SCALAR ? hide->items[i]->str : "";
        }
    }
    if (ret == 0) {
        gl->graph->schema =
            bff_gql_schema_build(sources, nfiles, (const char *const *)hidden, gl->diag);
        if (gl->graph->schema == NULL)
            ret = -1;
    }
    for (size_t i = 0; i != nfiles; ++i) {
        bff_gql_sdl_free((bff_gql_sdl_t *)sources[i].sdl);
        free(paths[i]);
    }
    free(sources);
    free(paths);
    free(hidden);
    return ret;
}

/* `batching: { max: N }`: a POST body may be an array of up to N operations (off by default:
 * one request then costs up to N operations' work). */
static int load_batching(graph_loader_t *gl, const bff_yaml_node_t *root)
{
    const bff_yaml_node_t *node = bff_yaml_get(root, "batching");
    if (node == NULL)
        return 0;
    static const char *const keys[] = {"max", NULL};
    int64_t max = 0;
    if (bff_yaml_check_map(gl->diag, node, "batching", keys) != 0 ||
        bff_yaml_get_int(gl->diag, node, "max", 1, 1, 100, &max) != 0)
        return -1;
    gl->graph->batch_max = (unsigned)max;
    return 0;
}

static int load_limits(graph_loader_t *gl, const bff_yaml_node_t *root)
{
    bff_gql_graph_t *g = gl->graph;
    g->parse_limits.max_bytes = 64 * 1024;
    g->parse_limits.max_tokens = 10000;
    g->validate_limits.max_depth = 20;
    g->validate_limits.max_aliases = 30;
    g->validate_limits.max_fields = 1000;
    g->max_calls = 200;
    g->concurrency = 16;
    const bff_yaml_node_t *limits = bff_yaml_get(root, "limits");
    if (limits == NULL)
        return 0;
    static const char *const keys[] = {"max_bytes",  "max_tokens", "max_depth",   "max_aliases",
                                       "max_fields", "max_calls",  "concurrency", NULL};
    if (bff_yaml_check_map(gl->diag, limits, "limits", keys) != 0)
        return -1;
    uint64_t bytes = g->parse_limits.max_bytes;
    int ret = bff_yaml_get_size(gl->diag, limits, "max_bytes", &bytes);
    g->parse_limits.max_bytes = (size_t)bytes;
    int64_t v;
#define GET_INT(key, min, max, dst)                                                                \
    do {                                                                                           \
        v = (int64_t)(dst);                                                                        \
        ret |= bff_yaml_get_int(gl->diag, limits, key, 0, min, max, &v);                           \
        (dst) = (__typeof__(dst))v;                                                                \
    } while (0)
    GET_INT("max_tokens", 1, 10000000, g->parse_limits.max_tokens);
    GET_INT("max_depth", 1, 1000, g->validate_limits.max_depth);
    GET_INT("max_aliases", 0, 100000, g->validate_limits.max_aliases);
    GET_INT("max_fields", 1, 10000000, g->validate_limits.max_fields);
    GET_INT("max_calls", 1, 100000, g->max_calls);
    GET_INT("concurrency", 1, 10000, g->concurrency);
#undef GET_INT
    return ret;
}

static void check_args_path(void *ctx, bff_jpath_t *path, int binding)
{
    graph_loader_t *gl = ctx;
    if (binding != BFF_BIND_REQUEST || strcmp(path->root, "args") != 0)
        return;
    const bff_gql_field_t *f = gl->res->field;
    if (path->nsteps == 0 || path->steps[0].kind != BFF_JPATH_FIELD) {
        bff_diag_add(gl->diag, gl->res->file, gl->res->line, gl->res->column,
                     "%s: write args.NAME to read an argument", gl->res->name);
        return;
    }
    for (size_t i = 0; i != f->nargs; ++i)
        if (strcmp(f->args[i].name, path->steps[0].name) == 0)
            return;
    bff_diag_add(gl->diag, gl->res->file, gl->res->line, gl->res->column,
                 "%s reads args.%s, but the field has no argument '%s'", gl->res->name,
                 path->steps[0].name, path->steps[0].name);
}

static void note_parent_path(graph_loader_t *gl, const bff_jpath_t *path)
{
    bff_gql_resolver_t *res = gl->res;
    if (path->nsteps == 0 || path->steps[0].kind != BFF_JPATH_FIELD) {
        res->parent_whole = 1;
        return;
    }
    for (size_t i = 0; i != res->nparent_fields; ++i)
        if (strcmp(res->parent_fields[i], path->steps[0].name) == 0)
            return;
    res->parent_fields =
        bff_realloc(res->parent_fields, (res->nparent_fields + 1) * sizeof(char *));
    res->parent_fields[res->nparent_fields++] = bff_strdup(path->steps[0].name);
}

static void note_header_path(void *ctx, bff_jpath_t *path, int binding)
{
    bff_binding_note_header(path, binding, add_request_header, ctx);
    check_args_path(ctx, path, binding);
    if (binding == BFF_BIND_REQUEST && strcmp(path->root, "parent") == 0)
        note_parent_path(ctx, path);
}

/* A template always yields a string: it cannot make an object, a list or a number. */
static int check_shape_type(graph_loader_t *gl, const bff_shape_t *shape)
{
    const bff_gql_wrapped_t *t = gl->res->field->type;
    if (t->kind == BFF_GQL_NON_NULL)
        t = t->of;
    const bff_gql_type_t *named = bff_gql_unwrap(t);
    int string_ok = t->kind == BFF_GQL_NAMED &&
                    (named->kind == BFF_GQL_ENUM_TYPE ||
                     (named->kind == BFF_GQL_SCALAR && strcmp(named->name, "Int") != 0 &&
                      strcmp(named->name, "Float") != 0 && strcmp(named->name, "Boolean") != 0));
    if (shape->kind == BFF_SHAPE_TEMPLATE && !string_ok) {
        char buf[128];
        bff_diag_add(gl->diag, shape->file, shape->line, shape->column,
                     "%s is of type %s, but a template makes a string", gl->res->name,
                     bff_gql_type_print(gl->res->field->type, buf, sizeof(buf)));
        return -1;
    }
    int composite = t->kind == BFF_GQL_LIST_OF || !bff_gql_type_is_leaf(named);
    if (shape->kind == BFF_SHAPE_OBJECT && !composite) {
        char buf[128];
        bff_diag_add(gl->diag, shape->file, shape->line, shape->column,
                     "%s is of type %s, but this shape makes an object", gl->res->name,
                     bff_gql_type_print(gl->res->field->type, buf, sizeof(buf)));
        return -1;
    }
    return 0;
}

/* `scopes: [a, b]` and/or `auth: required` on a field. */
static int load_guard(graph_loader_t *gl, const bff_yaml_node_t *def)
{
    bff_gql_resolver_t *res = gl->res;
    const bff_yaml_node_t *auth = bff_yaml_get(def, "auth"), *scopes = bff_yaml_get(def, "scopes");
    if (auth != NULL) {
        if (auth->kind != BFF_YAML_SCALAR || strcmp(auth->str, "required") != 0) {
            bff_yaml_error(gl->diag, auth, "a field's auth is 'required' (a principal must ask)");
            return -1;
        }
        res->needs_principal = 1;
    }
    if (scopes != NULL) {
        if (scopes->kind != BFF_YAML_SEQ || scopes->size == 0 || scopes->size > 16) {
            bff_yaml_error(gl->diag, scopes, "scopes is a list of 1 to 16 scope names");
            return -1;
        }
        res->scopes = bff_calloc(scopes->size, sizeof(char *));
        for (size_t i = 0; i != scopes->size; ++i) {
            const bff_yaml_node_t *s = scopes->items[i];
            if (s->kind != BFF_YAML_SCALAR || s->str[0] == '\0' || strchr(s->str, ' ') != NULL) {
                bff_yaml_error(gl->diag, s, "a scope is one word, e.g. orders:read");
                return -1;
            }
            res->scopes[res->nscopes++] = bff_strdup(s->str);
        }
        res->needs_principal = 1;
    }
    gl->graph->has_guards |= res->needs_principal;
    return 0;
}

/* A source batched over parents (`batch.items: parent.KEY`) answers many parents with one call
 * and needs `match` to hand each parent its element of the answer; `match` means nothing
 * elsewhere. */
static int load_batch(graph_loader_t *gl, const bff_yaml_node_t *key, const bff_yaml_node_t *match)
{
    bff_gql_resolver_t *res = gl->res;
    const bff_source_t *src = res->kind == BFF_GQL_RESOLVE_SOURCE ? res->plan.sources : NULL;
    if (src == NULL || src->mode != BFF_SOURCE_BATCH || src->items.root == NULL ||
        strcmp(src->items.root, "parent") != 0) {
        if (match == NULL)
            return 0;
        bff_yaml_error(gl->diag, match,
                       "%s: 'match' goes with a source batched over parents "
                       "(batch: { items: parent.KEY })",
                       res->name);
        return -1;
    }
    if (match == NULL) {
        bff_yaml_error(gl->diag, key,
                       "%s is batched over parents: add 'match: { list: response.PATH, key: "
                       "MEMBER }' to give each parent its element of the answer",
                       res->name);
        return -1;
    }
    if (src->items.nsteps != 1 || src->items.steps[0].kind != BFF_JPATH_FIELD) {
        bff_yaml_error(gl->diag, key, "%s: batch.items is parent.MEMBER, the parent's key",
                       res->name);
        return -1;
    }
    if (res->parent_whole || res->nparent_fields != 1) {
        bff_yaml_error(gl->diag, key,
                       "%s is batched over parent.%s: it may read nothing else of the parent "
                       "(one call serves many parents)",
                       res->name, src->items.steps[0].name);
        return -1;
    }
    static const char *const keys[] = {"list", "key", NULL};
    const char *list = "response", *member = NULL;
    if (bff_yaml_check_map(gl->diag, match, "match", keys) != 0 ||
        bff_yaml_get_str(gl->diag, match, "list", 0, &list) != 0 ||
        bff_yaml_get_str(gl->diag, match, "key", 1, &member) != 0)
        return -1;
    const char *err = NULL;
    if (bff_jpath_parse(list, strlen(list), &res->match_list, &err) != 0 ||
        strcmp(res->match_list.root, "response") != 0 || res->match_list.multi) {
        bff_yaml_error(gl->diag, bff_yaml_get(match, "list"),
                       "match.list is a path into the answer, e.g. response.products%s%s",
                       err != NULL ? ": " : "", err != NULL ? err : "");
        return -1;
    }
    if (member[0] == '\0' || strpbrk(member, ".[]{} ") != NULL) {
        bff_yaml_error(gl->diag, bff_yaml_get(match, "key"),
                       "match.key is the elements' member holding the key, e.g. id");
        return -1;
    }
    res->match_key = bff_strdup(member);
    res->batch_key = bff_strdup(src->items.steps[0].name);
    return 0;
}

static int load_resolver(graph_loader_t *gl, const bff_yaml_node_t *key, const bff_yaml_node_t *def)
{
    bff_gql_graph_t *g = gl->graph;
    bff_gql_resolver_t *res = gl->res;
    res->name = bff_strdup(key->str);
    res->file = key->file, res->line = key->line, res->column = key->column;
    const char *dot = strchr(key->str, '.');
    if (dot == NULL || dot == key->str || dot[1] == '\0') {
        bff_yaml_error(gl->diag, key, "resolvers are named Type.field, not '%s'", key->str);
        return -1;
    }
    char *type_name = bff_strndup(key->str, (size_t)(dot - key->str));
    const bff_gql_type_t *type = bff_gql_schema_type(g->schema, type_name);
    free(type_name);
    if (type == NULL || (type->kind != BFF_GQL_OBJECT_TYPE && type->kind != BFF_GQL_INTERFACE) ||
        type->is_builtin) {
        bff_yaml_error(gl->diag, key, "%s: no object type of that name in this profile's schema",
                       key->str);
        return -1;
    }
    const bff_gql_field_t *field = NULL;
    for (size_t i = 0; i != type->nfields; ++i)
        if (strcmp(type->fields[i].name, dot + 1) == 0)
            field = type->fields + i;
    if (field == NULL) {
        bff_yaml_error(gl->diag, key, "%s: type %s has no field '%s' in this profile's schema",
                       key->str, type->name, dot + 1);
        return -1;
    }
    res->field = field;
    gl->is_root_field = type == g->schema->query || type == g->schema->mutation;
    const bff_yaml_node_t *source = NULL, *value = def, *match = NULL;
    int guard_only = 0;
    if (def->kind == BFF_YAML_MAP &&
        (bff_yaml_get(def, "source") != NULL || bff_yaml_get(def, "value") != NULL ||
         bff_yaml_get(def, "scopes") != NULL || bff_yaml_get(def, "auth") != NULL)) {
        static const char *const keys[] = {"source", "value", "scopes", "auth", "match", NULL};
        if (bff_yaml_check_map(gl->diag, def, "a resolver", keys) != 0 || load_guard(gl, def) != 0)
            return -1;
        source = bff_yaml_get(def, "source");
        value = bff_yaml_get(def, "value");
        match = bff_yaml_get(def, "match");
        guard_only = source == NULL && value == NULL;
    } else if (def->kind == BFF_YAML_MAP) {
        bff_yaml_error(gl->diag, def,
                       "%s: a resolver has 'source' (an upstream call) and/or 'value' (a shape), "
                       "and may have 'scopes'; write an object shape under 'value'",
                       key->str);
        return -1;
    }
    int ret = 0;
    if (guard_only) {
        res->kind = BFF_GQL_RESOLVE_MEMBER;
    } else if (source != NULL) {
        res->kind = BFF_GQL_RESOLVE_SOURCE;
        res->plan.sources = bff_calloc(1, sizeof(bff_source_t));
        res->plan.nsources = 1;
        res->plan.sources[0].name = bff_strdup("response");
        bff_yaml_node_t name_node = *key;
        name_node.str = "response";
        bff_source_scope_t scope = {resolve_root, add_request_header, gl, gl->env->upstreams,
                                    gl->env->nupstreams};
        gl->value_scope = 0;
        ret |= bff_source_parse(res->plan.sources, &name_node, source, &scope, gl->diag);
        if (ret == 0)
            ret |= bff_plan_order(&res->plan, gl->diag);
        if (ret == 0 && type == g->schema->mutation &&
            strcmp(res->plan.sources[0].method, "GET") == 0) {
            bff_yaml_error(gl->diag, source,
                           "%s is a mutation: its source must write (POST, PUT, PATCH or DELETE)",
                           key->str);
            ret = -1;
        }
        if (ret == 0)
            bff_plan_foreach_path(&res->plan, note_header_path, gl);
    } else {
        res->kind = BFF_GQL_RESOLVE_VALUE;
    }
    if (value != NULL) {
        gl->value_scope = source != NULL;
        res->value = bff_shape_parse(value, resolve_root, gl, gl->diag);
        if (res->value == NULL)
            ret = -1;
        else {
            bff_shape_foreach_path(res->value, note_header_path, gl);
            ret |= check_shape_type(gl, res->value);
        }
    }
    if (gl->is_root_field && res->reads_parent) {
        bff_yaml_error(gl->diag, key, "%s is a root field: it has no parent object", key->str);
        ret = -1;
    }
    if (ret == 0)
        ret = load_batch(gl, key, match);
    return ret;
}

static void resolver_dispose(bff_gql_resolver_t *res)
{
    bff_plan_dispose(&res->plan);
    bff_shape_free(res->value);
    free(res->name);
    for (size_t k = 0; k != res->nparent_fields; ++k)
        free(res->parent_fields[k]);
    free(res->parent_fields);
    for (size_t k = 0; k != res->nscopes; ++k)
        free(res->scopes[k]);
    free(res->scopes);
    free(res->batch_key);
    bff_jpath_dispose(&res->match_list);
    free(res->match_key);
}

static int compare_trusted(const void *a, const void *b)
{
    return strcmp(((const struct st_bff_gql_trusted_t *)a)->hash,
                  ((const struct st_bff_gql_trusted_t *)b)->hash);
}

/* `trusted_documents: { file: F, only: true }`: every document parsed and validated now, so a
 * client never meets a broken one. */
static int load_trusted(graph_loader_t *gl, const bff_yaml_node_t *root)
{
    const bff_yaml_node_t *node = bff_yaml_get(root, "trusted_documents");
    bff_gql_graph_t *g = gl->graph;
    if (node == NULL)
        return 0;
    static const char *const keys[] = {"file", "only", NULL};
    if (bff_yaml_check_map(gl->diag, node, "trusted_documents", keys) != 0)
        return -1;
    const char *file = NULL;
    int ret = bff_yaml_get_str(gl->diag, node, "file", 1, &file);
    ret |= bff_yaml_get_bool(gl->diag, node, "only", &g->trusted_only);
    if (ret != 0 || file == NULL)
        return -1;
    char *path = relative_to(g->file, file);
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL) {
        bff_yaml_error(gl->diag, bff_yaml_get(node, "file"), "cannot read '%s': %s", file,
                       strerror(errno));
        free(path);
        return -1;
    }
    bff_jdoc_t d = {0};
    const char *err;
    size_t off;
    if (bff_jdoc_scan(&d, text, len, 0, 0, &err, &off) != 0 || d.toks[0].type != BFF_J_OBJECT) {
        bff_diag_add(
            gl->diag, path, 0, 0,
            "a trusted documents file is a JSON object {\"<sha256 hex>\": \"document\"}%s%s",
            d.ntoks == 0 ? ": " : "", d.ntoks == 0 ? err : "");
        bff_jdoc_dispose(&d);
        free(text);
        free(path);
        return -1;
    }
    g->trusted = bff_calloc(d.toks[0].size ? d.toks[0].size : 1, sizeof(*g->trusted));
    for (uint32_t k = 1, n = 0; n != d.toks[0].size; ++n, k = d.toks[k + 1].next) {
        const bff_jtok_t *key = d.toks + k, *val = d.toks + k + 1;
        size_t klen = key->end - key->start;
        int hex = klen == 64;
        for (size_t i = 0; hex && i != 64; ++i) {
            char c = text[key->start + i];
            hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }
        if (!hex || val->type != BFF_J_STRING) {
            bff_diag_add(gl->diag, path, 0, 0,
                         "trusted document '%.*s': keys are lower-case sha256 hex digests, "
                         "values documents",
                         (int)(klen > 70 ? 70 : klen), text + key->start);
            ret = -1;
            continue;
        }
        struct st_bff_gql_trusted_t *td = g->trusted + g->ntrusted++;
        memcpy(td->hash, text + key->start, 64);
        td->text = bff_malloc(val->end - val->start + 1);
        td->len = bff_jdoc_unescape(&d, k + 1, td->text);
        td->text[td->len] = '\0';
        bff_gql_errors_t errs = {0};
        bff_gql_document_t *doc = bff_gql_parse(td->text, td->len, &g->parse_limits, &errs);
        if (doc != NULL)
            bff_gql_validate(g->schema, doc, &g->validate_limits, &errs);
        for (size_t e = 0; e != errs.n; ++e)
            bff_diag_add(gl->diag, path, 0, 0, "trusted document %s: %s", td->hash,
                         errs.items[e].message);
        ret |= errs.n != 0 ? -1 : 0;
        bff_gql_errors_dispose(&errs);
        bff_gql_document_free(doc);
    }
    qsort(g->trusted, g->ntrusted, sizeof(*g->trusted), compare_trusted);
    bff_jdoc_dispose(&d);
    free(text);
    free(path);
    return ret;
}

const struct st_bff_gql_trusted_t *bff_gql_graph_trusted(const bff_gql_graph_t *g, const char *hash)
{
    size_t lo = 0, hi = g->ntrusted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->trusted[mid].hash, hash);
        if (c == 0)
            return g->trusted + mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int compare_resolvers(const void *a, const void *b)
{
    const bff_gql_field_t *fa = ((const bff_gql_resolver_t *)a)->field;
    const bff_gql_field_t *fb = ((const bff_gql_resolver_t *)b)->field;
    return fa < fb ? -1 : fa > fb;
}

/* A root field without a resolver could only ever be null. */
static int check_roots_bound(graph_loader_t *gl)
{
    const bff_gql_type_t *roots[] = {gl->graph->schema->query, gl->graph->schema->mutation};
    int ret = 0;
    for (size_t r = 0; r != 2; ++r) {
        if (roots[r] == NULL)
            continue;
        for (size_t i = 0; i != roots[r]->nfields; ++i) {
            const bff_gql_field_t *f = roots[r]->fields + i;
            const bff_gql_resolver_t *res = bff_gql_graph_resolver(gl->graph, f);
            if (res == NULL || res->kind == BFF_GQL_RESOLVE_MEMBER) {
                bff_diag_add(gl->diag, gl->graph->file, 0, 0,
                             "%s.%s (%s:%u:%u) has no resolver: add '%s.%s' under 'resolvers'",
                             roots[r]->name, f->name, f->file ? f->file : "schema", f->line,
                             f->column, roots[r]->name, f->name);
                ret = -1;
            }
        }
    }
    return ret;
}

static int load_resolvers(graph_loader_t *gl, const bff_yaml_node_t *root)
{
    const bff_yaml_node_t *map = bff_yaml_get(root, "resolvers");
    bff_gql_graph_t *g = gl->graph;
    if (map == NULL)
        return check_roots_bound(gl);
    if (map->kind != BFF_YAML_MAP) {
        bff_yaml_error(gl->diag, map, "'resolvers' maps Type.field to a resolver");
        return -1;
    }
    g->resolvers = bff_calloc(map->size ? map->size : 1, sizeof(*g->resolvers));
    int ret = 0;
    for (size_t i = 0; i != map->size; ++i) {
        gl->res = g->resolvers + g->nresolvers;
        if (load_resolver(gl, map->keys[i], map->items[i]) != 0) {
            ret = -1;
            resolver_dispose(gl->res);
            memset(gl->res, 0, sizeof(*gl->res));
            continue;
        }
        for (size_t j = 0; j != g->nresolvers; ++j)
            if (g->resolvers[j].field == gl->res->field) {
                bff_yaml_error(gl->diag, map->keys[i], "%s is bound twice (also at line %u)",
                               gl->res->name, g->resolvers[j].line);
                ret = -1;
            }
        ++g->nresolvers;
    }
    qsort(g->resolvers, g->nresolvers, sizeof(*g->resolvers), compare_resolvers);
    if (ret == 0)
        ret = check_roots_bound(gl);
    return ret;
}

bff_gql_graph_t *bff_gql_graph_load(const char *file, const bff_spec_env_t *env, bff_diag_t *diag)
{
    bff_yaml_doc_t *doc = bff_yaml_load_file(file, diag);
    if (doc == NULL)
        return NULL;
    bff_gql_graph_t *g = bff_calloc(1, sizeof(*g));
    g->file = bff_strdup(file);
    g->apq = bff_gql_apq_create();
    graph_loader_t gl = {.graph = g, .diag = diag, .env = env};
    const bff_yaml_node_t *root = bff_yaml_root(doc);
    static const char *const keys[] = {"path",     "schema", "hide",      "introspection",
                                       "timeout",  "limits", "resolvers", "trusted_documents",
                                       "cache",    "auth",   "scopes",    "rate_limit",
                                       "batching", NULL};
    int ret = bff_yaml_check_map(diag, root, "graph.yaml", keys);
    const char *path = "/graphql";
    ret |= bff_yaml_get_str(diag, root, "path", 0, &path);
    if (path[0] != '/') {
        bff_yaml_error(diag, bff_yaml_get(root, "path"), "'path' starts with '/'");
        ret = -1;
    }
    g->path = bff_strdup(path);
    g->introspection = 1;
    ret |= bff_yaml_get_bool(diag, root, "introspection", &g->introspection);
    ret |= bff_yaml_get_duration_ms(diag, root, "timeout", &g->timeout_ms);
    ret |= load_limits(&gl, root);
    ret |= load_batching(&gl, root);
    ret |= bff_access_parse(root, diag, &g->access);
    const bff_yaml_node_t *cache = bff_yaml_get(root, "cache");
    ret |= bff_cache_policy_parse(cache, diag, &g->cache, NULL);
    if (load_schema(&gl, root) == 0) {
        ret |= load_resolvers(&gl, root);
        ret |= load_trusted(&gl, root);
    } else {
        ret = -1;
    }
    ret |= bff_yaml_doc_failed(doc) ? -1 : 0;
    bff_yaml_free(doc);
    if (ret == 0)
        g->introspection_json = bff_gql_introspection_json(g->schema, &g->introspection_len);
    if (ret != 0) {
        bff_gql_graph_free(g);
        return NULL;
    }
    return g;
}

void bff_gql_graph_free(bff_gql_graph_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i != g->nresolvers; ++i)
        resolver_dispose(g->resolvers + i);
    free(g->resolvers);
    for (size_t i = 0; i != g->nrequest_headers; ++i)
        free(g->request_headers[i]);
    free(g->request_headers);
    bff_gql_schema_free(g->schema);
    bff_gql_apq_free(g->apq);
    for (size_t i = 0; i != g->ntrusted; ++i)
        free(g->trusted[i].text);
    free(g->trusted);
    free(g->introspection_json);
    bff_access_dispose(&g->access);
    free(g->path);
    free(g->file);
    free(g);
}

const bff_gql_resolver_t *bff_gql_graph_resolver(const bff_gql_graph_t *g,
                                                 const bff_gql_field_t *field)
{
    size_t lo = 0, hi = g->nresolvers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->resolvers[mid].field == field)
            return g->resolvers + mid;
        if (g->resolvers[mid].field < field)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
