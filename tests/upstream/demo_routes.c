/* The request handler: the debug endpoints, then knobs, chaos and delays, then the routes of the
 * five services and /echo, with the validators of etag= and last_modified= and their 304. */
#include "demo_upstream.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "h2o.h"

static h2o_iovec_t path_without_query(h2o_req_t *req)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    return h2o_iovec_init(req->path.base, len);
}

static int is_get_or_head(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

static struct worker *worker_of(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(struct worker, ctx, req->conn->ctx);
}

static int same_name(const h2o_header_t *a, const h2o_header_t *b)
{
    return h2o_memis(a->name->base, a->name->len, b->name->base, b->name->len);
}

/* one JSON member per header name; repeated headers are joined with ", " */
static void write_echo_headers(jbuf_t *b, h2o_req_t *req)
{
    const h2o_header_t *e = req->headers.entries;
    int has_host = 0, first = 1;
    for (size_t i = 0, j; i != req->headers.size; ++i) {
        for (j = 0; j != i && !same_name(e + j, e + i); ++j)
            ;
        if (j != i)
            continue; /* already written together with its first occurrence */
        has_host |= h2o_memis(e[i].name->base, e[i].name->len, H2O_STRLIT("host"));
        if (!first)
            JB_LIT(b, ",");
        first = 0;
        JB_LIT(b, "\"");
        jb_escape(b, e[i].name->base, e[i].name->len);
        JB_LIT(b, "\":\"");
        for (j = i; j != req->headers.size; ++j) {
            if (!same_name(e + j, e + i))
                continue;
            if (j != i)
                JB_LIT(b, ", ");
            jb_escape(b, e[j].value.base, e[j].value.len);
        }
        JB_LIT(b, "\"");
    }
    if (!has_host && req->input.authority.base != NULL) {
        jb_fmt(b, "%s\"host\":", first ? "" : ",");
        jb_str(b, req->input.authority);
    }
}

static void write_echo(jbuf_t *b, h2o_req_t *req)
{
    JB_LIT(b, "{\"method\":");
    jb_str(b, req->method);
    JB_LIT(b, ",\"path\":");
    jb_str(b, req->path);
    JB_LIT(b, ",\"rawPath\":"); /* the request line's target, before h2o normalizes it */
    jb_str(b, req->input.path);
    JB_LIT(b, ",\"headers\":{");
    write_echo_headers(b, req);
    JB_LIT(b, "},\"body\":");
    jb_str(b, req->entity.base != NULL ? req->entity : h2o_iovec_init("", 0));
    if (opts.ssl_ctx != NULL) { /* whether this connection resumed a TLS session */
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
        jb_fmt(b, ",\"tlsResumed\":%s",
               sock != NULL && h2o_socket_get_ssl_session_reused(sock) == 1 ? "true" : "false");
    }
    JB_LIT(b, "}");
}

/* routes a normal request; segs are the raw path segments (after the leading '/') */
static void route(h2o_req_t *req, const struct knobs *k, h2o_iovec_t *segs, size_t n)
{
    jbuf_t b;
#define SEG(i, lit) h2o_memis(segs[i].base, segs[i].len, H2O_STRLIT(lit))
#define ID(i) url_decode(&req->pool, segs[i])
    if (n >= 1 && SEG(0, "echo")) {
        jb_init(&b, &req->pool, 1024 + req->entity.len);
        write_echo(&b, req);
        if (k->location.len != 0) {
            h2o_iovec_t loc = url_decode(&req->pool, k->location);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, loc.base,
                           loc.len);
        }
        h2o_iovec_t ctype = k->ctype.len ? url_decode(&req->pool, k->ctype)
                                         : h2o_iovec_init(H2O_STRLIT("application/json"));
        send_body(req, k->code ? k->code : 200, h2o_strdup(&req->pool, ctype.base, ctype.len).base,
                  k->empty ? h2o_iovec_init("", 0) : jb_iovec(&b));
        return;
    }
    if (n == 1 && SEG(0, "orders") &&
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        /* Places an order: its id from the user and a counter, the request echoed back. */
        static _Atomic uint64_t next_order = 1;
        uint64_t no = atomic_fetch_add(&next_order, 1);
        h2o_iovec_t user =
            k->user_id.len ? url_decode(&req->pool, k->user_id) : h2o_iovec_init(H2O_STRLIT("0"));
        char loc[96];
        int len =
            snprintf(loc, sizeof(loc), "/orders/o-%.*s-n%" PRIu64, (int)user.len, user.base, no);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL,
                       h2o_strdup(&req->pool, loc, (size_t)len).base, (size_t)len);
        jb_init(&b, &req->pool, 256 + req->entity.len);
        jb_fmt(&b, "{\"id\":\"o-%.*s-n%" PRIu64 "\",\"userId\":", (int)user.len, user.base, no);
        jb_str(&b, user);
        JB_LIT(&b, ",\"status\":\"placed\",\"request\":");
        jb_str(&b, req->entity.base != NULL ? req->entity : h2o_iovec_init("", 0));
        JB_LIT(&b, "}");
        send_json(req, 201, jb_iovec(&b));
        return;
    }
    if (!is_get_or_head(req) && n >= 1 &&
        (SEG(0, "users") || SEG(0, "orders") || SEG(0, "recommendations") || SEG(0, "products") ||
         SEG(0, "notifications") || SEG(0, "shipments"))) {
        SEND_JSON_LIT(req, 405, "{\"error\":\"method not allowed\"}");
        return;
    }
    jb_init(&b, &req->pool, 2048);
    if (n == 2 && SEG(0, "users") && segs[1].len != 0) {
        write_user(&b, ID(1));
    } else if (n == 1 && SEG(0, "orders")) {
        if (k->user_id.len == 0) {
            SEND_JSON_LIT(req, 400, "{\"error\":\"missing userId\"}");
            return;
        }
        write_orders(&b, &req->pool, url_decode(&req->pool, k->user_id),
                     k->has_limit ? k->limit : 10);
    } else if (n == 2 && SEG(0, "orders") && segs[1].len != 0) {
        h2o_iovec_t order_id = ID(1);
        write_order(&b, order_id, order_owner(&req->pool, order_id));
    } else if (n == 2 && SEG(0, "recommendations") && segs[1].len != 0) {
        write_recommendations(&b, ID(1), k->has_limit ? k->limit : 20);
    } else if (n == 1 && SEG(0, "products")) {
        write_product_batch(&b, &req->pool, k->ids);
    } else if (n == 2 && SEG(0, "products") && segs[1].len != 0) {
        write_product(&b, ID(1));
    } else if (n == 3 && SEG(0, "notifications") && segs[1].len != 0 && SEG(2, "unread")) {
        h2o_iovec_t user_id = ID(1);
        JB_LIT(&b, "{\"userId\":");
        jb_str(&b, user_id);
        jb_fmt(&b, ",\"unreadCount\":%u}", pick(fnv1a(user_id.base, user_id.len), 1, 25));
    } else if (n == 2 && SEG(0, "shipments") && segs[1].len != 0) {
        write_shipment(&b, ID(1));
    } else {
        SEND_JSON_LIT(req, 404, "{\"error\":\"not found\"}");
        return;
    }
    send_json(req, 200, jb_iovec(&b));
