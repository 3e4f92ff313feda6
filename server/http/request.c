/* The request object's life: created at the front door, ended by h2o's pool dispose. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "server/http/request.h"

#include <poll.h>
#include <string.h>

#include "server/core/clock.h"
#include "server/http/trace.h"
#include "server/stage/pipeline.h"

static void on_dispose(void *p)
{
    bff_req_t *r = p;
    bff_worker_t *w = r->site->worker;
    bff_pipeline_on_end(r);
    if (r->req->res.status == 0) /* cancelled by the client before any response */
        bff_reset_guard_on_cancel(&w->reset_guard, r->req, h2o_now(w->loop));
    --w->inflight;
    --r->site->inflight;
    bff_conf_view_release(r->view);
}

bff_req_t *bff_req_create(bff_site_ctx_t *site, h2o_req_t *req)
{
    bff_worker_t *w = site->worker;
    bff_req_t *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_dispose);
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->site = site;
    r->view = w->view;
    bff_conf_view_retain(r->view);
    r->conf = r->view->config->sites + site->index;
    r->profile = r->conf->profile;
    r->started_us = bff_now_us();
    r->method = h2o_strdup(&req->pool, req->method.base, req->method.len);
    r->path = h2o_strdup(&req->pool, req->path.base, req->path.len);
    /* Routes match the raw path (query cut off), so a parameter is percent-decoded exactly
     * once, and an encoded '/' stays inside its segment. */
    r->route_path =
        h2o_iovec_init(req->path.base, req->query_at != SIZE_MAX ? req->query_at : req->path.len);
    ++w->inflight;
    ++site->inflight;
    r->request_id = bff_trace_request_id(req, w->id, &w->request_seq);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          r->request_id.base, r->request_id.len);
    return r;
}

int bff_req_client_gone(const bff_req_t *r)
{
    /* Look for the FIN also behind bytes nobody read yet: a TLS client sends close_notify
     * before it. */
    h2o_req_t *req = r->req;
    h2o_socket_t *sock;
    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
        (sock = req->conn->callbacks->get_socket(req->conn)) == NULL)
        return 0;
    struct pollfd p = {.fd = h2o_socket_get_fd(sock), .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
