/* A worker's loop: accepting, one loop turn at a time (h2o's poll bounded by curl's timer and
 * ours, then curl timeouts, timers and the access log), adopting published configurations, and
 * draining at shutdown. */
#include "server/core/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/core/server.h"
#include "server/http/drain_close.h"
#include "server/http/handler.h"
#include "server/obs/metrics.h"
#include "server/obs/otlp.h"

#define LOOP_WAIT_CAP_MS 1000
#define ACCEPT_PAUSE_MS 100

/* Drained workers park instead of returning: h2o 2.2.5 keeps per-thread caches (memory pool
 * chunks, socket buffers) that only thread-local storage points to, so a finished thread would
 * turn them into LeakSanitizer reports; the process exits right after the drain anyway. */
static pthread_mutex_t drained_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drained_cond = PTHREAD_COND_INITIALIZER;
static unsigned ndrained;

/* A listening socket's data: its slot, and the timer that resumes accepting after a pause. */
typedef struct st_bff_listener_t {
    bff_site_ctx_t *sc;
    bff_timer_t resume;
} listener_t;

static void on_accept(h2o_socket_t *listener, const char *err);

static void on_accept_resume(bff_timer_t *timer)
{
    listener_t *l = H2O_STRUCT_FROM_MEMBER(listener_t, resume, timer);
    h2o_socket_read_start(l->sc->listener, on_accept);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    listener_t *l = listener->data;
    bff_site_ctx_t *sc = l->sc;
    if (err != NULL)
        return;
    for (int i = 0; i != 16; ++i) { /* accept a few per wake-up, then let others run */
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            /* Out of descriptors, the pending connection stays readable: retrying at once
             * would spin the loop. Pause until connections have ended. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                h2o_socket_read_stop(listener);
                bff_timer_start(&sc->worker->timers, &l->resume, ACCEPT_PAUSE_MS, on_accept_resume);
            }
            break;
        }
        bff_write_watch_add(&sc->write_watch, sock);
        h2o_accept(&sc->accept_ctx, sock);
    }
}

#define WRITE_SWEEP_MS 1000

static void on_write_sweep(bff_timer_t *timer)
{
    bff_worker_t *w = H2O_STRUCT_FROM_MEMBER(bff_worker_t, write_sweep, timer);
    uint64_t now = h2o_now(w->loop);
    for (size_t i = 0; i != w->nsites; ++i)
        bff_write_watch_sweep(&w->sites[i].write_watch, now,
                              w->view->config->sites[i].profile->write_timeout_ms);
    bff_timer_start(&w->timers, &w->write_sweep, WRITE_SWEEP_MS, on_write_sweep);
}

/* A purge for this worker's L1 (server.c sends one to every worker). */
typedef struct st_purge_msg_t {
    h2o_multithread_message_t super;
    size_t site;
    char kind;
    size_t len;
    char what[];
} purge_msg_t;

static void on_wakeup(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    /* A wake-up alone (no message) only interrupts the loop so it sees the server's flags. */
    bff_worker_t *w = H2O_STRUCT_FROM_MEMBER(bff_worker_t, wakeup, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        purge_msg_t *m = H2O_STRUCT_FROM_MEMBER(purge_msg_t, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        if (m->site < w->view->config->nsites && w->view->caches[m->site] != NULL)
            bff_cache_purge_l1(w->view->caches[m->site], m->kind, m->what, m->len);
        free(m);
    }
}

void bff_worker_send_purge(bff_worker_t *w, size_t site, char kind, const char *what, size_t len)
{
    purge_msg_t *m = bff_calloc(1, sizeof(*m) + len + 1);
    m->site = site;
    m->kind = kind;
    m->len = len;
    memcpy(m->what, what, len);
    h2o_multithread_send_message(&w->wakeup, &m->super);
}

/* Purges other instances announce on a profile's channel (the first worker listens). Messages
 * read "INSTANCE KIND WHAT"; this process's own were applied when they were made. */
static void on_purge_message(void *data, const char *msg, size_t len)
{
    bff_site_ctx_t *sc = data;
    bff_server_t *server = sc->worker->server;
    if (len < 19 || msg[16] != ' ' || msg[18] != ' ' || memcmp(msg, server->instance_id, 16) == 0)
        return;
    bff_server_purge_local(server, sc->index, msg[17], msg + 19, len - 19);
}

/* (Re)subscribed: announcements made while the connection was down are lost, so every worker
 * drops its L1 entries of the profile (Redis still has the rest). */
static void on_purge_subscribed(void *data)
{
    bff_site_ctx_t *sc = data;
    bff_server_purge_local(sc->worker->server, sc->index, BFF_PURGE_ALL, "", 0);
}

/* curl caps connections per host for the whole multi handle. bffd's lines hold each HTTP/1.1
 * upstream to its own cap and never let more into curl than the busiest host's lines add up to;
 * HTTP/2 upstreams, which have no line, get the largest cap any upstream asks for. */
static long max_host_connections(const bff_config_t *c, const bff_fetcher_t *fetcher)
{
    long max = (long)bff_fetcher_host_peak(fetcher);
    for (size_t s = 0; s != c->nsites; ++s)
        for (size_t u = 0; u != c->sites[s].profile->nupstreams; ++u)
            if ((long)c->sites[s].profile->upstreams[u].max_connections > max)
                max = (long)c->sites[s].profile->upstreams[u].max_connections;
    return max > 0 ? max : 1;
}

/* Every connection the caps allow may stay idle in curl's cache: closing one that the next burst
 * needs again costs a handshake and leaves a TIME_WAIT socket behind. */
static long max_idle_connections(const bff_config_t *c)
{
    long total = 0;
    for (size_t s = 0; s != c->nsites; ++s)
        for (size_t u = 0; u != c->sites[s].profile->nupstreams; ++u)
            total += (long)c->sites[s].profile->upstreams[u].max_connections *
                     (long)c->sites[s].profile->upstreams[u].ninstances;
    return total < 16 ? 16 : total > 8192 ? 8192 : total;
}

/* Switches new requests to the server's current configuration. Requests in flight keep the
 * view they hold; the old view goes when the last of them ends. */
static void adopt_config(bff_worker_t *w)
{
    bff_config_t *config = bff_server_acquire_config(w->server);
    bff_conf_view_t *prev = w->view;
    w->view = bff_conf_view_create(config, w->fetcher, prev, w->loop, &w->timers);
    w->generation = config->generation;
    for (size_t s = 0; s != config->nsites; ++s)
        for (size_t u = 0; u != config->sites[s].profile->nupstreams; ++u)
            bff_upstream_set_metrics(
                w->view->upstreams[s][u],
                bff_metrics_upstream(w->sites[s].metrics,
                                     config->sites[s].profile->upstreams[u].name));
    for (size_t i = 0; i != w->nsites; ++i) {
        bff_site_ctx_t *sc = w->sites + i;
        const bff_config_site_t *site = config->sites + i;
        sc->globalconf.max_request_entity_size = site->profile->max_body_bytes;
        sc->accept_ctx.ssl_ctx = site->ssl_ctx; /* new connections; live ones keep theirs */
    }
    if (w->curl != NULL)
        bff_curl_loop_set_limits(w->curl, max_host_connections(config, w->fetcher),
                                 max_idle_connections(config));
    if (w->id == 0) /* one listener per process for other instances' purges */
        for (size_t i = 0; i != w->nsites; ++i)
            if (w->view->caches[i] != NULL)
                bff_cache_listen(w->view->caches[i], w->loop, on_purge_message, on_purge_subscribed,
                                 w->sites + i);
    bff_conf_view_release(prev);
}

static void init_site_ctx(bff_worker_t *w, size_t i, int fd)
{
    bff_site_ctx_t *sc = w->sites + i;
    sc->worker = w;
    sc->index = i;
    sc->metrics = bff_calloc(1, sizeof(*sc->metrics));
    bff_write_watch_init(&sc->write_watch);
    h2o_config_init(&sc->globalconf);
    sc->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("bffd"));
    sc->globalconf.http1.upgrade_to_http2 = 1; /* h2c upgrade and prior knowledge */
    h2o_hostconf_t *host =
        h2o_config_register_host(&sc->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    bff_handler_register(sc, path);
    bff_drain_close_register(path, &w->server->stopping);
    /* gzip by Accept-Encoding (Vary added), for answers of min_size or more */
    bff_config_t *config = bff_server_acquire_config(w->server);
    const bff_profile_t *p = config->sites[i].profile;
    if (p->compression.gzip > 0) {
        h2o_compress_args_t args = {.min_size = (size_t)p->compression.min_size,
                                    .gzip = {.quality = p->compression.gzip},
                                    .brotli = {.quality = -1}};
        h2o_compress_register(path, &args);
    }
    bff_config_release(config);
    h2o_context_init(&sc->ctx, w->loop, &sc->globalconf);
    sc->accept_ctx.ctx = &sc->ctx;
    sc->accept_ctx.hosts = sc->globalconf.hosts;
    listener_t *l = bff_calloc(1, sizeof(*l));
    l->sc = sc;
    sc->listener_data = l;
    sc->listener = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sc->listener->data = l;
    h2o_socket_read_start(sc->listener, on_accept);
}

void bff_worker_init(bff_worker_t *w, bff_server_t *server, unsigned id, const int *fds)
{
    w->server = server;
    w->id = id;
    w->loop = h2o_evloop_create();
    w->queue = h2o_multithread_create_queue(w->loop);
    h2o_multithread_register_receiver(w->queue, &w->wakeup, on_wakeup);
    w->curl = bff_curl_loop_create(w->loop, 1, 16);
    if (w->curl == NULL) {
        fprintf(stderr, "bffd: cannot create a curl multi handle\n");
        abort();
    }
    bff_timers_init(&w->timers, w->loop);
    w->fetcher = bff_fetcher_create(w->loop, w->curl, &w->timers);
    w->nsites = server->nsites;
    w->sites = bff_calloc(w->nsites, sizeof(*w->sites));
    for (size_t i = 0; i != w->nsites; ++i)
        init_site_ctx(w, i, fds[i]);
    adopt_config(w);
    bff_timer_start(&w->timers, &w->write_sweep, WRITE_SWEEP_MS, on_write_sweep);
}

void bff_worker_wake(bff_worker_t *w)
{
    h2o_multithread_send_message(&w->wakeup, NULL);
}

static void stop_accepting(bff_worker_t *w)
{
    for (size_t i = 0; i != w->nsites; ++i) {
        bff_site_ctx_t *sc = w->sites + i;
        if (sc->listener != NULL) {
            bff_timer_cancel(&sc->listener_data->resume);
            free(sc->listener_data);
            sc->listener_data = NULL;
            h2o_socket_read_stop(sc->listener);
            h2o_socket_close(sc->listener);
            sc->listener = NULL;
        }
        h2o_context_request_shutdown(&sc->ctx);
    }
}

static void flush_logs(bff_worker_t *w)
{
    for (size_t i = 0; i != w->nsites; ++i)
        bff_access_log_flush(&w->sites[i].log);
}

static void run_once(bff_worker_t *w)
{
    if (atomic_load_explicit(&w->server->generation, memory_order_acquire) != w->generation)
        adopt_config(w);
    int32_t wait = bff_curl_loop_wait_ms(w->curl, LOOP_WAIT_CAP_MS);
    wait = bff_timers_wait_ms(&w->timers, wait);
    /* Work done outside h2o's callbacks (curl timeouts, our timers) may have queued socket
     * changes, e.g. a response to write, or write completions (a response written at once is
     * only linked as pending: its callback frees the request and reads the next one on a
     * keep-alive connection); h2o handles both only after its next poll, so that poll must not
     * sleep. */
    h2o_evloop_t *loop = w->loop;
    if (w->worked_outside_loop &&
        (loop->_statechanged.head != NULL || loop->_pending_as_client != NULL ||
         loop->_pending_as_server != NULL))
        wait = 0;
    h2o_evloop_run(w->loop, wait);
    w->worked_outside_loop = bff_curl_loop_on_tick(w->curl);
    w->worked_outside_loop |= bff_timers_run(&w->timers);
    flush_logs(w);
}

static uint64_t drain_timeout_ms(const bff_conf_view_t *view)
{
    uint64_t max = 0;
    for (size_t s = 0; s != view->config->nsites; ++s)
        if (view->config->sites[s].profile->drain_timeout_ms > max)
            max = view->config->sites[s].profile->drain_timeout_ms;
    return max;
}

void *bff_worker_main(void *arg)
{
    bff_worker_t *w = arg;
    while (!atomic_load(&w->server->stopping))
        run_once(w);
    stop_accepting(w);
    uint64_t deadline = h2o_now(w->loop) + drain_timeout_ms(w->view);
    while (w->inflight != 0 && h2o_now(w->loop) < deadline)
        run_once(w);
    if (w->inflight != 0)
        fprintf(stderr, "bffd: worker %u: drain timeout with %zu requests in flight\n", w->id,
                w->inflight);
    /* The last spans go out (bounded by a second) before the process ends. */
    uint64_t spans_until = h2o_now(w->loop) + 1000;
    for (int busy = 1; busy && h2o_now(w->loop) < spans_until;) {
        busy = 0;
        for (size_t i = 0; i != w->nsites; ++i)
            busy |= w->sites[i].otlp != NULL && bff_otlp_flush(w->sites[i].otlp);
        if (busy)
            run_once(w);
    }
    for (size_t i = 0; i != w->nsites; ++i)
        bff_access_log_buf_dispose(&w->sites[i].log);
    pthread_mutex_lock(&drained_mutex);
    ++ndrained;
    pthread_cond_broadcast(&drained_cond);
    pthread_mutex_unlock(&drained_mutex);
    for (;;)
        pause();
    return NULL;
}

void bff_worker_wait_drained(unsigned n)
{
    pthread_mutex_lock(&drained_mutex);
    while (ndrained != n)
        pthread_cond_wait(&drained_cond, &drained_mutex);
    pthread_mutex_unlock(&drained_mutex);
}
