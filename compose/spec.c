/* Compiles an endpoint spec from YAML: route, typed parameters, sources and their dependency
 * DAG (read from the templates, cycles rejected), and the response shape. No I/O. */
#include "compose/spec.h"

#include "compose/gql/parse.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct spec_parser {
    bff_spec_t *spec;
    const bff_spec_env_t *env;
    bff_diag_t *diag;
    int body_on_get; /* a GET endpoint referred to `body` */
};

static ssize_t find_param(const bff_spec_t *spec, const char *name)
{
    for (size_t i = 0; i != spec->nparams; ++i)
        if (strcmp(spec->params[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static ssize_t find_source(const bff_spec_t *spec, const char *name)
{
    for (size_t i = 0; i != spec->plan.nsources; ++i)
        if (spec->plan.sources[i].name && strcmp(spec->plan.sources[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static bff_param_t *add_param(bff_spec_t *spec, const char *name, int in_path)
{
    spec->params = bff_realloc(spec->params, (spec->nparams + 1) * sizeof(*spec->params));
    bff_param_t *p = spec->params + spec->nparams++;
    memset(p, 0, sizeof(*p));
    p->name = bff_strdup(name);
    p->in_path = in_path;
    p->required = in_path;
    return p;
}

/* "GET /a/{b}/c" -> method, segments and undeclared path parameters. */
static int parse_endpoint_line(struct spec_parser *sp, const bff_yaml_node_t *node)
{
    bff_spec_t *spec = sp->spec;
    const char *s = node->str, *space = strchr(s, ' ');
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
    if (space == NULL) {
        bff_yaml_error(sp->diag, node, "endpoint must read 'METHOD /path', e.g. 'GET /users/{id}'");
        return -1;
    }
    spec->method = bff_strndup(s, (size_t)(space - s));
    int known = 0;
    for (const char *const *m = methods; *m; ++m)
        known |= strcmp(*m, spec->method) == 0;
    if (!known) {
        bff_yaml_error(sp->diag, node, "unsupported method '%s' (GET, POST, PUT, PATCH, DELETE)",
                       spec->method);
        return -1;
    }
    while (*space == ' ')
        ++space;
    if (*space != '/') {
        bff_yaml_error(sp->diag, node, "endpoint path must start with '/'");
        return -1;
    }
    spec->route = bff_strdup(space);
    const char *p = space + 1;
    if (*p == '\0') /* "/" has no segments */
        return 0;
    /* A trailing '/' makes a last, empty segment: the route matches its path as written. */
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        spec->segments =
            bff_realloc(spec->segments, (spec->nsegments + 1) * sizeof(*spec->segments));
        bff_path_segment_t *seg = spec->segments + spec->nsegments++;
        memset(seg, 0, sizeof(*seg));
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            char *name = bff_strndup(p + 1, len - 2);
            if (!bff_is_valid_name(name) || bff_is_reserved_root(name)) {
                bff_yaml_error(sp->diag, node, "bad path parameter name '%s'", name);
                free(name);
                return -1;
            }
            if (find_param(spec, name) >= 0) {
                bff_yaml_error(sp->diag, node, "path parameter '%s' appears twice", name);
                free(name);
                return -1;
            }
            if (spec->nparams == BFF_SPEC_MAX_PATH_PARAMS) {
                bff_yaml_error(sp->diag, node, "at most %d path parameters",
                               BFF_SPEC_MAX_PATH_PARAMS);
                free(name);
                return -1;
            }
            seg->param = spec->nparams;
            add_param(spec, name, 1);
            free(name);
        } else if (memchr(p, '{', len) || memchr(p, '}', len) || memchr(p, '?', len)) {
            bff_yaml_error(sp->diag, node,
                           "a path segment is either literal or a whole {parameter}");
            return -1;
        } else {
            seg->literal = bff_strndup(p, len);
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

static int parse_param_type(struct spec_parser *sp, const bff_yaml_node_t *def, bff_param_t *p)
{
    const char *type = "string";
    if (bff_yaml_get_str(sp->diag, def, "type", 0, &type) != 0)
        return -1;
    if (strcmp(type, "string") == 0)
        p->type = BFF_PARAM_STRING;
    else if (strcmp(type, "int") == 0 || strcmp(type, "integer") == 0)
        p->type = BFF_PARAM_INT;
    else if (strcmp(type, "number") == 0)
        p->type = BFF_PARAM_NUMBER;
    else if (strcmp(type, "bool") == 0 || strcmp(type, "boolean") == 0)
        p->type = BFF_PARAM_BOOL;
    else {
        bff_yaml_error(sp->diag, bff_yaml_get(def, "type"),
                       "unknown type '%s' (string, int, number, bool)", type);
        return -1;
    }
    return 0;
}

static int parse_number_key(struct spec_parser *sp, const bff_yaml_node_t *def, const char *key,
                            int *has, double *out)
{
    const char *s = NULL;
    if (bff_yaml_get_str(sp->diag, def, key, 0, &s) != 0)
        return -1;
    if (s == NULL)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) {
        bff_yaml_error(sp->diag, bff_yaml_get(def, key), "'%s' must be a number", key);
        return -1;
    }
    *has = 1;
    *out = v;
    return 0;
}

/* A default must pass the same checks a request value does, or every request without the
 * parameter would fail with 400. */
static int check_default(struct spec_parser *sp, const bff_yaml_node_t *at, const bff_param_t *p)
{
    const char *v = p->default_value, *problem = NULL;
    char *end;
    double d = 0;
    if (p->type == BFF_PARAM_BOOL) {
        if (strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "1") && strcmp(v, "0"))
            problem = "is not a boolean";
    } else if (p->type != BFF_PARAM_STRING) {
        d = strtod(v, &end);
        if (*v == '\0' || *end != '\0' || !isfinite(d) ||
            (p->type == BFF_PARAM_INT &&
             strspn(v + (v[0] == '-'), "0123456789") != strlen(v) - (v[0] == '-')))
            problem = p->type == BFF_PARAM_INT ? "is not an integer" : "is not a number";
        else if ((p->has_min && d < p->min) || (p->has_max && d > p->max))
            problem = "is outside min/max";
    }
    if (problem == NULL && p->max_length && strlen(v) > p->max_length)
        problem = "is longer than max_length";
    int in_enum = p->nenum == 0;
    for (size_t i = 0; i != p->nenum; ++i)
        in_enum |= strcmp(p->enum_values[i], v) == 0;
    if (problem == NULL && !in_enum)
        problem = "is not one of the enum values";
    if (problem == NULL)
        return 0;
    bff_yaml_error(sp->diag, at, "default '%s' of parameter '%s' %s", v, p->name, problem);
    return -1;
}

static int parse_param_def(struct spec_parser *sp, const bff_yaml_node_t *def, bff_param_t *p)
{
    static const char *const keys[] = {"type",       "required", "default",     "min", "max",
                                       "max_length", "enum",     "description", NULL};
    if (bff_yaml_check_map(sp->diag, def, "a parameter", keys) != 0)
        return -1;
    int ret = parse_param_type(sp, def, p);
    ret |= bff_yaml_get_bool(sp->diag, def, "required", &p->required);
    const char *dflt = NULL;
    ret |= bff_yaml_get_str(sp->diag, def, "default", 0, &dflt);
    if (dflt != NULL) {
        if (p->in_path) {
            bff_yaml_error(sp->diag, bff_yaml_get(def, "default"),
                           "path parameters have no default");
            ret = -1;
        }
        p->default_value = bff_strdup(dflt);
    }
    ret |= parse_number_key(sp, def, "min", &p->has_min, &p->min);
    ret |= parse_number_key(sp, def, "max", &p->has_max, &p->max);
    int64_t maxlen = 0;
    ret |= bff_yaml_get_int(sp->diag, def, "max_length", 0, 1, 1 << 20, &maxlen);
    p->max_length = (size_t)maxlen;
    const bff_yaml_node_t *en = bff_yaml_get(def, "enum");
    if (en != NULL) {
        if (en->kind != BFF_YAML_SEQ || en->size == 0) {
            bff_yaml_error(sp->diag, en, "'enum' must be a non-empty list");
            return -1;
        }
        p->enum_values = bff_calloc(en->size, sizeof(char *));
        for (size_t i = 0; i != en->size; ++i) {
            if (en->items[i]->kind != BFF_YAML_SCALAR) {
                bff_yaml_error(sp->diag, en->items[i], "enum values must be scalars");
                return -1;
            }
            p->enum_values[p->nenum++] = bff_strdup(en->items[i]->str);
        }
    }
    if (p->in_path && !p->required) {
        bff_yaml_error(sp->diag, bff_yaml_get(def, "required"),
                       "path parameters are always required");
        ret = -1;
    }
    if (ret == 0 && p->default_value != NULL)
        ret = check_default(sp, bff_yaml_get(def, "default"), p);
    return ret ? -1 : 0;
}

/* `params:` refines path parameters; `query:` declares query parameters. */
static int parse_params(struct spec_parser *sp, const bff_yaml_node_t *root)
{
    bff_spec_t *spec = sp->spec;
    int ret = 0;
    const bff_yaml_node_t *params = bff_yaml_get(root, "params");
    if (params != NULL) {
        if (params->kind != BFF_YAML_MAP) {
            bff_yaml_error(sp->diag, params, "'params' must be a mapping of path parameters");
            return -1;
        }
        for (size_t i = 0; i != params->size; ++i) {
            ssize_t idx = find_param(spec, params->keys[i]->str);
            if (idx < 0) {
                bff_yaml_error(sp->diag, params->keys[i], "'%s' is not a parameter of the path %s",
                               params->keys[i]->str, spec->route);
                ret = -1;
                continue;
            }
            ret |= parse_param_def(sp, params->items[i], spec->params + idx);
        }
    }
    const bff_yaml_node_t *query = bff_yaml_get(root, "query");
    if (query != NULL) {
        if (query->kind != BFF_YAML_MAP) {
            bff_yaml_error(sp->diag, query, "'query' must be a mapping of query parameters");
            return -1;
        }
        for (size_t i = 0; i != query->size; ++i) {
            const char *name = query->keys[i]->str;
            if (!bff_is_valid_name(name) || bff_is_reserved_root(name) ||
                find_param(spec, name) >= 0) {
                bff_yaml_error(sp->diag, query->keys[i],
                               "query parameter name '%s' is invalid, reserved or already used",
                               name);
                ret = -1;
                continue;
            }
            ret |= parse_param_def(sp, query->items[i], add_param(spec, name, 0));
        }
    }
    return ret;
}

static void note_request_header(void *ctx, const char *name)
{
    bff_spec_t *spec = ((struct spec_parser *)ctx)->spec;
    for (size_t i = 0; i != spec->nrequest_headers; ++i)
        if (strcmp(spec->request_headers[i], name) == 0)
            return;
    spec->request_headers =
        bff_realloc(spec->request_headers, (spec->nrequest_headers + 1) * sizeof(char *));
    spec->request_headers[spec->nrequest_headers++] = bff_strdup(name);
}

/* The roots an endpoint's templates and shapes may use: its parameters, `header`, its sources. */
static int resolve_root(void *ctx, const char *root)
{
    struct spec_parser *sp = ctx;
    if (find_param(sp->spec, root) >= 0 || strcmp(root, "header") == 0)
        return BFF_BIND_REQUEST;
    if (strcmp(root, "auth") == 0) { /* the verified principal's claims, in the request doc */
        sp->spec->reads_auth = 1;
        return BFF_BIND_REQUEST;
    }
    if (strcmp(root, "body") == 0) { /* the client's JSON body, in the request doc */
        if (strcmp(sp->spec->method, "GET") == 0) {
            sp->body_on_get = 1;
            return -1;
        }
        sp->spec->reads_body = 1;
        return BFF_BIND_REQUEST;
    }
    ssize_t src = find_source(sp->spec, root);
    return src < 0 ? -1 : (int)src;
}

static void note_path(void *ctx, bff_jpath_t *path, int binding)
{
    bff_binding_note_header(path, binding, note_request_header, ctx);
}

static int parse_sources(struct spec_parser *sp, const bff_yaml_node_t *sources)
{
    bff_spec_t *spec = sp->spec;
    if (sources == NULL)
        return 0;
    if (sources->kind != BFF_YAML_MAP) {
        bff_yaml_error(sp->diag, sources, "'sources' must be a mapping of name: source");
        return -1;
    }
    if (sources->size > BFF_SPEC_MAX_SOURCES) {
        bff_yaml_error(sp->diag, sources, "at most %d sources per endpoint", BFF_SPEC_MAX_SOURCES);
        return -1;
    }
    /* Names first, so templates may refer to sources declared later in the file. */
    bff_plan_t *plan = &spec->plan;
    plan->sources = bff_calloc(sources->size, sizeof(*plan->sources));
    int ret = 0;
    for (size_t i = 0; i != sources->size; ++i) {
        const char *name = sources->keys[i]->str;
        if (!bff_is_valid_name(name) || bff_is_reserved_root(name) || find_param(spec, name) >= 0) {
            bff_yaml_error(sp->diag, sources->keys[i],
                           "source name '%s' is invalid, reserved or the name of a parameter",
                           name);
            ret = -1;
        }
        plan->sources[i].name = bff_strdup(name);
        plan->sources[i].index = (unsigned)i;
    }
    plan->nsources = sources->size;
    bff_source_scope_t scope = {resolve_root, note_request_header, sp, sp->env->upstreams,
                                sp->env->nupstreams};
    for (size_t i = 0; i != sources->size; ++i)
        ret |= bff_source_parse(plan->sources + i, sources->keys[i], sources->items[i], &scope,
                                sp->diag);
    return ret;
}

static void note_meta_path(void *ctx, bff_jpath_t *path, int binding)
{
    bff_plan_note_meta_path(&((struct spec_parser *)ctx)->spec->plan, path, binding);
}

/* A template of the answer (status, headers): roots as in the response. */
static int parse_answer_template(struct spec_parser *sp, const bff_yaml_node_t *node,
                                 const char *what, bff_template_t *out)
{
    const char *err;
    size_t off;
    if (node->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(sp->diag, node, "%s must be a string", what);
        return -1;
    }
    if (bff_template_parse(node->str, out, &err, &off) != 0) {
        bff_yaml_error(sp->diag, node, "%s: %s at offset %zu", what, err, off);
        return -1;
    }
    for (size_t i = 0; i != out->nparts; ++i) {
        bff_template_part_t *part = out->parts + i;
        if (part->literal != NULL)
            continue;
        if ((part->binding = resolve_root(sp, part->ref.root)) == -1) {
            bff_yaml_error(sp->diag, node,
                           "%s refers to '%s', which is not a parameter or a source", what,
                           part->ref.root);
            return -1;
        }
        note_path(sp, &part->ref, part->binding);
    }
    return 0;
}

/* `status: 201` or `status: "{created.$status}"`; `headers: { Location: "/orders/{o.id}" }`. */
static int parse_answer(struct spec_parser *sp, const bff_yaml_node_t *root)
{
    bff_spec_t *spec = sp->spec;
    int ret = 0;
    spec->status = 200;
    const bff_yaml_node_t *st = bff_yaml_get(root, "status");
    if (st != NULL) {
        char *end;
        long v = st->kind == BFF_YAML_SCALAR ? strtol(st->str, &end, 10) : 0;
        if (st->kind == BFF_YAML_SCALAR && strchr(st->str, '{') != NULL) {
            ret |= parse_answer_template(sp, st, "status", &spec->status_tmpl);
        } else if (st->kind != BFF_YAML_SCALAR || *st->str == '\0' || *end != '\0' || v < 200 ||
                   v > 299) {
            bff_yaml_error(sp->diag, st,
                           "status must be a success status from 200 to 299 (failures come from "
                           "the sources), or a template like \"{created.$status}\"");
            ret = -1;
        } else {
            spec->status = (unsigned)v;
        }
    }
    const bff_yaml_node_t *h = bff_yaml_get(root, "headers");
    if (h == NULL)
        return ret;
    if (h->kind != BFF_YAML_MAP) {
        bff_yaml_error(sp->diag, h, "'headers' must be a mapping of name: template");
        return -1;
    }
    static const char *const owned[] = {"content-length",    "content-type",
                                        "transfer-encoding", "connection",
                                        "x-request-id",      "server-timing",
                                        "bff-partial",       "keep-alive",
                                        "upgrade",           "te",
                                        "trailer",           NULL};
    spec->headers = bff_calloc(h->size, sizeof(*spec->headers));
    for (size_t i = 0; i != h->size; ++i) {
        const char *name = h->keys[i]->str;
        int bad =
            *name == '\0' || strspn(name, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(name);
        for (const char *const *o = owned; *o && !bad; ++o)
            bad = strcasecmp(*o, name) == 0;
        if (bad) {
            bff_yaml_error(sp->diag, h->keys[i],
                           "'%s' is not a header name an endpoint may set (bffd sets framing, "
                           "content type and its own headers)",
                           name);
            ret = -1;
            continue;
        }
        bff_header_tmpl_t *ht = spec->headers + spec->nheaders++;
        ht->name = bff_strdup(name);
        ret |= parse_answer_template(sp, h->items[i], "header value", &ht->value);
    }
    return ret;
}

/* cache.tags: templates over the parameters and sources, rendered when an answer is stored,
 * so an operator can purge every entry of, say, one user. */
static int parse_cache_tags(struct spec_parser *sp, const bff_yaml_node_t *tags)
{
    if (tags == NULL)
        return 0;
    if (tags->kind != BFF_YAML_SEQ || tags->size > BFF_SPEC_MAX_CACHE_TAGS) {
        bff_yaml_error(sp->diag, tags,
                       "'tags' is a list of at most %d templates such as "
                       "\"user:{userId}\"",
                       BFF_SPEC_MAX_CACHE_TAGS);
        return -1;
    }
    bff_spec_t *spec = sp->spec;
    spec->cache_tags = bff_calloc(tags->size ? tags->size : 1, sizeof(bff_template_t));
    int ret = 0;
    for (size_t i = 0; i != tags->size; ++i) {
        if (parse_answer_template(sp, tags->items[i], "a cache tag", spec->cache_tags + i) != 0)
            ret = -1;
        else
            ++spec->ncache_tags;
    }
    return ret;
}

bff_spec_t *bff_spec_parse(const bff_yaml_node_t *root, const bff_spec_env_t *env, bff_diag_t *diag)
{
    static const char *const keys[] = {
        "endpoint",   "description", "params",  "query",      "timeout", "sources",
        "response",   "status",      "headers", "max_body",   "graphql", "cache",
        "respond_by", "auth",        "scopes",  "rate_limit", NULL};
    struct spec_parser sp = {.env = env, .diag = diag};
    if (bff_yaml_check_map(diag, root, "an endpoint spec", keys) != 0)
        return NULL;
    bff_spec_t *spec = sp.spec = bff_calloc(1, sizeof(*spec));
    spec->file = bff_strdup(root->file);
    spec->line = root->line, spec->column = root->column;
    const bff_yaml_node_t *ep = bff_yaml_get(root, "endpoint");
    int ret = 0;
    if (ep == NULL || ep->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(diag, ep ? ep : root, "missing 'endpoint: METHOD /path'");
        goto Error;
    }
    spec->line = ep->line, spec->column = ep->column;
    if (parse_endpoint_line(&sp, ep) != 0)
        goto Error;
    const char *desc = NULL;
    ret |= bff_yaml_get_str(diag, root, "description", 0, &desc);
    spec->description = desc ? bff_strdup(desc) : NULL;
    ret |= bff_yaml_get_duration_ms(diag, root, "timeout", &spec->timeout_ms);
    ret |= bff_yaml_get_duration_ms(diag, root, "respond_by", &spec->respond_by_ms);
    if (spec->respond_by_ms != 0 && spec->timeout_ms != 0 &&
        spec->respond_by_ms >= spec->timeout_ms) {
        bff_yaml_error(diag, bff_yaml_get(root, "respond_by"),
                       "respond_by must be shorter than the endpoint's timeout");
        ret = -1;
    }
    ret |= parse_params(&sp, root);
    ret |= parse_sources(&sp, bff_yaml_get(root, "sources"));
    if (ret == 0)
        ret |= bff_plan_order(&spec->plan, diag);
    const bff_yaml_node_t *response = bff_yaml_get(root, "response");
    const bff_yaml_node_t *graphql = bff_yaml_get(root, "graphql");
    if (graphql != NULL) {
        if (graphql->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(diag, graphql, "'graphql' is the text of one GraphQL operation");
            ret = -1;
        } else {
            spec->graphql = bff_strdup(graphql->str);
            spec->graphql_line = graphql->line, spec->graphql_column = graphql->column;
            spec->graphql_block = graphql->block;
        }
        if (response != NULL || bff_yaml_get(root, "sources") != NULL) {
            bff_yaml_error(diag, graphql,
                           "an endpoint with 'graphql' answers the operation's data: it has no "
                           "'sources' or 'response'");
            ret = -1;
        }
    } else if (response == NULL) {
        bff_yaml_error(diag, root, "missing 'response' (the shape of the JSON to return)");
        ret = -1;
    } else if ((spec->response = bff_shape_parse(response, resolve_root, &sp, diag)) == NULL) {
        ret = -1;
    }
    bff_shape_foreach_path(spec->response, note_path, &sp);
    ret |= parse_answer(&sp, root);
    ret |= bff_yaml_get_size(diag, root, "max_body", &spec->max_body);
    const bff_yaml_node_t *cache = bff_yaml_get(root, "cache");
    ret |= bff_access_parse(root, diag, &spec->access);
    if (spec->reads_auth && spec->access.auth == BFF_AUTH_NONE) {
        bff_diag_add(diag, spec->file, spec->line, spec->column,
                     "the endpoint reads auth.* but has no 'auth: required' (or optional)");
        ret = -1;
    }
    const bff_yaml_node_t *tags;
    ret |= bff_cache_policy_parse(cache, diag, &spec->cache, &tags);
    if (spec->cache.enabled && spec->cache.shared && spec->reads_auth) {
        bff_yaml_error(diag, cache,
                       "shared: true would serve one principal's answer to all, and this "
                       "endpoint reads auth.*");
        ret = -1;
    }
    ret |= parse_cache_tags(&sp, tags);
    if (spec->cache.enabled && strcmp(spec->method, "GET") != 0) {
        bff_yaml_error(diag, cache,
                       "only GET endpoints are cached; a %s is never answered from "
                       "a cache",
                       spec->method);
        ret = -1;
    } else if (spec->cache.enabled && spec->graphql != NULL) {
        bff_yaml_error(diag, cache,
                       "a stored GraphQL operation is not cached here: its sources' cache "
                       "applies (graph.yaml), and graph.yaml's cache covers /graphql queries");
        ret = -1;
    }
    if (bff_yaml_get(root, "max_body") != NULL && strcmp(spec->method, "GET") == 0) {
        bff_yaml_error(diag, bff_yaml_get(root, "max_body"),
                       "max_body is for endpoints that take a body (POST, PUT, PATCH, DELETE)");
        ret = -1;
    }
    if (sp.body_on_get) {
        bff_diag_add(diag, spec->file, spec->line, spec->column,
                     "GET requests carry no body: 'body' is for POST, PUT, PATCH and DELETE "
                     "endpoints");
        ret = -1;
    }
    /* Which sources' status and headers are read: the fetcher keeps those. */
    bff_plan_foreach_path(&spec->plan, note_meta_path, &sp);
    bff_shape_foreach_path(spec->response, note_meta_path, &sp);
    for (size_t i = 0; i != spec->status_tmpl.nparts; ++i)
        if (spec->status_tmpl.parts[i].literal == NULL)
            note_meta_path(&sp, &spec->status_tmpl.parts[i].ref,
                           spec->status_tmpl.parts[i].binding);
    for (size_t h = 0; h != spec->nheaders; ++h)
        for (size_t i = 0; i != spec->headers[h].value.nparts; ++i)
            if (spec->headers[h].value.parts[i].literal == NULL)
                note_meta_path(&sp, &spec->headers[h].value.parts[i].ref,
                               spec->headers[h].value.parts[i].binding);
    if (ret == 0)
        return spec;
Error:
    bff_spec_free(spec);
    return NULL;
}

void bff_spec_free(bff_spec_t *spec)
{
    if (spec == NULL)
        return;
    free(spec->graphql);
    bff_gql_document_free(spec->graphql_doc);
    for (size_t i = 0; i != spec->nsegments; ++i)
        free(spec->segments[i].literal);
    free(spec->segments);
    for (size_t i = 0; i != spec->nparams; ++i) {
        bff_param_t *p = spec->params + i;
        free(p->name);
        free(p->default_value);
        for (size_t j = 0; j != p->nenum; ++j)
            free(p->enum_values[j]);
        free(p->enum_values);
    }
    free(spec->params);
    bff_plan_dispose(&spec->plan);
    bff_template_dispose(&spec->status_tmpl);
    bff_access_dispose(&spec->access);
    for (size_t i = 0; i != spec->ncache_tags; ++i)
        bff_template_dispose(spec->cache_tags + i);
    free(spec->cache_tags);
    for (size_t i = 0; i != spec->nheaders; ++i) {
        free(spec->headers[i].name);
        bff_template_dispose(&spec->headers[i].value);
    }
    free(spec->headers);
    bff_shape_free(spec->response);
    for (size_t i = 0; i != spec->nrequest_headers; ++i)
        free(spec->request_headers[i]);
    free(spec->request_headers);
    free(spec->file);
    free(spec->method);
    free(spec->route);
    free(spec->description);
    free(spec);
}

int bff_spec_match(const bff_spec_t *spec, const char *path, size_t len, size_t (*values)[2])
{
    const char *p = path, *end = path + len;
    if (p == end || *p != '/')
        return 0;
    ++p;
    size_t np = 0;
    for (size_t i = 0; i != spec->nsegments; ++i) {
        const char *seg = p;
        while (p < end && *p != '/')
            ++p;
        size_t seglen = (size_t)(p - seg);
        const bff_path_segment_t *s = spec->segments + i;
        if (s->literal != NULL) {
            if (strlen(s->literal) != seglen || memcmp(s->literal, seg, seglen) != 0)
                return 0;
        } else {
            if (seglen == 0)
                return 0;
            values[np][0] = (size_t)(seg - path);
            values[np][1] = seglen;
            ++np;
        }
        if (i + 1 != spec->nsegments) {
            if (p == end)
                return 0;
            ++p;
        }
    }
    return p == end;
}

int bff_spec_same_route(const bff_spec_t *a, const bff_spec_t *b)
{
    if (a->nsegments != b->nsegments)
        return 0;
    for (size_t i = 0; i != a->nsegments; ++i) {
        const char *la = a->segments[i].literal, *lb = b->segments[i].literal;
        if ((la == NULL) != (lb == NULL) || (la != NULL && strcmp(la, lb) != 0))
            return 0;
    }
    return 1;
}
