/* The request object's life: created at the front door, ended by h2o's pool dispose. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "server/http/request.h"

#include <poll.h>
#include <string.h>

#include "server/core/clock.h"
#include "server/http/conn.h"
#include "server/http/trace.h"
#include "server/stage/pipeline.h"

/* An HTTP/2 stream's progress is its DATA moved into the connection's buffer, which stops when
 * the peer holds this stream's window at zero (the socket may be idle: the write watch does not
 * see it) or stops reading altogether; other streams' progress does not count for it. HTTP/1
 * responses are the write watch's alone (http/write_watch.h). */
static void on_send_watch(bff_timer_t *timer)
{
    bff_req_t *r = H2O_STRUCT_FROM_MEMBER(bff_req_t, send_watch, timer);
    size_t now = r->req->bytes_sent;
    if (now == r->send_baseline) { /* nothing taken in a whole write timeout */
        ++r->site->worker->send_guard.cut_stalled;
        bff_conn_cut(r->req);
        return;
    }
    r->send_baseline = now;
    bff_timer_start(&r->site->worker->timers, &r->send_watch, r->profile->write_timeout_ms,
                    on_send_watch);
}

void bff_req_sent(bff_req_t *r)
{
    bff_worker_t *w = r->site->worker;
    h2o_req_t *req = r->req;
    r->sent_bytes = req->res.content_length != SIZE_MAX ? req->res.content_length : 0;
    if (bff_send_guard_add(&w->send_guard, req, r->sent_bytes, r->profile->max_unsent_bytes))
        return;
    if (req->version < 0x200)
        return;
    r->send_baseline = req->bytes_sent;
    bff_timer_start(&w->timers, &r->send_watch, r->profile->write_timeout_ms, on_send_watch);
}

static void on_dispose(void *p)
{
    bff_req_t *r = p;
    bff_worker_t *w = r->site->worker;
    bff_timer_cancel(&r->send_watch);
    bff_send_guard_done(&w->send_guard, r->req, r->sent_bytes);
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
