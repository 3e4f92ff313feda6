/* Binds curl multi sockets and timers to an h2o evloop. It knows nothing about upstreams,
 * URLs or bodies: the fetch layer configures easy handles and gets them back when done. */
#include "server/loop/curl_loop.h"

#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compose/diag.h"
#include "server/loop/curl_clock.h"
#include "server/loop/curl_poll.h"

/* An h2o wrapper closes the fd it watches, so it watches curl's fd itself only once curl will
 * close that fd through CLOSESOCKETFUNCTION. Until then it watches a dup, which is ours to close:
 * curl 7.88 closes a socket that never connected with a plain close() (curl#11439) and reports
 * CURL_POLL_REMOVE only afterwards, when the number may be someone else's already, and it closes
 * its own sockets (the resolver's socketpair) itself. */
typedef struct st_curl_sock_t {
    bff_curl_loop_t *cl;
    curl_socket_t fd;
    h2o_socket_t *sock;
    int want_in, want_out;
    int write_armed;
    int ours;       /* opened in OPENSOCKETFUNCTION */
    int direct;     /* sock wraps fd itself (not a dup): closing sock closes curl's socket */
    int spoke_idle; /* readable while idle in curl's pool: the peer closed it (curl_poll.h) */
} curl_sock_t;

typedef struct st_transfer_t {
    bff_curl_done_cb cb;
    void *data;
} transfer_t;

struct st_bff_curl_loop_t {
    h2o_evloop_t *loop;
    CURLM *multi;
    curl_sock_t **socks; /* indexed by curl's fd */
    size_t nsocks;
    int64_t deadline; /* loop time in ms; -1 = none */
    size_t active;
    int in_action; /* inside curl_multi_socket_action: defer nothing, but assert no recursion */
};

static curl_sock_t *sock_get(bff_curl_loop_t *cl, curl_socket_t fd)
{
    return fd >= 0 && (size_t)fd < cl->nsocks ? cl->socks[fd] : NULL;
}

static void sock_close(bff_curl_loop_t *cl, curl_socket_t fd)
{
    curl_sock_t *cs = sock_get(cl, fd);
    if (cs == NULL)
        return;
    cl->socks[fd] = NULL;
    /* Closes our dup, or curl's fd once it was handed to us for closing (direct). */
    h2o_socket_close(cs->sock);
    free(cs);
}

/* Starts watching curl's socket `fd` through a dup. Returns NULL if that fails. */
static curl_sock_t *sock_add(bff_curl_loop_t *cl, curl_socket_t fd, int ours)
{
    if ((size_t)fd >= cl->nsocks) {
        size_t n = (size_t)fd * 2 + 16;
        cl->socks = bff_realloc(cl->socks, n * sizeof(*cl->socks));
        memset(cl->socks + cl->nsocks, 0, (n - cl->nsocks) * sizeof(*cl->socks));
        cl->nsocks = n;
    }
    if (cl->socks[fd] != NULL) {
        /* The kernel handed out this number again, so curl closed that socket itself. */
        assert(!cl->socks[fd]->direct);
        sock_close(cl, fd);
    }
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0)
        return NULL;
    curl_sock_t *cs = bff_calloc(1, sizeof(*cs));
    cs->cl = cl;
    cs->fd = fd;
    cs->sock = h2o_evloop_socket_create(cl->loop, dupfd, H2O_SOCKET_FLAG_DONT_READ);
    cs->sock->data = cs;
    cs->ours = ours;
    cl->socks[fd] = cs;
    return cs;
}

/* Curl reads from a socket it opened through us only once it connected: from then on it closes
 * it through CLOSESOCKETFUNCTION, so the wrapper moves from the dup onto curl's fd. */
static void sock_go_direct(curl_sock_t *cs)
{
    h2o_socket_t *dupsock = cs->sock;
    cs->sock = h2o_evloop_socket_create(cs->cl->loop, cs->fd, H2O_SOCKET_FLAG_DONT_READ);
    cs->sock->data = cs;
    cs->direct = 1;
    cs->write_armed = 0;
    h2o_socket_close(dupsock); /* may be inside its own callback: h2o frees it later */
}

int bff_curl_loop_fd_quiet(bff_curl_loop_t *cl, int fd)
{
    curl_sock_t *cs = sock_get(cl, fd);
    return cs != NULL && cs->direct && !cs->spoke_idle;
}

static void complete_done(bff_curl_loop_t *cl)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        transfer_t *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(cl->multi, easy);
        --cl->active;
        bff_curl_done_cb cb = t->cb;
        void *data = t->data;
        free(t);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        cb(easy, result, data);
    }
}

static void socket_action(bff_curl_loop_t *cl, curl_socket_t fd, int ev)
{
    int running;
    assert(!cl->in_action);
    cl->in_action = 1;
    bff_curl_poll_scope(cl);
    bff_curl_clock_freeze();
    curl_multi_socket_action(cl->multi, fd, ev, &running);
    bff_curl_clock_thaw();
    bff_curl_poll_scope(NULL);
    cl->in_action = 0;
    complete_done(cl);
}

static void on_writable(h2o_socket_t *sock, const char *err);

static void rearm_write(bff_curl_loop_t *cl, curl_socket_t fd)
{
    curl_sock_t *cs = sock_get(cl, fd);
    if (cs != NULL && cs->want_out && !cs->write_armed) {
        cs->write_armed = 1;
        h2o_socket_notify_write(cs->sock, on_writable);
    }
}

