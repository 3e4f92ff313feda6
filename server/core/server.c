/* Starts and stops the worker threads, and publishes configuration snapshots to them. */
#include "server/core/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/admin/admin.h"
#include "server/core/listener.h"
#include "server/core/random.h"

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

static void set_port(struct sockaddr_storage *addr, uint16_t port)
{
    if (addr->ss_family == AF_INET)
        ((struct sockaddr_in *)addr)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
}

/* One listening socket per profile per worker; fds[t * nsites + i]. */
static int *bind_all(bff_server_t *server, const bff_config_t *config, unsigned nthreads)
{
    size_t n = config->nsites;
    struct sockaddr_storage *addrs = bff_calloc(n, sizeof(*addrs));
    socklen_t *lens = bff_calloc(n, sizeof(*lens));
    int *fds = bff_calloc(n * nthreads, sizeof(int));
    size_t opened = 0;
    for (size_t i = 0; i != n; ++i) {
        const bff_profile_t *p = config->sites[i].profile;
        if (bff_listener_resolve(p->host, p->port, addrs + i, lens + i) != 0)
            goto Error;
        server->ports[i] = p->port;
    }
    for (unsigned t = 0; t != nthreads; ++t) {
        for (size_t i = 0; i != n; ++i) {
            const bff_profile_t *p = config->sites[i].profile;
            int fd = -1;
            if (t != 0 || p->port == 0 || !address_in_use(addrs + i, lens[i]))
                fd = bff_listener_open(addrs + i, lens[i]);
            if (fd < 0) {
                fprintf(stderr, "bffd: profile %s: cannot listen on %s:%u: %s\n", p->name, p->host,
                        p->port, strerror(errno));
                goto Error;
            }
            if (server->ports[i] == 0) { /* later workers share the port the kernel picked */
                server->ports[i] = bff_listener_port(fd);
                set_port(addrs + i, server->ports[i]);
            }
            fds[opened++] = fd;
        }
    }
    free(addrs);
    free(lens);
    return fds;
Error:
    for (size_t k = 0; k != opened; ++k)
        close(fds[k]);
    free(fds);
    free(addrs);
    free(lens);
    return NULL;
}

/* The admin listener: no SO_REUSEPORT, so it can never share a port with a profile's. */
static int bind_admin(bff_server_t *server)
{
    struct sockaddr_storage addr;
    socklen_t len;
    if (bff_listener_resolve(server->admin_host, server->admin_port, &addr, &len) != 0)
        return -1;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, len) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "bffd: admin: cannot listen on %s:%u: %s\n", server->admin_host,
                server->admin_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (server->admin_port == 0)
        server->admin_port = bff_listener_port(fd);
    return fd;
}

/* What the workers need to set themselves up, one after another, and the signals that order
 * it: `left` counts the set-up under way, `go` lets them all run at once, after the last is set
 * up (nothing in a worker may meet another half made, the admin API's metrics included). Freed
 * by whichever of them lets go of it last. */
typedef struct st_starter_t {
    bff_server_t *server;
    const int *fds; /* nsites per worker, in worker order */
    size_t nsites;
    int admin_fd; /* served by the first worker; -1 = none */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    unsigned left;
    int go;
    atomic_uint refs;
} starter_t;

static void starter_release(starter_t *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mutex);
    free(s);
}

static void *worker_thread(void *arg)
{
    bff_worker_t *w = arg;
    starter_t *s = w->starter;
    w->starter = NULL;
    bff_worker_init(w, s->server, w->id, s->fds + w->id * s->nsites);
    if (w->id == 0 && s->admin_fd >= 0)
        bff_admin_start(w, s->admin_fd);
    pthread_mutex_lock(&s->mutex);
    s->left = 0;
    pthread_cond_broadcast(&s->cond);
    while (!s->go)
        pthread_cond_wait(&s->cond, &s->mutex);
    pthread_mutex_unlock(&s->mutex);
    starter_release(s);
    return bff_worker_main(w);
}

