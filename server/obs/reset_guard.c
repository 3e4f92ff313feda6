/* Counts client-cancelled HTTP/2 streams per connection in a small direct-mapped table (a
 * collision only resets a counter early, which errs on the side of the client). */
#include "server/obs/reset_guard.h"

#include "server/http/conn.h"

int bff_reset_guard_on_cancel(bff_reset_guard_t *guard, h2o_req_t *req, uint64_t now_ms)
{
    if (req->version < 0x200)
        return 0;
    uint64_t id = req->conn->id;
    size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull >> 54) % BFF_RESET_GUARD_SLOTS;
    if (guard->slots[i].conn_id != id ||
        now_ms - guard->slots[i].window_start > BFF_RESET_GUARD_WINDOW_MS) {
        guard->slots[i].conn_id = id;
        guard->slots[i].window_start = now_ms;
        guard->slots[i].cancelled = 0;
    }
    if (++guard->slots[i].cancelled <= BFF_RESET_GUARD_MAX)
        return 0;
    /* GOAWAY where it can be sent, then shutdown(2) rather than close: h2o owns the fd and
     * cleans up through its normal path when the next read fails. */
    bff_conn_cut(req);
    guard->slots[i].cancelled = 0;
    ++guard->connections_closed;
    return 1;
}
