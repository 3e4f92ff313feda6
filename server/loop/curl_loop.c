/* Binds curl multi sockets and timers to an h2o evloop. It knows nothing about upstreams,
 * URLs or bodies: the fetch layer configures easy handles and gets them back when done. */
#include "server/loop/curl_loop.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
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
typedef struct st_curl_lane_t curl_lane_t;

typedef struct st_curl_sock_t {
    bff_curl_loop_t *cl;
    curl_lane_t *lane; /* whose multi handle the socket belongs to */
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
    curl_lane_t *lane;
} transfer_t;

/* One multi handle, with its own connection cache. curl 7.88 looks for a connection to reuse by
 * walking every connection it holds to the host, in use or not, and on each transfer's removal
 * walks its whole cache: both grow with the connections a multi handle holds, so callers that
 * keep many connections (one upstream each) get a lane of their own. */
struct st_curl_lane_t {
    bff_curl_loop_t *cl;
    CURLM *multi;     /* NULL: a free slot */
    int64_t deadline; /* loop time in ms; -1 = none */
    char *key;        /* NULL for lane 0 */
    unsigned refs;    /* bff_curl_loop_lane minus bff_curl_loop_lane_release (lane 0: unused) */
    size_t active;
    size_t dead;        /* pooled connections the peer closed, not yet closed by curl */
    int64_t last_start; /* loop time in ms of the last transfer started */
};

/* curl 7.88 closes pooled connections the peer closed only when a transfer of the same multi
 * handle looks for a connection (at most once a second). A lane no transfer comes to would keep
 * them (CLOSE-WAIT) for good, so a lane idle this long with such connections is emptied. */
#define LANE_IDLE_RESET_MS 1000

/* When the lane is to be emptied (loop ms), or -1. */
static int64_t lane_reset_at(const curl_lane_t *lane)
{
    return lane->dead != 0 && lane->active == 0 ? lane->last_start + LANE_IDLE_RESET_MS : -1;
}

