/* Reading GraphQL-over-HTTP requests (graphql_request.h). */
#include "server/stage/graphql_request.h"

#include <stdio.h>
#include <string.h>

#include "compose/json_scan.h"
#include "server/http/params.h"

#define MAX_BODY_TOKENS (1u << 20)

/* The weight (q, 0-1000) an Accept header gives `type`, or -1 when it does not name it. */
static int accept_weight(h2o_iovec_t v, const char *type, size_t typelen)
{
    int best = -1;
    const char *p = v.base, *end = v.base + v.len;
    while (p < end) {
        const char *elem_end = memchr(p, ',', (size_t)(end - p));
        if (elem_end == NULL)
            elem_end = end;
        while (p < elem_end && (*p == ' ' || *p == '\t'))
            ++p;
        const char *range_end = p;
        while (range_end < elem_end && *range_end != ';' && *range_end != ' ' && *range_end != '\t')
            ++range_end;
        if ((size_t)(range_end - p) == typelen && h2o_lcstris(p, typelen, type, typelen)) {
            int q = 1000; /* q=0.5 -> 500; a malformed q counts as 1 */
            for (const char *s = range_end; s + 2 < elem_end; ++s)
                if ((s[0] == ';' || s[0] == ' ') && (s[1] == 'q' || s[1] == 'Q') && s[2] == '=') {
                    const char *d = s + 3;
                    if (d < elem_end && *d == '0') {
                        q = 0;
                        if (++d < elem_end && *d == '.')
                            for (int scale = 100; ++d < elem_end && *d >= '0' && *d <= '9';
                                 scale /= 10)
                                q += (*d - '0') * scale;
                    }
                    break;
                }
            if (q > best)
                best = q;
        }
        p = elem_end + 1;
    }
    return best;
}

int bff_gql_wants_response_json(h2o_req_t *req)
{
    /* The GraphQL-over-HTTP media type when the client names it with a weight above zero and
     * not below application/json's. */
    int gql = -1, json = -1;
    ssize_t i = -1;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, i)) != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        int g = accept_weight(v, H2O_STRLIT("application/graphql-response+json"));
        int j = accept_weight(v, H2O_STRLIT("application/json"));
        gql = g > gql ? g : gql;
        json = j > json ? j : json;
    }
    return gql > 0 && gql >= json;
}

static int is_json_body(h2o_req_t *req)
{
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (ct < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[ct].value;
    size_t n = 0;
    while (n != v.len && v.base[n] != ';' && v.base[n] != ' ')
        ++n;
    return (n == 16 && h2o_lcstris(v.base, 16, H2O_STRLIT("application/json"))) ||
           (n == 24 && h2o_lcstris(v.base, 24, H2O_STRLIT("application/graphql+json")));
}

/* A string member of the body into pool memory, unescaped. */
static h2o_iovec_t pool_string(h2o_mem_pool_t *pool, const bff_jdoc_t *d, uint32_t tok)
{
    const bff_jtok_t *t = d->toks + tok;
    char *buf = h2o_mem_alloc_pool(pool, t->end - t->start + 1);
    size_t n = bff_jdoc_unescape(d, tok, buf);
    buf[n] = '\0';
    return h2o_iovec_init(buf, n);
}

static h2o_iovec_t pool_raw(h2o_mem_pool_t *pool, const bff_jdoc_t *d, uint32_t tok)
{
    size_t len;
    const char *raw = bff_jdoc_raw(d, tok, &len);
    return h2o_strdup(pool, raw, len);
}

static int from_object(h2o_req_t *req, const bff_jdoc_t *d, uint32_t obj, bff_gql_params_t *out,
                       char *msg, size_t size)
{
    if (d->toks[obj].type != BFF_J_OBJECT) {
        snprintf(msg, size, "The request body must be a JSON object.");
        return 400;
    }
    uint32_t q = bff_jdoc_obj_get(d, obj, "query", 5);
    if (q == BFF_JDOC_NONE || d->toks[q].type == BFF_J_NULL) {
        uint32_t ext = bff_jdoc_obj_get(d, obj, "extensions", 10);
        if (ext == BFF_JDOC_NONE) { /* a persisted query may stand in for it */
            snprintf(msg, size, "The request has no \"query\".");
            return 400;
        }
    } else if (d->toks[q].type != BFF_J_STRING) {
        snprintf(msg, size, "\"query\" must be a string.");
        return 400;
    } else {
        out->query = pool_string(&req->pool, d, q);
    }
    uint32_t v = bff_jdoc_obj_get(d, obj, "variables", 9);
    if (v != BFF_JDOC_NONE && d->toks[v].type != BFF_J_NULL) {
        if (d->toks[v].type != BFF_J_OBJECT) {
            snprintf(msg, size, "\"variables\" must be an object.");
            return 400;
        }
        out->variables = pool_raw(&req->pool, d, v);
    }
    uint32_t n = bff_jdoc_obj_get(d, obj, "operationName", 13);
    if (n != BFF_JDOC_NONE && d->toks[n].type != BFF_J_NULL) {
        if (d->toks[n].type != BFF_J_STRING) {
            snprintf(msg, size, "\"operationName\" must be a string.");
            return 400;
        }
        out->operation_name = pool_string(&req->pool, d, n);
    }
    uint32_t e = bff_jdoc_obj_get(d, obj, "extensions", 10);
    if (e != BFF_JDOC_NONE && d->toks[e].type != BFF_J_NULL) {
        if (d->toks[e].type != BFF_J_OBJECT) {
            snprintf(msg, size, "\"extensions\" must be an object.");
            return 400;
        }
        out->extensions = pool_raw(&req->pool, d, e);
    }
    return 0;
}

static int from_query_string(h2o_req_t *req, bff_gql_params_t *out, char *msg, size_t size)
{
    if (req->query_at == SIZE_MAX) {
        snprintf(msg, size, "The request has no \"query\".");
        return 400;
    }
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        h2o_iovec_t name = h2o_iovec_init(p, (size_t)((eq != NULL ? eq : stop) - p));
        h2o_iovec_t value = {NULL, 0};
        if (eq != NULL &&
            bff_url_decode(&req->pool, eq + 1, (size_t)(stop - eq - 1), 1, &value) != 0) {
            snprintf(msg, size, "The query string has a bad percent-escape.");
            return 400;
        }
        if (value.base == NULL)
            value = h2o_iovec_init("", 0);
        if (h2o_memis(name.base, name.len, H2O_STRLIT("query")))
            out->query = value;
        else if (h2o_memis(name.base, name.len, H2O_STRLIT("operationName")))
            out->operation_name = value.len != 0 ? value : h2o_iovec_init(NULL, 0);
        else if (h2o_memis(name.base, name.len, H2O_STRLIT("variables")))
            out->variables = value;
        else if (h2o_memis(name.base, name.len, H2O_STRLIT("extensions")))
            out->extensions = value;
        p = stop + 1;
    }
    const h2o_iovec_t *json[] = {&out->variables, &out->extensions};
    const char *names[] = {"variables", "extensions"};
    for (size_t i = 0; i != 2; ++i) {
        if (json[i]->base == NULL || json[i]->len == 0) {
            *(h2o_iovec_t *)json[i] = h2o_iovec_init(NULL, 0);
            continue;
        }
        bff_jdoc_t d = {0};
        int ok =
            bff_jdoc_scan(&d, json[i]->base, json[i]->len, MAX_BODY_TOKENS, 0, NULL, NULL) == 0 &&
            (d.toks[0].type == BFF_J_OBJECT || d.toks[0].type == BFF_J_NULL);
        int is_null = ok && d.toks[0].type == BFF_J_NULL;
        bff_jdoc_dispose(&d);
        if (!ok) {
            snprintf(msg, size, "\"%s\" must be a JSON object.", names[i]);
            return 400;
        }
        if (is_null)
            *(h2o_iovec_t *)json[i] = h2o_iovec_init(NULL, 0);
    }
    if (out->query.base == NULL && out->extensions.base == NULL) {
        snprintf(msg, size, "The request has no \"query\".");
        return 400;
    }
    return 0;
}

