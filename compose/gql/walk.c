/* The walk over an operation's selection (run_internal.h): field collection with fragments and
 * @skip/@include (CollectFields), resolution through the graph's resolvers, and value
 * completion with null propagation (CompleteValue). One function serves both passes: planning
 * (no writer: start what is ready, report what is pending) and writing the response. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/gql/run_internal.h"
#include "compose/gql/values.h"
#include "compose/mem.h"

#define MAX_PATH 256

typedef enum en_status_t {
    ST_OK,
    ST_NULL,       /* a plain null */
    ST_NULL_ERROR, /* null because of an error (recorded) */
    ST_PROPAGATE,  /* null in a non-null place: the enclosing object or list becomes null */
    ST_PENDING,    /* planning: waiting for calls */
} status_t;

typedef struct st_raw_t {
    const bff_jdoc_t *doc; /* NULL = null or absent */
    uint32_t tok;
} raw_t;

typedef struct st_group_t {
    const char *key;
    const bff_gql_selection_t **nodes;
    size_t n, cap;
} group_t;

typedef struct st_groups_t {
    group_t *items;
    size_t n, cap;
} groups_t;

typedef struct st_walk_t {
    bff_gql_run_t *run;
    bff_jwrite_t *out; /* NULL while planning */
    const bff_gql_schema_t *schema;
    const bff_gql_document_t *doc;
    int collect_failed; /* an @skip/@include `if` was null: the selection set is an error */
} walk_t;

/* ---- output helpers: nothing is written while planning ---- */

static void w_null(walk_t *wk)
{
    if (wk->out != NULL)
        bff_jwrite_null(wk->out);
}

static void w_str(walk_t *wk, const char *s)
{
    if (wk->out != NULL)
        bff_jwrite_str(wk->out, s, strlen(s));
}

static void w_raw(walk_t *wk, const raw_t *r)
{
    if (wk->out == NULL)
        return;
    size_t len;
    const char *p = bff_jdoc_raw(r->doc, r->tok, &len);
    bff_jwrite_raw(wk->out, p, len);
}

static const bff_jtok_t *tok_of(const raw_t *r)
{
    return r->doc->toks + r->tok;
}

static int push_key(walk_t *wk, const char *key)
{
    bff_gql_run_t *run = wk->run;
    if (run->depth == MAX_PATH)
        return -1;
    run->path[run->depth].key = key;
    run->path[run->depth++].index = 0;
    return 0;
}

static int push_index(walk_t *wk, size_t i)
{
    bff_gql_run_t *run = wk->run;
    if (run->depth == MAX_PATH)
        return -1;
    run->path[run->depth].key = NULL;
    run->path[run->depth++].index = i;
    return 0;
}

/* ---- CollectFields ---- */

static const bff_gql_fragment_t *find_fragment(const bff_gql_document_t *doc, const char *name)
{
    for (size_t i = 0; i != doc->nfragments; ++i)
        if (strcmp(doc->fragments[i].name, name) == 0)
            return doc->fragments + i;
    return NULL;
}

static int type_applies(walk_t *wk, const char *condition, const bff_gql_type_t *obj)
{
    if (condition == NULL)
        return 1;
    const bff_gql_type_t *t = bff_gql_schema_type(wk->schema, condition);
    if (t == NULL)
        return 0;
    return t == obj || bff_gql_type_is_possible(t, obj);
}

static void add_to_group(groups_t *gs, const bff_gql_selection_t *sel)
{
    const char *key = sel->alias != NULL ? sel->alias : sel->name;
    group_t *g = NULL;
    for (size_t i = 0; i != gs->n && g == NULL; ++i)
        if (strcmp(gs->items[i].key, key) == 0)
            g = gs->items + i;
    if (g == NULL) {
        if (gs->n == gs->cap) {
            gs->cap = gs->cap ? gs->cap * 2 : 8;
            gs->items = bff_realloc(gs->items, gs->cap * sizeof(*gs->items));
        }
        g = gs->items + gs->n++;
        memset(g, 0, sizeof(*g));
        g->key = key;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 2;
        g->nodes = bff_realloc(g->nodes, g->cap * sizeof(*g->nodes));
    }
    g->nodes[g->n++] = sel;
}

