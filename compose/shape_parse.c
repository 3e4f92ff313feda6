/* Compiles `response:` / `body:` YAML into a shape tree. Plain strings are paths, strings with
 * {refs} are templates, `$`-keyed mappings are values with a pipeline, other mappings nest. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose/shape.h"

struct shape_parser {
    bff_shape_resolve_cb resolve;
    void *resolve_ctx;
    bff_diag_t *diag;
    int in_select; /* roots name fields of the element */
};

static bff_shape_t *parse_any(struct shape_parser *p, const bff_yaml_node_t *node, unsigned depth);

static bff_shape_t *new_shape(bff_shape_kind_t kind, const bff_yaml_node_t *at)
{
    bff_shape_t *s = bff_calloc(1, sizeof(*s));
    s->kind = kind;
    s->file = at->file, s->line = at->line, s->column = at->column;
    s->limit = -1;
    s->binding = -1;
    s->filter.ref_binding = -1;
    return s;
}

static const char *skip_digits(const char *s)
{
    while (isdigit((unsigned char)*s))
        ++s;
    return s;
}

/* true, false, null or a number as JSON spells it (strtod also takes 0x1F, 01, 1., -inf). */
static int is_json_literal(const char *s)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "null") == 0)
        return 1;
    if (*s == '-')
        ++s;
    if (!isdigit((unsigned char)*s))
        return 0;
    s = *s == '0' ? s + 1 : skip_digits(s);
    if (*s == '.') {
        if (!isdigit((unsigned char)s[1]))
            return 0;
        s = skip_digits(s + 1);
    }
    if (*s == 'e' || *s == 'E') {
        if (s[1] == '+' || s[1] == '-')
            ++s;
        if (!isdigit((unsigned char)s[1]))
            return 0;
        s = skip_digits(s + 1);
    }
    return *s == '\0';
}

static void write_yaml_json(const bff_yaml_node_t *node, bff_jwrite_t *w)
{
    switch (node->kind) {
    case BFF_YAML_SCALAR:
        if (!node->quoted && (strcmp(node->str, "~") == 0 || node->len == 0))
            bff_jwrite_null(w);
        else if (!node->quoted && is_json_literal(node->str))
            bff_jwrite_raw(w, node->str, node->len);
        else
            bff_jwrite_str(w, node->str, node->len);
        break;
    case BFF_YAML_MAP:
        bff_jwrite_open(w, '{');
        for (size_t i = 0; i != node->size; ++i) {
            bff_jwrite_key(w, node->keys[i]->str, node->keys[i]->len);
            write_yaml_json(node->items[i], w);
        }
        bff_jwrite_close(w, '}');
        break;
    case BFF_YAML_SEQ:
        bff_jwrite_open(w, '[');
        for (size_t i = 0; i != node->size; ++i)
            write_yaml_json(node->items[i], w);
        bff_jwrite_close(w, ']');
        break;
    }
}

char *bff_shape_yaml_to_json(const bff_yaml_node_t *node)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, 1 << 20);
    write_yaml_json(node, &w);
    char *s = bff_strndup(w.buf, w.len);
    bff_jwrite_dispose(&w);
    return s;
}

static int resolve_path(struct shape_parser *p, const bff_yaml_node_t *at, bff_jpath_t *path)
{
    if (p->in_select)
        return BFF_BIND_ELEMENT;
    int b = p->resolve(p->resolve_ctx, path->root);
    if (b == -1)
        bff_yaml_error(p->diag, at, "'%s' is not a source, a parameter or 'header'", path->root);
    return b;
}

static bff_shape_t *parse_path_string(struct shape_parser *p, const bff_yaml_node_t *node,
                                      const char *text)
{
    bff_shape_t *s = new_shape(BFF_SHAPE_PATH, node);
    const char *err;
    if (strcmp(text, "@") == 0 && p->in_select) {
        s->binding = BFF_BIND_ELEMENT; /* the element itself: empty path */
        s->path.text = bff_strdup("@");
        s->path.root = bff_strdup("@");
        return s;
    }
    if (bff_jpath_parse(text, strlen(text), &s->path, &err) != 0) {
        bff_yaml_error(p->diag, node, "bad path '%s': %s", text, err);
        free(s);
        return NULL;
    }
    if ((s->binding = resolve_path(p, node, &s->path)) == -1) {
        bff_shape_free(s);
        return NULL;
    }
    return s;
}

