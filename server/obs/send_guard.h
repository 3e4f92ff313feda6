/* Peers that do not read. libh2o 2.2.5 keeps a response in memory until the peer takes it, with
 * no write timeout: an HTTP/1 client that never reads, or an HTTP/2 stream held at a zero flow
 * control window, pins its composed response forever (20 stalled streams pinned 38 MB). Per
 * worker, this counts the response bytes each connection holds unsent (a direct-mapped table of
 * connection ids, like reset_guard.h) and cuts a connection past the cap; the request side
 * (http/request.c) cuts one whose socket makes no write progress for the write timeout. */
#ifndef BFF_SERVER_OBS_SEND_GUARD_H
#define BFF_SERVER_OBS_SEND_GUARD_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

#define BFF_SEND_GUARD_SLOTS 1024

typedef struct st_bff_send_guard_t {
    struct {
        uint64_t conn_id;
        size_t unsent;
    } slots[BFF_SEND_GUARD_SLOTS];
    uint64_t cut_overfull, cut_stalled; /* connections cut, by cause */
} bff_send_guard_t;

/** A response of `bytes` was handed to h2o for `req`. Returns 1 when its connection already held
 * unsent responses, now holds more than `max`, and was cut (bff_conn_cut). */
int bff_send_guard_add(bff_send_guard_t *g, h2o_req_t *req, size_t bytes, size_t max);
/** That response is gone (sent, or its connection closed). */
void bff_send_guard_done(bff_send_guard_t *g, h2o_req_t *req, size_t bytes);

#endif
