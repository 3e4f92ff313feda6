/* Request ids and W3C trace context (traceparent version 00). */
#include "server/http/trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "compose/fmt.h"
#include "server/core/random.h"

static int valid_request_id(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > 128)
        return 0;
    for (size_t i = 0; i != v.len; ++i)
        if (v.base[i] <= 0x20 || v.base[i] >= 0x7f || v.base[i] == '"' || v.base[i] == '\\')
            return 0;
    return 1;
}

h2o_iovec_t bff_trace_request_id(h2o_req_t *req, unsigned worker_id, uint64_t *seq)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0 && valid_request_id(req->headers.entries[i].value))
        return req->headers.entries[i].value;
    static __thread uint64_t salt;
    if (salt == 0)
        salt = bff_random_u64() | 1;
    h2o_iovec_t id = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, 33), 32);
    char *p = bff_put_hex(id.base, salt, 16); /* as %016llx%04x%012llx */
    p = bff_put_hex(p, worker_id & 0xffff, 4);
    p = bff_put_hex(p, ++*seq & 0xffffffffffffull, 12);
    *p = '\0';
    return id;
}

/* n lower-case hex digits; with nonzero, not all '0' (W3C trace context). */
static int is_lower_hex(const char *s, size_t n, int nonzero)
{
    int any = 0;
    for (size_t i = 0; i != n; ++i) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
        any |= s[i] != '0';
    }
    return any || !nonzero;
}

/* The client's traceparent when it is valid: version-traceid(32)-parentid(16)-flags. */
static const char *client_traceparent(h2o_req_t *req)
{
    ssize_t idx = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
    if (idx < 0)
        return NULL;
    h2o_iovec_t v = req->headers.entries[idx].value;
    if (v.len == 55 && v.base[2] == '-' && v.base[35] == '-' && v.base[52] == '-' &&
        is_lower_hex(v.base, 2, 0) && memcmp(v.base, "ff", 2) != 0 &&
        is_lower_hex(v.base + 3, 32, 1) && is_lower_hex(v.base + 36, 16, 1) &&
        is_lower_hex(v.base + 53, 2, 0))
        return v.base;
    return NULL; /* an invalid header starts a new trace */
}

const char *bff_trace_client_parent(h2o_req_t *req)
{
    const char *tp = client_traceparent(req);
    return tp != NULL ? tp + 36 : NULL;
}

void bff_trace_traceparent(h2o_req_t *req, int sample_new, char out[BFF_TRACEPARENT_SIZE])
{
    uint64_t span = bff_random_u64() | 1; /* never all zeros */
    const char *tp = client_traceparent(req);
    /* 00-TRACE(32 hex)-SPAN(16 hex)-FLAGS(2 hex): 55 bytes and the NUL */
    _Static_assert(BFF_TRACEPARENT_SIZE >= 56, "traceparent buffer");
    char *p = out;
    memcpy(p, "00-", 3);
    p += 3;
    if (tp != NULL) { /* keep the trace and its sampling decision, become the parent */
        memcpy(p, tp + 3, 32);
        p += 32;
    } else {
        p = bff_put_hex(p, bff_random_u64(), 16);
        p = bff_put_hex(p, bff_random_u64() | 1, 16);
    }
    *p++ = '-';
    p = bff_put_hex(p, span, 16);
    *p++ = '-';
    memcpy(p, tp != NULL ? tp + 53 : sample_new ? "01" : "00", 2);
    p[2] = '\0';
}

int bff_trace_tracestate_line(h2o_req_t *req, char *line, size_t size)
{
    line[0] = '\0';
    if (h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1) < 0)
        return 0; /* a trace bffd starts has no state of anyone else's */
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("tracestate"), -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len == 0 || v.len > 512)
        return 0;
    for (size_t k = 0; k != v.len; ++k)
        if ((unsigned char)v.base[k] < 0x20 || (unsigned char)v.base[k] > 0x7e)
            return 0;
    snprintf(line, size, "tracestate: %.*s", (int)v.len, v.base);
    return 1;
}
