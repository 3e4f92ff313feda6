/* Coercion of variables and arguments (values.h). Literals were checked by validation, so
 * writing them cannot fail except where a variable brings a null into a non-null place. */
#include "compose/gql/values.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT_DEPTH 32 /* nesting of a variable's value (lists, input objects) */

/* ---- literals to JSON ---- */

static const bff_gql_wrapped_t *nullable(const bff_gql_wrapped_t *t)
{
    return t->kind == BFF_GQL_NON_NULL ? t->of : t;
}

static int write_literal(const bff_gql_wrapped_t *t, const bff_gql_value_t *v,
                         const bff_jdoc_t *vars, bff_jwrite_t *out, unsigned depth);

/* An input object literal: the given fields, then the defaults of the others. */
static int write_object(const bff_gql_type_t *type, const bff_gql_value_t *v,
                        const bff_jdoc_t *vars, bff_jwrite_t *out, unsigned depth)
{
    bff_jwrite_open(out, '{');
    int ret = 0;
    for (size_t i = 0; i != type->ninput_fields; ++i) {
        const bff_gql_input_value_t *def = type->input_fields + i;
        const bff_gql_value_t *given = NULL;
        for (size_t j = 0; j != v->nfields; ++j)
            if (strcmp(v->fields[j].name, def->name) == 0)
                given = v->fields[j].value;
        if (given != NULL && given->kind == BFF_GQL_VARIABLE &&
            (vars == NULL ||
             bff_jdoc_obj_get(vars, 0, given->str, strlen(given->str)) == BFF_JDOC_NONE))
            given = NULL; /* an absent variable: as if the field were not written */
        if (given == NULL)
            given = def->default_value;
        if (given == NULL)
            continue;
        bff_jwrite_key(out, def->name, strlen(def->name));
        ret |= write_literal(def->type, given, vars, out, depth + 1);
    }
    bff_jwrite_close(out, '}');
    return ret;
}

static int write_literal(const bff_gql_wrapped_t *t, const bff_gql_value_t *v,
                         const bff_jdoc_t *vars, bff_jwrite_t *out, unsigned depth)
{
    if (depth > MAX_INPUT_DEPTH) { /* the parser bounds literals; this is a second fence */
        bff_jwrite_null(out);
        return -1;
    }
    if (v->kind == BFF_GQL_VARIABLE) {
        uint32_t tok =
            vars != NULL ? bff_jdoc_obj_get(vars, 0, v->str, strlen(v->str)) : BFF_JDOC_NONE;
        if (tok == BFF_JDOC_NONE || vars->toks[tok].type == BFF_J_NULL) {
            bff_jwrite_null(out);
            return t->kind == BFF_GQL_NON_NULL ? -1 : 0;
        }
        size_t len;
        const char *raw = bff_jdoc_raw(vars, tok, &len);
        bff_jwrite_raw(out, raw, len);
        return 0;
    }
    if (v->kind == BFF_GQL_NULL) {
        bff_jwrite_null(out);
        return t->kind == BFF_GQL_NON_NULL ? -1 : 0;
    }
    t = nullable(t);
    if (t->kind == BFF_GQL_LIST_OF) {
        int ret = 0;
        bff_jwrite_open(out, '[');
        if (v->kind == BFF_GQL_LIST)
            for (size_t i = 0; i != v->nitems; ++i)
                ret |= write_literal(t->of, v->items[i], vars, out, depth + 1);
        else /* input coercion: one value where a list is expected */
            ret |= write_literal(t->of, v, vars, out, depth + 1);
        bff_jwrite_close(out, ']');
        return ret;
    }
    const bff_gql_type_t *named = t->named;
    switch (v->kind) {
    case BFF_GQL_INT: { /* canonical, as graphql-js's numbers print: -0 is 0 */
        char num[24];
        int64_t n = strtoll(v->str, NULL, 10);
        int len = snprintf(num, sizeof(num), "%lld", (long long)(n == 0 ? 0 : n));
        if (strcmp(named->name, "ID") == 0)
            bff_jwrite_str(out, num, (size_t)len);
        else
            bff_jwrite_raw(out, num, (size_t)len);
        return 0;
    }
    case BFF_GQL_FLOAT:
        bff_jwrite_raw(out, v->str, strlen(v->str));
        return 0;
    case BFF_GQL_STRING:
        bff_jwrite_str(out, v->str, v->len);
        return 0;
    case BFF_GQL_BOOLEAN:
        bff_jwrite_bool(out, v->boolean);
        return 0;
    case BFF_GQL_ENUM:
        bff_jwrite_str(out, v->str, strlen(v->str));
        return 0;
    case BFF_GQL_OBJECT:
        if (named->kind == BFF_GQL_INPUT_OBJECT)
            return write_object(named, v, vars, out, depth);
        bff_jwrite_null(out); /* a custom scalar given an object literal: not supported */
        return 0;
    case BFF_GQL_LIST: /* a list literal for a custom scalar */
    default:
        bff_jwrite_null(out);
        return 0;
    }
}