typedef struct st_visited_t {
    const bff_gql_fragment_t **items;
    size_t n, cap;
} visited_t;

/* @skip/@include; a null `if` fails the selection set being collected (as graphql-js: the
 * field whose sub-selection it is becomes null with the error; at the root, data is null). */
static int included(walk_t *wk, const bff_gql_directive_t *dirs, size_t n)
{
    const bff_gql_value_t *null_if = NULL;
    int inc = bff_gql_included(dirs, n, &wk->run->vars, &null_if);
    if (inc >= 0)
        return inc;
    if (!wk->collect_failed && wk->out != NULL)
        bff_gql_run_error(wk->run, &null_if->loc, "BAD_USER_INPUT", NULL,
                          "Argument \"if\" of non-null type \"Boolean!\" must not be null.");
    wk->collect_failed = 1;
    return 0;
}

static void collect(walk_t *wk, const bff_gql_type_t *obj, const bff_gql_selection_set_t *set,
                    groups_t *gs, visited_t *seen, unsigned depth)
{
    if (set == NULL || depth > 64) /* fragments nest at most as deep as the parser allows */
        return;
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *sel = set->items + i;
        if (!included(wk, sel->directives, sel->ndirectives))
            continue;
        if (sel->kind == BFF_GQL_FIELD) {
            add_to_group(gs, sel);
        } else if (sel->kind == BFF_GQL_INLINE_FRAGMENT) {
            if (type_applies(wk, sel->type_condition, obj))
                collect(wk, obj, sel->selection_set, gs, seen, depth + 1);
        } else {
            const bff_gql_fragment_t *f = find_fragment(wk->doc, sel->name);
            int visited = f == NULL;
            for (size_t v = 0; v != seen->n && !visited; ++v)
                visited = seen->items[v] == f;
            if (visited || !type_applies(wk, f->type_condition, obj) ||
                !included(wk, f->directives, f->ndirectives))
                continue;
            if (seen->n == seen->cap) {
                seen->cap = seen->cap ? seen->cap * 2 : 4;
                seen->items = bff_realloc(seen->items, seen->cap * sizeof(*seen->items));
            }
            seen->items[seen->n++] = f;
            collect(wk, obj, f->selection_set, gs, seen, depth + 1);
        }
    }
}

/* The sub-fields of a group's nodes for the runtime type `obj`. */
static void collect_sub(walk_t *wk, const bff_gql_type_t *obj, const group_t *g, groups_t *gs)
{
    visited_t seen = {0};
    for (size_t i = 0; i != g->n; ++i)
        collect(wk, obj, g->nodes[i]->selection_set, gs, &seen, 0);
    free(seen.items);
}

static void groups_free(groups_t *gs)
{
    for (size_t i = 0; i != gs->n; ++i)
        free(gs->items[i].nodes);
    free(gs->items);
}

/* ---- introspection data ---- */

static const bff_jdoc_t *introspection(walk_t *wk)
{
    bff_gql_run_t *run = wk->run;
    if (!run->introspection_ready) {
        const bff_gql_graph_t *g = run->conf.graph;
        if (bff_jdoc_scan(&run->introspection, g->introspection_json, g->introspection_len, 0,
                          BFF_JDOC_MAX_DEPTH, NULL, NULL) != 0)
            return NULL;
        run->introspection_ready = 1;
    }
    return &run->introspection;
}

/* The full introspection entry of the type named `name` (len bytes), or BFF_JDOC_NONE. */
static uint32_t introspection_type(walk_t *wk, const char *name, size_t len)
{
    const bff_jdoc_t *d = introspection(wk);
    if (d == NULL)
        return BFF_JDOC_NONE;
    uint32_t types = bff_jdoc_obj_get(d, 0, "types", 5);
    if (types == BFF_JDOC_NONE)
        return BFF_JDOC_NONE;
    uint32_t e = types + 1;
    for (uint32_t i = 0; i != d->toks[types].size; ++i, e = d->toks[e].next) {
        uint32_t n = bff_jdoc_obj_get(d, e, "name", 4);
        if (n != BFF_JDOC_NONE && bff_jdoc_equals_str(d, n, name, len))
            return e;
    }
    return BFF_JDOC_NONE;
}

