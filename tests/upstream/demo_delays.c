/* Postponed responses (delay_ms, --latency-ms) on per-thread timeout queues, and hang=1 requests,
 * which for HTTP/1 are probed so a vanished client is noticed. */
#include "demo_upstream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "h2o.h"

static h2o_timeout_t *delay_queue(struct worker *w, uint64_t ms, uint64_t *step)
{
    unsigned bit;
    for (size_t i = 0; i != w->num_queues; ++i) {
        if (w->queues[i].ms == ms) {
            *step = ms;
            return &w->queues[i].timeout;
        }
    }
    if (w->num_queues != NUM_DELAY_QUEUES) {
        struct delay_queue *q = &w->queues[w->num_queues++];
        q->ms = ms;
        h2o_timeout_init(w->ctx.loop, &q->timeout, ms);
        *step = ms;
        return &q->timeout;
    }
    /* too many distinct delays: chain through power-of-two queues */
    bit = 63 - (unsigned)__builtin_clzll(ms);
    if ((w->pow2_inited & (1u << bit)) == 0) {
        h2o_timeout_init(w->ctx.loop, &w->pow2[bit], 1ull << bit);
        w->pow2_inited |= 1u << bit;
    }
    *step = 1ull << bit;
    return &w->pow2[bit];
}

void schedule_pending(struct pending *p)
{
    uint64_t step;
    h2o_timeout_t *q = delay_queue(p->worker, p->remaining_ms, &step);
    p->remaining_ms -= step;
    h2o_timeout_link(p->worker->ctx.loop, q, &p->entry);
}

static void on_delay_expired(h2o_timeout_entry_t *entry)
{
    struct pending *p = H2O_STRUCT_FROM_MEMBER(struct pending, entry, entry);
    if (p->remaining_ms != 0) {
        schedule_pending(p);
        return;
    }
    respond(p->req, &p->knobs, p->outcome);
}

/* called when the request pool is cleared: normal completion or client gone (h2, HTTP/1 close) */
static void on_pending_dispose(void *_p)
{
    struct pending *p = _p;
    h2o_timeout_unlink(&p->entry);
    if (h2o_linklist_is_linked(&p->hung_link))
        h2o_linklist_unlink(&p->hung_link);
}

struct pending *new_pending(struct worker *w, h2o_req_t *req, const struct knobs *k,
                            enum outcome outcome)
{
    struct pending *p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), on_pending_dispose);
    memset(p, 0, sizeof(*p));
    p->entry.cb = on_delay_expired;
    p->req = req;
    p->worker = w;
    p->knobs = *k;
    p->outcome = outcome;
    return p;
}

static int peer_is_gone(h2o_req_t *req)
{
    h2o_socket_t *sock;
    ssize_t r;
    char c;
    if (req->conn->callbacks->get_socket == NULL ||
        (sock = req->conn->callbacks->get_socket(req->conn)) == NULL)
        return 0;
    r = recv(h2o_socket_get_fd(sock), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* HTTP/1 in h2o 2.2.5 stops reading while a request is in flight, so poll parked sockets */
void on_hang_probe(h2o_timeout_entry_t *entry)
{
    struct worker *w = H2O_STRUCT_FROM_MEMBER(struct worker, probe_entry, entry);
    h2o_linklist_t *node, *next;
    for (node = w->hung.next; node != &w->hung; node = next) {
        struct pending *p = H2O_STRUCT_FROM_MEMBER(struct pending, hung_link, node);
        next = node->next;
        if (!peer_is_gone(p->req))
            continue;
        h2o_linklist_unlink(node);
        p->req->http1_is_persistent = 0; /* closes the connection once the write finishes */
        SEND_JSON_LIT(p->req, 504, "{\"error\":\"client gone\"}");
    }
    if (!h2o_linklist_is_empty(&w->hung))
        h2o_timeout_link(w->ctx.loop, &w->probe_timeout, &w->probe_entry);
}

void start_hang(struct worker *w, h2o_req_t *req, const struct knobs *k)
{
    struct pending *p = new_pending(w, req, k, OUT_NORMAL);
    if (req->version >= 0x200)
        return; /* h2 notices resets and disposes the stream (and p) by itself */
    h2o_linklist_insert(&w->hung, &p->hung_link);
    if (!h2o_timeout_is_linked(&w->probe_entry))
        h2o_timeout_link(w->ctx.loop, &w->probe_timeout, &w->probe_entry);
}
