/* Actions on the connection a request arrived on, for guards that must cut a peer off. libh2o
 * 2.2.5 gives an HTTP/1 request's socket through conn->callbacks->get_socket but not an HTTP/2
 * one's; for HTTP/2 this reads the head of h2o_http2_conn_t. Its definition is in
 * h2o/http2_internal.h, which Debian installs without the khash.h it includes, so the head is
 * restated here: the connection, its socket, the peer's settings (libh2o 2.2.5's layout). */
#ifndef BFF_SERVER_HTTP_CONN_H
#define BFF_SERVER_HTTP_CONN_H

#include <h2o.h>
#include <h2o/http2.h>

typedef struct st_bff_h2_conn_head_t {
    h2o_conn_t super;
    h2o_socket_t *sock;
    h2o_http2_settings_t peer_settings;
} bff_h2_conn_head_t;

/** The socket of the request's connection (HTTP/1 or HTTP/2), or NULL. */
h2o_socket_t *bff_conn_socket(h2o_req_t *req);
/** Ends an abusive connection: an HTTP/2 one first gets GOAWAY with ENHANCE_YOUR_CALM when no
 * write is in progress (so the frame cannot land inside another), then both directions are shut
 * down; h2o sees its next read or write fail and frees the connection the usual way. */
void bff_conn_cut(h2o_req_t *req);
/** The same for a socket, when no request is at hand. */
void bff_conn_cut_socket(h2o_socket_t *sock, int http2);

#endif
