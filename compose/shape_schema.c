/* Derives JSON Schemas from compiled specs and shapes (shape_schema.h has the rules). Each rule
 * mirrors what shape_eval.c writes for that shape, so a schema never promises a type the
 * evaluator may not keep. */
#include "compose/shape_schema.h"

#include <stdlib.h>
#include <string.h>

static json_t *type_schema(const char *type)
{
    return json_pack("{s:s}", "type", type);
}

static int is_any(const json_t *s)
{
    return json_object_size(s) == 0;
}

/* A schema that only says `type` (one name or a list): unions merge their type lists. */
static int is_plain_type(const json_t *s)
{
    return json_object_size(s) == 1 && json_object_get(s, "type") != NULL;
}

static void add_type_name(json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), name) == 0) return;
    json_array_append_new(list, json_string(name));
}

static json_t *type_list(const json_t *s)
{
    json_t *t = json_object_get(s, "type"), *list = json_array();
    if (json_is_string(t)) {
        add_type_name(list, json_string_value(t));
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v) add_type_name(list, json_string_value(v));
    }
    return list;
}

static int has_type_name(const json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

/* 1 when the plain-type schema `wide` admits every value of `narrow` (whose types it lists;
 * integers are numbers). */
static int covers(const json_t *wide, const json_t *narrow)
{
    if (!is_plain_type(wide) || json_object_get(narrow, "type") == NULL)
        return 0;
    json_t *w = type_list(wide), *n = type_list(narrow);
    size_t i;
    json_t *v;
    int all = 1;
    json_array_foreach(n, i, v)
    {
        const char *t = json_string_value(v);
        all &= has_type_name(w, t) || (strcmp(t, "integer") == 0 && has_type_name(w, "number"));
    }
    json_decref(w);
    json_decref(n);
    return all;
}

/* Steals both. A union that is as wide as `{}` on either side is `{}`. */
static json_t *schema_union(json_t *a, json_t *b)
{
    if (is_any(a) || is_any(b) || json_equal(a, b) || covers(a, b) || covers(b, a)) {
        json_t *keep = is_any(a) ? a : is_any(b) ? b : covers(b, a) ? b : a;
        json_decref(keep == a ? b : a);
        return keep;
    }
    if (is_plain_type(a) && is_plain_type(b)) {
        json_t *list = type_list(a), *more = type_list(b);
        size_t i;
        json_t *v;
        json_array_foreach(more, i, v) add_type_name(list, json_string_value(v));
        json_decref(more);
        for (i = 0; has_type_name(list, "number") && i != json_array_size(list); ++i)
            if (strcmp(json_string_value(json_array_get(list, i)), "integer") == 0)
                json_array_remove(list, i--);
        json_decref(a);
        json_decref(b);
        if (json_array_size(list) == 1) {
            json_t *one = json_pack("{s:O}", "type", json_array_get(list, 0));
            json_decref(list);
            return one;
        }
        return json_pack("{s:o}", "type", list);
    }
    json_t *any = json_array();
    json_t *parts[2] = {a, b};
    for (int k = 0; k != 2; ++k) {
        json_t *inner = json_object_get(parts[k], "anyOf");
        if (inner != NULL && json_object_size(parts[k]) == 1) {
            json_array_extend(any, inner);
            json_decref(parts[k]);
        } else {
            json_array_append_new(any, parts[k]);
        }
    }
    return json_pack("{s:o}", "anyOf", any);
}

json_t *bff_schema_nullable(json_t *s)
{
    if (is_any(s))
        return s;
    json_t *t = json_object_get(s, "type");
    if (t != NULL && json_object_get(s, "const") == NULL && json_object_get(s, "enum") == NULL) {
        json_t *list = type_list(s);
        add_type_name(list, "null");
        if (json_array_size(list) == 1)
            json_decref(list);
        else
            json_object_set_new(s, "type", list);
        return s;
    }
    return schema_union(s, type_schema("null"));
}

/* A JSON value's schema: scalars exactly (`const` when asked), containers by their members. */
static json_t *value_schema(const json_t *v, int exact)
{
    json_t *s;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *props = json_object(), *req = json_array(), *m;
        const char *k;
        json_object_foreach((json_t *)v, k, m)
        {
            json_object_set_new(props, k, value_schema(m, exact));
            json_array_append_new(req, json_string(k));
        }
        return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
                         req, "additionalProperties", 0);
    }
    case JSON_ARRAY: {
        json_t *items = NULL, *m;
        size_t i;
        json_array_foreach((json_t *)v, i, m)
        {
            json_t *one = value_schema(m, 0);
            items = items == NULL ? one : schema_union(items, one);
        }
        if (items == NULL)
            return json_pack("{s:s, s:i}", "type", "array", "maxItems", 0);
        return json_pack("{s:s, s:o}", "type", "array", "items", items);
    }
    case JSON_STRING:
        s = type_schema("string");
        break;
    case JSON_INTEGER:
        s = type_schema("integer");
        break;
    case JSON_REAL:
        s = type_schema("number");
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        s = type_schema("boolean");
        break;
    default:
        return type_schema("null");
    }
    if (exact)
        json_object_set(s, "const", (json_t *)v);
    return s;
}

