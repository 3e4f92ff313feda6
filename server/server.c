/* Starts and stops worker threads. Each worker runs its own evloop with a listener and an h2o
 * context per profile, and the curl multi handle; shutdown drains in-flight requests. */
#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/curl_loop.h"
#include "server/handler.h"
#include "server/listener.h"
#include "server/upstream.h"

#define LOOP_WAIT_CAP_MS 1000
#define ACCEPT_PAUSE_MS 100

/* Drained workers park instead of returning: h2o 2.2.5 keeps per-thread caches (memory pool
 * chunks, socket buffers) that only thread-local storage points to, so a finished thread would
 * turn them into LeakSanitizer reports; the process exits right after the drain anyway. */
static pthread_mutex_t drained_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drained_cond = PTHREAD_COND_INITIALIZER;
static unsigned ndrained;

/* A listening socket's data: its site, and the timer that resumes accepting after a pause. */
typedef struct st_listener_t {
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
        h2o_accept(&sc->accept_ctx, sock);
    }
}

static void on_wakeup(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    /* Nothing to read: the message only interrupts the loop so it sees `stopping`. */
}

static int init_site_ctx(bff_worker_t *w, size_t i, int fd)
{
    bff_site_t *site = w->server->sites + i;
    bff_site_ctx_t *sc = w->sites + i;
    sc->site = site;
    sc->worker = w;
    h2o_context_init(&sc->ctx, w->loop, &site->globalconf);
    sc->accept_ctx.ctx = &sc->ctx;
    sc->accept_ctx.hosts = site->globalconf.hosts;
    sc->accept_ctx.ssl_ctx = site->ssl_ctx;
    listener_t *l = bff_calloc(1, sizeof(*l));
    l->sc = sc;
    sc->listener = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sc->listener->data = l;
    h2o_socket_read_start(sc->listener, on_accept);
    return 0;
}

static void stop_accepting(bff_worker_t *w)
{
    for (size_t i = 0; i != w->server->nsites; ++i) {
        bff_site_ctx_t *sc = w->sites + i;
        if (sc->listener != NULL) {
            listener_t *l = sc->listener->data;
            bff_timer_cancel(&l->resume);
            free(l);
            h2o_socket_read_stop(sc->listener);
            h2o_socket_close(sc->listener);
            sc->listener = NULL;
        }
        h2o_context_request_shutdown(&sc->ctx);
    }
}

static void flush_logs(bff_worker_t *w)
{
    for (size_t i = 0; i != w->server->nsites; ++i)
        bff_access_log_flush(w->server->sites[i].access_log, &w->log);
}

