/* The routed endpoint's parameters as the request doc (request_doc.h): the client's body
 * checked (size, media type, JSON), the path, query and header values checked against the spec
 * (params.c), and the principal's claims. Wrong input is a 400, 413 or 415 naming what is
 * wrong. */
#include "server/http/request_doc.h"

#include <stdio.h>
#include <string.h>

#include "compose/json_scan.h"
#include "compose/json_write.h"
#include "server/http/params.h"
#include "server/http/respond.h"

#define MAX_REQUEST_DOC (64 * 1024)

static void bad_parameter(bff_answer_t *a, const char *msg, const char *bad)
{
    char extra[160] = "";
    if (bad != NULL) /* parameter names are plain identifiers: no escaping needed */
        snprintf(extra, sizeof(extra), "\"parameter\":\"%s\"", bad);
    bff_answer_error(a, 400, bff_code_bad_parameter, msg, bad != NULL ? extra : NULL);
}

/* A JSON media type: application/json, or any type with a +json suffix (RFC 6839). */
static int is_json_type(h2o_iovec_t ct)
{
    size_t n = 0;
    while (n != ct.len && ct.base[n] != ';' && ct.base[n] != ' ')
        ++n;
    return (n == 16 && h2o_lcstris(ct.base, 16, H2O_STRLIT("application/json"))) ||
           (n > 5 && h2o_lcstris(ct.base + n - 5, 5, H2O_STRLIT("+json")));
}

/* The client's body of a write endpoint, checked: at most the endpoint's max_body (413); when the
 * spec reads it, JSON by its declared type (415) and by its content (400). *body stays empty
 * when there is none, or nothing reads it. */
static int read_body(const bff_profile_t *profile, const bff_spec_t *spec,
                     const h2o_headers_t *headers, h2o_iovec_t entity, h2o_iovec_t *body,
                     bff_answer_t *a)
{
    *body = h2o_iovec_init(NULL, 0);
    if (strcmp(spec->method, "GET") == 0)
        return 0;
    ssize_t ct = h2o_find_header(headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (entity.base == NULL || entity.len == 0) {
        /* No body is no body; zero bytes declared JSON are not JSON (RFC 8259 has no empty
         * text), as whitespace alone is not. */
        if (spec->reads_body && ct >= 0 && is_json_type(headers->entries[ct].value)) {
            bff_answer_error(a, 400, bff_code_bad_body,
                             "the request body is empty, but its Content-Type says JSON", NULL);
            return -1;
        }
        return 0;
    }
    uint64_t max = spec->max_body ? spec->max_body : profile->max_body_bytes;
    char msg[200];
    if (entity.len > max) {
        snprintf(msg, sizeof(msg), "the request body is larger than %llu bytes",
                 (unsigned long long)max);
        bff_answer_error(a, 413, bff_code_body_too_large, msg, NULL);
        return -1;
    }
    if (!spec->reads_body) /* an endpoint that never reads it takes any body, as it always did */
        return 0;
    if (ct >= 0 && !is_json_type(headers->entries[ct].value)) {
        bff_answer_error(a, 415, bff_code_unsupported_media_type,
                         "the request body must be JSON (Content-Type: application/json)", NULL);
        return -1;
    }
    bff_jdoc_t probe = {0};
    const char *err;
    size_t off;
    int bad = bff_jdoc_scan(&probe, entity.base, entity.len, 1u << 20, 0, &err, &off);
    bff_jdoc_dispose(&probe);
    if (bad) {
        snprintf(msg, sizeof(msg), "the request body is not valid JSON: %s at byte %zu", err, off);
        bff_answer_error(a, 400, bff_code_bad_body, msg, NULL);
        return -1;
    }
    *body = entity;
    return 0;
}

int bff_request_doc_build(const bff_profile_t *profile, const bff_spec_t *spec,
                          const h2o_iovec_t *values, h2o_iovec_t query,
                          const h2o_headers_t *headers, h2o_iovec_t entity, h2o_iovec_t claims,
                          h2o_mem_pool_t *pool, h2o_iovec_t *out, bff_answer_t *a)
{
    h2o_iovec_t body;
    if (read_body(profile, spec, headers, entity, &body, a) != 0)
        return -1;
    bff_jwrite_t doc;
    bff_jwrite_init(&doc, 256, MAX_REQUEST_DOC + body.len);
    char msg[256];
    const char *bad;
    if (bff_params_build(spec, values, query, headers, body, pool, &doc, msg, sizeof(msg), &bad) !=
        0) {
        bff_jwrite_dispose(&doc);
        bad_parameter(a, msg, bad);
        return -1;
    }
    if (claims.base != NULL && spec->reads_auth && doc.len >= 2) {
        /* The principal's claims as the doc's `auth`: {..., "auth": {...}} */
        size_t n = doc.len - 1; /* without the closing brace */
        int empty = doc.len == 2;
        char *buf = h2o_mem_alloc_pool(pool, n + claims.len + 10);
        memcpy(buf, doc.buf, n);
        memcpy(buf + n, empty ? "\"auth\":" : ",\"auth\":", empty ? 7 : 8);
        n += empty ? 7 : 8;
        memcpy(buf + n, claims.base, claims.len);
        n += claims.len;
        buf[n++] = '}';
        *out = h2o_iovec_init(buf, n);
    } else {
        *out = h2o_strdup(pool, doc.buf, doc.len);
    }
    bff_jwrite_dispose(&doc);
    return 0;
}
