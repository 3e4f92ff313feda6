/* Fuzzes the HTTP/1 request-head guard: the input is a request head (and maybe more), parsed by
 * libh2o's own picohttpparser as h2o would, then checked by bff_head_check. The invariants are
 * the guard's promises: a refused head never has a Transfer-Encoding and a Content-Length both
 * passing, and an accepted one has exactly one Host (HTTP/1.1), no continuation lines, and at
 * most one distinct Content-Length. Any crash, leak or broken invariant is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "server/http/head_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libh2o's parser: through bffd's interposer, which only rewrites refused heads. */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      bff_phr_header_t *headers, size_t *num_headers, size_t last_len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Something of libh2o's own, so the linker keeps the library whose parser this calls. */
    static int linked;
    if (!linked) {
        h2o_mem_pool_t pool;
        h2o_mem_init_pool(&pool);
        h2o_mem_clear_pool(&pool);
        linked = 1;
    }
    const char *method, *path;
    size_t method_len, path_len, n = 100;
    int minor;
    bff_phr_header_t headers[100];
    int ret = phr_parse_request((const char *)data, size, &method, &method_len, &path, &path_len,
                                &minor, headers, &n, 0);
    if (ret <= 0)
        return 0;
    if (n == 0 && path_len > 2 && path[1] == 0x7f)
        return 0; /* refused by the interposer: rewritten, nothing to check */
    if (bff_head_check(minor, headers, n) != NULL)
        abort(); /* the interposer let through a head the guard refuses */
    size_t hosts = 0, te = 0, cl = 0;
    for (size_t i = 0; i != n; ++i) {
        if (headers[i].name == NULL)
            abort();
        hosts += headers[i].name_len == 4 && strncasecmp(headers[i].name, "host", 4) == 0;
        te +=
            headers[i].name_len == 17 && strncasecmp(headers[i].name, "transfer-encoding", 17) == 0;
        cl += headers[i].name_len == 14 && strncasecmp(headers[i].name, "content-length", 14) == 0;
    }
    if ((minor >= 1 && hosts != 1) || hosts > 1 || (te && cl) || te > 1)
        abort();
    return 0;
}
