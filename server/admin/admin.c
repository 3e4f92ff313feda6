/* The admin listener (admin.h): accept, authenticate, route. */
#include "server/admin/admin.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose/mem.h"
#include "server/core/server.h"
#include "server/http/respond.h"
#include "server/obs/metrics.h"

typedef struct st_admin_t {
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    bff_worker_t *worker;
} admin_t;

typedef struct st_admin_handler_t {
    h2o_handler_t super;
    admin_t *admin;
} admin_handler_t;

/* Bearer TOKEN, compared in constant time (the length is not secret: a fixed-size token). */
static int authorized(h2o_req_t *req, const char *token)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t tlen = strlen(token);
    return v.len == 7 + tlen && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")) &&
           CRYPTO_memcmp(v.base + 7, token, tlen) == 0;
}

static int is(h2o_req_t *req, const char *method, const char *path)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method)) &&
           h2o_memis(req->path_normalized.base, req->path_normalized.len, path, strlen(path));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    admin_t *a = ((admin_handler_t *)self)->admin;
    if (!authorized(req, a->worker->server->admin_token)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer"));
        bff_respond_error(req, 401, "unauthorized", "the admin API needs the admin token", NULL);
        return 0;
    }
    if (is(req, "POST", "/cache/purge")) {
        bff_admin_purge(a->worker, req);
    } else if (is(req, "POST", "/reload")) {
        kill(getpid(), SIGHUP); /* the main thread reloads, as for an operator's kill -HUP */
        bff_respond_json(req, 202, "Accepted",
                         h2o_iovec_init(H2O_STRLIT("{\"reload\":\"requested\"}")));
    } else if (is(req, "GET", "/metrics")) {
        size_t len;
        char *text = bff_metrics_render(a->worker->server, &len);
        bff_respond_typed(req, 200, "OK",
                          h2o_iovec_init(H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8")),
                          h2o_strdup(&req->pool, text, len));
        free(text);
    } else if (is(req, "GET", "/health")) {
        bff_respond_json(req, 200, "OK", h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
    } else {
        /* A known path with another method is a 405 naming the one it takes. */
        static const struct {
            const char *path, *method;
        } routes[] = {
            {"/cache/purge", "POST"}, {"/reload", "POST"}, {"/metrics", "GET"}, {"/health", "GET"}};
        for (size_t i = 0; i != sizeof(routes) / sizeof(routes[0]); ++i)
            if (h2o_memis(req->path_normalized.base, req->path_normalized.len, routes[i].path,
                          strlen(routes[i].path))) {
                const char *m = routes[i].method;
                h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, m, strlen(m));
                bff_respond_error(req, 405, "method_not_allowed", "use the method Allow names",
                                  NULL);
                return 0;
            }
        bff_respond_error(req, 404, bff_code_not_found,
                          "the admin API has GET /metrics, POST /cache/purge, POST /reload and "
                          "GET /health",
                          NULL);
    }
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    admin_t *a = listener->data;
    if (err != NULL)
        return;
    h2o_socket_t *sock;
    for (int i = 0; i != 16 && (sock = h2o_evloop_socket_accept(listener)) != NULL; ++i)
        h2o_accept(&a->accept_ctx, sock);
}

void bff_admin_start(bff_worker_t *w, int fd)
{
    admin_t *a = bff_calloc(1, sizeof(*a));
    a->worker = w;
    h2o_config_init(&a->globalconf);
    a->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("bffd-admin"));
    a->globalconf.max_request_entity_size = 64 * 1024;
    h2o_hostconf_t *host =
        h2o_config_register_host(&a->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    admin_handler_t *h = (admin_handler_t *)h2o_create_handler(path, sizeof(*h));
    h->super.on_req = on_req;
    h->admin = a;
    h2o_context_init(&a->ctx, w->loop, &a->globalconf);
    a->accept_ctx.ctx = &a->ctx;
    a->accept_ctx.hosts = a->globalconf.hosts;
    a->listener = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    a->listener->data = a;
    h2o_socket_read_start(a->listener, on_accept);
}