static json_t *json_text_schema(const char *text, int exact)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v == NULL)
        return json_object();
    json_t *s = value_schema(v, exact);
    json_decref(v);
    return s;
}

static const bff_param_t *find_param(const bff_spec_t *spec, const char *name)
{
    for (size_t i = 0; spec != NULL && i != spec->nparams; ++i)
        if (strcmp(spec->params[i].name, name) == 0)
            return spec->params + i;
    return NULL;
}

static const char *param_type_name(const bff_param_t *p)
{
    switch (p->type) {
    case BFF_PARAM_INT:
        return "integer";
    case BFF_PARAM_NUMBER:
        return "number";
    case BFF_PARAM_BOOL:
        return "boolean";
    default:
        return "string";
    }
}

/* What the path itself yields, before any pipeline: a parameter's type, a header's text, a
 * source's $status; anything an upstream sent is unknown. *present: never absent (a required
 * or defaulted parameter). */
static json_t *path_base(const bff_jpath_t *path, int binding, const bff_spec_t *spec, int *present)
{
    *present = 0;
    if (binding == BFF_BIND_REQUEST) {
        const bff_param_t *p = find_param(spec, path->root);
        if (p != NULL && path->nsteps == 0) { /* checked against its declaration: all of it holds */
            json_t *s = bff_param_schema(p);
            json_object_del(s, "default");
            *present = p->required || p->default_value != NULL;
            return s;
        }
        if (strcmp(path->root, "header") == 0 && path->nsteps == 1)
            return bff_schema_nullable(type_schema("string"));
        return json_object();
    }
    if (binding >= 0 && bff_binding_is_meta(path)) {
        if (strcmp(path->steps[0].name, "$status") == 0 && path->nsteps == 1)
            return bff_schema_nullable(type_schema("integer"));
        if (path->nsteps == 2)
            return bff_schema_nullable(type_schema("string"));
    }
    return json_object();
}

static int iterates(const bff_shape_t *s)
{
    return s->path.multi || s->filter.op != BFF_FILTER_NONE || s->nsort || s->limit >= 0;
}

/* One element after $select / trimming / $format (write_element in shape_eval.c). */
static json_t *element_schema(const bff_shape_t *s, json_t *base, const bff_spec_t *spec)
{
    if (s->select != NULL) {
        json_decref(base);
        return bff_shape_schema(s->select, spec);
    }
    if (s->nallow || s->ndeny) {
        json_decref(base);
        return json_object();
    }
    switch (s->format) {
    case BFF_FORMAT_DATE:
        json_decref(base);
        return json_pack("{s:s, s:s}", "type", "string", "format", "date");
    case BFF_FORMAT_STRING:
        json_decref(base);
        return type_schema("string");
    case BFF_FORMAT_NUMBER:
        json_decref(base);
        return type_schema("number");
    case BFF_FORMAT_UPPER:
    case BFF_FORMAT_LOWER: { /* strings change case; anything else is copied */
        json_t *t = json_object_get(base, "type");
        int text = json_is_string(t) && strcmp(json_string_value(t), "string") == 0;
        json_decref(base);
        return text ? type_schema("string") : json_object();
    }
    default:
        return base;
    }
}

static json_t *array_of(json_t *items)
{
    return json_pack("{s:s, s:o}", "type", "array", "items", items);
}

/* A path (or a single-reference template) through its pipeline. Absent values are null, or
 * $default. */
