/* HTTP/2 control-frame floods. libh2o 2.2.5 answers every SETTINGS and PING itself, without a
 * limit; this interposes functions it calls through its PLT (like head_guard.c) to count them per
 * connection and second (thread-local counters: each worker sees its own connections):
 *  - h2o_http2_update_peer_settings(&conn->peer_settings, ...) runs for each SETTINGS frame
 *    (conn.h's view of the connection's head gives the connection). Past BFF_H2_MAX_SETTINGS it
 *    returns ENHANCE_YOUR_CALM, which h2o sends as GOAWAY before closing.
 *  - A PING is answered by h2o_http2_encode_ping_frame(&conn->_write.buf, 1, ...) immediately
 *    followed by h2o_http2_conn_request_write(conn): the first marks that an ACK was queued, the
 *    second names the connection. Past BFF_H2_MAX_PINGS the connection is cut: GOAWAY
 *    ENHANCE_YOUR_CALM written directly when h2o is not writing, then shut down.
 * Whatever the rate, ACKs stop piling up once BFF_H2_MAX_UNSENT_ACKS bytes wait in the write
 * buffer of a peer that does not read. h2o closes a connection only after its pending write
 * completes, so a flooder that does not read is shut down at once instead of left to the write
 * watch. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <h2o.h>

#include "server/http/conn.h"

#define BFF_H2_MAX_SETTINGS 100            /* SETTINGS frames per connection per second */
#define BFF_H2_MAX_PINGS 100               /* PING frames per connection per second */
#define BFF_H2_MAX_UNSENT_ACKS (64 * 1024) /* bytes already waiting when a PING ACK is due */
#define SLOTS 256

/* libh2o's prototypes, from http2_internal.h (not includable, see conn.h) */
int h2o_http2_update_peer_settings(h2o_http2_settings_t *settings, const uint8_t *src, size_t len,
                                   const char **err_desc);
void h2o_http2_encode_ping_frame(h2o_buffer_t **buf, int is_ack, const uint8_t *data);
void h2o_http2_conn_request_write(void *conn);

static int (*real_update_settings)(h2o_http2_settings_t *, const uint8_t *, size_t, const char **);
static void (*real_encode_ping)(h2o_buffer_t **, int, const uint8_t *);
static void (*real_request_write)(void *);

__attribute__((constructor)) static void find_real(void)
{
    *(void **)&real_update_settings = dlsym(RTLD_NEXT, "h2o_http2_update_peer_settings");
    *(void **)&real_encode_ping = dlsym(RTLD_NEXT, "h2o_http2_encode_ping_frame");
    *(void **)&real_request_write = dlsym(RTLD_NEXT, "h2o_http2_conn_request_write");
    if (real_update_settings == NULL || real_encode_ping == NULL || real_request_write == NULL)
        abort(); /* linked against something that is not libh2o 2.2.5 */
}

typedef struct {
    uint64_t conn_id, second;
    unsigned count;
} rate_t;
static __thread rate_t settings_seen[SLOTS], pings_seen[SLOTS];
static __thread int ping_acked; /* an ACK was queued; the next request_write names its conn */

/* Counts one frame for the connection; 1 once it is past `max` this second. A collision of two
 * connections in one slot restarts the count (errs on the side of the client). */
static int over_rate(rate_t *table, uint64_t conn_id, unsigned max)
{
    rate_t *r = table + conn_id % SLOTS;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t second = (uint64_t)ts.tv_sec;
    if (r->conn_id != conn_id || r->second != second) {
        r->conn_id = conn_id;
        r->second = second;
        r->count = 0;
    }
    return ++r->count > max;
}

int h2o_http2_update_peer_settings(h2o_http2_settings_t *settings, const uint8_t *src, size_t len,
                                   const char **err_desc)
{
    bff_h2_conn_head_t *conn = H2O_STRUCT_FROM_MEMBER(bff_h2_conn_head_t, peer_settings, settings);
    if (over_rate(settings_seen, conn->super.id, BFF_H2_MAX_SETTINGS)) {
        if (h2o_socket_is_writing(conn->sock)) /* the GOAWAY could never go out */
            shutdown(h2o_socket_get_fd(conn->sock), SHUT_RDWR);
        *err_desc = "SETTINGS flood";
        return H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM;
    }
    return real_update_settings(settings, src, len, err_desc);
}

void h2o_http2_encode_ping_frame(h2o_buffer_t **buf, int is_ack, const uint8_t *data)
{
    if (!is_ack) {
        real_encode_ping(buf, is_ack, data);
        return;
    }
    ping_acked = 1;
    if ((*buf)->size <= BFF_H2_MAX_UNSENT_ACKS)
        real_encode_ping(buf, is_ack, data);
}

void h2o_http2_conn_request_write(void *conn)
{
    if (ping_acked) {
        ping_acked = 0;
        bff_h2_conn_head_t *head = conn;
        if (over_rate(pings_seen, head->super.id, BFF_H2_MAX_PINGS) && head->sock != NULL) {
            bff_conn_cut_socket(head->sock, 1);
            return;
        }
    }
    real_request_write(conn);
}
