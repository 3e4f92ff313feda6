/* Compiles one source from YAML: upstream reference, method, templates, policies and
 * iteration. Which roots its templates may use comes from the caller's scope. */
#include "compose/source.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_source_parser_t {
    bff_source_t *src;
    const bff_source_scope_t *scope;
    bff_diag_t *diag;
    int item_visible; /* `item`/`items` resolve (not while parsing `items:` itself) */
} source_parser_t;

static int resolve_root(void *ctx, const char *root)
{
    source_parser_t *sp = ctx;
    if (sp->item_visible && sp->src->mode != BFF_SOURCE_ONCE &&
        (strcmp(root, "item") == 0 || strcmp(root, "items") == 0))
        return BFF_BIND_ITEM;
    int binding = sp->scope->resolve(sp->scope->ctx, root);
    if (binding >= 0)
        sp->src->deps |= (uint64_t)1 << binding;
    return binding;
}

static void note_path(void *ctx, bff_jpath_t *path, int binding)
{
    source_parser_t *sp = ctx;
    bff_binding_note_header(path, binding, sp->scope->note_header, sp->scope->ctx);
}

static int parse_template(source_parser_t *sp, const bff_yaml_node_t *node, const char *what,
                          bff_template_t *out)
{
    if (node == NULL || node->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(sp->diag, node, "%s must be a string", what);
        return -1;
    }
    if (node->invalid) /* its ${VAR} was reported */
        return -1;
    const char *err;
    size_t off;
    if (bff_template_parse(node->str, out, &err, &off) != 0) {
        bff_yaml_error(sp->diag, node, "%s: %s at offset %zu", what, err, off);
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i != out->nparts; ++i) {
        bff_template_part_t *part = out->parts + i;
        if (part->literal != NULL)
            continue;
        if (strcmp(part->ref.root, "header") == 0 && part->ref.nsteps == 0) {
            bff_yaml_error(sp->diag, node, "write {header.Name} to use a request header");
            ret = -1;
            continue;
        }
        part->binding = resolve_root(sp, part->ref.root);
        if (part->binding == -1) {
            bff_yaml_error(sp->diag, node,
                           "%s refers to '%s', which is not a parameter, a source or 'header'",
                           what, part->ref.root);
            ret = -1;
        }
        note_path(sp, &part->ref, part->binding);
    }
    return ret;
}

static int parse_upstream_ref(source_parser_t *sp, const bff_yaml_node_t *def)
{
    const char *name = NULL;
    if (bff_yaml_get_str(sp->diag, def, "upstream", 1, &name) != 0)
        return -1;
    for (size_t i = 0; i != sp->scope->nupstreams; ++i) {
        if (strcmp(sp->scope->upstreams[i], name) == 0) {
            sp->src->upstream = i;
            return 0;
        }
    }
    bff_yaml_error(sp->diag, bff_yaml_get(def, "upstream"),
                   "source '%s' uses upstream '%s', which the profile does not define",
                   sp->src->name, name);
    return -1;
}

static int parse_headers(source_parser_t *sp, const bff_yaml_node_t *h)
{
    bff_source_t *src = sp->src;
    if (h == NULL)
        return 0;
    if (h->kind != BFF_YAML_MAP) {
        bff_yaml_error(sp->diag, h, "'headers' must be a mapping of name: template");
        return -1;
    }
    int ret = 0;
    src->headers = bff_calloc(h->size, sizeof(*src->headers));
    for (size_t i = 0; i != h->size; ++i) {
        bff_header_tmpl_t *ht = src->headers + src->nheaders++;
        ht->name = bff_strdup(h->keys[i]->str);
        ret |= parse_template(sp, h->items[i], "header value", &ht->value);
    }
    return ret;
}