int bff_gql_coerce_arguments(const bff_gql_input_value_t *defs, size_t ndefs,
                             const bff_gql_argument_t *args, size_t nargs, const bff_jdoc_t *vars,
                             bff_gql_loc_t loc, bff_jwrite_t *out, bff_gql_errors_t *errs)
{
    int ret = 0;
    bff_jwrite_open(out, '{');
    for (size_t i = 0; i != ndefs; ++i) {
        const bff_gql_value_t *given = NULL;
        for (size_t j = 0; j != nargs; ++j)
            if (strcmp(args[j].name, defs[i].name) == 0)
                given = args[j].value;
        if (given != NULL && given->kind == BFF_GQL_VARIABLE &&
            (vars == NULL ||
             bff_jdoc_obj_get(vars, 0, given->str, strlen(given->str)) == BFF_JDOC_NONE))
            given = NULL;
        if (given == NULL)
            given = defs[i].default_value;
        if (given == NULL)
            continue;
        bff_jwrite_key(out, defs[i].name, strlen(defs[i].name));
        if (write_literal(defs[i].type, given, vars, out, 0) != 0) {
            char buf[128];
            bff_gql_error_add(errs, &loc, 1,
                              "Argument \"%s\" of non-null type \"%s\" must not be null.",
                              defs[i].name, bff_gql_type_print(defs[i].type, buf, sizeof(buf)));
            ret = -1;
        }
    }
    bff_jwrite_close(out, '}');
    return ret;
}

int bff_gql_included(const bff_gql_directive_t *dirs, size_t n, const bff_jdoc_t *vars,
                     const bff_gql_value_t **null_if)
{
    for (size_t i = 0; i != n; ++i) {
        int skip = strcmp(dirs[i].name, "skip") == 0;
        if (!skip && strcmp(dirs[i].name, "include") != 0)
            continue;
        for (size_t a = 0; a != dirs[i].nargs; ++a) {
            if (strcmp(dirs[i].args[a].name, "if") != 0)
                continue;
            const bff_gql_value_t *v = dirs[i].args[a].value;
            int cond = 0;
            if (v->kind == BFF_GQL_BOOLEAN) {
                cond = v->boolean;
            } else if (v->kind == BFF_GQL_VARIABLE && vars != NULL) {
                uint32_t tok = bff_jdoc_obj_get(vars, 0, v->str, strlen(v->str));
                if (tok != BFF_JDOC_NONE && vars->toks[tok].type == BFF_J_NULL) {
                    if (null_if != NULL)
                        *null_if = v;
                    return -1; /* a variable with a default, explicitly null */
                }
                cond = tok != BFF_JDOC_NONE && vars->toks[tok].type == BFF_J_TRUE;
            }
            if (skip ? cond : !cond)
                return 0;
        }
    }
    return 1;
}

/* ---- variables: JSON in, coerced JSON out ---- */