static bff_shape_t *parse_template_string(struct shape_parser *p, const bff_yaml_node_t *node)
{
    bff_shape_t *s = new_shape(BFF_SHAPE_TEMPLATE, node);
    const char *err;
    size_t off;
    if (bff_template_parse(node->str, &s->tmpl, &err, &off) != 0) {
        bff_yaml_error(p->diag, node, "bad template: %s at offset %zu", err, off);
        free(s);
        return NULL;
    }
    for (size_t i = 0; i != s->tmpl.nparts; ++i) {
        bff_template_part_t *part = s->tmpl.parts + i;
        if (part->literal == NULL && (part->binding = resolve_path(p, node, &part->ref)) == -1) {
            bff_shape_free(s);
            return NULL;
        }
    }
    return s;
}

static bff_shape_t *parse_scalar(struct shape_parser *p, const bff_yaml_node_t *node)
{
    if (node->invalid) /* its ${VAR} was reported */
        return NULL;
    if (!node->quoted && is_json_literal(node->str)) {
        bff_shape_t *s = new_shape(BFF_SHAPE_LITERAL, node);
        s->literal_json = bff_shape_yaml_to_json(node);
        return s;
    }
    if (strchr(node->str, '{') == NULL && strchr(node->str, '}') == NULL)
        return parse_path_string(p, node, node->str);
    return parse_template_string(p, node);
}

static bff_shape_t *parse_object(struct shape_parser *p, const bff_yaml_node_t *node,
                                 unsigned depth)
{
    bff_shape_t *s = new_shape(BFF_SHAPE_OBJECT, node);
    s->keys = bff_calloc(node->size, sizeof(char *));
    s->fields = bff_calloc(node->size, sizeof(bff_shape_t *));
    int failed = 0;
    for (size_t i = 0; i != node->size; ++i) {
        s->keys[s->nfields] = bff_strdup(node->keys[i]->str);
        bff_shape_t *child = parse_any(p, node->items[i], depth + 1);
        if (child == NULL) {
            free(s->keys[s->nfields]);
            failed = 1;
            continue;
        }
        s->fields[s->nfields++] = child;
    }
    if (failed) {
        bff_shape_free(s);
        return NULL;
    }
    return s;
}

static char **parse_name_list(struct shape_parser *p, const bff_yaml_node_t *node, const char *what,
                              size_t *n)
{
    if (node->kind != BFF_YAML_SEQ) {
        bff_yaml_error(p->diag, node, "%s must be a list of field names", what);
        return NULL;
    }
    char **list = bff_calloc(node->size, sizeof(char *));
    for (size_t i = 0; i != node->size; ++i) {
        if (node->items[i]->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(p->diag, node->items[i], "%s entries must be field names", what);
            for (size_t j = 0; j != i; ++j)
                free(list[j]);
            free(list);
            return NULL;
        }
        list[i] = bff_strdup(node->items[i]->str);
    }
    *n = node->size;
    return list;
}

/* `$select: [id, name]` or `$select: {id: id, label: name}`, relative to each element. */
static bff_shape_t *parse_select(struct shape_parser *p, const bff_yaml_node_t *node,
                                 unsigned depth)
{
    int saved = p->in_select;
    p->in_select = 1;
    bff_shape_t *s = NULL;
    if (node->kind == BFF_YAML_SEQ) {
        s = new_shape(BFF_SHAPE_OBJECT, node);
        s->keys = bff_calloc(node->size, sizeof(char *));
        s->fields = bff_calloc(node->size, sizeof(bff_shape_t *));
        for (size_t i = 0; i != node->size; ++i) {
            bff_shape_t *child = NULL;
            if (node->items[i]->kind == BFF_YAML_SCALAR)
                child = parse_path_string(p, node->items[i], node->items[i]->str);
            else
                bff_yaml_error(p->diag, node->items[i], "$select list entries must be field names");
            if (child == NULL) {
                bff_shape_free(s);
                s = NULL;
                break;
            }
            s->keys[s->nfields] = bff_strdup(node->items[i]->str);
            s->fields[s->nfields++] = child;
        }
    } else if (node->kind == BFF_YAML_MAP) {
        s = parse_object(p, node, depth);
    } else {
        bff_yaml_error(p->diag, node, "$select must be a list of fields or a mapping");
    }
    p->in_select = saved;
    return s;
}