#undef SEG
#undef ID
}

static size_t split_path(h2o_iovec_t path, h2o_iovec_t *segs, size_t max)
{
    const char *p = path.base + 1, *end = path.base + path.len;
    size_t n = 0;
    if (path.len == 0 || path.base[0] != '/')
        return max + 1;
    while (p <= end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (slash == NULL)
            slash = end;
        if (n == max)
            return max + 1;
        segs[n++] = h2o_iovec_init(p, (size_t)(slash - p));
        p = slash + 1;
    }
    return n;
}

/* Validators of the current version (etag=, last_modified= knobs): 1 when the request's
 * conditional headers name it, and the answer is then 304. */
static _Atomic uint64_t data_version = 1;

static int add_validators(h2o_req_t *req, const struct knobs *k)
{
    uint64_t g = atomic_load(&data_version);
    int matched = 0;
    if (k->etag.len != 0) {
        char *v = h2o_mem_alloc_pool(&req->pool, k->etag.len + 32);
        size_t n = (size_t)snprintf(v, k->etag.len + 32, "\"%.*s-%" PRIu64 "\"", (int)k->etag.len,
                                    k->etag.base, g);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, v, n);
        ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
        matched |= i >= 0 && h2o_memis(req->headers.entries[i].value.base,
                                       req->headers.entries[i].value.len, v, n);
    }
    if (k->last_modified) {
        time_t t = (time_t)(1700000000 + g * 86400);
        struct tm tm;
        gmtime_r(&t, &tm);
        char *v = h2o_mem_alloc_pool(&req->pool, 40);
        size_t n = strftime(v, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LAST_MODIFIED, NULL, v, n);
        ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_MODIFIED_SINCE, -1);
        matched |= i >= 0 && h2o_memis(req->headers.entries[i].value.base,
                                       req->headers.entries[i].value.len, v, n);
    }
    return matched;
}

