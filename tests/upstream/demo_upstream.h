/* What the parts of demo_upstream share: its limits, the per-thread worker, a request's knobs and
 * the functions one part calls in another. */
#ifndef DEMO_UPSTREAM_H
#define DEMO_UPSTREAM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "h2o.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_DELAY_MS 600000 /* 10 minutes */
#define MAX_LIMIT 1000      /* orders/recommendations/batch cap */
#define NUM_DELAY_QUEUES 64 /* exact-delay queues per thread, then power-of-two chaining */
#define NUM_POW2_QUEUES 21  /* 2^20 ms > MAX_DELAY_MS */
#define STATS_SLOTS 4096
#define STATS_PATH_MAX 112

typedef struct st_jbuf_t {
    h2o_mem_pool_t *pool;
    char *buf;
    size_t len, cap;
} jbuf_t;

struct stat_slot {
    _Atomic uint64_t hash; /* 0 = empty; published (release) after len/path are written */
    _Atomic uint64_t count;
    uint32_t len;
    char path[STATS_PATH_MAX];
};

/* per-thread counters: written by the owner thread only, read by /__stats on any thread */
struct stats {
    _Atomic uint64_t gen; /* equals stats_gen once this table has been cleared after a reset */
    _Atomic uint64_t total;
    _Atomic uint64_t other; /* paths that did not fit (too long / table full) */
    size_t used;
    uint64_t fail_every_seen;
    struct stat_slot slots[STATS_SLOTS];
};

struct delay_queue {
    uint64_t ms;
    h2o_timeout_t timeout;
};

struct worker {
    pthread_t tid;
    int listen_fd;
    h2o_socket_t *listener;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    struct delay_queue queues[NUM_DELAY_QUEUES];
    size_t num_queues;
    h2o_timeout_t pow2[NUM_POW2_QUEUES];
    uint32_t pow2_inited;
    h2o_timeout_t probe_timeout;
    h2o_timeout_entry_t probe_entry;
    h2o_linklist_t hung; /* HTTP/1 requests parked by hang=1 (h2o does not watch the socket) */
    struct stats stats;
};

enum outcome {
    OUT_NORMAL,
    OUT_STATUS,
    OUT_TRANSIENT,
    OUT_FAIL_EVERY,
    OUT_MALFORMED,
    OUT_NOTJSON,
    OUT_SIZE,
};

struct knobs {
    h2o_iovec_t user_id, ids, fail_first, location, retry_after, ctype, cache_control, etag;
    int last_modified;
    uint64_t delay_ms, size, fail_every, limit;
    int status, code;   /* code: /echo answers with this status (201, 204, ...) */
    unsigned empty : 1; /* /echo: an empty body */
    unsigned has_delay : 1, has_limit : 1, has_size : 1, malformed : 1, notjson : 1, hang : 1;
};

/* a request whose response is postponed (delay) or never sent (hang); lives in the req pool */
struct pending {
    h2o_timeout_entry_t entry;
    h2o_linklist_t hung_link;
    h2o_req_t *req;
    struct worker *worker;
    uint64_t remaining_ms;
    struct knobs knobs;
    enum outcome outcome;
};

/* demo_upstream.c: the command line and the worker threads */
struct options {
    const char *host;
    unsigned port;
    unsigned threads;
    uint64_t latency_ms;
    const char *tls_cert, *tls_key;
    SSL_CTX *ssl_ctx; /* from tls_cert and tls_key; NULL = cleartext */
};
extern struct options opts;
extern struct worker *workers; /* one per --threads; /__stats reads all of them */

/* demo_json.c: the JSON buffer */
void jb_init(jbuf_t *b, h2o_mem_pool_t *pool, size_t cap);
void jb_raw(jbuf_t *b, const char *s, size_t len);
#define JB_LIT(b, lit) jb_raw((b), H2O_STRLIT(lit))
__attribute__((format(printf, 2, 3))) void jb_fmt(jbuf_t *b, const char *fmt, ...);
void jb_lower(jbuf_t *b, const char *s);
void jb_escape(jbuf_t *b, const char *s, size_t len);
void jb_str(jbuf_t *b, h2o_iovec_t s);
h2o_iovec_t jb_iovec(jbuf_t *b);

/* demo_data.c: the deterministic demo data; fnv1a hashes an id, pick derives a value below n */
uint64_t fnv1a(const char *s, size_t len);
unsigned pick(uint64_t h, unsigned salt, unsigned n);
void write_user(jbuf_t *b, h2o_iovec_t id);
void write_product(jbuf_t *b, h2o_iovec_t id);
void write_order(jbuf_t *b, h2o_iovec_t order_id, h2o_iovec_t user_id);
h2o_iovec_t order_owner(h2o_mem_pool_t *pool, h2o_iovec_t order_id);
void write_orders(jbuf_t *b, h2o_mem_pool_t *pool, h2o_iovec_t user_id, uint64_t limit);
void write_recommendations(jbuf_t *b, h2o_iovec_t user_id, uint64_t limit);
void write_product_batch(jbuf_t *b, h2o_mem_pool_t *pool, h2o_iovec_t ids);
void write_shipment(jbuf_t *b, h2o_iovec_t order_id);

/* demo_knobs.c: the query knobs */
int parse_u64(h2o_iovec_t s, uint64_t max, uint64_t *out);
int parse_clamped(h2o_iovec_t s, uint64_t max, uint64_t *out);
h2o_iovec_t url_decode(h2o_mem_pool_t *pool, h2o_iovec_t s);
void parse_knobs(h2o_req_t *req, struct knobs *k);
enum outcome decide_outcome(struct worker *w, const struct knobs *k);

/* demo_stats.c: the debug counters (/__stats, /__reset) and fail_first keys */
void stats_count(struct stats *s, h2o_iovec_t path);
void write_stats(jbuf_t *b);
void stats_reset(void);
int seen_first_time(h2o_iovec_t key);

/* demo_send.c: sending a response */
void send_body(h2o_req_t *req, int status, const char *ctype, h2o_iovec_t body);
void send_json(h2o_req_t *req, int status, h2o_iovec_t body);
#define SEND_JSON_LIT(req, status, lit) send_json((req), (status), h2o_iovec_init(H2O_STRLIT(lit)))
void send_padding(h2o_req_t *req, uint64_t size);

/* demo_routes.c: the handler and the routes */
/* answers now (also at the end of a delay): a forced outcome, a 304, or the route */
void respond(h2o_req_t *req, const struct knobs *k, enum outcome outcome);
int on_req(h2o_handler_t *self, h2o_req_t *req);

/* demo_delays.c: delays and hangs */
void schedule_pending(struct pending *p);
struct pending *new_pending(struct worker *w, h2o_req_t *req, const struct knobs *k,
                            enum outcome outcome);
void on_hang_probe(h2o_timeout_entry_t *entry);
void start_hang(struct worker *w, h2o_req_t *req, const struct knobs *k);

/* demo_chaos.c: whole-service chaos */
void apply_chaos(h2o_iovec_t path, struct knobs *k);
void handle_chaos(h2o_req_t *req);

#endif
