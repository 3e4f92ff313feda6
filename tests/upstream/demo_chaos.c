/* Whole-service chaos for the demo: /__chaos switches that break or slow every call to one of the
 * five services. */
#include "demo_upstream.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>

#include "h2o.h"

/* One switch per demo service, set with POST /__chaos?service=NAME&status=503 or &delay_ms=800
 * (both at once is fine), cleared with POST /__chaos?service=NAME, all of them with POST
 * /__chaos. It lets a demo user break a service without editing a spec. */
static const char *const SERVICES[] = {"users", "orders", "catalog", "notifications", "shipping"};
static _Atomic int chaos_status[5];
static _Atomic uint64_t chaos_delay_ms[5];

static int service_of(h2o_iovec_t path)
{
    static const struct {
        const char *prefix;
        int service;
    } map[] = {{"/users", 0},    {"/orders", 1},        {"/recommendations", 2},
               {"/products", 2}, {"/notifications", 3}, {"/shipments", 4}};
    for (size_t i = 0; i != ARRAY_SIZE(map); ++i) {
        size_t n = strlen(map[i].prefix);
        if (path.len >= n && memcmp(path.base, map[i].prefix, n) == 0 &&
            (path.len == n || path.base[n] == '/'))
            return map[i].service;
    }
    return -1;
}

void apply_chaos(h2o_iovec_t path, struct knobs *k)
{
    int s = service_of(path);
    if (s < 0)
        return;
    int status = atomic_load(&chaos_status[s]);
    uint64_t delay = atomic_load(&chaos_delay_ms[s]);
    if (status != 0 && k->status == 0)
        k->status = status;
    if (delay != 0 && !k->has_delay) {
        k->delay_ms = delay;
        k->has_delay = 1;
    }
}

void handle_chaos(h2o_req_t *req)
{
    h2o_iovec_t service = {NULL, 0}, status = {NULL, 0}, delay = {NULL, 0};
    if (req->query_at != SIZE_MAX) {
        const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
            if (amp == NULL)
                amp = end;
            if ((eq = memchr(p, '=', (size_t)(amp - p))) != NULL) {
                h2o_iovec_t name = h2o_iovec_init(p, (size_t)(eq - p)),
                            val = h2o_iovec_init(eq + 1, (size_t)(amp - eq - 1));
                if (h2o_memis(name.base, name.len, H2O_STRLIT("service")))
                    service = val;
                else if (h2o_memis(name.base, name.len, H2O_STRLIT("status")))
                    status = val;
                else if (h2o_memis(name.base, name.len, H2O_STRLIT("delay_ms")))
                    delay = val;
            }
            p = amp + 1;
        }
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        jbuf_t b;
        jb_init(&b, &req->pool, 512);
        JB_LIT(&b, "{");
        for (size_t i = 0; i != ARRAY_SIZE(SERVICES); ++i)
            jb_fmt(&b, "%s\"%s\":{\"status\":%d,\"delay_ms\":%" PRIu64 "}", i ? "," : "",
                   SERVICES[i], atomic_load(&chaos_status[i]), atomic_load(&chaos_delay_ms[i]));
        JB_LIT(&b, "}");
        send_json(req, 200, jb_iovec(&b));
        return;
    }
    for (size_t i = 0; i != ARRAY_SIZE(SERVICES); ++i) {
        if (service.len != 0 &&
            !h2o_memis(service.base, service.len, SERVICES[i], strlen(SERVICES[i])))
            continue;
        uint64_t v = 0;
        atomic_store(&chaos_status[i],
                     status.len && parse_u64(status, 599, &v) == 0 && v >= 200 ? (int)v : 0);
        v = 0;
        atomic_store(&chaos_delay_ms[i],
                     delay.len && parse_clamped(delay, MAX_DELAY_MS, &v) == 0 ? v : 0);
    }
    SEND_JSON_LIT(req, 200, "{\"ok\":true}");
}