/* The wrapper may be closed by curl during socket_action, so keep only cl and fd after it. */
static void on_readable(h2o_socket_t *sock, const char *err)
{
    curl_sock_t *cs = sock->data;
    bff_curl_loop_t *cl = cs->cl;
    curl_socket_t fd = cs->fd;
    if (!cs->want_in) {
        /* Idle in curl's pool and readable: the peer closed it (or sent junk). Curl notices
         * on its next use (its poll now goes to the kernel); until then stop the
         * level-triggered wake-ups. */
        cs->spoke_idle = 1;
        h2o_socket_read_stop(sock);
        return;
    }
    socket_action(cl, fd, err ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
    rearm_write(cl, fd);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    curl_sock_t *cs = sock->data;
    bff_curl_loop_t *cl = cs->cl;
    curl_socket_t fd = cs->fd;
    cs->write_armed = 0;
    if (!cs->want_out)
        return;
    socket_action(cl, fd, err ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
    rearm_write(cl, fd);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    bff_curl_loop_t *cl = userp;
    curl_sock_t *cs = sock_get(cl, fd);
    if (cs == NULL) {
        if (what == CURL_POLL_REMOVE)
            return 0;
        /* Curl's own socket, or one of ours it stopped watching before: watch a dup of it. */
        if ((cs = sock_add(cl, fd, 0)) == NULL)
            return -1;
    }
    if (what == CURL_POLL_REMOVE) {
        cs->want_in = cs->want_out = 0;
        if (!cs->direct) {
            /* Curl closes it itself, or hands it to on_close_socket, which then just closes
             * the fd. */
            sock_close(cl, fd);
            return 0;
        }
        /* An idle pooled connection stays registered for reading: most are reused within
         * microseconds, and stopping and restarting would cost two epoll_ctl calls per
         * exchange. If the peer closes it meanwhile, on_readable stops reading then. */
        return 0;
    }
    cs->want_in = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
    cs->want_out = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
    if (cs->want_in && cs->ours && !cs->direct)
        sock_go_direct(cs);
    if (cs->want_in)
        h2o_socket_read_start(cs->sock, on_readable);
    else
        h2o_socket_read_stop(cs->sock);
    if (cs->want_out && !cs->write_armed) {
        cs->write_armed = 1;
        h2o_socket_notify_write(cs->sock, on_writable);
    }
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    bff_curl_loop_t *cl = userp;
    cl->deadline = timeout_ms < 0 ? -1 : (int64_t)h2o_now(cl->loop) + timeout_ms;
    return 0;
}

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    bff_curl_loop_t *cl = clientp;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    if (sock_add(cl, fd, 1) == NULL) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

static int on_close_socket(void *clientp, curl_socket_t fd)
{
    bff_curl_loop_t *cl = clientp;
    curl_sock_t *cs = sock_get(cl, fd);
    int direct = cs != NULL && cs->direct;
    sock_close(cl, fd);
    return direct ? 0 : close(fd);
}

void bff_curl_loop_set_limits(bff_curl_loop_t *cl, long max_host_connections,
                              long max_idle_connections)
{
    curl_multi_setopt(cl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
    curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, max_idle_connections);
}

bff_curl_loop_t *bff_curl_loop_create(h2o_evloop_t *loop, long max_host_connections,
                                      long max_idle_connections)
{
    bff_curl_loop_t *cl = bff_calloc(1, sizeof(*cl));
    cl->loop = loop;
    cl->deadline = -1;
    cl->multi = curl_multi_init();
    if (cl->multi == NULL) {
        free(cl);
        return NULL;
    }
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    bff_curl_loop_set_limits(cl, max_host_connections, max_idle_connections);
    return cl;
}

int bff_curl_loop_start(bff_curl_loop_t *cl, CURL *easy, bff_curl_done_cb cb, void *data)
{
    transfer_t *t = bff_malloc(sizeof(*t));
    t->cb = cb;
    t->data = data;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, cl);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, cl);
    if (curl_multi_add_handle(cl->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return -1;
    }
    ++cl->active;
    return 0;
}

void bff_curl_loop_cancel(bff_curl_loop_t *cl, CURL *easy)
{
    transfer_t *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(cl->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    if (t != NULL) {
        free(t);
        --cl->active;
    }
}

int32_t bff_curl_loop_wait_ms(bff_curl_loop_t *cl, int32_t cap)
{
    if (cl->deadline < 0)
        return cap;
    int64_t left = cl->deadline - (int64_t)h2o_now(cl->loop);
    if (left <= 0)
        return 0;
    return left < cap ? (int32_t)left : cap;
}

int bff_curl_loop_on_tick(bff_curl_loop_t *cl)
{
    if (cl->deadline < 0 || (int64_t)h2o_now(cl->loop) < cl->deadline)
        return 0;
    cl->deadline = -1;
    socket_action(cl, CURL_SOCKET_TIMEOUT, 0);
    return 1;
}

size_t bff_curl_loop_active(bff_curl_loop_t *cl)
{
    return cl->active;
}

void bff_curl_loop_destroy(bff_curl_loop_t *cl)
{
    if (cl == NULL)
        return;
    assert(cl->active == 0 && "owners cancel their transfers first");
    curl_multi_cleanup(cl->multi); /* closes pooled connections through on_close_socket */
    for (size_t i = 0; i != cl->nsocks; ++i)
        if (cl->socks[i] != NULL)
            sock_close(cl, (curl_socket_t)i);
    free(cl->socks);
    free(cl);
}
