/* Connections whose peer stops taking what is written. libh2o 2.2.5 has no write timeout: an
 * HTTP/1 client that never reads a large response, or any connection h2o is closing while a
 * write is still pending (h2o waits for that write to finish before it frees the connection),
 * would hold its memory forever. Every accepted socket is on its profile slot's list; a sweep
 * once a second cuts a socket that has had a write pending and no byte acknowledged by the peer
 * (TCP_INFO's bytes_acked) for the write timeout. h2o_socket_t's on_close callback, unused by
 * h2o's server side, takes a socket off the list before h2o frees it. */
#ifndef BFF_SERVER_HTTP_WRITE_WATCH_H
#define BFF_SERVER_HTTP_WRITE_WATCH_H

#include <h2o.h>
#include <stdint.h>

typedef struct st_bff_write_watch_t {
    h2o_linklist_t socks;
    uint64_t cut; /* sockets cut for a stalled write */
} bff_write_watch_t;

void bff_write_watch_init(bff_write_watch_t *ww);
/** Watches a newly accepted socket until h2o closes it. */
void bff_write_watch_add(bff_write_watch_t *ww, h2o_socket_t *sock);
/** Cuts the sockets whose pending write has made no progress for `timeout_ms`. */
void bff_write_watch_sweep(bff_write_watch_t *ww, uint64_t now_ms, uint64_t timeout_ms);

#endif
