/* Defence against HTTP/2 "rapid reset" (CVE-2023-44487) for libh2o 2.2.5, which predates h2o's
 * own fix: counts streams each connection cancels before their response, and closes a
 * connection that cancels too many within a window. Per worker; no locks. */
#ifndef BFF_SERVER_RESET_GUARD_H
#define BFF_SERVER_RESET_GUARD_H

#include <h2o.h>
#include <stdint.h>

#define BFF_RESET_GUARD_SLOTS 1024
#define BFF_RESET_GUARD_MAX 100 /* cancelled streams tolerated per window */
#define BFF_RESET_GUARD_WINDOW_MS 10000

typedef struct st_bff_reset_guard_t {
    struct {
        uint64_t conn_id;
        uint64_t window_start;
        uint32_t cancelled;
    } slots[BFF_RESET_GUARD_SLOTS];
    uint64_t connections_closed;
} bff_reset_guard_t;

/** Notes that `req` (HTTP/2) ended before a response was sent. Returns 1 when this closed the
 * connection (its socket is shut down; h2o tears the connection down on its next read). */
int bff_reset_guard_on_cancel(bff_reset_guard_t *guard, h2o_req_t *req, uint64_t now_ms);

#endif
