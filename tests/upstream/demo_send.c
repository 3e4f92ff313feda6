/* Sending a response in one piece: the reason phrase for its status, a JSON (or other) body, and
 * the padded body of the size= knob. */
#include "demo_upstream.h"

#include <stdint.h>
#include <string.h>

#include "h2o.h"

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
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
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

void send_body(h2o_req_t *req, int status, const char *ctype, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};
    int no_body = status == 204 || status == 304;

    req->res.status = status;
    req->res.reason = reason_phrase(status);
    req->res.content_length = no_body ? SIZE_MAX : body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                   strlen(ctype));
    h2o_start_response(req, &generator);
    if (no_body || h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

void send_json(h2o_req_t *req, int status, h2o_iovec_t body)
{
    send_body(req, status, "application/json", body);
}

void send_padding(h2o_req_t *req, uint64_t size)
{
    static const char head[] = "{\"padding\":\"", tail[] = "\"}";
    size_t overhead = sizeof(head) - 1 + sizeof(tail) - 1;
    size_t pad = size > overhead ? (size_t)size - overhead : 0, len = overhead + pad;
    char *buf = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(buf, head, sizeof(head) - 1);
    memset(buf + sizeof(head) - 1, 'x', pad);
    memcpy(buf + sizeof(head) - 1 + pad, tail, sizeof(tail) - 1);
    send_json(req, 200, h2o_iovec_init(buf, len));
}