static int parse_iteration(source_parser_t *sp, const bff_yaml_node_t *def)
{
    bff_source_t *src = sp->src;
    const bff_yaml_node_t *fe = bff_yaml_get(def, "for_each"), *b = bff_yaml_get(def, "batch");
    if (fe == NULL && b == NULL)
        return 0;
    if (fe != NULL && b != NULL) {
        src->mode = BFF_SOURCE_FOR_EACH;
        bff_yaml_error(sp->diag, b, "a source is either for_each or batch, not both");
        return -1;
    }
    const bff_yaml_node_t *node = fe ? fe : b;
    static const char *const fe_keys[] = {"items", "concurrency", "max", NULL};
    static const char *const b_keys[] = {"items", "separator", "max", NULL};
    src->mode = fe ? BFF_SOURCE_FOR_EACH : BFF_SOURCE_BATCH; /* even on error: `item` is known */
    if (bff_yaml_check_map(sp->diag, node, fe ? "for_each" : "batch", fe ? fe_keys : b_keys) != 0)
        return -1;
    const char *items = NULL, *sep = ",";
    int64_t conc = 4, max = 50;
    int ret = bff_yaml_get_str(sp->diag, node, "items", 1, &items);
    ret |= bff_yaml_get_int(sp->diag, node, "concurrency", 0, 1, 64, &conc);
    ret |= bff_yaml_get_int(sp->diag, node, "max", 0, 1, 1000, &max);
    ret |= bff_yaml_get_str(sp->diag, node, "separator", 0, &sep);
    if (ret != 0 || items == NULL)
        return -1;
    src->concurrency = (unsigned)conc;
    src->max_items = (unsigned)max;
    src->separator = bff_strdup(sep);
    const char *err;
    if (bff_jpath_parse(items, strlen(items), &src->items, &err) != 0) {
        bff_yaml_error(sp->diag, bff_yaml_get(node, "items"), "items: %s", err);
        return -1;
    }
    /* The list cannot be the source's own `item`. */
    sp->item_visible = 0;
    src->items_binding = resolve_root(sp, src->items.root);
    sp->item_visible = 1;
    if (src->items_binding == -1) {
        bff_yaml_error(sp->diag, bff_yaml_get(node, "items"),
                       "items refers to '%s', which is not a source or parameter", src->items.root);
        return -1;
    }
    note_path(sp, &src->items, src->items_binding);
    return 0;
}

/* Roots in an on_status body: like the response's, without making dependencies (the answer is
 * shaped after the run, from whatever arrived). */
static int resolve_answer_root(void *ctx, const char *root)
{
    source_parser_t *sp = ctx;
    return sp->scope->resolve(sp->scope->ctx, root);
}

/* "404" or "4xx" (a class, stored as 4). */
static int parse_status_key(const char *k, unsigned *out)
{
    if (strlen(k) != 3 || k[0] < '1' || k[0] > '5')
        return -1;
    if (k[1] == 'x' && k[2] == 'x') {
        *out = (unsigned)(k[0] - '0');
        return 0;
    }
    if (!isdigit((unsigned char)k[1]) || !isdigit((unsigned char)k[2]))
        return -1;
    *out = (unsigned)atoi(k);
    return 0;
}

static int parse_status_value(const char *s, unsigned *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 200 || v > 599)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_rule(source_parser_t *sp, const bff_yaml_node_t *node, bff_status_rule_t *rule)
{
    if (node->kind == BFF_YAML_SCALAR && !node->quoted &&
        (strcmp(node->str, "null") == 0 || strcmp(node->str, "~") == 0 || node->len == 0)) {
        rule->action = BFF_STATUS_NULL;
        return 0;
    }
    if (node->kind == BFF_YAML_SCALAR && strcmp(node->str, "fail") == 0) {
        rule->action = BFF_STATUS_FAIL;
        return 0;
    }
    if (node->kind == BFF_YAML_SCALAR && strcmp(node->str, "respond") == 0) {
        rule->action = BFF_STATUS_RESPOND;
        return 0;
    }
    rule->action = BFF_STATUS_RESPOND;
    if (node->kind == BFF_YAML_SCALAR && parse_status_value(node->str, &rule->respond_status) == 0)
        return 0;
    static const char *const keys[] = {"respond", "body", NULL};
    if (node->kind != BFF_YAML_MAP) {
        bff_yaml_error(sp->diag, node,
                       "an on_status value is null, fail, respond, a status to respond with, or "
                       "{ respond: STATUS, body: SHAPE }");
        return -1;
    }
    if (bff_yaml_check_map(sp->diag, node, "an on_status rule", keys) != 0)
        return -1;
    const bff_yaml_node_t *st = bff_yaml_get(node, "respond");
    if (st != NULL && (st->kind != BFF_YAML_SCALAR ||
                       (strcmp(st->str, "same") != 0 &&
                        parse_status_value(st->str, &rule->respond_status) != 0))) {
        bff_yaml_error(sp->diag, st, "respond must be a status from 200 to 599, or same");
        return -1;
    }
    const bff_yaml_node_t *body = bff_yaml_get(node, "body");
    if (body != NULL &&
        (rule->body = bff_shape_parse(body, resolve_answer_root, sp, sp->diag)) == NULL)
        return -1;
    bff_shape_foreach_path(rule->body, note_path, sp);
    return 0;
}

