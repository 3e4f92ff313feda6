/* Writes a schema as introspection data (introspect.h). */
#include "compose/gql/introspect.h"

#include <stdlib.h>
#include <string.h>

#include "compose/json_write.h"
#include "compose/mem.h"

static const char *const kind_names[] = {
    [BFF_GQL_SCALAR] = "SCALAR",       [BFF_GQL_OBJECT_TYPE] = "OBJECT",
    [BFF_GQL_INTERFACE] = "INTERFACE", [BFF_GQL_UNION] = "UNION",
    [BFF_GQL_ENUM_TYPE] = "ENUM",      [BFF_GQL_INPUT_OBJECT] = "INPUT_OBJECT",
};

static void str_or_null(bff_jwrite_t *w, const char *key, const char *s)
{
    bff_jwrite_key(w, key, strlen(key));
    if (s != NULL)
        bff_jwrite_str(w, s, strlen(s));
    else
        bff_jwrite_null(w);
}

/* {kind, name, ofType}: a reference; execution completes named ones from the full type. */
static void type_ref(bff_jwrite_t *w, const bff_gql_wrapped_t *t)
{
    unsigned depth = 0;
    for (;;) {
        bff_jwrite_open(w, '{');
        if (t->kind == BFF_GQL_NAMED) {
            str_or_null(w, "kind", kind_names[t->named->kind]);
            str_or_null(w, "name", t->named->name);
            str_or_null(w, "ofType", NULL);
            bff_jwrite_close(w, '}');
            break;
        }
        str_or_null(w, "kind", t->kind == BFF_GQL_LIST_OF ? "LIST" : "NON_NULL");
        str_or_null(w, "name", NULL);
        bff_jwrite_key(w, "ofType", 6);
        t = t->of;
        ++depth;
    }
    while (depth-- != 0)
        bff_jwrite_close(w, '}');
}

static void deprecation(bff_jwrite_t *w, int is_deprecated, const char *reason)
{
    bff_jwrite_key(w, "isDeprecated", 12);
    bff_jwrite_bool(w, is_deprecated);
    str_or_null(w, "deprecationReason", is_deprecated ? reason : NULL);
}

static void input_values(bff_jwrite_t *w, const char *key, const bff_gql_input_value_t *v, size_t n)
{
    bff_jwrite_key(w, key, strlen(key));
    bff_jwrite_open(w, '[');
    for (size_t i = 0; i != n; ++i) {
        bff_jwrite_open(w, '{');
        str_or_null(w, "name", v[i].name);
        str_or_null(w, "description", v[i].description);
        bff_jwrite_key(w, "type", 4);
        type_ref(w, v[i].type);
        str_or_null(w, "defaultValue", v[i].default_text);
        deprecation(w, v[i].is_deprecated, v[i].deprecation_reason);
        bff_jwrite_close(w, '}');
    }
    bff_jwrite_close(w, ']');
}

static void named_refs(bff_jwrite_t *w, const char *key, const bff_gql_type_t *const *types,
                       size_t n, int applies)
{
    bff_jwrite_key(w, key, strlen(key));
    if (!applies) {
        bff_jwrite_null(w);
        return;
    }
    bff_jwrite_open(w, '[');
    for (size_t i = 0; i != n; ++i) {
        bff_jwrite_open(w, '{');
        str_or_null(w, "kind", kind_names[types[i]->kind]);
        str_or_null(w, "name", types[i]->name);
        str_or_null(w, "ofType", NULL);
        bff_jwrite_close(w, '}');
    }
    bff_jwrite_close(w, ']');
}