typedef struct st_var_ctx_t {
    const bff_gql_variable_def_t *def;
    bff_gql_errors_t *errs;
    const bff_jdoc_t *doc;
    char path[256]; /* "input.items[2].qty" for messages */
} var_ctx_t;

static void var_error(var_ctx_t *vc, uint32_t tok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void var_error(var_ctx_t *vc, uint32_t tok, const char *fmt, ...)
{
    size_t len;
    const char *raw = bff_jdoc_raw(vc->doc, tok, &len);
    int shown = len > 60 ? 60 : (int)len;
    char where[300] = "";
    if (strchr(vc->path, '.') != NULL || strchr(vc->path, '[') != NULL)
        snprintf(where, sizeof(where), " at \"%s\"", vc->path);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bff_gql_error_add(vc->errs, &vc->def->loc, 1, "Variable \"$%s\" got invalid value %.*s%s%s; %s",
                      vc->def->name, shown, raw, len > 60 ? "..." : "", where, msg);
}

static int coerce_json(var_ctx_t *vc, const bff_gql_wrapped_t *t, uint32_t tok, bff_jwrite_t *out,
                       unsigned depth);

static int coerce_scalar(var_ctx_t *vc, const bff_gql_type_t *type, uint32_t tok, bff_jwrite_t *out)
{
    const bff_jdoc_t *d = vc->doc;
    const bff_jtok_t *t = d->toks + tok;
    size_t len;
    const char *raw = bff_jdoc_raw(d, tok, &len);
    char shown[80];
    snprintf(shown, sizeof(shown), "%.*s", len > 60 ? 60 : (int)len, raw);
    const char *name = type->name;
    if (type->kind == BFF_GQL_ENUM_TYPE) {
        if (t->type == BFF_J_STRING)
            for (size_t i = 0; i != type->nvalues; ++i)
                if (bff_jdoc_equals_str(d, tok, type->values[i].name,
                                        strlen(type->values[i].name))) {
                    bff_jwrite_raw(out, raw, len);
                    return 0;
                }
        char msg[200];
        snprintf(msg, sizeof(msg), "Value %s does not exist in \"%s\" enum.", shown, name);
        var_error(vc, tok, "%s", msg);
        return -1;
    }
    if (strcmp(name, "Int") == 0) {
        int64_t v;
        if (t->type == BFF_J_NUMBER && bff_jdoc_to_int64(d, tok, &v) == 0 && v >= INT32_MIN &&
            v <= INT32_MAX) {
            bff_jwrite_int(out, v);
            return 0;
        }
        double dv;
        if (t->type == BFF_J_NUMBER && bff_jdoc_to_double(d, tok, &dv) == 0 && dv == floor(dv))
            var_error(vc, tok, "Int cannot represent non 32-bit signed integer value: %s", shown);
        else
            var_error(vc, tok, "Int cannot represent non-integer value: %s", shown);
        return -1;
    }
    if (strcmp(name, "Float") == 0) {
        double dv;
        if (t->type == BFF_J_NUMBER && bff_jdoc_to_double(d, tok, &dv) == 0) {
            bff_jwrite_raw(out, raw, len);
            return 0;
        }
        var_error(vc, tok, "Float cannot represent non numeric value: %s", shown);
        return -1;
    }
    if (strcmp(name, "String") == 0) {
        if (t->type == BFF_J_STRING) {
            bff_jwrite_raw(out, raw, len);
            return 0;
        }
        var_error(vc, tok, "String cannot represent a non string value: %s", shown);
        return -1;
    }
    if (strcmp(name, "Boolean") == 0) {
        if (t->type == BFF_J_TRUE || t->type == BFF_J_FALSE) {
            bff_jwrite_raw(out, raw, len);
            return 0;
        }
        var_error(vc, tok, "Boolean cannot represent a non boolean value: %s", shown);
        return -1;
    }
    if (strcmp(name, "ID") == 0) {
        int64_t v;
        if (t->type == BFF_J_STRING) {
            bff_jwrite_raw(out, raw, len);
            return 0;
        }
        if (t->type == BFF_J_NUMBER && bff_jdoc_to_int64(d, tok, &v) == 0) {
            char num[24]; /* 1.0 is the integer 1, as JSON.parse reads it: "1" */
            bff_jwrite_str(out, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)v));
            return 0;
        }
        var_error(vc, tok, "ID cannot represent value: %s", shown);
        return -1;
    }
    bff_jwrite_raw(out, raw, len); /* a custom scalar: any JSON value */
    return 0;
}

