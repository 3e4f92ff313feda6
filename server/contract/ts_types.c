/* Renders JSON Schemas as TypeScript (ts_types.h). Only the schema forms shape_schema.c and
 * openapi.c produce are spelled out; anything else is `unknown`, never a wrong type. */
#include "server/contract/ts_types.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "compose/shape_schema.h"
#include "server/contract/names.h"
#include "server/core/profile.h"

typedef struct st_text_t {
    char *buf;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = bff_realloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void puts_(text_t *t, const char *s)
{
    put(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(text_t *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        put(t, small, (size_t)n);
        return;
    }
    char *big = bff_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(t, big, (size_t)n);
    free(big);
}

static void indent_to(text_t *t, unsigned depth)
{
    for (unsigned i = 0; i != depth; ++i)
        puts_(t, "  ");
}

static int is_identifier(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_' && *s != '$')
        return 0;
    for (++s; *s; ++s)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '$')
            return 0;
    return 1;
}

static void literal(text_t *t, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    puts_(t, s ? s : "unknown");
    free(s);
}

static void render(text_t *t, const json_t *s, unsigned depth);

static int in_list(const json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (json_is_string(v) &&
                                       strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

static void render_object(text_t *t, const json_t *s, unsigned depth)
{
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    const json_t *extra = json_object_get(s, "additionalProperties");
    if (json_object_size(props) == 0 && !json_is_false(extra)) {
        puts_(t, "Record<string, unknown>");
        return;
    }
    puts_(t, "{\n");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        indent_to(t, depth + 1);
        if (is_identifier(k))
            puts_(t, k);
        else {
            json_t *ks = json_string(k);
            literal(t, ks);
            json_decref(ks);
        }
        puts_(t, in_list(req, k) ? ": " : "?: ");
        render(t, v, depth + 1);
        puts_(t, ";\n");
    }
    if (!json_is_false(extra)) {
        indent_to(t, depth + 1);
        puts_(t, "[key: string]: unknown;\n");
    }
    indent_to(t, depth);
    puts_(t, "}");
}

/* An element type: unions need parentheses before []. */
static void render_items(text_t *t, const json_t *items, unsigned depth)
{
    text_t inner = {0};
    render(&inner, items, depth);
    int bare = strstr(inner.buf, " | ") == NULL;
    putf(t, bare ? "%s[]" : "(%s)[]", inner.buf);
    free(inner.buf);
}

static void render_type(text_t *t, const json_t *s, const char *type, unsigned depth)
{
    if (strcmp(type, "string") == 0)
        puts_(t, "string");
    else if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0)
        puts_(t, "number");
    else if (strcmp(type, "boolean") == 0)
        puts_(t, "boolean");
    else if (strcmp(type, "null") == 0)
        puts_(t, "null");
    else if (strcmp(type, "array") == 0) {
        const json_t *items = json_object_get(s, "items");
        if (json_integer_value(json_object_get(s, "maxItems")) == 0 &&
            json_object_get(s, "maxItems") != NULL)
            puts_(t, "[]");
        else if (items == NULL)
            puts_(t, "unknown[]");
        else
            render_items(t, items, depth);
    } else if (strcmp(type, "object") == 0)
        render_object(t, s, depth);
    else
        puts_(t, "unknown");
}

static void render(text_t *t, const json_t *s, unsigned depth)
{
    const json_t *v;
    if ((v = json_object_get(s, "$ref")) != NULL) {
        const char *ref = json_string_value(v), *slash = ref ? strrchr(ref, '/') : NULL;
        puts_(t, slash ? slash + 1 : "unknown");
        return;
    }
    if ((v = json_object_get(s, "const")) != NULL) {
        literal(t, v);
        return;
    }
    if ((v = json_object_get(s, "enum")) != NULL || (v = json_object_get(s, "anyOf")) != NULL) {
        int is_enum = json_object_get(s, "enum") != NULL;
        size_t i;
        json_t *m;
        json_array_foreach((json_t *)v, i, m)
        {
            if (i)
                puts_(t, " | ");
            if (is_enum)
                literal(t, m);
            else
                render(t, m, depth);
        }
        return;
    }
    v = json_object_get(s, "type");
    if (json_is_string(v)) {
        render_type(t, s, json_string_value(v), depth);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach((json_t *)v, i, m)
        {
            if (i)
                puts_(t, " | ");
            render_type(t, s, json_string_value(m), depth);
        }
    } else {
        puts_(t, "unknown");
    }
}

char *bff_ts_of_schema(const json_t *schema, unsigned indent)
{
    text_t t = {0};
    render(&t, schema, indent);
    return t.buf;
}

/* `export interface Name {...}` for an object with known members, else a type alias. */
static void declare(text_t *t, const char *name, const json_t *schema)
{
    const json_t *type = json_object_get(schema, "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "object") == 0 &&
        json_object_get(schema, "properties") != NULL && json_object_get(schema, "const") == NULL) {
        putf(t, "export interface %s ", name);
        render_object(t, schema, 0);
        puts_(t, "\n");
        return;
    }
    putf(t, "export type %s = ", name);
    render(t, schema, 0);
    puts_(t, ";\n");
}

/* Parameters as a client passes them: path ones always, query ones unless optional or
 * defaulted. */
static json_t *params_schema(const bff_spec_t *spec)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i != spec->nparams; ++i) {
        const bff_param_t *p = spec->params + i;
        json_object_set_new(props, p->name, bff_param_schema(p));
        if (p->in_path || (p->required && p->default_value == NULL))
            json_array_append_new(req, json_string(p->name));
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required", req,
                     "additionalProperties", 0);
}

