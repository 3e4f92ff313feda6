/* Renders JSON Schemas as TypeScript (ts_types.h). Only the schema forms shape_schema.c and
 * openapi.c produce are spelled out; anything else is `unknown`, never a wrong type. */
#include "server/contract/ts_types.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "compose/shape_schema.h"
#include "compose/text.h"
#include "server/contract/names.h"
#include "server/core/profile.h"

static void indent_to(bff_text_t *t, unsigned depth)
{
    for (unsigned i = 0; i != depth; ++i)
        bff_text_puts(t, "  ");
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

static void literal(bff_text_t *t, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    bff_text_puts(t, s ? s : "unknown");
    free(s);
}

static void render(bff_text_t *t, const json_t *s, unsigned depth);

static int in_list(const json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (json_is_string(v) &&
                                       strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

static void render_object(bff_text_t *t, const json_t *s, unsigned depth)
{
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    const json_t *extra = json_object_get(s, "additionalProperties");
    if (json_object_size(props) == 0 && !json_is_false(extra)) {
        bff_text_puts(t, "Record<string, unknown>");
        return;
    }
    bff_text_puts(t, "{\n");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        indent_to(t, depth + 1);
        if (is_identifier(k))
            bff_text_puts(t, k);
        else {
            json_t *ks = json_string(k);
            literal(t, ks);
            json_decref(ks);
        }
        bff_text_puts(t, in_list(req, k) ? ": " : "?: ");
        render(t, v, depth + 1);
        bff_text_puts(t, ";\n");
    }
    if (!json_is_false(extra)) {
        indent_to(t, depth + 1);
        bff_text_puts(t, "[key: string]: unknown;\n");
    }
    indent_to(t, depth);
    bff_text_puts(t, "}");
}

/* An element type: unions need parentheses before []. */
static void render_items(bff_text_t *t, const json_t *items, unsigned depth)
{
    bff_text_t inner = {0};
    render(&inner, items, depth);
    int bare = strstr(inner.buf, " | ") == NULL;
    bff_text_printf(t, bare ? "%s[]" : "(%s)[]", inner.buf);
    free(inner.buf);
}

static void render_type(bff_text_t *t, const json_t *s, const char *type, unsigned depth)
{
    if (strcmp(type, "string") == 0)
        bff_text_puts(t, "string");
    else if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0)
        bff_text_puts(t, "number");
    else if (strcmp(type, "boolean") == 0)
        bff_text_puts(t, "boolean");
    else if (strcmp(type, "null") == 0)
        bff_text_puts(t, "null");
    else if (strcmp(type, "array") == 0) {
        const json_t *items = json_object_get(s, "items");
        if (json_integer_value(json_object_get(s, "maxItems")) == 0 &&
            json_object_get(s, "maxItems") != NULL)
            bff_text_puts(t, "[]");
        else if (items == NULL)
            bff_text_puts(t, "unknown[]");
        else
            render_items(t, items, depth);
    } else if (strcmp(type, "object") == 0)
        render_object(t, s, depth);
    else
        bff_text_puts(t, "unknown");
}

static void render(bff_text_t *t, const json_t *s, unsigned depth)
{
    const json_t *v;
    if ((v = json_object_get(s, "$ref")) != NULL) {
        const char *ref = json_string_value(v), *slash = ref ? strrchr(ref, '/') : NULL;
        bff_text_puts(t, slash ? slash + 1 : "unknown");
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
                bff_text_puts(t, " | ");
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
                bff_text_puts(t, " | ");
            render_type(t, s, json_string_value(m), depth);
        }
    } else {
        bff_text_puts(t, "unknown");
    }
}

char *bff_ts_of_schema(const json_t *schema, unsigned indent)
{
    bff_text_t t = {0};
    render(&t, schema, indent);
    return t.buf;
}

/* `export interface Name {...}` for an object with known members, else a type alias. */
static void declare(bff_text_t *t, const char *name, const json_t *schema)
{
    const json_t *type = json_object_get(schema, "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "object") == 0 &&
        json_object_get(schema, "properties") != NULL && json_object_get(schema, "const") == NULL) {
        bff_text_printf(t, "export interface %s ", name);
        render_object(t, schema, 0);
        bff_text_puts(t, "\n");
        return;
    }
    bff_text_printf(t, "export type %s = ", name);
    render(t, schema, 0);
    bff_text_puts(t, ";\n");
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
static void comment_text(bff_text_t *t, const char *s)
{
    for (const char *c = s; *c; ++c)
        if (*c == '\n')
            bff_text_puts(t, " ");
        else if (c[0] == '*' && c[1] == '/')
            bff_text_puts(t, "* /"), ++c;
        else
            bff_text_put(t, c, 1);
}

static void comment(bff_text_t *t, const bff_spec_t *spec, const char *what)
{
    bff_text_printf(t, "/** %s of %s ", what, spec->method);
    comment_text(t, spec->route);
    if (spec->description != NULL) {
        bff_text_puts(t, ": ");
        comment_text(t, spec->description);
    }
    bff_text_puts(t, " */\n");
}

char *bff_ts_types_render(const bff_profile_t *p)
{
    bff_text_t t = {0};
    bff_text_printf(
        &t,
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
            bff_text_printf(&t, "/** %s */\n", json_string_value(desc));
        declare(&t, k, v);
        bff_text_puts(&t, "\n");
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
        bff_text_puts(&t, "\n");
    }
    bff_contract_names_free(names, p->nendpoints);
    return t.buf;
}