int bff_server_start(bff_server_t *server, bff_config_t *config, unsigned nthreads)
{
    snprintf(server->instance_id, sizeof(server->instance_id), "%016llx",
             (unsigned long long)bff_random_u64());
    pthread_mutex_init(&server->config_mutex, NULL);
    server->config = config;
    atomic_store(&server->generation, config->generation);
    server->nsites = config->nsites;
    server->ports = bff_calloc(config->nsites, sizeof(*server->ports));
    server->nworkers = nthreads;
    server->workers = bff_calloc(nthreads, sizeof(*server->workers));
    /* Bind everything before starting any thread: a port in use fails the start cleanly. */
    int *fds = bind_all(server, config, nthreads);
    if (fds == NULL)
        return -1;
    int admin_fd = -1;
    if (server->admin_host != NULL && (admin_fd = bind_admin(server)) < 0) {
        for (size_t k = 0; k != config->nsites * nthreads; ++k)
            close(fds[k]);
        free(fds);
        return -1;
    }
    /* Each worker sets itself up on its own thread: libh2o gives a socket the buffer allocator of
     * the thread that creates it (thread-local), so a worker's wake-up socket made here would
     * draw from this thread's, and workers woken together (a reload) would corrupt it. One after
     * another, as when this thread set them all up: nothing in the set-up has to be safe to run
     * twice at once. */
    starter_t *start = bff_calloc(1, sizeof(*start));
    *start =
        (starter_t){.server = server, .fds = fds, .nsites = config->nsites, .admin_fd = admin_fd};
    atomic_init(&start->refs, nthreads + 1);
    pthread_mutex_init(&start->mutex, NULL);
    pthread_cond_init(&start->cond, NULL);
    for (unsigned t = 0; t != nthreads; ++t) {
        server->workers[t].id = t;
        server->workers[t].starter = start;
        start->left = 1;
        if (pthread_create(&server->workers[t].thread, NULL, worker_thread, server->workers + t) !=
            0) {
            perror("bffd: pthread_create");
            abort();
        }
        pthread_mutex_lock(&start->mutex);
        while (start->left != 0)
            pthread_cond_wait(&start->cond, &start->mutex);
        pthread_mutex_unlock(&start->mutex);
    }
    pthread_mutex_lock(&start->mutex);
    start->go = 1;
    pthread_cond_broadcast(&start->cond);
    pthread_mutex_unlock(&start->mutex);
    starter_release(start);
    free(fds);
    for (size_t i = 0; i != config->nsites; ++i) {
        const bff_profile_t *p = config->sites[i].profile;
        fprintf(stderr, "bffd: profile %s listening on %s://%s:%u (%zu endpoints)\n", p->name,
                config->sites[i].ssl_ctx ? "https" : "http", p->host, server->ports[i],
                p->nendpoints);
    }
    if (admin_fd >= 0)
        fprintf(stderr, "bffd: admin listening on http://%s:%u\n", server->admin_host,
                server->admin_port);
    fflush(stdout);
    return 0;
}

void bff_server_publish(bff_server_t *server, bff_config_t *config)
{
    pthread_mutex_lock(&server->config_mutex);
    bff_config_t *old = server->config;
    config->generation = old->generation + 1;
    server->config = config;
    atomic_store_explicit(&server->generation, config->generation, memory_order_release);
    pthread_mutex_unlock(&server->config_mutex);
    bff_config_release(old); /* workers hold their own references */
    for (unsigned t = 0; t != server->nworkers; ++t)
        bff_worker_wake(server->workers + t);
}

bff_config_t *bff_server_acquire_config(bff_server_t *server)
{
    /* Under the lock: a reference taken outside it could race with the publisher's release. */
    pthread_mutex_lock(&server->config_mutex);
    bff_config_t *config = server->config;
    bff_config_retain(config);
    pthread_mutex_unlock(&server->config_mutex);
    return config;
}

void bff_server_stop(bff_server_t *server)
{
    atomic_store(&server->stopping, 1);
    for (unsigned t = 0; t != server->nworkers; ++t)
        bff_worker_wake(server->workers + t);
    bff_worker_wait_drained(server->nworkers);
}

void bff_server_purge_local(bff_server_t *server, size_t site, char kind, const char *what,
                            size_t len)
{
    for (unsigned t = 0; t != server->nworkers; ++t)
        bff_worker_send_purge(server->workers + t, site, kind, what, len);
}

void bff_server_dispose(bff_server_t *server)
{
    /* Workers' loops are not torn down: the process exits right after; freeing h2o contexts
     * with live connections in 2.2.5 is not supported. The snapshot they hold stays too. */
    free(server->ports);
}