/* ---- leaf values ---- */

static int is_numeric_string(const raw_t *r, double *out)
{
    const bff_jtok_t *t = tok_of(r);
    size_t n = t->end - t->start;
    if (t->type != BFF_J_STRING || t->escaped || n == 0 || n > 40)
        return 0;
    char buf[48];
    memcpy(buf, r->doc->json + t->start, n);
    buf[n] = '\0';
    char *end;
    *out = strtod(buf, &end);
    /* "NaN", "inf" and "1e999" parse, but name no number GraphQL can carry (nor one a cast to
     * an integer may take). */
    return *end == '\0' && buf[0] != ' ' && isfinite(*out);
}

/* Serializes a leaf; returns NULL, or the error message (in buf). */
static const char *serialize_leaf(walk_t *wk, const bff_gql_type_t *type, const raw_t *r, char *buf,
                                  size_t size)
{
    const bff_jtok_t *t = tok_of(r);
    size_t rawlen;
    const char *raw = bff_jdoc_raw(r->doc, r->tok, &rawlen);
    int shown = rawlen > 60 ? 60 : (int)rawlen;
    const char *name = type->name;
    double d;
    int64_t i;
    if (type->kind == BFF_GQL_ENUM_TYPE) {
        if (t->type == BFF_J_STRING)
            for (size_t v = 0; v != type->nvalues; ++v)
                if (bff_jdoc_equals_str(r->doc, r->tok, type->values[v].name,
                                        strlen(type->values[v].name))) {
                    w_raw(wk, r);
                    return NULL;
                }
        snprintf(buf, size, "Enum \"%s\" cannot represent value: %.*s", name, shown, raw);
        return buf;
    }
    if (strcmp(name, "Int") == 0) {
        if (t->type == BFF_J_TRUE || t->type == BFF_J_FALSE) {
            if (wk->out)
                bff_jwrite_int(wk->out, t->type == BFF_J_TRUE);
            return NULL;
        }
        if ((t->type == BFF_J_NUMBER && bff_jdoc_to_double(r->doc, r->tok, &d) == 0) ||
            is_numeric_string(r, &d)) {
            if (d != (double)(int64_t)d) {
                snprintf(buf, size, "Int cannot represent non-integer value: %.*s", shown, raw);
                return buf;
            }
            if (d < INT32_MIN || d > INT32_MAX) {
                snprintf(buf, size, "Int cannot represent non 32-bit signed integer value: %.*s",
                         shown, raw);
                return buf;
            }
            if (wk->out)
                bff_jwrite_int(wk->out, (int64_t)d);
            return NULL;
        }
        snprintf(buf, size, "Int cannot represent non-integer value: %.*s", shown, raw);
        return buf;
    }
    if (strcmp(name, "Float") == 0) {
        if (t->type == BFF_J_TRUE || t->type == BFF_J_FALSE) {
            if (wk->out)
                bff_jwrite_int(wk->out, t->type == BFF_J_TRUE);
            return NULL;
        }
        if (t->type == BFF_J_NUMBER && bff_jdoc_to_double(r->doc, r->tok, &d) == 0) {
            w_raw(wk, r); /* as the upstream wrote it (1e400 overflows: refused below) */
            return NULL;
        }
        if (is_numeric_string(r, &d)) {
            if (wk->out)
                bff_jwrite_double(wk->out, d);
            return NULL;
        }
        snprintf(buf, size, "Float cannot represent non numeric value: %.*s", shown, raw);
        return buf;
    }
    if (strcmp(name, "String") == 0 || strcmp(name, "ID") == 0) {
        int id = name[0] == 'I';
        if (t->type == BFF_J_STRING) {
            w_raw(wk, r);
            return NULL;
        }
        if (t->type == BFF_J_NUMBER && (!id || bff_jdoc_to_int64(r->doc, r->tok, &i) == 0)) {
            if (wk->out)
                bff_jwrite_str(wk->out, raw, rawlen);
            return NULL;
        }
        if (!id && (t->type == BFF_J_TRUE || t->type == BFF_J_FALSE)) {
            w_str(wk, t->type == BFF_J_TRUE ? "true" : "false");
            return NULL;
        }
        snprintf(buf, size, "%s cannot represent value: %.*s", name, shown, raw);
        return buf;
    }
    if (strcmp(name, "Boolean") == 0) {
        if (t->type == BFF_J_TRUE || t->type == BFF_J_FALSE) {
            w_raw(wk, r);
            return NULL;
        }
        if (t->type == BFF_J_NUMBER && bff_jdoc_to_double(r->doc, r->tok, &d) == 0) {
            if (wk->out)
                bff_jwrite_bool(wk->out, d != 0);
            return NULL;
        }
        snprintf(buf, size, "Boolean cannot represent a non boolean value: %.*s", shown, raw);
        return buf;
    }
    w_raw(wk, r); /* a custom scalar: the upstream's JSON as it is */
    return NULL;
}