static void full_type(bff_jwrite_t *w, const bff_gql_type_t *t)
{
    bff_jwrite_open(w, '{');
    str_or_null(w, "kind", kind_names[t->kind]);
    str_or_null(w, "name", t->name);
    str_or_null(w, "description", t->description);
    str_or_null(w, "specifiedByURL", t->kind == BFF_GQL_SCALAR ? t->specified_by_url : NULL);
    int has_fields = t->kind == BFF_GQL_OBJECT_TYPE || t->kind == BFF_GQL_INTERFACE;
    bff_jwrite_key(w, "fields", 6);
    if (has_fields) {
        bff_jwrite_open(w, '[');
        for (size_t i = 0; i != t->nfields; ++i) {
            const bff_gql_field_t *f = t->fields + i;
            bff_jwrite_open(w, '{');
            str_or_null(w, "name", f->name);
            str_or_null(w, "description", f->description);
            input_values(w, "args", f->args, f->nargs);
            bff_jwrite_key(w, "type", 4);
            type_ref(w, f->type);
            deprecation(w, f->is_deprecated, f->deprecation_reason);
            bff_jwrite_close(w, '}');
        }
        bff_jwrite_close(w, ']');
    } else {
        bff_jwrite_null(w);
    }
    named_refs(w, "interfaces", t->interfaces, t->ninterfaces, has_fields);
    named_refs(w, "possibleTypes", t->possible_types, t->npossible_types,
               t->kind == BFF_GQL_INTERFACE || t->kind == BFF_GQL_UNION);
    bff_jwrite_key(w, "enumValues", 10);
    if (t->kind == BFF_GQL_ENUM_TYPE) {
        bff_jwrite_open(w, '[');
        for (size_t i = 0; i != t->nvalues; ++i) {
            bff_jwrite_open(w, '{');
            str_or_null(w, "name", t->values[i].name);
            str_or_null(w, "description", t->values[i].description);
            deprecation(w, t->values[i].is_deprecated, t->values[i].deprecation_reason);
            bff_jwrite_close(w, '}');
        }
        bff_jwrite_close(w, ']');
    } else {
        bff_jwrite_null(w);
    }
    if (t->kind == BFF_GQL_INPUT_OBJECT) {
        input_values(w, "inputFields", t->input_fields, t->ninput_fields);
    } else {
        bff_jwrite_key(w, "inputFields", 11);
        bff_jwrite_null(w);
    }
    str_or_null(w, "ofType", NULL);
    bff_jwrite_close(w, '}');
}

static void root_ref(bff_jwrite_t *w, const char *key, const bff_gql_type_t *t)
{
    bff_jwrite_key(w, key, strlen(key));
    if (t == NULL) {
        bff_jwrite_null(w);
        return;
    }
    bff_jwrite_open(w, '{');
    str_or_null(w, "kind", "OBJECT");
    str_or_null(w, "name", t->name);
    str_or_null(w, "ofType", NULL);
    bff_jwrite_close(w, '}');
}

char *bff_gql_introspection_json(const bff_gql_schema_t *s, size_t *len)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 16384, (size_t)1 << 30);
    bff_jwrite_open(&w, '{');
    str_or_null(&w, "description", s->description);
    root_ref(&w, "queryType", s->query);
    root_ref(&w, "mutationType", s->mutation);
    root_ref(&w, "subscriptionType", s->subscription);
    bff_jwrite_key(&w, "types", 5);
    bff_jwrite_open(&w, '[');
    for (size_t i = 0; i != s->ntypes; ++i)
        full_type(&w, s->types[i]);
    bff_jwrite_close(&w, ']');
    bff_jwrite_key(&w, "directives", 10);
    bff_jwrite_open(&w, '[');
    for (size_t i = 0; i != s->ndirectives; ++i) {
        const bff_gql_directive_info_t *d = s->directives[i];
        bff_jwrite_open(&w, '{');
        str_or_null(&w, "name", d->name);
        str_or_null(&w, "description", d->description);
        bff_jwrite_key(&w, "isRepeatable", 12);
        bff_jwrite_bool(&w, d->repeatable);
        bff_jwrite_key(&w, "locations", 9);
        bff_jwrite_open(&w, '[');
        for (unsigned l = 0; l != BFF_GQL_DL_COUNT; ++l)
            if (d->locations & (1u << l))
                bff_jwrite_str(&w, bff_gql_directive_location_names[l],
                               strlen(bff_gql_directive_location_names[l]));
        bff_jwrite_close(&w, ']');
        input_values(&w, "args", d->args, d->nargs);
        bff_jwrite_close(&w, '}');
    }
    bff_jwrite_close(&w, ']');
    bff_jwrite_close(&w, '}');
    /* The writer's nesting limit (64) is far above introspection's (wrappers of a type). */
    char *out = bff_malloc(w.len + 1);
    memcpy(out, w.buf, w.len);
    out[w.len] = '\0';
    *len = w.len;
    bff_jwrite_dispose(&w);
    return out;
}