/* Text inside a comment: one line, and no early close (a route may hold `*` too). */
static void comment_text(text_t *t, const char *s)
{
    for (const char *c = s; *c; ++c)
        if (*c == '\n')
            puts_(t, " ");
        else if (c[0] == '*' && c[1] == '/')
            puts_(t, "* /"), ++c;
        else
            put(t, c, 1);
}

static void comment(text_t *t, const bff_spec_t *spec, const char *what)
{
    putf(t, "/** %s of %s ", what, spec->method);
    comment_text(t, spec->route);
    if (spec->description != NULL) {
        puts_(t, ": ");
        comment_text(t, spec->description);
    }
    puts_(t, " */\n");
}

char *bff_ts_types_render(const bff_profile_t *p)
{
    text_t t = {0};
    putf(&t,
         "// TypeScript types of the %s profile's endpoints, generated by `bffd types`; do not "
         "edit.\n// Values read from an upstream are `unknown`: bffd does not know their "
         "types.\n\n",
         p->name);
    json_t *shared = bff_schema_components();
    const char *k;
    json_t *v;
    json_object_foreach(shared, k, v)
    {
        json_t *desc = json_object_get(v, "description");
        if (json_is_string(desc))
            putf(&t, "/** %s */\n", json_string_value(desc));
        declare(&t, k, v);
        puts_(&t, "\n");
    }
    json_decref(shared);
    char **names = bff_contract_names(p);
    for (size_t i = 0; i != p->nendpoints; ++i) {
        const bff_spec_t *spec = p->endpoints[i];
        char type[256], name[300];
        bff_contract_type_name(names[i], type, sizeof(type));
        json_t *s = params_schema(spec);
        comment(&t, spec, "Parameters");
        snprintf(name, sizeof(name), "%sParams", type);
        declare(&t, name, s);
        json_decref(s);
        if ((s = bff_spec_body_schema(spec)) != NULL) {
            comment(&t, spec, "Request body");
            snprintf(name, sizeof(name), "%sBody", type);
            declare(&t, name, s);
            json_decref(s);
        }
        s = bff_spec_response_schema(spec);
        comment(&t, spec, "Answer");
        snprintf(name, sizeof(name), "%sResponse", type);
        declare(&t, name, s);
        json_decref(s);
        puts_(&t, "\n");
    }
    bff_contract_names_free(names, p->nendpoints);
    return t.buf;
}
