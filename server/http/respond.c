/* Builds JSON responses in the request's pool. Only the wire format lives here; deciding
 * which error to send is the caller's business. */
#include "server/http/respond.h"

#include <stdio.h>
#include <string.h>

const char bff_code_bad_request[] = "bad_request";
const char bff_code_not_found[] = "not_found";
const char bff_code_method_not_allowed[] = "method_not_allowed";
const char bff_code_headers_too_large[] = "headers_too_large";
const char bff_code_bad_parameter[] = "bad_parameter";
const char bff_code_bad_body[] = "bad_body";
const char bff_code_body_too_large[] = "body_too_large";
const char bff_code_unsupported_media_type[] = "unsupported_media_type";
const char bff_code_upstream_failed[] = "upstream_failed";
const char bff_code_upstream_timeout[] = "upstream_timeout";
const char bff_code_response_too_large[] = "response_too_large";
const char bff_code_client_closed_request[] = "client_closed_request";
const char bff_code_overloaded[] = "overloaded";

const char *bff_code_for_status(int status)
{
    switch (status) {
    case 400:
        return bff_code_bad_request;
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return bff_code_not_found;
    case 409:
        return "conflict";
    case 410:
        return "gone";
    case 412:
        return "precondition_failed";
    case 422:
        return "unprocessable";
    case 429:
        return "too_many_requests";
    case 503:
        return "unavailable";
    default:
        return status >= 500 ? bff_code_upstream_failed : "request_failed";
    }
}

const char *bff_status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

void bff_respond_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t body)
{
    bff_respond_typed(req, status, reason, h2o_iovec_init(H2O_STRLIT("application/json")), body);
}

void bff_respond_typed(h2o_req_t *req, int status, const char *reason, h2o_iovec_t type,
                       h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = status;
    req->res.reason = reason;
    if (status == 204 || status == 304) { /* no content, by definition (RFC 9110 15.3.5) */
        req->res.content_length = SIZE_MAX;
        h2o_start_response(req, &generator);
        h2o_send(req, NULL, 0, 1);
        return;
    }
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type.base,
                   type.len);
    h2o_start_response(req, &generator);
    /* HEAD: the headers GET would have (Content-Length included), no body. libh2o 2.2.5's
     * HTTP/2 would send the body anyway, which clients reject as a protocol error. */
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, 1);
    else
        h2o_send(req, &body, 1, 1);
}

void bff_respond_error(h2o_req_t *req, int status, const char *code, const char *message,
                       const char *extra_json)
{
    bff_answer_t a;
    bff_answer_init(&a);
    bff_answer_error(&a, status, code, message, extra_json);
    bff_respond_answer(req, &a);
    bff_answer_dispose(&a);
}

void bff_respond_add_headers(h2o_req_t *req, const bff_answer_t *a)
{
    for (size_t i = 0; i != a->nheaders; ++i) {
        size_t nlen = strlen(a->headers[i].name), vlen = strlen(a->headers[i].value);
        h2o_add_header_by_str(&req->pool, &req->res.headers,
                              h2o_strdup(&req->pool, a->headers[i].name, nlen).base, nlen, 1, NULL,
                              h2o_strdup(&req->pool, a->headers[i].value, vlen).base, vlen);
    }
}

void bff_respond_answer(h2o_req_t *req, const bff_answer_t *a)
{
    bff_respond_add_headers(req, a);
    h2o_iovec_t body = a->body != NULL ? h2o_strdup(&req->pool, a->body, a->body_len)
                                       : h2o_iovec_init(H2O_STRLIT(""));
    bff_respond_json(req, a->status, bff_status_reason(a->status), body);
}

/* If-None-Match against a strong ETag (a list, or "*"; weak validators compare by their
 * opaque part as RFC 9110 13.1.2 allows for GET). */
int bff_if_none_match(h2o_req_t *req, const char *etag, size_t len)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i < 0 || len == 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t p = 0;
    while (p < v.len) {
        while (p < v.len && (v.base[p] == ' ' || v.base[p] == ','))
            ++p;
        if (p < v.len && v.base[p] == '*')
            return 1;
        if (p + 2 <= v.len && v.base[p] == 'W' && v.base[p + 1] == '/')
            p += 2;
        size_t start = p;
        while (p < v.len && v.base[p] != ',')
            ++p;
        size_t end = p;
        while (end > start && v.base[end - 1] == ' ')
            --end;
        if (end - start == len && memcmp(v.base + start, etag, len) == 0)
            return 1;
    }
    return 0;
}

int bff_respond_unless_get(h2o_req_t *req)
{
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
    bff_respond_error(req, 405, bff_code_method_not_allowed, "use GET", NULL);
    return 1;
}