static int coerce_object(var_ctx_t *vc, const bff_gql_type_t *type, uint32_t tok, bff_jwrite_t *out,
                         unsigned depth)
{
    const bff_jdoc_t *d = vc->doc;
    if (d->toks[tok].type != BFF_J_OBJECT) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Expected type \"%s\" to be an object.", type->name);
        var_error(vc, tok, "%s", msg);
        return -1;
    }
    int ret = 0;
    /* Unknown fields first: they are the client's typo. */
    for (uint32_t k = tok + 1, n = 0; n != d->toks[tok].size; ++n, k = d->toks[k + 1].next) {
        int known = 0;
        for (size_t i = 0; i != type->ninput_fields && !known; ++i)
            known = bff_jdoc_equals_str(d, k, type->input_fields[i].name,
                                        strlen(type->input_fields[i].name));
        if (!known) {
            char msg[300];
            snprintf(msg, sizeof(msg), "Field \"%.*s\" is not defined by type \"%s\".",
                     (int)(d->toks[k].end - d->toks[k].start), d->json + d->toks[k].start,
                     type->name);
            var_error(vc, tok, "%s", msg);
            ret = -1;
        }
    }
    bff_jwrite_open(out, '{');
    size_t pathlen = strlen(vc->path);
    for (size_t i = 0; i != type->ninput_fields; ++i) {
        const bff_gql_input_value_t *f = type->input_fields + i;
        uint32_t v = bff_jdoc_obj_get(d, tok, f->name, strlen(f->name));
        if (v == BFF_JDOC_NONE) {
            if (f->default_value != NULL) {
                bff_jwrite_key(out, f->name, strlen(f->name));
                write_literal(f->type, f->default_value, NULL, out, 0);
            } else if (f->type->kind == BFF_GQL_NON_NULL) {
                char buf[128], msg[300];
                snprintf(msg, sizeof(msg), "Field \"%s\" of required type \"%s\" was not provided.",
                         f->name, bff_gql_type_print(f->type, buf, sizeof(buf)));
                var_error(vc, tok, "%s", msg);
                ret = -1;
            }
            continue;
        }
        snprintf(vc->path + pathlen, sizeof(vc->path) - pathlen, ".%s", f->name);
        bff_jwrite_key(out, f->name, strlen(f->name));
        ret |= coerce_json(vc, f->type, v, out, depth + 1);
        vc->path[pathlen] = '\0';
    }
    bff_jwrite_close(out, '}');
    return ret;
}