static int parse_on_status(source_parser_t *sp, const bff_yaml_node_t *node)
{
    bff_source_t *src = sp->src;
    if (node == NULL)
        return 0;
    if (node->kind != BFF_YAML_MAP) {
        bff_yaml_error(sp->diag, node, "on_status must be a mapping of status: action");
        return -1;
    }
    src->on_status = bff_calloc(node->size, sizeof(*src->on_status));
    int ret = 0;
    /* Exact codes first, so "404: null" beats "4xx: respond" whatever the order written. */
    for (int pass = 0; pass != 2; ++pass) {
        for (size_t i = 0; i != node->size; ++i) {
            unsigned code;
            if (parse_status_key(node->keys[i]->str, &code) != 0) {
                if (pass == 0) {
                    bff_yaml_error(sp->diag, node->keys[i],
                                   "on_status keys are statuses (404) or classes (4xx), not '%s'",
                                   node->keys[i]->str);
                    ret = -1;
                }
                continue;
            }
            if ((code >= 100) != (pass == 0))
                continue;
            bff_status_rule_t *rule = src->on_status + src->non_status++;
            rule->status = code;
            ret |= parse_rule(sp, node->items[i], rule);
        }
    }
    return ret;
}

static int parse_success(source_parser_t *sp, const bff_yaml_node_t *node)
{
    bff_source_t *src = sp->src;
    if (node == NULL)
        return 0;
    if (node->kind != BFF_YAML_SEQ || node->size == 0) {
        bff_yaml_error(sp->diag, node, "success must be a non-empty list of statuses");
        return -1;
    }
    src->success = bff_calloc(node->size, sizeof(unsigned));
    for (size_t i = 0; i != node->size; ++i) {
        unsigned v;
        if (node->items[i]->kind != BFF_YAML_SCALAR ||
            parse_status_value(node->items[i]->str, &v) != 0) {
            bff_yaml_error(sp->diag, node->items[i], "success lists statuses from 200 to 599");
            return -1;
        }
        src->success[src->nsuccess++] = v;
    }
    return 0;
}

