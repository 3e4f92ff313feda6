/* End hook: one access log line per request, into the worker's batch for the request's
 * profile, to the destination of the configuration the request started with. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string.h>

#include "server/core/clock.h"
#include "server/http/client_addr.h"
#include "server/http/params.h"
#include "server/stage/pipeline.h"

/* Query parameters whose values are credentials: the log says they were there, not what. The
 * name is compared as the server reads it: percent-decoded, '+' a space (%74oken is token). */
static int is_secret_param(h2o_mem_pool_t *pool, const char *raw, size_t rawlen)
{
    static const char *const names[] = {"token",   "access_token",  "id_token", "refresh_token",
                                        "api_key", "apikey",        "key",      "password",
                                        "secret",  "client_secret", "session",  "code"};
    h2o_iovec_t name = h2o_iovec_init(raw, rawlen);
    if ((memchr(raw, '%', rawlen) != NULL || memchr(raw, '+', rawlen) != NULL) &&
        bff_url_decode(pool, raw, rawlen, 1, &name) != 0)
        name = h2o_iovec_init(raw, rawlen); /* a bad escape: compared as written */
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i)
        if (name.len == strlen(names[i]) && h2o_lcstris(name.base, name.len, names[i], name.len))
            return 1;
    return 0;
}

/* The path with secret query values replaced by "REDACTED", in the request's pool. */
static h2o_iovec_t redact(h2o_mem_pool_t *pool, h2o_iovec_t path)
{
    const char *q = memchr(path.base, '?', path.len);
    if (q == NULL)
        return path;
    char *out = h2o_mem_alloc_pool(pool, path.len * 2 + 16);
    size_t o = (size_t)(q - path.base) + 1, p = o;
    memcpy(out, path.base, o);
    while (p < path.len) {
        size_t amp = p;
        while (amp < path.len && path.base[amp] != '&')
            ++amp;
        const char *eq = memchr(path.base + p, '=', amp - p);
        if (eq != NULL && is_secret_param(pool, path.base + p, (size_t)(eq - (path.base + p)))) {
            size_t nlen = (size_t)(eq - (path.base + p)) + 1;
            memcpy(out + o, path.base + p, nlen);
            memcpy(out + o + nlen, "REDACTED", 8);
            o += nlen + 8;
        } else {
            memcpy(out + o, path.base + p, amp - p);
            o += amp - p;
        }
        if (amp < path.len)
            out[o++] = '&';
        p = amp + 1;
    }
    return h2o_iovec_init(out, o);
}

void bff_request_log_on_end(bff_req_t *r)
{
    if (!bff_access_log_on(r->conf->access_log))
        return; /* spares formatting the address and redacting the path for nothing */
    h2o_req_t *req = r->req;
    char client[64];
    size_t client_len = bff_client_address(req, r->profile->trusted_proxies,
                                           r->profile->ntrusted_proxies, client, sizeof(client));
    h2o_iovec_t path = redact(&req->pool, r->path);
    bff_access_log_entry_t e = {
        .profile = r->profile->name,
        .method = r->method.base,
        .method_len = r->method.len,
        .path = path.base,
        .path_len = path.len,
        .status = req->res.status ? req->res.status : 499, /* client went away first */
        .bytes = req->bytes_sent,
        .duration_us = bff_now_us() - r->started_us,
        .request_id = r->request_id.base,
        .request_id_len = r->request_id.len,
        .protocol = req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1",
        .route = r->route.spec != NULL ? r->route.spec->route : NULL,
        .client = client_len != 0 ? client : NULL,
        .trace_id = r->trace_id,
        .partial = r->log_partial,
        .failed = r->log_failed.base,
        .failed_len = r->log_failed.len,
    };
    bff_access_log_add(&r->site->log, r->conf->access_log, &e);
}