static int parse_filter(struct shape_parser *p, const bff_yaml_node_t *node, bff_shape_t *s)
{
    static const struct {
        const char *text;
        bff_filter_op_t op;
    } ops[] = {{"==", BFF_FILTER_EQ}, {"!=", BFF_FILTER_NE}, {"<=", BFF_FILTER_LE},
               {">=", BFF_FILTER_GE}, {"<", BFF_FILTER_LT},  {">", BFF_FILTER_GT}};
    if (node->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(p->diag, node, "$filter must read 'field OP value' or 'field exists'");
        return -1;
    }
    const char *text = node->str, *sp = strchr(text, ' ');
    if (sp == NULL)
        goto Bad;
    const char *err;
    if (bff_jpath_parse(text, (size_t)(sp - text), &s->filter.path, &err) != 0)
        goto Bad;
    while (*sp == ' ')
        ++sp;
    if (strcmp(sp, "exists") == 0) {
        s->filter.op = BFF_FILTER_EXISTS;
        return 0;
    }
    for (size_t i = 0; i != sizeof(ops) / sizeof(ops[0]); ++i) {
        size_t n = strlen(ops[i].text);
        if (strncmp(sp, ops[i].text, n) != 0 || sp[n] != ' ')
            continue;
        const char *v = sp + n;
        while (*v == ' ')
            ++v;
        if (*v == '\0')
            goto Bad;
        s->filter.op = ops[i].op;
        size_t vl = strlen(v);
        if (vl > 2 && v[0] == '{' && v[vl - 1] == '}' && memchr(v + 1, '{', vl - 2) == NULL) {
            /* `rating >= {minRating}`: a parameter's (or a source's) value */
            if (bff_jpath_parse(v + 1, vl - 2, &s->filter.ref, &err) != 0) {
                bff_yaml_error(p->diag, node, "$filter value '%s': %s", v, err);
                return -1;
            }
            if ((s->filter.ref_binding = p->resolve(p->resolve_ctx, s->filter.ref.root)) == -1) {
                bff_yaml_error(p->diag, node,
                               "$filter value refers to '%s', which is not a parameter, a source "
                               "or 'header'",
                               s->filter.ref.root);
                bff_jpath_dispose(&s->filter.ref); /* freed only with a binding, later */
                return -1;
            }
            return 0;
        }
        bff_jwrite_t w;
        bff_jwrite_init(&w, 32, 4096);
        size_t vlen = strlen(v);
        if (is_json_literal(v))
            bff_jwrite_raw(&w, v, vlen);
        else if (vlen >= 2 && (v[0] == '\'' || v[0] == '"') && v[vlen - 1] == v[0])
            bff_jwrite_str(&w, v + 1, vlen - 2);
        else
            bff_jwrite_str(&w, v, vlen);
        s->filter.value_json = bff_strndup(w.buf, w.len);
        bff_jwrite_dispose(&w);
        bff_jdoc_scan(&s->filter.value, s->filter.value_json, strlen(s->filter.value_json), 0, 0,
                      NULL, NULL);
        return 0;
    }
Bad:
    bff_yaml_error(
        p->diag, node,
        "$filter must read 'field OP value' (OP one of == != < <= > >=) or 'field exists'");
    return -1;
}

/* `$sort: -date` or `$sort: [-date, name]`: fields of the elements, '-' for descending. */
static int parse_sort(struct shape_parser *p, const bff_yaml_node_t *node, bff_shape_t *s)
{
    size_t n = node->kind == BFF_YAML_SEQ ? node->size : 1;
    if ((node->kind != BFF_YAML_SCALAR && node->kind != BFF_YAML_SEQ) || n == 0 || n > 8) {
        bff_yaml_error(p->diag, node,
                       "$sort must be a field or a list of up to 8 fields, each "
                       "with '-' in front for descending order");
        return -1;
    }
    s->sort = bff_calloc(n, sizeof(*s->sort));
    s->sort_desc = bff_calloc(n, sizeof(int));
    for (size_t i = 0; i != n; ++i) {
        const bff_yaml_node_t *k = node->kind == BFF_YAML_SEQ ? node->items[i] : node;
        const char *err;
        if (k->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(p->diag, k, "$sort keys are field names");
            return -1;
        }
        const char *text = k->str;
        if (*text == '-' || *text == '+')
            s->sort_desc[i] = *text++ == '-';
        if (bff_jpath_parse(text, strlen(text), s->sort + s->nsort, &err) != 0 ||
            s->sort[s->nsort].multi) {
            bff_yaml_error(p->diag, k, "$sort key '%s': %s", k->str,
                           s->sort[s->nsort].multi ? "one value per element, not a list" : err);
            if (s->sort[s->nsort].multi)
                bff_jpath_dispose(s->sort + s->nsort);
            return -1;
        }
        ++s->nsort;
    }
    return 0;
}

