/*
 * demo_upstream's entry point: the command line, one listening socket and event-loop thread per
 * --threads, and the exit on SIGINT/SIGTERM. demo_upstream.h lists the other parts.
 *
 * demo_upstream: the demo "shop" backend (users, orders, catalog, notifications, shipping) in one
 * libh2o-evloop process, with deterministic data for any id plus test knobs for the demo,
 * integration tests and benchmarks. It deliberately keeps no state besides debug counters,
 * fail_first keys and the chaos switches, does no logging, no TLS and no real validation: it is
 * a fixture, not a service. With --tls-cert and --tls-key it speaks TLS only (HTTP/2 or HTTP/1.1
 * by ALPN), for benchmarks of HTTP/2 to upstreams; /echo then tells whether the connection
 * resumed a TLS session (tlsResumed).
 *
 * usage: demo_upstream [--host 127.0.0.1] [--port 9100] [--threads 1] [--latency-ms 0]
 *                      [--tls-cert FILE --tls-key FILE]
 *
 * Per-request knobs in the query: delay_ms, status (answer with it), hang, malformed, notjson,
 * size, fail_first=KEY (503 the first time), fail_every=N, limit, retry_after (a Retry-After
 * header), cache_control (a Cache-Control header, e.g. max-age%3D60); on /echo also code (its
 * status), location (a Location header), ctype (its Content-Type), empty (no body); validators:
 * etag=NAME (ETag "NAME-G") and last_modified=1 (a Last-Modified of version G), answered 304
 * when the request's If-None-Match / If-Modified-Since names version G; POST /__version makes
 * G+1 (every validator changes). POST /orders
 * places an order (201, Location). Whole services: POST /__chaos?service=NAME&status=503 and/or
 * &delay_ms=800 breaks or slows every call to users, orders, catalog, notifications or shipping;
 * POST /__chaos?service=NAME heals one, POST /__chaos all; GET /__chaos shows the switches.
 * /__stats and /__reset count.
 */
#include "demo_upstream.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "h2o.h"

#include "demo_tls.h"

#define MAX_THREADS 64
#define MAX_ENTITY (16u << 20)
#define HANG_PROBE_MS 200

struct options opts = {"127.0.0.1", 9100, 1, 0, NULL, NULL, NULL};

static h2o_globalconf_t config;
struct worker *workers;
static atomic_int stop_requested;
static atomic_uint workers_parked;

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct worker *w = listener->data;
    h2o_socket_t *sock;
    if (err != NULL)
        return;
    for (int i = 0; i != 32 && (sock = h2o_evloop_socket_accept(listener)) != NULL; ++i)
        h2o_accept(&w->accept_ctx, sock);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    h2o_context_init(&w->ctx, h2o_evloop_create(), &config);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = config.hosts;
    w->accept_ctx.ssl_ctx = opts.ssl_ctx;
    h2o_linklist_init_anchor(&w->hung);
    h2o_timeout_init(w->ctx.loop, &w->probe_timeout, HANG_PROBE_MS);
    w->probe_entry.cb = on_hang_probe;

    w->listener = h2o_evloop_socket_create(w->ctx.loop, w->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    w->listener->data = w;
    h2o_socket_read_start(w->listener, on_accept);

    while (!atomic_load_explicit(&stop_requested, memory_order_relaxed))
        if (h2o_evloop_run(w->ctx.loop, 100) != 0)
            break;
    /* park instead of returning: h2o keeps per-thread recycled buffers in TLS, which would show up
     * as leaks under LeakSanitizer if the thread exited; the process exits right after this */
    atomic_fetch_add(&workers_parked, 1);
    for (;;)
        pause();
    return NULL;
}

static int open_listener(const struct sockaddr *sa, socklen_t salen, int reuseport)
{
    int fd, on = 1;
    if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) ||
        bind(fd, sa, salen) != 0 || listen(fd, 4096) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static unsigned get_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* opens one listening socket per thread (SO_REUSEPORT when > 1); returns the bound port */