static json_t *pipeline_schema(const bff_shape_t *s, const bff_jpath_t *path, int binding,
                               const bff_spec_t *spec)
{
    int present;
    json_t *base = path_base(path, binding, spec, &present), *out;
    if (present && !s->count && !iterates(s) && s->select == NULL && !s->nallow && !s->ndeny &&
        s->format == BFF_FORMAT_NONE)
        return base;
    if (s->count) {
        json_decref(base);
        out = json_pack("{s:s, s:i}", "type", "integer", "minimum", 0);
    } else if (iterates(s)) { /* taken for a list: a slice, [*], $filter, $sort or $limit */
        out = array_of(element_schema(s, base, spec));
    } else if (s->select != NULL) { /* an object shaped, or each object of a list */
        json_t *el = element_schema(s, base, spec);
        out = schema_union(json_incref(el), array_of(el));
    } else {
        out = element_schema(s, base, spec);
    }
    if (s->default_json == NULL || strcmp(s->default_json, "null") == 0)
        return bff_schema_nullable(out);
    return schema_union(out, json_text_schema(s->default_json, 0));
}

static json_t *object_schema(const bff_shape_t *s, const bff_spec_t *spec)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i != s->nfields; ++i) {
        json_object_set_new(props, s->keys[i], bff_shape_schema(s->fields[i], spec));
        json_array_append_new(req, json_string(s->keys[i]));
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required", req,
                     "additionalProperties", 0);
}

/* $merge: objects merge key by key; a part read from an upstream may be anything. */
static json_t *merge_schema(const bff_shape_t *s, const bff_spec_t *spec)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i != s->nparts; ++i) {
        json_t *part = bff_shape_schema(s->parts[i], spec);
        json_t *pp = json_object_get(part, "properties");
        if (pp == NULL || json_object_get(part, "anyOf") != NULL) {
            json_decref(part);
            json_decref(props);
            json_decref(req);
            return json_object();
        }
        const char *k;
        json_t *v;
        json_object_foreach(pp, k, v)
        {
            json_t *had = json_object_get(props, k);
            if (had == NULL) {
                json_object_set(props, k, v);
                json_array_append_new(req, json_string(k));
            } else if (s->policy == BFF_MERGE_REPLACE) {
                json_object_set(props, k, v);
            } else { /* deep merges nest; the union is what either part may leave there */
                json_object_set_new(props, k, schema_union(json_incref(had), json_incref(v)));
            }
        }
        json_decref(part);
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required", req,
                     "additionalProperties", 0);
}

json_t *bff_shape_schema(const bff_shape_t *s, const bff_spec_t *spec)
{
    if (s == NULL)
        return json_object();
    switch (s->kind) {
    case BFF_SHAPE_OBJECT:
        return object_schema(s, spec);
    case BFF_SHAPE_LITERAL:
        return json_text_schema(s->literal_json, 1);
    case BFF_SHAPE_TEMPLATE:
        if (bff_template_is_single_ref(&s->tmpl))
            return pipeline_schema(s, &s->tmpl.parts[0].ref, s->tmpl.parts[0].binding, spec);
        return type_schema("string");
    case BFF_SHAPE_MERGE: {
        json_t *m = merge_schema(s, spec);
        if (s->default_json == NULL || is_any(m))
            return m;
        return schema_union(m, json_text_schema(s->default_json, 0));
    }
    case BFF_SHAPE_PATH:
        return pipeline_schema(s, &s->path, s->binding, spec);
    }
    return json_object();
}

int bff_spec_may_be_partial(const bff_spec_t *spec)
{
    if (spec->respond_by_ms != 0)
        return 1;
    for (size_t i = 0; i != spec->plan.nsources; ++i)
        if (spec->plan.sources[i].optional)
            return 1;
    return 0;
}

json_t *bff_spec_response_schema(const bff_spec_t *spec)
{
    if (spec->response == NULL) /* a stored GraphQL operation: its data */
        return json_object();
    json_t *s = bff_shape_schema(spec->response, spec);
    if (spec->response->kind == BFF_SHAPE_OBJECT && bff_spec_may_be_partial(spec))
        json_object_set_new(json_object_get(s, "properties"), "errors",
                            json_pack("{s:s, s:{s:s}}", "type", "array", "items", "$ref",
                                      BFF_SCHEMA_REF_PREFIX BFF_SCHEMA_PARTIAL_ERROR));
    return s;
}

