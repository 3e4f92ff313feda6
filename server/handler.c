/* Front door of every request: ids, limits, built-in routes and route matching. Composition
 * itself is endpoint.c's job; this file never talks to upstreams. */
#include "server/handler.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "server/endpoint.h"
#include "server/respond.h"

typedef struct st_site_handler_t {
    h2o_handler_t super;
    bff_site_t *site;
} site_handler_t;

static uint64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

static bff_site_ctx_t *site_ctx_of(bff_site_t *site, h2o_req_t *req)
{
    /* Our h2o_context_t is the first member of bff_site_ctx_t. */
    (void)site;
    return (bff_site_ctx_t *)req->conn->ctx;
}

static void on_request_dispose(void *p)
{
    bff_request_t *r = p;
    bff_site_ctx_t *sc = r->site_ctx;
    bff_worker_t *w = sc->worker;
    h2o_req_t *req = r->req;
    bff_access_log_entry_t e = {
        .profile = sc->site->profile->name,
        .method = r->method.base,
        .method_len = r->method.len,
        .path = r->path.base,
        .path_len = r->path.len,
        .status = req->res.status ? req->res.status : 499, /* client went away first */
        .bytes = req->bytes_sent,
        .duration_us = now_us() - r->started_us,
        .request_id = r->request_id.base,
        .request_id_len = r->request_id.len,
        .protocol = req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1",
    };
    bff_access_log_add(sc->site->access_log, &w->log, &e);
    if (req->res.status == 0) /* cancelled by the client before any response */
        bff_reset_guard_on_cancel(&w->reset_guard, req, h2o_now(w->loop));
    --w->inflight;
}

static int valid_request_id(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > 128)
        return 0;
    for (size_t i = 0; i != v.len; ++i)
        if (v.base[i] <= 0x20 || v.base[i] >= 0x7f || v.base[i] == '"' || v.base[i] == '\\')
            return 0;
    return 1;
}

static h2o_iovec_t make_request_id(bff_worker_t *w, h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0 && valid_request_id(req->headers.entries[i].value))
        return req->headers.entries[i].value;
    /* Unique without coordination: random per-process prefix, worker id, sequence number. */
    static __thread uint64_t salt;
    if (salt == 0) {
        salt = now_us() ^ ((uint64_t)(uintptr_t)&salt << 16);
        salt |= 1;
    }
    h2o_iovec_t id = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, 33), 32);
    snprintf(id.base, 33, "%016llx%04x%012llx", (unsigned long long)salt, w->id & 0xffff,
             (unsigned long long)(++w->request_seq & 0xffffffffffffull));
    return id;
}

static size_t header_bytes(h2o_req_t *req)
{
    size_t n = req->input.path.len + req->input.method.len + req->input.authority.len;
    for (size_t i = 0; i != req->headers.size; ++i)
        n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return n;
}

static void append_allow(char *allow, size_t size, const char *method)
{
    if (strstr(allow, method) != NULL)
        return;
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

/* Picks the matching spec with the most literal segments; 405 if only the method differs. */
static int route(bff_request_t *r, h2o_req_t *req, h2o_iovec_t path)
{
    bff_profile_t *profile = r->site_ctx->site->profile;
    const bff_spec_t *best = NULL;
    size_t best_literals = 0;
    char allow[128] = "";
    size_t values[BFF_SPEC_MAX_PATH_PARAMS][2], best_values[BFF_SPEC_MAX_PATH_PARAMS][2];
    for (size_t i = 0; i != profile->nendpoints; ++i) {
        const bff_spec_t *spec = profile->endpoints[i];
        if (!bff_spec_match(spec, path.base, path.len, values))
            continue;
        if (!h2o_memis(req->method.base, req->method.len, spec->method, strlen(spec->method))) {
            append_allow(allow, sizeof(allow), spec->method);
            continue;
        }
        size_t literals = 0;
        for (size_t s = 0; s != spec->nsegments; ++s)
            literals += spec->segments[s].literal != NULL;
        if (best == NULL || literals > best_literals) {
            best = spec;
            best_literals = literals;
            memcpy(best_values, values, sizeof(values));
        }
    }
    if (best != NULL) {
        bff_endpoint_serve(r, best, best_values);
        return 0;
    }
    if (allow[0] != '\0') {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       h2o_strdup(&req->pool, allow, SIZE_MAX).base, strlen(allow));
        bff_respond_error(req, 405, "method_not_allowed", "method not allowed for this route",
                          NULL);
        return 0;
    }
    return -1;
}

static int builtin(bff_request_t *r, h2o_req_t *req, h2o_iovec_t path)
{
    bff_site_t *site = r->site_ctx->site;
    int is_health = h2o_memis(path.base, path.len, H2O_STRLIT("/health"));
    int is_ready = h2o_memis(path.base, path.len, H2O_STRLIT("/ready"));
    if (!is_health && !is_ready)
        return -1;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       H2O_STRLIT("GET, HEAD"));
        bff_respond_error(req, 405, "method_not_allowed", "use GET", NULL);
        return 0;
    }
    if (is_health) {
        bff_respond_json(req, 200, "OK", h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
        return 0;
    }
    int stopping = atomic_load(&site->server->stopping);
    char buf[512];
    int n =
        snprintf(buf, sizeof(buf), "{\"status\":\"%s\",\"profile\":\"%s\",\"endpoints\":%zu}",
                 stopping ? "draining" : "ready", site->profile->name, site->profile->nendpoints);
    bff_respond_json(req, stopping ? 503 : 200, stopping ? "Service Unavailable" : "OK",
                     h2o_strdup(&req->pool, buf, (size_t)n));
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    site_handler_t *h = (site_handler_t *)self;
    bff_site_ctx_t *sc = site_ctx_of(h->site, req);
    bff_request_t *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_request_dispose);
    memset(r, 0, sizeof(*r));
    r->site_ctx = sc;
    r->req = req;
    r->started_us = now_us();
    r->method = h2o_strdup(&req->pool, req->method.base, req->method.len);
    r->path = h2o_strdup(&req->pool, req->path.base, req->path.len);
    ++sc->worker->inflight;
    r->request_id = make_request_id(sc->worker, req);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          r->request_id.base, r->request_id.len);

    if (header_bytes(req) > h->site->profile->max_header_bytes) {
        bff_respond_error(req, 431, "headers_too_large", "request headers are too large", NULL);
        return 0;
    }
    /* Routes match the raw path (query cut off), so a parameter is percent-decoded exactly
     * once, and an encoded '/' stays inside its segment. */
    h2o_iovec_t path =
        h2o_iovec_init(req->path.base, req->query_at != SIZE_MAX ? req->query_at : req->path.len);
    if (builtin(r, req, path) == 0 || route(r, req, path) == 0)
        return 0;
    bff_respond_error(req, 404, "not_found", "no route for this path", NULL);
    return 0;
}

void bff_handler_register(bff_site_t *site, h2o_pathconf_t *pathconf)
{
    site_handler_t *h = (site_handler_t *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->site = site;
}
