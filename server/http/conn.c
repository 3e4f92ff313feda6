/* Finding and cutting a request's connection. */
#include "server/http/conn.h"

#include <sys/socket.h>

h2o_socket_t *bff_conn_socket(h2o_req_t *req)
{
    if (req->version >= 0x200)
        return ((bff_h2_conn_head_t *)req->conn)->sock;
    if (req->conn->callbacks->get_socket == NULL)
        return NULL;
    return req->conn->callbacks->get_socket(req->conn);
}

void bff_conn_cut(h2o_req_t *req)
{
    h2o_socket_t *sock = bff_conn_socket(req);
    if (sock != NULL)
        bff_conn_cut_socket(sock, req->version >= 0x200);
}

void bff_conn_cut_socket(h2o_socket_t *sock, int http2)
{
    int fd = h2o_socket_get_fd(sock);
    if (http2 && !h2o_socket_is_writing(sock)) {
        /* GOAWAY, last stream 0x7fffffff, ENHANCE_YOUR_CALM (0xb). Plaintext only: on TLS the
         * record layer is h2o's to write. */
        static const unsigned char goaway[] = {0,    0,    8,    7,    0, 0, 0, 0,   0,
                                               0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0x0b};
        if (sock->ssl == NULL)
            (void)send(fd, goaway, sizeof(goaway), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    shutdown(fd, SHUT_RDWR);
}
