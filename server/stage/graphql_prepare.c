/* From a GraphQL request's parameters to an operation ready to run: the document by its text
 * or its persisted hash (the worker's cache of validated documents, trusted documents), the
 * operation picked by name, the endpoint's rules (introspection, no subscriptions, no mutation
 * over GET), and the variables coerced; and the {"errors": [...]} answers of requests that
 * never run, to the HTTP response or into a batch's element. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/apq.h"
#include "compose/gql/parse.h"
#include "compose/gql/validate.h"
#include "compose/gql/values.h"
#include "server/core/digest.h"
#include "server/http/respond.h"
#include "server/stage/graphql_internal.h"

static const h2o_iovec_t type_json = {H2O_STRLIT("application/json")};
static const h2o_iovec_t type_gql = {H2O_STRLIT("application/graphql-response+json")};

static void write_errors(bff_jwrite_t *w, const bff_gql_errors_t *errs, const char *code)
{
    bff_jwrite_key(w, H2O_STRLIT("errors"));
    bff_jwrite_open(w, '[');
    for (size_t i = 0; i != errs->n; ++i) {
        const bff_gql_error_t *e = errs->items + i;
        bff_jwrite_open(w, '{');
        bff_jwrite_key(w, H2O_STRLIT("message"));
        bff_jwrite_str(w, e->message, strlen(e->message));
        if (e->nlocs != 0) {
            bff_jwrite_key(w, H2O_STRLIT("locations"));
            bff_jwrite_open(w, '[');
            for (size_t l = 0; l != e->nlocs; ++l) {
                bff_jwrite_open(w, '{');
                bff_jwrite_key(w, H2O_STRLIT("line"));
                bff_jwrite_int(w, e->locs[l].line);
                bff_jwrite_key(w, H2O_STRLIT("column"));
                bff_jwrite_int(w, e->locs[l].column);
                bff_jwrite_close(w, '}');
            }
            bff_jwrite_close(w, ']');
        }
        if (code != NULL) {
            bff_jwrite_key(w, H2O_STRLIT("extensions"));
            bff_jwrite_open(w, '{');
            bff_jwrite_key(w, H2O_STRLIT("code"));
            bff_jwrite_str(w, code, strlen(code));
            bff_jwrite_close(w, '}');
        }
        bff_jwrite_close(w, '}');
    }
    bff_jwrite_close(w, ']');
}

void bff_gql_send_json(h2o_req_t *req, int status, int response_json, const bff_jwrite_t *w)
{
    h2o_iovec_t body = h2o_strdup(&req->pool, w->buf, w->len);
    bff_respond_typed(req, status, bff_status_reason(status), response_json ? type_gql : type_json,
                      body);
}

void bff_gql_answer_errors(const gql_out_t *out, int status, int always,
                           const bff_gql_errors_t *errs, const char *code)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 512, 1 << 20);
    bff_jwrite_open(&w, '{');
    write_errors(&w, errs, code);
    bff_jwrite_close(&w, '}');
    int sent = out->response_json || always ? status : 200;
    if (out->batch != NULL) {
        bff_gql_batch_put(out->batch, out->index, w.buf, w.len);
    } else if (out->r != NULL) {
        bff_gql_send_json(out->r->req, sent, out->response_json, &w);
    } else {
        out->answer->status = sent;
        bff_answer_add_header(out->answer, H2O_STRLIT("content-type"),
                              out->response_json ? type_gql.base : type_json.base,
                              out->response_json ? type_gql.len : type_json.len);
        bff_answer_set_body(out->answer, w.buf, w.len);
    }
    bff_jwrite_dispose(&w);
}

void bff_gql_answer_message(const gql_out_t *out, int status, int always, const char *code,
                            const char *fmt, ...)
{
    bff_gql_errors_t errs = {0};
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bff_gql_error_add(&errs, NULL, 0, "%s", msg);
    bff_gql_answer_errors(out, status, always, &errs, code);
    bff_gql_errors_dispose(&errs);
}

static const bff_gql_operation_t *pick_operation(const bff_gql_document_t *doc, h2o_iovec_t name,
                                                 char *msg, size_t size)
{
    if (name.base == NULL) {
        if (doc->noperations == 1)
            return doc->operations;
        snprintf(msg, size,
                 doc->noperations == 0 ? "Must provide an operation."
                                       : "Must provide operation name if query contains multiple "
                                         "operations.");
        return NULL;
    }
    for (size_t i = 0; i != doc->noperations; ++i)
        if (doc->operations[i].name != NULL && strlen(doc->operations[i].name) == name.len &&
            memcmp(doc->operations[i].name, name.base, name.len) == 0)
            return doc->operations + i;
    snprintf(msg, size, "Unknown operation named \"%.*s\".", (int)(name.len > 100 ? 100 : name.len),
             name.base);
    return NULL;
}

/* 1 when the document selects __schema or __type anywhere (iteratively: no recursion). */
static int uses_introspection(const bff_gql_document_t *doc)
{
    size_t cap = 64, n = 0;
    const bff_gql_selection_set_t **stack = malloc(cap * sizeof(*stack));
    if (stack == NULL)
        return 1;
    for (size_t i = 0; i != doc->noperations; ++i)
        stack[n++] = doc->operations[i].selection_set, n = n < cap ? n : cap - 1;
    int found = 0;
    for (size_t i = 0; i != doc->nfragments && n < cap; ++i)
        stack[n++] = doc->fragments[i].selection_set;
    while (n != 0 && !found) {
        const bff_gql_selection_set_t *set = stack[--n];
        if (set == NULL)
            continue;
        for (size_t i = 0; i != set->nitems && !found; ++i) {
            const bff_gql_selection_t *sel = set->items + i;
            if (sel->kind == BFF_GQL_FIELD &&
                (strcmp(sel->name, "__schema") == 0 || strcmp(sel->name, "__type") == 0))
                found = 1;
            if (sel->selection_set != NULL) {
                if (n == cap) {
                    const bff_gql_selection_set_t **bigger =
                        realloc(stack, (cap *= 2) * sizeof(*stack));
                    if (bigger == NULL) {
                        found = 1;
                        break;
                    }
                    stack = bigger;
                }
                stack[n++] = sel->selection_set;
            }
        }
    }
    free(stack);
    return found;
}