/* ---- CompleteValue ---- */

typedef struct st_field_ctx_t {
    const bff_gql_type_t *parent; /* for messages */
    const bff_gql_field_t *def;
    const group_t *group;
    int hide_deprecated;    /* introspection lists with includeDeprecated: false */
    const gql_call_t *lost; /* a for-each resolver's call that lost items of this list */
} field_ctx_t;

static status_t execute_object(walk_t *wk, const bff_gql_type_t *type, const raw_t *parent,
                               groups_t *gs);

static void field_error(walk_t *wk, const field_ctx_t *fc, const char *code, const gql_call_t *call,
                        const char *msg)
{
    if (wk->out != NULL)
        bff_gql_run_error(wk->run, &fc->group->nodes[0]->loc, code, call, "%s", msg);
}

/* An error naming the resolver and why an upstream call of `call` failed (the call itself, or
 * one item of its for-each list): `err`, `status` and the client-safe `detail`. */
static void call_error(walk_t *wk, const field_ctx_t *fc, const gql_call_t *call, const char *err,
                       long status, const char *detail)
{
    char msg[400];
    const char *code = err == bff_err_upstream_timeout ? "UPSTREAM_TIMEOUT"
                       : err == bff_gql_err_call_limit ? "CALL_LIMIT"
                                                       : "UPSTREAM_FAILED";
    if (wk->run->conf.safe_errors || detail[0] == '\0')
        snprintf(msg, sizeof(msg), "Could not resolve %s: an upstream call failed (%s).",
                 call->res->name, wk->run->conf.safe_errors ? bff_err_safe_code(err) : err);
    else
        snprintf(msg, sizeof(msg), "Could not resolve %s: %s.", call->res->name, detail);
    gql_call_t cause = *call; /* the error's extensions name this reason and status */
    cause.err = err;
    cause.status = status;
    field_error(wk, fc, code, &cause, msg);
}