static unsigned open_listeners(void)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    struct sockaddr_storage ss;
    socklen_t salen;
    unsigned port = opts.port;
    int rc;

    if ((rc = getaddrinfo(opts.host, NULL, &hints, &res)) != 0) {
        fprintf(stderr, "demo_upstream: cannot resolve %s: %s\n", opts.host, gai_strerror(rc));
        return 0;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    salen = res->ai_addrlen;
    freeaddrinfo(res);
    for (unsigned i = 0; i != opts.threads; ++i) {
        set_port(&ss, port);
        workers[i].listen_fd = open_listener((struct sockaddr *)&ss, salen, opts.threads > 1);
        if (workers[i].listen_fd == -1) {
            fprintf(stderr, "demo_upstream: cannot listen on %s:%u: %s\n", opts.host, port,
                    strerror(errno));
            return 0;
        }
        if (port == 0)
            port = get_port(workers[i].listen_fd);
    }
    return port;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: demo_upstream [--host 127.0.0.1] [--port 9100] [--threads 1] "
                "[--latency-ms 0] [--tls-cert FILE --tls-key FILE]\n");
}

static int parse_cli_num(const char *s, long max, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const char *name = argv[i], *val;
        long v = 0;
        if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc)
            return -1;
        val = argv[++i];
        if (strcmp(name, "--host") == 0)
            opts.host = val;
        else if (strcmp(name, "--port") == 0 && parse_cli_num(val, 65535, &v) == 0)
            opts.port = (unsigned)v;
        else if (strcmp(name, "--threads") == 0 && parse_cli_num(val, MAX_THREADS, &v) == 0 &&
                 v >= 1)
            opts.threads = (unsigned)v;
        else if (strcmp(name, "--latency-ms") == 0 && parse_cli_num(val, MAX_DELAY_MS, &v) == 0)
            opts.latency_ms = (uint64_t)v;
        else if (strcmp(name, "--tls-cert") == 0)
            opts.tls_cert = val;
        else if (strcmp(name, "--tls-key") == 0)
            opts.tls_key = val;
        else
            return -1;
    }
    return (opts.tls_cert != NULL) == (opts.tls_key != NULL) ? 0 : -1;
}

static void setup_config(void)
{
    h2o_hostconf_t *hostconf;
    h2o_pathconf_t *pathconf;
    h2o_handler_t *handler;

    h2o_config_init(&config);
    config.http1.upgrade_to_http2 = 1; /* also enables h2c prior knowledge ("PRI * HTTP/2.0") */
    config.max_request_entity_size = MAX_ENTITY;
    hostconf = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    pathconf = h2o_config_register_path(hostconf, "/", 0);
    handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = on_req;
}

int main(int argc, char **argv)
{
    sigset_t sigs;
    unsigned port;
    int sig;

    if (parse_args(argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by the workers; main sigwait()s */

    setup_config();
    if (opts.tls_cert != NULL && (opts.ssl_ctx = demo_tls_ctx(opts.tls_cert, opts.tls_key)) == NULL)
        return 1;
    if ((workers = calloc(opts.threads, sizeof(*workers))) == NULL)
        return 1;
    for (unsigned i = 0; i != opts.threads; ++i)
        atomic_init(&workers[i].stats.gen, 1);
    if ((port = open_listeners()) == 0)
        return 1;
    printf(strchr(opts.host, ':') != NULL ? "listening on [%s]:%u\n" : "listening on %s:%u\n",
           opts.host, port);
    fflush(stdout);

    for (unsigned i = 0; i != opts.threads; ++i) {
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
            fprintf(stderr, "demo_upstream: pthread_create failed\n");
            return 1;
        }
    }
    sigwait(&sigs, &sig);
    atomic_store(&stop_requested, 1);
    while (atomic_load(&workers_parked) != opts.threads) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}
