/* Process-wide server state: the loaded profiles and the worker threads that serve them.
 * Each worker owns one evloop with, per profile, an h2o context and a listening socket. */
#ifndef BFF_SERVER_SERVER_H
#define BFF_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <h2o.h>

#include "server/access_log.h"
#include "server/profile.h"
#include "server/reset_guard.h"
#include "server/timer.h"

typedef struct st_bff_worker_t bff_worker_t;
typedef struct st_bff_server_t bff_server_t;

/** Per profile, shared read-only by all workers after start. */
typedef struct st_bff_site_t {
    bff_server_t *server;
    bff_profile_t *profile;
    h2o_globalconf_t globalconf;
    SSL_CTX *ssl_ctx;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bff_access_log_t *access_log;
} bff_site_t;

/** Per profile, per worker. */
typedef struct st_bff_site_ctx_t {
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    bff_site_t *site;
    bff_worker_t *worker;
} bff_site_ctx_t;

struct st_bff_worker_t {
    bff_server_t *server;
    unsigned id;
    pthread_t thread;
    h2o_evloop_t *loop;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t wakeup;
    bff_site_ctx_t *sites; /* one per profile */
    struct st_bff_curl_loop_t *curl;
    bff_timers_t timers;
    int worked_outside_loop; /* the last turn ran curl timeouts or timers after h2o's poll */
    struct st_bff_upstreams_t *upstreams; /* per-profile upstream state, indexed like sites */
    size_t inflight;                      /* requests being handled */
    bff_access_log_buf_t log;
    bff_reset_guard_t reset_guard;
    uint64_t request_seq;
};

struct st_bff_server_t {
    bff_site_t *sites;
    size_t nsites;
    bff_worker_t *workers;
    unsigned nworkers;
    atomic_int stopping;
    uint64_t drain_timeout_ms;
};

/** Binds every profile's listener (so a port in use fails before any thread starts), then
 * starts the workers. Returns 0, or -1 after printing why. */
int bff_server_start(bff_server_t *server, bff_profile_t **profiles, size_t nprofiles,
                     unsigned nthreads);
/** Asks workers to stop accepting and drain in-flight requests (bounded by the profiles'
 * drain_timeout), and waits until every worker has drained. Drained workers park rather than
 * exit (see server.c); the caller is expected to end the process. */
void bff_server_stop(bff_server_t *server);
void bff_server_dispose(bff_server_t *server);

#endif