static int coerce_json(var_ctx_t *vc, const bff_gql_wrapped_t *t, uint32_t tok, bff_jwrite_t *out,
                       unsigned depth)
{
    const bff_jdoc_t *d = vc->doc;
    if (depth > MAX_INPUT_DEPTH) {
        var_error(vc, tok, "%s", "the value is nested too deeply.");
        return -1;
    }
    if (d->toks[tok].type == BFF_J_NULL) {
        if (t->kind == BFF_GQL_NON_NULL) {
            char buf[128], msg[200];
            snprintf(msg, sizeof(msg), "Expected non-nullable type \"%s\" not to be null.",
                     bff_gql_type_print(t, buf, sizeof(buf)));
            var_error(vc, tok, "%s", msg);
            return -1;
        }
        bff_jwrite_null(out);
        return 0;
    }
    t = nullable(t);
    if (t->kind == BFF_GQL_LIST_OF) {
        int ret = 0;
        bff_jwrite_open(out, '[');
        if (d->toks[tok].type == BFF_J_ARRAY) {
            size_t pathlen = strlen(vc->path);
            uint32_t e = tok + 1;
            for (uint32_t i = 0; i != d->toks[tok].size; ++i, e = d->toks[e].next) {
                snprintf(vc->path + pathlen, sizeof(vc->path) - pathlen, "[%u]", i);
                ret |= coerce_json(vc, t->of, e, out, depth + 1);
            }
            vc->path[pathlen] = '\0';
        } else {
            ret = coerce_json(vc, t->of, tok, out, depth + 1);
        }
        bff_jwrite_close(out, ']');
        return ret;
    }
    if (t->named->kind == BFF_GQL_INPUT_OBJECT)
        return coerce_object(vc, t->named, tok, out, depth);
    return coerce_scalar(vc, t->named, tok, out);
}

/* A variable's written type resolved against the schema into `chain` (wrappers nest at most
 * as deep as the parser allows); NULL if a name is unknown (validation reported it). */
#define MAX_WRAP 70
static const bff_gql_wrapped_t *wrap_ref(const bff_gql_schema_t *schema,
                                         const bff_gql_type_ref_t *ref,
                                         bff_gql_wrapped_t chain[MAX_WRAP])
{
    size_t n = 0;
    for (const bff_gql_type_ref_t *r = ref; r != NULL && n != MAX_WRAP; r = r->of, ++n) {
        chain[n].kind = r->kind;
        if (r->kind == BFF_GQL_NAMED) {
            if ((chain[n].named = bff_gql_schema_type(schema, r->name)) == NULL)
                return NULL;
            return chain;
        }
        chain[n].of = chain + n + 1;
    }
    return NULL;
}

int bff_gql_coerce_variables(const bff_gql_schema_t *schema, const bff_gql_operation_t *op,
                             const bff_jdoc_t *doc, uint32_t tok, bff_jwrite_t *out,
                             bff_gql_errors_t *errs)
{
    int ret = 0;
    bff_jwrite_open(out, '{');
    for (size_t i = 0; i != op->nvars; ++i) {
        const bff_gql_variable_def_t *def = op->vars + i;
        char buf[128];
        uint32_t v =
            doc != NULL ? bff_jdoc_obj_get(doc, tok, def->name, strlen(def->name)) : BFF_JDOC_NONE;
        /* Variable types were checked by validation: resolve the written type now. */
        bff_gql_wrapped_t chain[MAX_WRAP];
        const bff_gql_wrapped_t *type = wrap_ref(schema, def->type, chain);
        if (type == NULL)
            continue;
        if (v == BFF_JDOC_NONE) {
            if (def->default_value != NULL) {
                bff_jwrite_key(out, def->name, strlen(def->name));
                write_literal(type, def->default_value, NULL, out, 0);
            } else if (type->kind == BFF_GQL_NON_NULL) {
                bff_gql_error_add(errs, &def->loc, 1,
                                  "Variable \"$%s\" of required type \"%s\" was not provided.",
                                  def->name, bff_gql_type_print(type, buf, sizeof(buf)));
                ret = -1;
            }
            continue;
        }
        if (doc->toks[v].type == BFF_J_NULL && type->kind == BFF_GQL_NON_NULL) {
            bff_gql_error_add(errs, &def->loc, 1,
                              "Variable \"$%s\" of non-null type \"%s\" must not be null.",
                              def->name, bff_gql_type_print(type, buf, sizeof(buf)));
            ret = -1;
            continue;
        }
        var_ctx_t vc = {.def = def, .errs = errs, .doc = doc};
        snprintf(vc.path, sizeof(vc.path), "%s", def->name);
        bff_jwrite_key(out, def->name, strlen(def->name));
        ret |= coerce_json(&vc, type, v, out, 0);
    }
    bff_jwrite_close(out, '}');
    return ret;
}
