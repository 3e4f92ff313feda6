/* End hook: one access log line per request, into the worker's batch for the request's
 * profile, to the destination of the configuration the request started with. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server/core/clock.h"
#include "server/stage/pipeline.h"

/* The peer's address, as text, into buf (size >= INET6_ADDRSTRLEN); NULL when unknown. */
static const char *client_address(h2o_req_t *req, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    if (req->conn->callbacks->get_peername == NULL ||
        req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) == 0)
        return NULL;
    const void *addr = ss.ss_family == AF_INET6
                           ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                           : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    return inet_ntop(ss.ss_family, addr, buf, (socklen_t)size);
}

void bff_request_log_on_end(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    char client[INET6_ADDRSTRLEN];
    bff_access_log_entry_t e = {
        .profile = r->profile->name,
        .method = r->method.base,
        .method_len = r->method.len,
        .path = r->path.base,
        .path_len = r->path.len,
        .status = req->res.status ? req->res.status : 499, /* client went away first */
        .bytes = req->bytes_sent,
        .duration_us = bff_now_us() - r->started_us,
        .request_id = r->request_id.base,
        .request_id_len = r->request_id.len,
        .protocol = req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1",
        .route = r->route.spec != NULL ? r->route.spec->route : NULL,
        .client = client_address(req, client, sizeof(client)),
        .trace_id = r->trace_id,
        .partial = r->log_partial,
        .failed = r->log_failed.base,
        .failed_len = r->log_failed.len,
    };
    bff_access_log_add(&r->site->log, r->conf->access_log, &e);
}