int bff_gql_read_batch(h2o_req_t *req,
                       void (*each)(void *ctx, size_t i, int status, const bff_gql_params_t *p,
                                    const char *msg),
                       void *ctx)
{
    bff_jdoc_t d = {0};
    if (req->entity.base == NULL ||
        bff_jdoc_scan(&d, req->entity.base, req->entity.len, MAX_BODY_TOKENS, 0, NULL, NULL) != 0 ||
        d.toks[0].type != BFF_J_ARRAY) {
        bff_jdoc_dispose(&d);
        return -1;
    }
    for (uint32_t n = 0, e = 1; n != d.toks[0].size; ++n, e = d.toks[e].next) {
        bff_gql_params_t p;
        char msg[256] = "";
        memset(&p, 0, sizeof(p));
        int status = from_object(req, &d, e, &p, msg, sizeof(msg));
        each(ctx, n, status, &p, msg);
    }
    bff_jdoc_dispose(&d);
    return 0;
}

int bff_gql_read_params(h2o_req_t *req, int batch_index, size_t *batch_size, bff_gql_params_t *out,
                        char *msg, size_t size)
{
    memset(out, 0, sizeof(*out));
    *batch_size = 0;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return from_query_string(req, out, msg, size);
    if (!is_json_body(req)) {
        snprintf(msg, size, "POST a JSON body (Content-Type: application/json).");
        return 415;
    }
    bff_jdoc_t d = {0};
    const char *err;
    size_t off;
    if (req->entity.base == NULL ||
        bff_jdoc_scan(&d, req->entity.base, req->entity.len, MAX_BODY_TOKENS, 0, &err, &off) != 0) {
        if (req->entity.base == NULL)
            snprintf(msg, size, "The request body is empty.");
        else
            snprintf(msg, size, "The request body is not valid JSON: %s at byte %zu.", err, off);
        bff_jdoc_dispose(&d);
        return 400;
    }
    int status;
    if (d.toks[0].type == BFF_J_ARRAY) {
        *batch_size = d.toks[0].size;
        if (*batch_size == 0) {
            snprintf(msg, size, "The batch holds no operations.");
            bff_jdoc_dispose(&d);
            return 400;
        }
        uint32_t e = batch_index >= 0 ? bff_jdoc_arr_get(&d, 0, batch_index) : BFF_JDOC_NONE;
        if (e == BFF_JDOC_NONE) {
            bff_jdoc_dispose(&d);
            return 0; /* the caller decides about batches */
        }
        status = from_object(req, &d, e, out, msg, size);
    } else {
        status = from_object(req, &d, 0, out, msg, size);
    }
    bff_jdoc_dispose(&d);
    return status;
}

void bff_gql_headers_json(const bff_gql_graph_t *g, const h2o_headers_t *headers, bff_jwrite_t *w)
{
    bff_jwrite_open(w, '{');
    for (size_t i = 0; i != g->nrequest_headers; ++i) {
        const char *name = g->request_headers[i];
        ssize_t at = h2o_find_header_by_str(headers, name, strlen(name), -1);
        if (at < 0)
            continue;
        h2o_iovec_t v = headers->entries[at].value;
        if (!bff_utf8_valid(v.base, v.len))
            continue;
        bff_jwrite_key(w, name, strlen(name));
        bff_jwrite_str(w, v.base, v.len);
    }
    bff_jwrite_close(w, '}');
}
