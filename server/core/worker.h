/* One worker thread: its own evloop, and on it, per profile, an h2o configuration, context
 * and listening socket (SO_REUSEPORT), plus the curl loop (its multi handles), timers and upstream
 * state every request of this worker uses. Nothing here is shared with another worker; the only
 * cross-thread inputs are the server's `stopping` flag and the published configuration, both
 * read at the top of a loop turn. */
#ifndef BFF_SERVER_CORE_WORKER_H
#define BFF_SERVER_CORE_WORKER_H

#include <h2o.h>
#include <pthread.h>
#include <stdint.h>

#include "server/core/conf_view.h"
#include "server/fetch/upstream.h"
#include "server/loop/curl_loop.h"
#include "server/loop/timer.h"
#include "server/obs/access_log.h"
#include "server/obs/reset_guard.h"
#include "server/obs/send_guard.h"
#include "server/http/write_watch.h"

typedef struct st_bff_worker_t bff_worker_t;
typedef struct st_bff_server_t bff_server_t;

/** A profile's slot on one worker. The h2o configuration is the worker's own, so a reload can
 * change its limits (body size, TLS context) without touching another thread's. */
typedef struct st_bff_site_ctx_t {
    h2o_context_t ctx; /* first: handlers find the slot from req->conn->ctx */
    h2o_globalconf_t globalconf;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    struct st_bff_listener_t *listener_data;
    bff_worker_t *worker;
    size_t index;    /* the profile's position in every configuration */
    size_t inflight; /* this profile's requests in progress on this worker */
    uint64_t shed;   /* requests answered 503 because inflight was at its cap */
    bff_access_log_buf_t log;
    bff_write_watch_t write_watch;         /* this profile's connections on this worker */
    struct st_bff_gql_cache_t *gql_cache;  /* parsed GraphQL documents; NULL until the first */
    struct st_bff_l1_t *token_cache;       /* verified tokens (stage/auth.c); NULL until one */
    struct st_bff_l1_t *minted_tokens;     /* tokens signed for upstreams (upstream_auth.h) */
    struct st_bff_otlp_t *otlp;            /* the span exporter (obs/otlp.h); NULL until one */
    struct st_bff_jwks_t *jwks;            /* the profile's fetched JWKS; NULL until needed */
    struct st_bff_site_metrics_t *metrics; /* counted here, summed by the admin's /metrics */
} bff_site_ctx_t;

struct st_bff_worker_t {
    bff_server_t *server;
    unsigned id;
    pthread_t thread;
    struct st_starter_t *starter; /* while the worker sets itself up on its thread (server.c) */
    h2o_evloop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t wakeup;
    bff_site_ctx_t *sites; /* one per profile */
    size_t nsites;
    bff_curl_loop_t *curl;
    bff_timers_t timers;
    bff_fetcher_t *fetcher;
    bff_conf_view_t *view;   /* the configuration new requests start with */
    uint64_t generation;     /* of view->config */
    int worked_outside_loop; /* the last turn ran curl timeouts or timers after h2o's poll */
    size_t inflight;         /* requests being handled */
    bff_reset_guard_t reset_guard;
    bff_send_guard_t send_guard;
    bff_timer_t write_sweep; /* each second: the sites' write watches */
    uint64_t request_seq;
};

/** Sets up the worker's loop and adopts the server's current configuration; fds[i] is its
 * listening socket for profile i. Runs on the main thread before the worker starts. */
void bff_worker_init(bff_worker_t *w, bff_server_t *server, unsigned id, const int *fds);
/** The thread body: serves until the server stops, then drains. */
void *bff_worker_main(void *arg);
/** Blocks until `n` workers have drained (the main thread, at shutdown). */
void bff_worker_wait_drained(unsigned n);
/** Queues a purge of the worker's L1 for profile `site` (bff_cache_purge_l1), applied at its
 * next loop turn. Any thread. */
void bff_worker_send_purge(bff_worker_t *w, size_t site, char kind, const char *what, size_t len);
/** Interrupts the worker's poll so it looks at the server's flags now. Any thread. */
void bff_worker_wake(bff_worker_t *w);

#endif