static int parse_format(struct shape_parser *p, const bff_yaml_node_t *node, bff_shape_t *s)
{
    static const struct {
        const char *name;
        bff_format_t f;
    } formats[] = {{"date", BFF_FORMAT_DATE},
                   {"string", BFF_FORMAT_STRING},
                   {"number", BFF_FORMAT_NUMBER},
                   {"upper", BFF_FORMAT_UPPER},
                   {"lower", BFF_FORMAT_LOWER}};
    for (size_t i = 0; node->kind == BFF_YAML_SCALAR && i != sizeof(formats) / sizeof(formats[0]);
         ++i) {
        if (strcmp(node->str, formats[i].name) == 0) {
            s->format = formats[i].f;
            return 0;
        }
    }
    bff_yaml_error(p->diag, node, "$format must be one of date, string, number, upper, lower");
    return -1;
}

static int parse_merge(struct shape_parser *p, const bff_yaml_node_t *map, bff_shape_t *s,
                       unsigned depth)
{
    const bff_yaml_node_t *parts = bff_yaml_get(map, "$merge");
    if (parts->kind != BFF_YAML_SEQ || parts->size < 2) {
        bff_yaml_error(p->diag, parts, "$merge must be a list of at least two values");
        return -1;
    }
    s->kind = BFF_SHAPE_MERGE;
    s->parts = bff_calloc(parts->size, sizeof(bff_shape_t *));
    for (size_t i = 0; i != parts->size; ++i) {
        bff_shape_t *part = parse_any(p, parts->items[i], depth + 1);
        if (part == NULL)
            return -1;
        s->parts[s->nparts++] = part;
    }
    const bff_yaml_node_t *policy = bff_yaml_get(map, "$policy");
    const char *name = policy == NULL ? "deep" : policy->kind == BFF_YAML_SCALAR ? policy->str : "";
    if (strcmp(name, "replace") == 0)
        s->policy = BFF_MERGE_REPLACE;
    else if (strcmp(name, "deep") == 0)
        s->policy = BFF_MERGE_DEEP;
    else if (strcmp(name, "append") == 0)
        s->policy = BFF_MERGE_APPEND;
    else if (strcmp(name, "keyed") == 0)
        s->policy = BFF_MERGE_KEYED;
    else {
        bff_yaml_error(p->diag, policy, "$policy must be replace, deep, append or keyed");
        return -1;
    }
    const bff_yaml_node_t *key = bff_yaml_get(map, "$key");
    if ((s->policy == BFF_MERGE_KEYED) != (key != NULL)) {
        bff_yaml_error(p->diag, key ? key : policy,
                       "$key (the field that identifies array elements) goes with $policy: keyed");
        return -1;
    }
    if (key != NULL && key->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(p->diag, key, "$key must be a field name");
        return -1;
    }
    if (key != NULL)
        s->merge_key = bff_strdup(key->str);
    return 0;
}