static void run_once(bff_worker_t *w)
{
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

static void *worker_main(void *arg)
{
    bff_worker_t *w = arg;
    while (!atomic_load(&w->server->stopping))
        run_once(w);
    stop_accepting(w);
    uint64_t deadline = h2o_now(w->loop) + w->server->drain_timeout_ms;
    while (w->inflight != 0 && h2o_now(w->loop) < deadline)
        run_once(w);
    if (w->inflight != 0)
        fprintf(stderr, "bffd: worker %u: drain timeout with %zu requests in flight\n", w->id,
                w->inflight);
    flush_logs(w);
    pthread_mutex_lock(&drained_mutex);
    ++ndrained;
    pthread_cond_broadcast(&drained_cond);
    pthread_mutex_unlock(&drained_mutex);
    for (;;)
        pause();
    return NULL;
}

/* SO_REUSEPORT would let a second bffd silently share a port with the first; a probe without it
 * fails with EADDRINUSE if anything already listens on the address. */
static int address_in_use(const struct sockaddr_storage *addr, socklen_t addrlen)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0; /* let the real bind report the problem */
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    int in_use = bind(fd, (const struct sockaddr *)addr, addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
    if (in_use)
        errno = EADDRINUSE;
    return in_use;
}

static int setup_site(bff_server_t *server, bff_site_t *site, bff_profile_t *profile)
{
    site->server = server;
    site->profile = profile;
    h2o_config_init(&site->globalconf);
    site->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("bffd"));
    site->globalconf.max_request_entity_size = profile->max_body_bytes;
    site->globalconf.http1.upgrade_to_http2 = 1; /* h2c upgrade and prior knowledge */
    h2o_hostconf_t *host =
        h2o_config_register_host(&site->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    bff_handler_register(site, path);
    if (profile->tls_certificate != NULL &&
        (site->ssl_ctx = bff_listener_ssl_ctx(profile->tls_certificate, profile->tls_key)) == NULL)
        return -1;
    if ((site->access_log = bff_access_log_open(profile->access_log)) == NULL)
        return -1;
    return bff_listener_resolve(profile->host, profile->port, &site->addr, &site->addrlen);
}

/* curl caps connections per host for the whole multi handle: use the largest cap any upstream
 * asks for (instances of different upstreams are different hosts anyway). */
static long max_host_connections(bff_profile_t **profiles, size_t n)
{
    long max = 1;
    for (size_t p = 0; p != n; ++p)
        for (size_t u = 0; u != profiles[p]->nupstreams; ++u)
            if ((long)profiles[p]->upstreams[u].max_connections > max)
                max = (long)profiles[p]->upstreams[u].max_connections;
    return max;
}

/* Every connection the caps allow may stay idle in curl's cache: closing one that the next burst
 * needs again costs a handshake and leaves a TIME_WAIT socket behind. */
static long max_idle_connections(bff_profile_t **profiles, size_t n)
{
    long total = 0;
    for (size_t p = 0; p != n; ++p)
        for (size_t u = 0; u != profiles[p]->nupstreams; ++u)
            total += (long)profiles[p]->upstreams[u].max_connections *
                     (long)profiles[p]->upstreams[u].ninstances;
    return total < 16 ? 16 : total > 8192 ? 8192 : total;
}

int bff_server_start(bff_server_t *server, bff_profile_t **profiles, size_t nprofiles,
                     unsigned nthreads)
{
    server->nsites = nprofiles;
    server->sites = bff_calloc(nprofiles, sizeof(*server->sites));
    server->nworkers = nthreads;
    server->workers = bff_calloc(nthreads, sizeof(*server->workers));
    server->drain_timeout_ms = 0;
    for (size_t i = 0; i != nprofiles; ++i) {
        if (setup_site(server, server->sites + i, profiles[i]) != 0)
            return -1;
        if (profiles[i]->drain_timeout_ms > server->drain_timeout_ms)
            server->drain_timeout_ms = profiles[i]->drain_timeout_ms;
    }
    /* Bind everything before starting any thread: a port in use fails the start cleanly. */
    int *fds = bff_calloc(nprofiles * nthreads, sizeof(int));
    for (unsigned t = 0; t != nthreads; ++t) {
        for (size_t i = 0; i != nprofiles; ++i) {
            bff_site_t *site = server->sites + i;
            int fd = -1;
            if (t != 0 || profiles[i]->port == 0 || !address_in_use(&site->addr, site->addrlen))
                fd = bff_listener_open(&site->addr, site->addrlen);
            if (fd < 0) {
                fprintf(stderr, "bffd: profile %s: cannot listen on %s:%u: %s\n", profiles[i]->name,
                        profiles[i]->host, profiles[i]->port, strerror(errno));
                for (size_t k = 0; k != t * nprofiles + i; ++k)
                    close(fds[k]);
                free(fds);
                return -1;
            }
            if (profiles[i]->port == 0) { /* later workers share the port the kernel picked */
                profiles[i]->port = bff_listener_port(fd);
                if (site->addr.ss_family == AF_INET)
                    ((struct sockaddr_in *)&site->addr)->sin_port = htons(profiles[i]->port);
                else
                    ((struct sockaddr_in6 *)&site->addr)->sin6_port = htons(profiles[i]->port);
            }
            fds[t * nprofiles + i] = fd;
        }
    }
    for (unsigned t = 0; t != nthreads; ++t) {
        bff_worker_t *w = server->workers + t;
        w->server = server;
        w->id = t;
        w->loop = h2o_evloop_create();
        w->queue = h2o_multithread_create_queue(w->loop);
        h2o_multithread_register_receiver(w->queue, &w->wakeup, on_wakeup);
        w->curl = bff_curl_loop_create(w->loop, max_host_connections(profiles, nprofiles),
                                       max_idle_connections(profiles, nprofiles));
        if (w->curl == NULL) {
            fprintf(stderr, "bffd: cannot create a curl multi handle\n");
            abort();
        }
        bff_timers_init(&w->timers, w->loop);
        w->sites = bff_calloc(nprofiles, sizeof(*w->sites));
        w->upstreams = bff_upstreams_create(w, profiles, nprofiles);
        for (size_t i = 0; i != nprofiles; ++i)
            init_site_ctx(w, i, fds[t * nprofiles + i]);
    }
    free(fds);
    for (size_t i = 0; i != nprofiles; ++i) {
        bff_profile_t *p = profiles[i];
        printf("bffd: profile %s listening on %s://%s:%u (%zu endpoints)\n", p->name,
               server->sites[i].ssl_ctx ? "https" : "http", p->host, p->port, p->nendpoints);
    }
    fflush(stdout);
    for (unsigned t = 0; t != nthreads; ++t) {
        if (pthread_create(&server->workers[t].thread, NULL, worker_main, server->workers + t) !=
            0) {
            perror("bffd: pthread_create");
            abort();
        }
    }
    return 0;
}

void bff_server_stop(bff_server_t *server)
{
    atomic_store(&server->stopping, 1);
    for (unsigned t = 0; t != server->nworkers; ++t)
        h2o_multithread_send_message(&server->workers[t].wakeup, NULL);
    pthread_mutex_lock(&drained_mutex);
    while (ndrained != server->nworkers)
        pthread_cond_wait(&drained_cond, &drained_mutex);
    pthread_mutex_unlock(&drained_mutex);
}

void bff_server_dispose(bff_server_t *server)
{
    /* Workers' loops are not torn down: the process exits right after; freeing h2o contexts
     * with live connections in 2.2.5 is not supported. Sites own process-wide resources. */
    for (size_t i = 0; i != server->nsites; ++i) {
        bff_access_log_close(server->sites[i].access_log);
        if (server->sites[i].ssl_ctx != NULL)
            SSL_CTX_free(server->sites[i].ssl_ctx);
    }
}