struct st_bff_curl_loop_t {
    h2o_evloop_t *loop;
    curl_lane_t lanes[BFF_CURL_LANES_MAX];
    size_t nlanes; /* slots ever used; a released lane leaves a free slot (multi NULL) */
    long max_host_connections, max_idle_connections;
    curl_sock_t **socks; /* indexed by curl's fd, whichever lane it belongs to */
    size_t nsocks;
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
    if (cs->spoke_idle && cs->lane != NULL)
        --cs->lane->dead;
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

static void complete_done(curl_lane_t *lane)
{
    bff_curl_loop_t *cl = lane->cl;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(lane->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        transfer_t *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(lane->multi, easy);
        --lane->active;
        --cl->active;
        bff_curl_done_cb cb = t->cb;
        void *data = t->data;
        free(t);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        cb(easy, result, data);
    }
}

static void socket_action(curl_lane_t *lane, curl_socket_t fd, int ev)
{
    bff_curl_loop_t *cl = lane->cl;
    int running;
    assert(!cl->in_action);
    cl->in_action = 1;
    bff_curl_poll_scope(cl);
    bff_curl_clock_freeze();
    curl_multi_socket_action(lane->multi, fd, ev, &running);
    bff_curl_clock_thaw();
    bff_curl_poll_scope(NULL);
    cl->in_action = 0;
    complete_done(lane);
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
    curl_lane_t *lane = cs->lane;
    curl_socket_t fd = cs->fd;
    if (!cs->want_in) {
        /* Idle in curl's pool and readable: the peer closed it (or sent junk). Curl notices
         * on its next use (its poll now goes to the kernel); until then stop the
         * level-triggered wake-ups. */
        if (!cs->spoke_idle && lane != NULL)
            ++lane->dead;
        cs->spoke_idle = 1;
        h2o_socket_read_stop(sock);
        return;
    }
    socket_action(lane, fd, err ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
    rearm_write(cl, fd);
}

static void on_writable(h2o_socket_t *sock, const char *err)
{
    curl_sock_t *cs = sock->data;
    bff_curl_loop_t *cl = cs->cl;
    curl_lane_t *lane = cs->lane;
    curl_socket_t fd = cs->fd;
    cs->write_armed = 0;
    if (!cs->want_out)
        return;
    socket_action(lane, fd, err ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
    rearm_write(cl, fd);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    curl_lane_t *lane = userp;
    bff_curl_loop_t *cl = lane->cl;
    curl_sock_t *cs = sock_get(cl, fd);
    if (cs == NULL) {
        if (what == CURL_POLL_REMOVE)
            return 0;
        /* Curl's own socket, or one of ours it stopped watching before: watch a dup of it. */
        if ((cs = sock_add(cl, fd, 0)) == NULL)
            return -1;
    }
    if (what == CURL_POLL_REMOVE) {
        /* Late news of a number another lane's socket holds now (see the top of the file). */
        if (cs->lane != NULL && cs->lane != lane)
            return 0;
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
    cs->lane = lane;
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
    curl_lane_t *lane = userp;
    lane->deadline = timeout_ms < 0 ? -1 : (int64_t)h2o_now(lane->cl->loop) + timeout_ms;
    return 0;
}

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    curl_lane_t *lane = clientp;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    curl_sock_t *cs = sock_add(lane->cl, fd, 1);
    if (cs == NULL) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    cs->lane = lane;
    return fd;
}

/* Curl keeps the handler and its data in the connection, whichever handle closes it later. */
static int on_close_socket(void *clientp, curl_socket_t fd)
{
    curl_lane_t *lane = clientp;
    bff_curl_loop_t *cl = lane->cl;
    curl_sock_t *cs = sock_get(cl, fd);
    int direct = cs != NULL && cs->direct;
    sock_close(cl, fd);
    return direct ? 0 : close(fd);
}

static void lane_set_limits(curl_lane_t *lane)
{
    curl_multi_setopt(lane->multi, CURLMOPT_MAX_HOST_CONNECTIONS, lane->cl->max_host_connections);
    curl_multi_setopt(lane->multi, CURLMOPT_MAXCONNECTS, lane->cl->max_idle_connections);
}

static int lane_open_multi(curl_lane_t *lane)
{
    lane->deadline = -1;
    if ((lane->multi = curl_multi_init()) == NULL)
        return -1;
    curl_multi_setopt(lane->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(lane->multi, CURLMOPT_SOCKETDATA, lane);
    curl_multi_setopt(lane->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(lane->multi, CURLMOPT_TIMERDATA, lane);
    curl_multi_setopt(lane->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    lane_set_limits(lane);
    return 0;
}

static int lane_init(bff_curl_loop_t *cl, curl_lane_t *lane, const char *key)
{
    lane->cl = cl;
    if (lane_open_multi(lane) != 0)
        return -1;
    lane->key = key != NULL ? bff_strdup(key) : NULL;
    return 0;
}

void bff_curl_loop_set_limits(bff_curl_loop_t *cl, long max_host_connections,
                              long max_idle_connections)
{
    cl->max_host_connections = max_host_connections;
    cl->max_idle_connections = max_idle_connections;
    for (size_t i = 0; i != cl->nlanes; ++i)
        if (cl->lanes[i].multi != NULL)
            lane_set_limits(cl->lanes + i);
}

bff_curl_loop_t *bff_curl_loop_create(h2o_evloop_t *loop, long max_host_connections,
                                      long max_idle_connections)
{
    bff_curl_loop_t *cl = bff_calloc(1, sizeof(*cl));
    cl->loop = loop;
    cl->max_host_connections = max_host_connections;
    cl->max_idle_connections = max_idle_connections;
    if (lane_init(cl, cl->lanes, NULL) != 0) {
        free(cl);
        return NULL;
    }
    cl->nlanes = 1;
    return cl;
}

/* Frees a lane's multi handle, which has no transfer: curl closes its idle connections through
 * on_close_socket. */
static void lane_close_multi(curl_lane_t *lane)
{
    bff_curl_loop_t *cl = lane->cl;
    assert(lane->active == 0);
    curl_multi_cleanup(lane->multi);
    lane->multi = NULL;
    for (size_t fd = 0; fd != cl->nsocks; ++fd) /* any it closed itself, unannounced */
        if (cl->socks[fd] != NULL && cl->socks[fd]->lane == lane)
            sock_close(cl, (curl_socket_t)fd);
    assert(lane->dead == 0);
}

/* Closes a lane no one holds. */
static void lane_close(curl_lane_t *lane)
{
    lane_close_multi(lane);
    free(lane->key);
    memset(lane, 0, sizeof(*lane));
    lane->deadline = -1;
}

unsigned bff_curl_loop_lane(bff_curl_loop_t *cl, const char *key)
{
    size_t free_slot = 0;
    for (size_t i = 1; i != cl->nlanes; ++i) {
        if (cl->lanes[i].multi == NULL) {
            if (free_slot == 0)
                free_slot = i;
        } else if (strcmp(cl->lanes[i].key, key) == 0) {
            ++cl->lanes[i].refs;
            return (unsigned)i;
        }
    }
    if (free_slot == 0 && cl->nlanes != BFF_CURL_LANES_MAX)
        free_slot = cl->nlanes;
    if (free_slot != 0 && lane_init(cl, cl->lanes + free_slot, key) == 0) {
        cl->lanes[free_slot].refs = 1;
        if (free_slot == cl->nlanes)
            ++cl->nlanes;
        return (unsigned)free_slot;
    }
    /* Out of lanes (every slot holds one) or out of memory: share a lane, as every caller did
     * before lanes, or lane 0 when there is none. */
    if (cl->nlanes == 1 || cl->lanes[1].multi == NULL)
        return 0;
    unsigned h = 5381;
    for (const char *c = key; *c != '\0'; ++c)
        h = h * 33 + (unsigned char)*c;
    unsigned i = 1 + h % (unsigned)(cl->nlanes - 1);
    while (cl->lanes[i].multi == NULL) /* out of memory with free slots: lane 1 is in use */
        --i;
    ++cl->lanes[i].refs;
    return i;
}

void bff_curl_loop_lane_release(bff_curl_loop_t *cl, unsigned lane)
{
    if (lane == 0)
        return;
    assert(lane < cl->nlanes && cl->lanes[lane].refs != 0);
    if (--cl->lanes[lane].refs == 0)
        lane_close(cl->lanes + lane);
}

int bff_curl_loop_start_in(bff_curl_loop_t *cl, unsigned lane_index, CURL *easy,
                           bff_curl_done_cb cb, void *data)
{
    assert(lane_index < cl->nlanes && cl->lanes[lane_index].multi != NULL);
    curl_lane_t *lane = cl->lanes + lane_index;
    transfer_t *t = bff_malloc(sizeof(*t));
    t->cb = cb;
    t->data = data;
    t->lane = lane;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, lane);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, lane);
    if (curl_multi_add_handle(lane->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return -1;
    }
    ++lane->active;
    ++cl->active;
    lane->last_start = (int64_t)h2o_now(cl->loop);
    return 0;
}

int bff_curl_loop_start(bff_curl_loop_t *cl, CURL *easy, bff_curl_done_cb cb, void *data)
{
    return bff_curl_loop_start_in(cl, 0, easy, cb, data);
}

void bff_curl_loop_cancel(bff_curl_loop_t *cl, CURL *easy)
{
    transfer_t *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    if (t == NULL)
        return;
    curl_multi_remove_handle(t->lane->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    --t->lane->active;
    free(t);
    --cl->active;
}

int32_t bff_curl_loop_wait_ms(bff_curl_loop_t *cl, int32_t cap)
{
    int64_t now = (int64_t)h2o_now(cl->loop);
    for (size_t i = 0; i != cl->nlanes; ++i) {
        const curl_lane_t *lane = cl->lanes + i;
        int64_t deadline = lane->deadline, reset_at = lane_reset_at(lane); /* -1 in a free slot */
        if (reset_at >= 0 && (deadline < 0 || reset_at < deadline))
            deadline = reset_at;
        if (deadline < 0)
            continue;
        if (deadline <= now)
            return 0;
        if (deadline - now < cap)
            cap = (int32_t)(deadline - now);
    }
    return cap;
}

int bff_curl_loop_on_tick(bff_curl_loop_t *cl)
{
    int64_t now = (int64_t)h2o_now(cl->loop);
    int ran = 0;
    for (size_t i = 0; i != cl->nlanes; ++i) {
        curl_lane_t *lane = cl->lanes + i;
        int64_t reset_at = lane_reset_at(lane);
        if (reset_at >= 0 && now >= reset_at) {
            /* Empty the idle lane: its live pooled connections go too, and the next transfer
             * opens one again. */
            lane_close_multi(lane);
            if (lane_open_multi(lane) != 0) {
                fprintf(stderr, "bffd: cannot create a curl multi handle\n");
                abort();
            }
            continue;
        }
        if (lane->deadline < 0 || now < lane->deadline)
            continue;
        lane->deadline = -1;
        socket_action(lane, CURL_SOCKET_TIMEOUT, 0);
        ran = 1;
    }
    return ran;
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
    for (size_t i = 0; i != cl->nlanes; ++i)
        if (cl->lanes[i].multi != NULL)
            lane_close(cl->lanes + i);
    for (size_t i = 0; i != cl->nsocks; ++i)
        if (cl->socks[i] != NULL)
            sock_close(cl, (curl_socket_t)i);
    free(cl->socks);
    free(cl);
}
