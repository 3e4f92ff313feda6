/* While bffd drains (SIGTERM), a keep-alive answer would invite the client's next request onto
 * a connection about to close: it would meet a reset (nginx answers Connection: close then). A
 * response filter marks such answers not persistent; libh2o writes Connection: close and closes
 * the connection once the answer is out. */
#include "server/http/drain_close.h"

typedef struct st_drain_filter_t {
    h2o_filter_t super;
    const atomic_int *stopping;
} drain_filter_t;

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (atomic_load_explicit(((drain_filter_t *)self)->stopping, memory_order_relaxed))
        req->http1_is_persistent = 0;
    h2o_setup_next_ostream(req, slot);
}

void bff_drain_close_register(h2o_pathconf_t *path, const atomic_int *stopping)
{
    drain_filter_t *f = (drain_filter_t *)h2o_create_filter(path, sizeof(*f));
    f->super.on_setup_ostream = on_setup_ostream;
    f->stopping = stopping;
}