static int parse_value_source(struct shape_parser *p, const bff_yaml_node_t *map, bff_shape_t *s,
                              unsigned depth)
{
    const bff_yaml_node_t *from = bff_yaml_get(map, "$from"), *value = bff_yaml_get(map, "$value"),
                          *tmpl = bff_yaml_get(map, "$template"),
                          *merge = bff_yaml_get(map, "$merge");
    int n = (from != NULL) + (value != NULL) + (tmpl != NULL) + (merge != NULL);
    if (n != 1) {
        bff_yaml_error(p->diag, map,
                       "a $-value needs exactly one of $from, $value, $template, $merge");
        return -1;
    }
    if (merge != NULL)
        return parse_merge(p, map, s, depth);
    const bff_yaml_node_t *stray = bff_yaml_get(map, "$policy");
    if (stray != NULL || (stray = bff_yaml_get(map, "$key")) != NULL) {
        bff_yaml_error(p->diag, stray, "$policy and $key only apply to $merge");
        return -1;
    }
    if (value != NULL) {
        s->kind = BFF_SHAPE_LITERAL;
        s->literal_json = bff_shape_yaml_to_json(value);
        return 0;
    }
    const bff_yaml_node_t *text = from ? from : tmpl;
    if (text->kind != BFF_YAML_SCALAR) {
        bff_yaml_error(p->diag, text, "%s must be a string", from ? "$from" : "$template");
        return -1;
    }
    /* A $template is always text, even without {refs}; only plain strings double as paths. */
    bff_shape_t *inner =
        from ? parse_path_string(p, text, text->str) : parse_template_string(p, text);
    if (inner == NULL)
        return -1;
    /* Adopt the inner value's payload. */
    s->kind = inner->kind;
    s->path = inner->path;
    s->binding = inner->binding;
    s->tmpl = inner->tmpl;
    s->literal_json = inner->literal_json;
    free(inner);
    return 0;
}

static bff_shape_t *parse_value(struct shape_parser *p, const bff_yaml_node_t *map, unsigned depth)
{
    static const char *const keys[] = {
        "$from",  "$value", "$template", "$merge", "$policy", "$key",    "$filter",  "$sort",
        "$limit", "$count", "$select",   "$allow", "$deny",   "$format", "$default", NULL};
    if (bff_yaml_check_map(p->diag, map, "a $-value", keys) != 0)
        return NULL;
    bff_shape_t *s = new_shape(BFF_SHAPE_PATH, map);
    int ret = parse_value_source(p, map, s, depth);
    const bff_yaml_node_t *n;
    if ((n = bff_yaml_get(map, "$filter")) != NULL)
        ret |= parse_filter(p, n, s);
    if ((n = bff_yaml_get(map, "$sort")) != NULL)
        ret |= parse_sort(p, n, s);
    if (bff_yaml_get(map, "$limit") != NULL)
        ret |= bff_yaml_get_int(p->diag, map, "$limit", 0, 0, 100000, &s->limit);
    ret |= bff_yaml_get_bool(p->diag, map, "$count", &s->count);
    if ((n = bff_yaml_get(map, "$select")) != NULL &&
        (s->select = parse_select(p, n, depth)) == NULL)
        ret = -1;
    if ((n = bff_yaml_get(map, "$allow")) != NULL &&
        (s->allow = parse_name_list(p, n, "$allow", &s->nallow)) == NULL)
        ret = -1;
    if ((n = bff_yaml_get(map, "$deny")) != NULL &&
        (s->deny = parse_name_list(p, n, "$deny", &s->ndeny)) == NULL)
        ret = -1;
    if ((n = bff_yaml_get(map, "$format")) != NULL)
        ret |= parse_format(p, n, s);
    if ((n = bff_yaml_get(map, "$default")) != NULL)
        s->default_json = bff_shape_yaml_to_json(n);
    if (ret == 0 && (s->kind == BFF_SHAPE_LITERAL ||
                     (s->kind == BFF_SHAPE_TEMPLATE && !bff_template_is_single_ref(&s->tmpl)))) {
        /* A literal or a text template is final: a pipeline key would be silently ignored. */
        static const char *const pipeline[] = {"$filter", "$sort", "$limit",  "$count",   "$select",
                                               "$allow",  "$deny", "$format", "$default", NULL};
        for (const char *const *k = pipeline; *k != NULL; ++k) {
            if ((n = bff_yaml_get(map, *k)) != NULL) {
                bff_yaml_error(p->diag, n, "%s has no effect on a %s", *k,
                               s->kind == BFF_SHAPE_LITERAL ? "$value" : "text template");
                ret = -1;
            }
        }
    }
    if (ret != 0) {
        bff_shape_free(s);
        return NULL;
    }
    return s;
}

static int has_dollar_keys(const bff_yaml_node_t *map, int *mixed)
{
    size_t dollar = 0;
    for (size_t i = 0; i != map->size; ++i)
        dollar += map->keys[i]->str[0] == '$';
    *mixed = dollar != 0 && dollar != map->size;
    return dollar != 0;
}

