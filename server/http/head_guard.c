/* The HTTP/1 head checks and the phr_parse_request interposer. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "server/http/head_guard.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The reasons, and the path each rewritten head gets: 0x7f is no path byte a client can send
 * (picohttpparser refuses it), so no request reaches the marker but through the guard. */
static const char *const reasons[] = {
    "the request has both Content-Length and Transfer-Encoding",
    "an HTTP/1.1 request needs a Host header",
    "the request has more than one Host header",
    "the request has conflicting Content-Length headers",
    "the request's Content-Length is not a number",
    "Transfer-Encoding is not allowed in an HTTP/1.0 request",
    "Transfer-Encoding other than chunked is not supported",
    "header lines continued on the next line (obs-fold) are not allowed",
};
#define MARKER                                                                                     \
    "/\x7f"                                                                                        \
    "bffd-refused/"
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

static int name_is(const bff_phr_header_t *h, const char *name, size_t len)
{
    return h->name_len == len && strncasecmp(h->name, name, len) == 0;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return 0;
    for (size_t i = 0; i != n; ++i)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static const char *check(int minor, const bff_phr_header_t *headers, size_t n, size_t *index)
{
    size_t hosts = 0;
    const bff_phr_header_t *te = NULL, *cl = NULL;
    size_t why = SIZE_MAX;
    for (size_t i = 0; i != n && why == SIZE_MAX; ++i) {
        const bff_phr_header_t *h = headers + i;
        if (h->name == NULL) {
            why = 7;
        } else if (name_is(h, "host", 4)) {
            ++hosts;
        } else if (name_is(h, "content-length", 14)) {
            if (!all_digits(h->value, h->value_len))
                why = 4;
            else if (cl != NULL && (cl->value_len != h->value_len ||
                                    memcmp(cl->value, h->value, h->value_len) != 0))
                why = 3;
            cl = h;
        } else if (name_is(h, "transfer-encoding", 17)) {
            if (te != NULL || h->value_len != 7 || strncasecmp(h->value, "chunked", 7) != 0)
                why = 6;
            te = h;
        }
    }
    if (why == SIZE_MAX) {
        if (te != NULL && cl != NULL)
            why = 0;
        else if (te != NULL && minor == 0)
            why = 5;
        else if (hosts > 1)
            why = 2;
        else if (hosts == 0 && minor >= 1)
            why = 1;
    }
    if (why == SIZE_MAX)
        return NULL;
    *index = why;
    return reasons[why];
}

const char *bff_head_check(int minor, const bff_phr_header_t *headers, size_t n)
{
    size_t index;
    return check(minor, headers, n, &index);
}

const char *bff_head_guard_refused(const h2o_req_t *req)
{
    h2o_iovec_t p = req->input.path;
    size_t m = sizeof(MARKER) - 1;
    if (p.len != m + 1 || memcmp(p.base, MARKER, m) != 0 || p.base[m] < '0' ||
        (size_t)(p.base[m] - '0') >= NREASONS)
        return NULL;
    return reasons[p.base[m] - '0'];
}

/* ---- the interposer ---- */

typedef int (*phr_parse_request_fn)(const char *, size_t, const char **, size_t *, const char **,
                                    size_t *, int *, bff_phr_header_t *, size_t *, size_t);
static phr_parse_request_fn real_parse;

/* Before any thread exists: no lazy lookup on the hot path. */
__attribute__((constructor)) static void find_real_parse(void)
{
    real_parse = (phr_parse_request_fn)dlsym(RTLD_NEXT, "phr_parse_request");
}

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      bff_phr_header_t *headers, size_t *num_headers, size_t last_len);

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      bff_phr_header_t *headers, size_t *num_headers, size_t last_len)
{
    if (real_parse == NULL) { /* not interposing a library: nothing to guard here */
        fprintf(stderr, "bffd: phr_parse_request not found in libh2o\n");
        abort();
    }
    int ret = real_parse(buf, len, method, method_len, path, path_len, minor_version, headers,
                         num_headers, last_len);
    size_t index;
    if (ret <= 0 || check(*minor_version, headers, *num_headers, &index) == NULL)
        return ret;
    /* A body-less request for the marker; its bytes (and whatever follows) are never read. */
    static const char *const markers[] = {MARKER "0", MARKER "1", MARKER "2", MARKER "3",
                                          MARKER "4", MARKER "5", MARKER "6", MARKER "7"};
    *path = markers[index];
    *path_len = sizeof(MARKER);
    *num_headers = 0;
    return ret;
}