/* A parameter's text as its declared type (enum values and defaults are written as text). */
static json_t *typed_value(const bff_param_t *p, const char *text)
{
    switch (p->type) {
    case BFF_PARAM_INT:
        return json_integer(strtoll(text, NULL, 10));
    case BFF_PARAM_NUMBER:
        return json_real(strtod(text, NULL));
    case BFF_PARAM_BOOL:
        return json_boolean(strcmp(text, "true") == 0 || strcmp(text, "1") == 0);
    default:
        return json_string(text);
    }
}

static json_t *bound(const bff_param_t *p, double v)
{
    if (p->type == BFF_PARAM_INT && v == (double)(long long)v)
        return json_integer((long long)v);
    return json_real(v);
}

json_t *bff_param_schema(const bff_param_t *p)
{
    json_t *s = type_schema(param_type_name(p));
    if (p->has_min)
        json_object_set_new(s, "minimum", bound(p, p->min));
    if (p->has_max)
        json_object_set_new(s, "maximum", bound(p, p->max));
    if (p->max_length)
        json_object_set_new(s, "maxLength", json_integer((json_int_t)p->max_length));
    if (p->nenum) {
        json_t *e = json_array();
        for (size_t i = 0; i != p->nenum; ++i)
            json_array_append_new(e, typed_value(p, p->enum_values[i]));
        json_object_set_new(s, "enum", e);
    }
    if (p->default_value != NULL)
        json_object_set_new(s, "default", typed_value(p, p->default_value));
    return s;
}

struct body_scan {
    json_t *props;
    int whole; /* `body` itself, or by index: any JSON */
};

static void note_body_path(void *ctx, bff_jpath_t *path, int binding)
{
    struct body_scan *b = ctx;
    if (binding != BFF_BIND_REQUEST || strcmp(path->root, "body") != 0)
        return;
    if (path->nsteps == 0 || path->steps[0].kind != BFF_JPATH_FIELD) {
        b->whole = 1;
        return;
    }
    if (json_object_get(b->props, path->steps[0].name) == NULL)
        json_object_set_new(b->props, path->steps[0].name, json_object());
}

static void note_template(struct body_scan *b, const bff_template_t *t)
{
    for (size_t i = 0; i != t->nparts; ++i)
        if (t->parts[i].literal == NULL)
            note_body_path(b, (bff_jpath_t *)&t->parts[i].ref, t->parts[i].binding);
}

json_t *bff_spec_body_schema(const bff_spec_t *spec)
{
    if (!spec->reads_body)
        return NULL;
    struct body_scan b = {json_object(), 0};
    /* The walkers take mutable trees (other callers rewrite paths); this one only reads. */
    bff_spec_t *s = (bff_spec_t *)spec;
    bff_plan_foreach_path(&s->plan, note_body_path, &b);
    bff_shape_foreach_path(s->response, note_body_path, &b);
    note_template(&b, &spec->status_tmpl);
    for (size_t i = 0; i != spec->nheaders; ++i)
        note_template(&b, &spec->headers[i].value);
    if (b.whole) {
        json_decref(b.props);
        return json_object();
    }
    return json_pack("{s:s, s:o}", "type", "object", "properties", b.props);
}

json_t *bff_schema_components(void)
{
    return json_pack(
        "{s:{s:s, s:s, s:[s], s:{s:{s:s, s:[s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
        "s:{s:s}, s:{s:s}}}}}, s:{s:s, s:s, s:[s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}}",
        BFF_SCHEMA_ERROR, "description",
        "bffd's error body: a stable code and a message; a failed source adds its name (or a "
        "safe reason code), upstream and status",
        "type", "object", "required", "error", "properties", "error", "type", "object", "required",
        "code", "message", "properties", "code", "type", "string", "message", "type", "string",
        "source", "type", "string", "upstream", "type", "string", "reason", "type", "string",
        "status", "type", "integer", BFF_SCHEMA_PARTIAL_ERROR, "description",
        "an optional source that failed (or was still pending at respond_by) in a partial "
        "answer (header bff-partial: true)",
        "type", "object", "required", "reason", "properties", "source", "type", "string", "reason",
        "type", "string", "status", "type", "integer", "message", "type", "string");
}