static bff_shape_t *parse_any(struct shape_parser *p, const bff_yaml_node_t *node, unsigned depth)
{
    if (depth > 32) {
        bff_yaml_error(p->diag, node, "response shape nested too deeply");
        return NULL;
    }
    switch (node->kind) {
    case BFF_YAML_SCALAR:
        return parse_scalar(p, node);
    case BFF_YAML_SEQ:
        bff_yaml_error(p->diag, node,
                       "a list here is ambiguous: use {$value: [...]} for a literal list, or "
                       "{$from: path} for a list from a source");
        return NULL;
    case BFF_YAML_MAP: {
        int mixed;
        if (!has_dollar_keys(node, &mixed))
            return parse_object(p, node, depth);
        if (mixed) {
            bff_yaml_error(p->diag, node,
                           "a mapping either has $-keys (one value) or field names (an object), "
                           "not both");
            return NULL;
        }
        return parse_value(p, node, depth);
    }
    }
    return NULL;
}

bff_shape_t *bff_shape_parse(const bff_yaml_node_t *node, bff_shape_resolve_cb resolve,
                             void *resolve_ctx, bff_diag_t *diag)
{
    struct shape_parser p = {resolve, resolve_ctx, diag, 0};
    return parse_any(&p, node, 0);
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(list[i]);
    free(list);
}

void bff_shape_free(bff_shape_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i != s->nfields; ++i) {
        free(s->keys[i]);
        bff_shape_free(s->fields[i]);
    }
    free(s->keys);
    free(s->fields);
    bff_jpath_dispose(&s->path);
    bff_template_dispose(&s->tmpl);
    free(s->literal_json);
    for (size_t i = 0; i != s->nparts; ++i)
        bff_shape_free(s->parts[i]);
    free(s->parts);
    free(s->merge_key);
    bff_jpath_dispose(&s->filter.path);
    free(s->filter.value_json);
    bff_jdoc_dispose(&s->filter.value);
    if (s->filter.ref_binding != -1)
        bff_jpath_dispose(&s->filter.ref);
    for (size_t i = 0; i != s->nsort; ++i)
        bff_jpath_dispose(s->sort + i);
    free(s->sort);
    free(s->sort_desc);
    bff_shape_free(s->select);
    free_list(s->allow, s->nallow);
    free_list(s->deny, s->ndeny);
    free(s->default_json);
    free(s);
}

void bff_shape_foreach_binding(const bff_shape_t *s, void (*cb)(void *ctx, int binding), void *ctx)
{
    if (s == NULL)
        return;
    if (s->kind == BFF_SHAPE_PATH)
        cb(ctx, s->binding);
    if (s->filter.ref_binding != -1)
        cb(ctx, s->filter.ref_binding);
    for (size_t i = 0; i != s->tmpl.nparts; ++i)
        if (s->tmpl.parts[i].literal == NULL)
            cb(ctx, s->tmpl.parts[i].binding);
    for (size_t i = 0; i != s->nfields; ++i)
        bff_shape_foreach_binding(s->fields[i], cb, ctx);
    for (size_t i = 0; i != s->nparts; ++i)
        bff_shape_foreach_binding(s->parts[i], cb, ctx);
}

void bff_shape_foreach_path(bff_shape_t *s, void (*cb)(void *ctx, bff_jpath_t *path, int binding),
                            void *ctx)
{
    if (s == NULL)
        return;
    if (s->kind == BFF_SHAPE_PATH)
        cb(ctx, &s->path, s->binding);
    if (s->filter.ref_binding != -1)
        cb(ctx, &s->filter.ref, s->filter.ref_binding);
    for (size_t i = 0; i != s->tmpl.nparts; ++i)
        if (s->tmpl.parts[i].literal == NULL)
            cb(ctx, &s->tmpl.parts[i].ref, s->tmpl.parts[i].binding);
    bff_shape_foreach_path(s->select, cb, ctx);
    for (size_t i = 0; i != s->nfields; ++i)
        bff_shape_foreach_path(s->fields[i], cb, ctx);
    for (size_t i = 0; i != s->nparts; ++i)
        bff_shape_foreach_path(s->parts[i], cb, ctx);
}