/* Answers 400 and returns 1 when the graph has introspection off and the document uses it. */
static int refused_introspection(const gql_out_t *o, const bff_gql_graph_t *g,
                                 const bff_gql_document_t *doc)
{
    if (g->introspection || !uses_introspection(doc))
        return 0;
    bff_gql_answer_message(o, 400, 0, "GRAPHQL_VALIDATION_FAILED",
                           "GraphQL introspection is not allowed on this endpoint, but the "
                           "query contained __schema or __type.");
    return 1;
}

/* The sha256 of extensions.persistedQuery (automatic persisted queries, version 1) into
 * `hash`; 0 when there is none, -1 when it is malformed, -2 for a version other than 1 (as
 * Apollo Server; an absent version is taken as 1). */
static int persisted_hash(const bff_gql_params_t *p, char hash[65])
{
    if (p->extensions.base == NULL)
        return 0;
    bff_jdoc_t d = {0};
    int ret = 0;
    if (bff_jdoc_scan(&d, p->extensions.base, p->extensions.len, 4096, 0, NULL, NULL) == 0) {
        uint32_t pq = bff_jdoc_obj_get(&d, 0, "persistedQuery", 14);
        uint32_t version =
            pq != BFF_JDOC_NONE ? bff_jdoc_obj_get(&d, pq, "version", 7) : BFF_JDOC_NONE;
        int64_t v = 1;
        if (version != BFF_JDOC_NONE && (d.toks[version].type != BFF_J_NUMBER ||
                                         bff_jdoc_to_int64(&d, version, &v) != 0 || v != 1)) {
            ret = -2;
        } else if (pq != BFF_JDOC_NONE) {
            uint32_t h = bff_jdoc_obj_get(&d, pq, "sha256Hash", 10);
            ret = -1;
            if (h != BFF_JDOC_NONE && d.toks[h].type == BFF_J_STRING &&
                d.toks[h].end - d.toks[h].start == 64) {
                memcpy(hash, d.json + d.toks[h].start, 64);
                hash[64] = '\0';
                ret = 1;
                for (int i = 0; i != 64; ++i)
                    if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f')))
                        ret = -1;
            }
        }
    }
    bff_jdoc_dispose(&d);
    return ret;
}

/* The validated document the request names: by its text or its digest (automatic persisted
 * queries), from the worker's cache or parsed and validated now, and on a trusted-only
 * endpoint one of the trusted documents. NULL after answering. */