int bff_source_parse(bff_source_t *src, const bff_yaml_node_t *key, const bff_yaml_node_t *def,
                     const bff_source_scope_t *scope, bff_diag_t *diag)
{
    static const char *const keys[] = {"upstream",     "method",    "path",     "headers",
                                       "body",         "optional",  "fallback", "timeout",
                                       "retries",      "for_each",  "batch",    "success",
                                       "content_type", "on_status", "cache",    NULL};
    source_parser_t sp = {.src = src, .scope = scope, .diag = diag, .item_visible = 1};
    src->file = key->file, src->line = key->line, src->column = key->column;
    if (bff_yaml_check_map(diag, def, "a source", keys) != 0)
        return -1;
    int ret = parse_upstream_ref(&sp, def);
    const char *method = "GET";
    ret |= bff_yaml_get_str(diag, def, "method", 0, &method);
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};
    int known = 0;
    for (const char *const *m = methods; *m != NULL; ++m)
        known |= strcmp(*m, method) == 0;
    if (!known) {
        bff_yaml_error(diag, bff_yaml_get(def, "method"),
                       "method must be GET, HEAD, POST, PUT, PATCH or DELETE, not '%s'", method);
        ret = -1;
    }
    src->method = bff_strdup(method);
    ret |= bff_yaml_get_bool(diag, def, "optional", &src->optional);
    ret |= bff_yaml_get_duration_ms(diag, def, "timeout", &src->timeout_ms);
    int64_t retries = 0;
    ret |= bff_yaml_get_int(diag, def, "retries", 0, 0, 5, &retries);
    src->retries = (unsigned)retries;
    ret |= parse_iteration(&sp, def);
    const bff_yaml_node_t *path = bff_yaml_get(def, "path");
    if (path == NULL) {
        bff_yaml_error(diag, def, "source '%s' needs a 'path'", src->name);
        ret = -1;
    } else if (parse_template(&sp, path, "path", &src->path) != 0) {
        ret = -1;
    } else if (src->path.text[0] != '/') {
        bff_yaml_error(diag, path, "path must start with '/' (the upstream's URL is prepended)");
        ret = -1;
    }
    ret |= parse_headers(&sp, bff_yaml_get(def, "headers"));
    const bff_yaml_node_t *cache = bff_yaml_get(def, "cache");
    ret |= bff_cache_policy_parse(cache, diag, &src->cache, NULL);
    if (src->cache.enabled && strcmp(src->method, "GET") != 0) {
        bff_yaml_error(diag, cache, "only GET sources are cached, not %s", src->method);
        ret = -1;
    } else if (src->cache.enabled &&
               (src->cache.has_swr || src->cache.has_sie || src->cache.has_client)) {
        bff_yaml_error(diag, cache,
                       "a source's cache takes ttl and shared; stale windows and client_max_age "
                       "belong to the endpoint's cache");
        ret = -1;
    }
    const bff_yaml_node_t *body = bff_yaml_get(def, "body");
    if (body != NULL && (src->body = bff_shape_parse(body, resolve_root, &sp, diag)) == NULL)
        ret = -1;
    bff_shape_foreach_path(src->body, note_path, &sp);
    if (src->cache.enabled && src->body != NULL) {
        bff_yaml_error(diag, cache, "a source with a body is not cached");
        ret = -1;
    }
    const bff_yaml_node_t *fallback = bff_yaml_get(def, "fallback");
    if (fallback != NULL) {
        if (!src->optional) {
            bff_yaml_error(diag, fallback, "'fallback' only makes sense with 'optional: true'");
            ret = -1;
        }
        src->fallback_json = bff_shape_yaml_to_json(fallback);
    }
    ret |= parse_success(&sp, bff_yaml_get(def, "success"));
    ret |= parse_on_status(&sp, bff_yaml_get(def, "on_status"));
    const char *ct = "json";
    ret |= bff_yaml_get_str(diag, def, "content_type", 0, &ct);
    if (strcmp(ct, "any") == 0) {
        src->any_content_type = 1;
    } else if (strcmp(ct, "json") != 0) {
        bff_yaml_error(diag, bff_yaml_get(def, "content_type"),
                       "content_type must be json or any, not '%s'", ct);
        ret = -1;
    }
    if (src->deps & ((uint64_t)1 << src->index)) {
        bff_yaml_error(diag, key, "source '%s' refers to itself", src->name);
        ret = -1;
    }
    return ret;
}

void bff_source_dispose(bff_source_t *src)
{
    free(src->name);
    free(src->method);
    bff_template_dispose(&src->path);
    for (size_t i = 0; i != src->nheaders; ++i) {
        free(src->headers[i].name);
        bff_template_dispose(&src->headers[i].value);
    }
    free(src->headers);
    bff_shape_free(src->body);
    free(src->fallback_json);
    bff_jpath_dispose(&src->items);
    free(src->separator);
    for (size_t i = 0; i != src->non_status; ++i)
        bff_shape_free(src->on_status[i].body);
    free(src->on_status);
    free(src->success);
}

int bff_source_is_success(const bff_source_t *src, long status)
{
    if (src->nsuccess == 0)
        return status >= 200 && status <= 299;
    for (size_t i = 0; i != src->nsuccess; ++i)
        if ((long)src->success[i] == status)
            return 1;
    return 0;
}

bff_status_action_t bff_source_status_action(const bff_source_t *src, long status,
                                             const bff_status_rule_t **rule,
                                             unsigned *respond_status)
{
    *rule = NULL;
    for (size_t i = 0; i != src->non_status; ++i) {
        const bff_status_rule_t *r = src->on_status + i;
        if ((long)r->status == status || (r->status < 10 && (long)r->status == status / 100)) {
            *rule = r;
            *respond_status = r->respond_status ? r->respond_status : (unsigned)status;
            return r->action;
        }
    }
    if (src->optional)
        return BFF_STATUS_FAIL;
    switch (status) {
    case 400:
    case 401:
    case 403:
    case 404:
    case 409:
    case 410:
    case 422:
        *respond_status = (unsigned)status;
        return BFF_STATUS_RESPOND;
    case 429: /* the upstream throttles bffd: not the client's doing */
        *respond_status = 503;
        return BFF_STATUS_RESPOND;
    default:
        return BFF_STATUS_FAIL;
    }
}

int bff_method_is_idempotent(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}