/* 1 when `scope` is one of the space-separated words of `have`. */
static int has_scope(const char *have, const char *scope)
{
    size_t n = strlen(scope);
    for (const char *p = have; (p = strstr(p, scope)) != NULL; p += n)
        if ((p == have || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* A guarded field: the principal holds every scope it lists, else the field is null with an
 * error (and nothing is fetched for it). */
static int authorized(walk_t *wk, const bff_gql_resolver_t *res, const field_ctx_t *fc)
{
    char msg[300];
    if (wk->run->auth == NULL) {
        snprintf(msg, sizeof(msg), "%s needs an authenticated client.", res->name);
        field_error(wk, fc, "UNAUTHENTICATED", NULL, msg);
        w_null(wk);
        return 0;
    }
    for (size_t i = 0; i != res->nscopes; ++i)
        if (!has_scope(wk->run->scopes, res->scopes[i])) {
            snprintf(msg, sizeof(msg), "%s needs the scope '%s'.", res->name, res->scopes[i]);
            field_error(wk, fc, "FORBIDDEN", NULL, msg);
            w_null(wk);
            return 0;
        }
    return 1;
}

static int is_deprecated_item(const raw_t *r)
{
    if (tok_of(r)->type != BFF_J_OBJECT)
        return 0;
    uint32_t d = bff_jdoc_obj_get(r->doc, r->tok, "isDeprecated", 12);
    return d != BFF_JDOC_NONE && r->doc->toks[d].type == BFF_J_TRUE;
}

static status_t complete(walk_t *wk, const field_ctx_t *fc, const bff_gql_wrapped_t *t,
                         const raw_t *r)
{
    char msg[512];
    if (t->kind == BFF_GQL_NON_NULL) {
        status_t s = complete(wk, fc, t->of, r);
        if (s == ST_NULL) {
            snprintf(msg, sizeof(msg), "Cannot return null for non-nullable field %s.%s.",
                     fc->parent->name, fc->def->name);
            field_error(wk, fc, "INTERNAL_SERVER_ERROR", NULL, msg);
            return ST_PROPAGATE;
        }
        return s == ST_NULL_ERROR ? ST_PROPAGATE : s;
    }
    if (r->doc == NULL || tok_of(r)->type == BFF_J_NULL) {
        w_null(wk);
        return ST_NULL;
    }
    if (t->kind == BFF_GQL_LIST_OF) {
        if (tok_of(r)->type != BFF_J_ARRAY) {
            snprintf(msg, sizeof(msg),
                     "Expected Iterable, but did not find one for field \"%s.%s\".",
                     fc->parent->name, fc->def->name);
            field_error(wk, fc, "INTERNAL_SERVER_ERROR", NULL, msg);
            w_null(wk);
            return ST_NULL_ERROR;
        }
        bff_jwrite_mark_t mark = {0};
        if (wk->out != NULL) {
            mark = bff_jwrite_mark(wk->out);
            bff_jwrite_open(wk->out, '[');
        }
        status_t result = ST_OK;
        uint32_t e = r->tok + 1;
        size_t index = 0, next_lost = 0;
        const gql_call_t *lost = fc->lost; /* this list's items, as the call brought them */
        field_ctx_t items = *fc;
        items.lost = NULL;
        for (uint32_t i = 0; i != tok_of(r)->size; ++i, e = r->doc->toks[e].next) {
            raw_t item = {r->doc, e};
            if (fc->hide_deprecated && is_deprecated_item(&item))
                continue;
            if (push_index(wk, index++) != 0)
                break;
            if (lost != NULL && next_lost != lost->nfailures &&
                lost->failures[next_lost].index == i) { /* its call failed: say why, here */
                const gql_item_failure_t *f = lost->failures + next_lost++;
                call_error(wk, &items, lost, f->err, f->status, f->detail);
                w_null(wk);
                --wk->run->depth;
                if (t->of->kind != BFF_GQL_NON_NULL)
                    continue;
                if (wk->out != NULL) {
                    bff_jwrite_rewind(wk->out, &mark);
                    bff_jwrite_null(wk->out);
                }
                return ST_NULL_ERROR;
            }
            status_t s = complete(wk, &items, t->of, &item);
            --wk->run->depth;
            if (s == ST_PENDING)
                result = ST_PENDING;
            if (s == ST_PROPAGATE) {
                if (wk->out != NULL) {
                    bff_jwrite_rewind(wk->out, &mark);
                    bff_jwrite_null(wk->out);
                }
                return ST_NULL_ERROR;
            }
        }
        if (wk->out != NULL)
            bff_jwrite_close(wk->out, ']');
        return result;
    }
    const bff_gql_type_t *type = t->named;
    if (bff_gql_type_is_leaf(type)) {
        const char *err = serialize_leaf(wk, type, r, msg, sizeof(msg));
        if (err == NULL)
            return ST_OK;
        field_error(wk, fc, "INTERNAL_SERVER_ERROR", NULL, err);
        w_null(wk);
        return ST_NULL_ERROR;
    }
    raw_t value = *r;
    if (tok_of(r)->type != BFF_J_OBJECT) {
        size_t len;
        const char *raw = bff_jdoc_raw(r->doc, r->tok, &len);
        snprintf(msg, sizeof(msg), "Expected value of type \"%s\" but got: %.*s.", type->name,
                 len > 60 ? 60 : (int)len, raw);
        field_error(wk, fc, "INTERNAL_SERVER_ERROR", NULL, msg);
        w_null(wk);
        return ST_NULL_ERROR;
    }
    if (type->kind != BFF_GQL_OBJECT_TYPE) { /* abstract: the data names its type */
        const bff_gql_type_t *runtime = NULL;
        uint32_t tn = bff_jdoc_obj_get(r->doc, r->tok, "__typename", 10);
        if (tn != BFF_JDOC_NONE && r->doc->toks[tn].type == BFF_J_STRING) {
            const bff_jtok_t *tt = r->doc->toks + tn;
            char name[256];
            size_t n = tt->end - tt->start < sizeof(name) - 1 ? tt->end - tt->start : 0;
            memcpy(name, r->doc->json + tt->start, n);
            name[n] = '\0';
            runtime = bff_gql_schema_type(wk->schema, name);
        } else if (type->npossible_types == 1) {
            runtime = type->possible_types[0];
        }
        if (runtime == NULL || runtime->kind != BFF_GQL_OBJECT_TYPE ||
            !bff_gql_type_is_possible(type, runtime)) {
            snprintf(msg, sizeof(msg),
                     "Abstract type \"%s\" must resolve to an Object type at runtime for field "
                     "\"%s.%s\": the data's \"__typename\" must name one of its possible types.",
                     type->name, fc->parent->name, fc->def->name);
            field_error(wk, fc, "INTERNAL_SERVER_ERROR", NULL, msg);
            w_null(wk);
            return ST_NULL_ERROR;
        }
        type = runtime;
    }
    if (strcmp(type->name, "__Type") == 0) { /* a reference: complete it from the full type */
        uint32_t n = bff_jdoc_obj_get(r->doc, r->tok, "name", 4);
        if (n != BFF_JDOC_NONE && r->doc->toks[n].type == BFF_J_STRING) {
            const bff_jtok_t *nt = r->doc->toks + n;
            uint32_t full = introspection_type(wk, r->doc->json + nt->start, nt->end - nt->start);
            if (full != BFF_JDOC_NONE)
                value = (raw_t){&wk->run->introspection, full};
        }
    }
    groups_t gs = {0};
    collect_sub(wk, type, fc->group, &gs);
    if (wk->collect_failed) { /* reported once, at this field */
        wk->collect_failed = 0;
        groups_free(&gs);
        w_null(wk);
        return ST_NULL_ERROR;
    }
    status_t s = execute_object(wk, type, &value, &gs);
    groups_free(&gs);
    return s;
}

/* ---- fields ---- */

/* The JSON of {"args":..,"parent":..,"header":..,"auth":..} a resolver's run reads. */
static int build_key(walk_t *wk, const field_ctx_t *fc, const bff_gql_resolver_t *res,
                     const raw_t *parent, bff_jwrite_t *key)
{
    const bff_gql_selection_t *node = fc->group->nodes[0];
    bff_gql_errors_t errs = {0};
    bff_jwrite_open(key, '{');
    bff_jwrite_key(key, "args", 4);
    int ret = bff_gql_coerce_arguments(fc->def->args, fc->def->nargs, node->args, node->nargs,
                                       &wk->run->vars, node->loc, key, &errs);
    bff_jwrite_key(key, "parent", 6);
    if (res->reads_parent && parent->doc != NULL && res->parent_whole) {
        size_t len;
        const char *p = bff_jdoc_raw(parent->doc, parent->tok, &len);
        bff_jwrite_raw(key, p, len);
    } else if (res->reads_parent && parent->doc != NULL && tok_of(parent)->type == BFF_J_OBJECT) {
        /* Only what the resolver reads: calls for parents that agree on it are one call. */
        bff_jwrite_open(key, '{');
        for (size_t i = 0; i != res->nparent_fields; ++i) {
            const char *name = res->parent_fields[i];
            uint32_t v = bff_jdoc_obj_get(parent->doc, parent->tok, name, strlen(name));
            if (v == BFF_JDOC_NONE)
                continue;
            size_t len;
            const char *p = bff_jdoc_raw(parent->doc, v, &len);
            bff_jwrite_key(key, name, strlen(name));
            bff_jwrite_raw(key, p, len);
        }
        bff_jwrite_close(key, '}');
    } else {
        bff_jwrite_null(key);
    }
    bff_jwrite_key(key, "header", 6);
    bff_jwrite_raw(key, wk->run->headers, wk->run->headers_len);
    if (wk->run->auth != NULL) { /* the verified principal's claims */
        bff_jwrite_key(key, "auth", 4);
        bff_jwrite_raw(key, wk->run->auth, wk->run->auth_len);
    }
    bff_jwrite_close(key, '}');
    if (ret != 0 && errs.n != 0)
        field_error(wk, fc, "BAD_USER_INPUT", NULL, errs.items[0].message);
    bff_gql_errors_dispose(&errs);
    return ret != 0 || bff_jwrite_done(key) != 0 ? -1 : 0;
}

static status_t execute_field(walk_t *wk, const bff_gql_type_t *parent_type, const raw_t *parent,
                              const group_t *g)
{
    const bff_gql_selection_t *node = g->nodes[0];
    const bff_gql_field_t *def = bff_gql_schema_field(wk->schema, parent_type, node->name);
    if (def == NULL) { /* validation makes this impossible */
        w_null(wk);
        return ST_NULL;
    }
    field_ctx_t fc = {.parent = parent_type, .def = def, .group = g};
    if (def == wk->schema->typename_field) {
        w_str(wk, parent_type->name);
        return ST_OK;
    }
    if (def == wk->schema->schema_field || def == wk->schema->type_field) {
        const bff_jdoc_t *d = introspection(wk);
        raw_t r = {NULL, 0};
        if (d != NULL && def == wk->schema->schema_field) {
            r = (raw_t){d, 0};
        } else if (d != NULL) {
            for (size_t a = 0; a != node->nargs; ++a) {
                const bff_gql_value_t *v = node->args[a].value;
                const char *name = NULL;
                if (v->kind == BFF_GQL_STRING) {
                    name = v->str;
                } else if (v->kind == BFF_GQL_VARIABLE) {
                    uint32_t t = bff_jdoc_obj_get(&wk->run->vars, 0, v->str, strlen(v->str));
                    if (t != BFF_JDOC_NONE && wk->run->vars.toks[t].type == BFF_J_STRING) {
                        const bff_jtok_t *tt = wk->run->vars.toks + t;
                        uint32_t full = introspection_type(wk, wk->run->vars.json + tt->start,
                                                           tt->end - tt->start);
                        if (full != BFF_JDOC_NONE)
                            r = (raw_t){d, full};
                    }
                }
                if (name != NULL) {
                    uint32_t full = introspection_type(wk, name, strlen(name));
                    if (full != BFF_JDOC_NONE)
                        r = (raw_t){d, full};
                }
            }
        }
        return complete(wk, &fc, def->type, &r);
    }
    const bff_gql_resolver_t *res = bff_gql_graph_resolver(wk->run->conf.graph, def);
    if (res != NULL && res->needs_principal && !authorized(wk, res, &fc))
        return def->type->kind == BFF_GQL_NON_NULL ? ST_PROPAGATE : ST_NULL_ERROR;
    if (res != NULL && res->kind == BFF_GQL_RESOLVE_MEMBER)
        res = NULL; /* guarded only: the parent's member */
    raw_t value = {NULL, 0};
    if (res == NULL) {
        if (parent->doc != NULL && tok_of(parent)->type == BFF_J_OBJECT) {
            uint32_t v = bff_jdoc_obj_get(parent->doc, parent->tok, def->name, strlen(def->name));
            if (v != BFF_JDOC_NONE)
                value = (raw_t){parent->doc, v};
        }
        /* Introspection's includeDeprecated: false hides deprecated members. */
        if (parent_type->is_builtin && parent_type->name[0] == '_') {
            int include = 0;
            for (size_t a = 0; a != node->nargs; ++a)
                if (strcmp(node->args[a].name, "includeDeprecated") == 0) {
                    const bff_gql_value_t *v = node->args[a].value;
                    if (v->kind == BFF_GQL_BOOLEAN)
                        include = v->boolean;
                    else if (v->kind == BFF_GQL_VARIABLE) {
                        uint32_t t = bff_jdoc_obj_get(&wk->run->vars, 0, v->str, strlen(v->str));
                        include = t != BFF_JDOC_NONE && wk->run->vars.toks[t].type == BFF_J_TRUE;
                    }
                }
            fc.hide_deprecated =
                !include &&
                (strcmp(def->name, "fields") == 0 || strcmp(def->name, "enumValues") == 0 ||
                 strcmp(def->name, "args") == 0 || strcmp(def->name, "inputFields") == 0);
        }
        return complete(wk, &fc, def->type, &value);
    }
    bff_jwrite_t key;
    bff_jwrite_init(&key, 256, (size_t)16 << 20);
    if (build_key(wk, &fc, res, parent, &key) != 0) {
        bff_jwrite_dispose(&key);
        w_null(wk);
        return def->type->kind == BFF_GQL_NON_NULL ? ST_PROPAGATE : ST_NULL_ERROR;
    }
    gql_call_t *call = bff_gql_call_get(wk->run, res, key.buf, key.len);
    bff_jwrite_dispose(&key);
    if (call->state != GQL_CALL_DONE) {
        if (wk->out == NULL)
            return ST_PENDING;
        w_null(wk); /* cannot happen: writing starts once nothing is pending */
        return ST_NULL;
    }
    if (call->err != NULL) {
        call_error(wk, &fc, call, call->err, call->status, call->detail);
        w_null(wk);
        return def->type->kind == BFF_GQL_NON_NULL ? ST_PROPAGATE : ST_NULL_ERROR;
    }
    if (call->partial[0] != '\0') /* lost items whose places the value shape moved */
        call_error(wk, &fc, call, bff_err_partial, 0, call->partial);
    if (call->left_out != 0) { /* a list longer than the resolver's for_each max */
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "%s fetches at most %u items (its for_each max): %zu more were left out.",
                 res->name, res->plan.sources[0].max_items, call->left_out);
        field_error(wk, &fc, "BAD_USER_INPUT", NULL, msg);
    }
    fc.lost = call->nfailures != 0 ? call : NULL;
    if (call->json != NULL)
        value = (raw_t){&call->doc, 0};
    return complete(wk, &fc, def->type, &value);
}

static status_t execute_object(walk_t *wk, const bff_gql_type_t *type, const raw_t *parent,
                               groups_t *gs)
{
    bff_jwrite_mark_t mark = {0};
    if (wk->out != NULL) {
        mark = bff_jwrite_mark(wk->out);
        bff_jwrite_open(wk->out, '{');
    }
    status_t result = ST_OK;
    int serial = wk->run->depth == 0 && wk->run->conf.op->kind == BFF_GQL_MUTATION;
    for (size_t i = 0; i != gs->n; ++i) {
        if (wk->out != NULL)
            bff_jwrite_key(wk->out, gs->items[i].key, strlen(gs->items[i].key));
        if (push_key(wk, gs->items[i].key) != 0) {
            w_null(wk);
            continue;
        }
        status_t s = execute_field(wk, type, parent, gs->items + i);
        --wk->run->depth;
        if (s == ST_PROPAGATE) {
            if (wk->out != NULL) {
                bff_jwrite_rewind(wk->out, &mark);
                bff_jwrite_null(wk->out);
            }
            return ST_NULL_ERROR;
        }
        if (s == ST_PENDING) {
            result = ST_PENDING;
            if (serial) /* mutations run one after another */
                break;
        }
    }
    if (wk->out != NULL)
        bff_jwrite_close(wk->out, '}');
    return result;
}

int bff_gql_walk(bff_gql_run_t *run, bff_jwrite_t *out)
{
    const bff_gql_graph_t *g = run->conf.graph;
    walk_t wk = {.run = run, .out = out, .schema = g->schema, .doc = run->conf.doc};
    const bff_gql_operation_t *op = run->conf.op;
    const bff_gql_type_t *root =
        op->kind == BFF_GQL_MUTATION ? g->schema->mutation : g->schema->query;
    run->depth = 0;
    if (root == NULL) {
        if (out != NULL)
            bff_jwrite_null(out);
        return 0;
    }
    groups_t gs = {0};
    visited_t seen = {0};
    collect(&wk, root, op->selection_set, &gs, &seen, 0);
    free(seen.items);
    if (wk.collect_failed) {
        groups_free(&gs);
        if (out != NULL)
            bff_jwrite_null(out);
        return 0;
    }
    raw_t none = {NULL, 0};
    status_t s = execute_object(&wk, root, &none, &gs);
    groups_free(&gs);
    return s == ST_PENDING;
}