static bff_gql_cached_t *find_document(const gql_out_t *o, const bff_gql_graph_t *g,
                                       const bff_gql_params_t *params, char hash[65])
{
    bff_req_t *r = o->r;
    char persisted[65];
    int has_persisted = persisted_hash(params, persisted);
    if (has_persisted == -2) {
        bff_gql_answer_message(o, 400, 1, "BAD_REQUEST", "Unsupported persisted query version.");
        return NULL;
    }
    if (has_persisted < 0) {
        bff_gql_answer_message(
            o, 400, 1, "BAD_REQUEST",
            "extensions.persistedQuery needs a sha256Hash of 64 lower-case hex digits.");
        return NULL;
    }
    if (params->query.base != NULL) {
        bff_sha256_hex(params->query.base, params->query.len, hash);
        if (has_persisted && strcmp(hash, persisted) != 0) {
            bff_gql_answer_message(o, 400, 1, "PERSISTED_QUERY_HASH_MISMATCH",
                                   "provided sha does not match query");
            return NULL;
        }
        if (has_persisted) /* a registration: every worker may be asked for it next */
            bff_gql_apq_put(g->apq, hash, params->query.base, params->query.len);
    } else if (has_persisted) {
        memcpy(hash, persisted, 65);
    } else {
        bff_gql_answer_message(o, 400, 1, "BAD_REQUEST", "The request has no \"query\".");
        return NULL;
    }
    const struct st_bff_gql_trusted_t *trusted = bff_gql_graph_trusted(g, hash);
    if (g->trusted_only && trusted == NULL) {
        bff_gql_answer_message(
            o, 400, 1, "PERSISTED_QUERY_NOT_IN_LIST",
            "This endpoint only runs its trusted documents, and this is not one of "
            "them.");
        return NULL;
    }
    bff_gql_cache_t *cache = o->cache;
    uint64_t generation = 0;
    if (r != NULL) {
        bff_site_ctx_t *site = r->site;
        if (site->gql_cache == NULL)
            site->gql_cache = bff_calloc(1, sizeof(*site->gql_cache));
        cache = site->gql_cache;
        generation = r->view->config->generation;
    }
    bff_gql_cached_t *entry = bff_gql_cache_find(cache, hash, g, generation);
    if (entry != NULL)
        return entry;
    const char *text = params->query.base;
    size_t len = params->query.len;
    if (text == NULL && trusted != NULL)
        text = trusted->text, len = trusted->len;
    char *registered = NULL; /* by a client on another worker */
    if (text == NULL && (registered = bff_gql_apq_get(g->apq, hash, &len)) != NULL)
        text = registered;
    if (text == NULL) { /* a persisted query no worker has seen: the client resends */
        bff_gql_answer_message(o, 200, 0, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound");
        return NULL;
    }
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = bff_gql_parse(text, len, &g->parse_limits, &errs);
    free(registered); /* the document keeps copies of what it needs */
    if (doc == NULL) {
        bff_gql_answer_errors(o, 400, 0, &errs, "GRAPHQL_PARSE_FAILED");
        bff_gql_errors_dispose(&errs);
        return NULL;
    }
    /* Before validation, whose depth limit an introspection query (15 levels) meets first. */
    if (refused_introspection(o, g, doc)) {
        bff_gql_document_free(doc);
        return NULL;
    }
    if (bff_gql_validate(g->schema, doc, &g->validate_limits, &errs) != 0) {
        bff_gql_answer_errors(o, 400, 0, &errs, "GRAPHQL_VALIDATION_FAILED");
        bff_gql_errors_dispose(&errs);
        bff_gql_document_free(doc);
        return NULL;
    }
    return bff_gql_cache_add(cache, hash, doc, g, generation);
}

int bff_gql_prepare(const gql_out_t *o, const bff_gql_graph_t *g, const bff_gql_params_t *params,
                    int is_get, gql_prepared_t *p)
{
    char hash[65], msg[256];
    bff_gql_errors_t errs = {0};
    bff_gql_cached_t *entry = find_document(o, g, params, hash);
    if (entry == NULL)
        return -1;
    const bff_gql_document_t *doc = entry->doc;
    /* (introspection was refused before the document was cached: entries are the graph's own) */
    const bff_gql_operation_t *op = pick_operation(doc, params->operation_name, msg, sizeof(msg));
    if (op == NULL) {
        bff_gql_answer_message(o, 400, 0, "BAD_REQUEST", "%s", msg);
        goto Refused;
    }
    if (op->kind == BFF_GQL_SUBSCRIPTION) {
        bff_gql_answer_message(o, 400, 0, "BAD_REQUEST",
                               "Subscriptions are not supported on this endpoint.");
        goto Refused;
    }
    if (op->kind == BFF_GQL_MUTATION && is_get) {
        if (o->r != NULL)
            h2o_add_header(&o->r->req->pool, &o->r->req->res.headers, H2O_TOKEN_ALLOW, NULL,
                           H2O_STRLIT("POST"));
        else
            bff_answer_add_header(o->answer, H2O_STRLIT("allow"), H2O_STRLIT("POST"));
        bff_gql_answer_message(o, 405, 1, "METHOD_NOT_ALLOWED",
                               "Can only perform a mutation operation from a POST request.");
        goto Refused;
    }
    bff_jdoc_t vars_in = {0};
    if (params->variables.base != NULL &&
        bff_jdoc_scan(&vars_in, params->variables.base, params->variables.len, 1u << 20, 0, NULL,
                      NULL) != 0) {
        bff_jdoc_dispose(&vars_in);
        bff_gql_answer_message(o, 400, 1, "BAD_REQUEST", "\"variables\" must be a JSON object.");
        goto Refused;
    }
    bff_jwrite_init(&p->vars, 256, 1u << 20);
    int bad = bff_gql_coerce_variables(g->schema, op, params->variables.base ? &vars_in : NULL, 0,
                                       &p->vars, &errs);
    bff_jdoc_dispose(&vars_in);
    if (bad != 0 || bff_jwrite_done(&p->vars) != 0) {
        bff_jwrite_dispose(&p->vars);
        bff_gql_answer_errors(o, 400, 0, &errs, "BAD_USER_INPUT");
        goto Refused;
    }
    bff_gql_errors_dispose(&errs);
    p->entry = entry;
    p->op = op;
    return 0;

Refused:
    bff_gql_errors_dispose(&errs);
    bff_gql_cache_release(entry);
    return -1;
}
