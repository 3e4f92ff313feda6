/* Unsent bytes per connection. A collision between two connections in one slot resets the count
 * (it errs on the side of the client). */
#include "server/obs/send_guard.h"

#include "server/http/conn.h"

static size_t slot_of(uint64_t id)
{
    return (size_t)(id * 0x9E3779B97F4A7C15ull >> 54) % BFF_SEND_GUARD_SLOTS;
}

int bff_send_guard_add(bff_send_guard_t *g, h2o_req_t *req, size_t bytes, size_t max)
{
    size_t i = slot_of(req->conn->id);
    if (g->slots[i].conn_id != req->conn->id) {
        g->slots[i].conn_id = req->conn->id;
        g->slots[i].unsent = 0;
    }
    /* One response alone always goes out (its size has its own limits); the cap is on piling
     * more onto a connection that has not taken what it already holds. */
    size_t held = g->slots[i].unsent;
    g->slots[i].unsent += bytes;
    if (held == 0 || g->slots[i].unsent <= max)
        return 0;
    g->slots[i].unsent = 0;
    ++g->cut_overfull;
    bff_conn_cut(req);
    return 1;
}

void bff_send_guard_done(bff_send_guard_t *g, h2o_req_t *req, size_t bytes)
{
    size_t i = slot_of(req->conn->id);
    if (g->slots[i].conn_id == req->conn->id)
        g->slots[i].unsent = g->slots[i].unsent > bytes ? g->slots[i].unsent - bytes : 0;
}