void respond(h2o_req_t *req, const struct knobs *k, enum outcome outcome)
{
    h2o_iovec_t segs[8];
    size_t n;
    char buf[64];

    if (k->retry_after.len != 0)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                       k->retry_after.base, k->retry_after.len);
    if (k->cache_control.len != 0) {
        h2o_iovec_t cc = url_decode(&req->pool, k->cache_control);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cc.base,
                       cc.len);
    }
    switch (outcome) {
    case OUT_STATUS:
        send_json(req, k->status,
                  h2o_strdup(&req->pool, buf,
                             (size_t)snprintf(buf, sizeof(buf), "{\"error\":\"forced status %d\"}",
                                              k->status)));
        return;
    case OUT_TRANSIENT:
        SEND_JSON_LIT(req, 503, "{\"error\":\"transient\"}");
        return;
    case OUT_FAIL_EVERY:
        SEND_JSON_LIT(req, 500, "{\"error\":\"fail_every\"}");
        return;
    case OUT_MALFORMED:
        SEND_JSON_LIT(req, 200, "{\"id\": \"broken\", ");
        return;
    case OUT_NOTJSON:
        send_body(req, 200, "text/html", h2o_iovec_init(H2O_STRLIT("<html>oops</html>")));
        return;
    case OUT_SIZE:
        send_padding(req, k->size);
        return;
    case OUT_NORMAL:
        break;
    }
    if ((k->etag.len != 0 || k->last_modified) && add_validators(req, k)) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, NULL, 0);
        return;
    }
    n = split_path(path_without_query(req), segs, ARRAY_SIZE(segs));
    if (n > ARRAY_SIZE(segs)) {
        SEND_JSON_LIT(req, 404, "{\"error\":\"not found\"}");
        return;
    }
    route(req, k, segs, n);
}

static int handle_debug(h2o_req_t *req, h2o_iovec_t path)
{
    jbuf_t b;
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/__chaos"))) {
        handle_chaos(req);
        return 1;
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/__stats"))) {
        jb_init(&b, &req->pool, 4096);
        write_stats(&b);
        send_json(req, 200, jb_iovec(&b));
        return 1;
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/__version"))) {
        char v[48];
        int n = snprintf(v, sizeof(v), "{\"version\":%" PRIu64 "}",
                         atomic_fetch_add(&data_version, 1) + 1);
        send_json(req, 200, h2o_strdup(&req->pool, v, (size_t)n));
        return 1;
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/__reset"))) {
        stats_reset();
        SEND_JSON_LIT(req, 200, "{\"ok\":true}");
        return 1;
    }
    return 0;
}

int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct worker *w = worker_of(req);
    h2o_iovec_t path = path_without_query(req);
    struct knobs k;
    enum outcome outcome;
    uint64_t delay;

    if (handle_debug(req, path))
        return 0;
    parse_knobs(req, &k);
    apply_chaos(path, &k);
    stats_count(&w->stats, path);
    if (k.hang) {
        start_hang(w, req, &k);
        return 0;
    }
    outcome = decide_outcome(w, &k);
    delay = k.has_delay ? k.delay_ms : opts.latency_ms;
    if (delay == 0) {
        respond(req, &k, outcome);
    } else {
        struct pending *p = new_pending(w, req, &k, outcome);
        p->remaining_ms = delay;
        schedule_pending(p);
    }
    return 0;
}
