/* Drives a hiredis async context from an h2o evloop through hiredis's adapter hooks, adds a timer
 * per command and a connect timer (hiredis 0.14.1 has none), and reconnects with backoff. It does
 * not queue commands while disconnected, replay connection state, or speak pub/sub: callers fail
 * fast and treat Redis as optional. */
#include "server/loop/redis_loop.h"

#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <hiredis/async.h>
#include "h2o/memory.h"
#include "h2o/timeout.h"

const char bff_redis_err_not_connected[] = "redis not connected";
const char bff_redis_err_timeout[] = "redis command timeout";
const char bff_redis_err_disconnected[] = "redis connection lost";

#define REDIS_MAGIC 0x62726473u   /* "brds" */
#define COMMAND_MAGIC 0x62636d64u /* "bcmd" */
/* 100, 200, 400, 800, 1600, 3200, then 5000 ms. */
#define BACKOFF_LEVELS 7

struct st_bff_redis_t {
    uint32_t _magic;
    h2o_evloop_t *loop;
    char *host;
    char *addr; /* numeric form of `host`; NULL until it resolves */
    uint16_t port;
    uint64_t command_timeout_ms;
    uint64_t connect_timeout_ms;
    redisAsyncContext *ac; /* NULL while disconnected; hiredis owns it and its fd */
    h2o_socket_t *sock;    /* wraps our dup of ac's fd, so closing it closes only the dup */
    int connected; /* hiredis reported the connect; cleared as soon as we start a teardown */
    int destroying;
    unsigned callback_depth; /* > 0 while a user callback runs */
    unsigned backoff_level;
    h2o_timeout_t command_timeout;
    h2o_timeout_t connect_timeout;
    h2o_timeout_t backoff[BACKOFF_LEVELS];
    h2o_timeout_entry_t connect_timeout_entry;
    h2o_timeout_entry_t reconnect_entry;
    h2o_timeout_t flush_timeout; /* 0 ms: the end of this loop turn */
    h2o_timeout_entry_t flush_entry;
    int flushing; /* hiredis's write runs from the flush: a short write waits for writability */
    size_t num_commands; /* command objects hiredis still holds a pointer to */
    char *password;      /* AUTH first on every connection; NULL = none */
    char *channel;       /* a subscriber: SUBSCRIBEd on every connection; NULL = commands */
    bff_redis_message_cb on_message;
    bff_redis_subscribed_cb on_subscribed;
    void *sub_data;
    unsigned db; /* then SELECT, when not 0 */
    struct {
        uint64_t connect_attempts, connects, connect_timeouts, command_timeouts;
    } _stats;
};

/* Lives until hiredis hands it back through on_reply (with a reply, or NULL when the context is
 * freed), which always happens exactly once; `cb` is cleared when the caller's callback must no
 * longer run (delivered or cancelled), so a late reply finds it and is dropped. */
struct st_bff_redis_command_t {
    uint32_t _magic;
    bff_redis_t *redis;
    bff_redis_cb cb;
    void *cbdata;
    h2o_timeout_entry_t timeout_entry;
};

static void start_connect(bff_redis_t *r);
static bff_redis_command_t *start_command(bff_redis_t *r, bff_redis_cb cb, void *cbdata, int argc,
                                          const char **argv, const size_t *argvlen);

static char *dup_string(const char *s)
{
    size_t len = strlen(s);
    char *p = h2o_mem_alloc(len + 1);
    memcpy(p, s, len + 1);
    return p;
}

static uint64_t backoff_delay(unsigned level)
{
    uint64_t ms = (uint64_t)BFF_REDIS_BACKOFF_MIN_MS << level;
    return ms < BFF_REDIS_BACKOFF_MAX_MS ? ms : BFF_REDIS_BACKOFF_MAX_MS;
}

static void invoke(bff_redis_t *r, bff_redis_cb cb, void *cbdata, const char *err,
                   const redisReply *reply)
{
    ++r->callback_depth;
    cb(cbdata, err, reply);
    --r->callback_depth;
}

/* Resolves `host` to a numeric address so reconnects never block on DNS. Returns 0 or -1. */
static int resolve_host(bff_redis_t *r)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, r->host, buf) == 1 || inet_pton(AF_INET6, r->host, buf) == 1) {
        r->addr = dup_string(r->host);
        return 0;
    }
    /* IPv4 first, as hiredis itself does. */
    static const int families[] = {AF_INET, AF_INET6};
    for (size_t i = 0; i != sizeof(families) / sizeof(families[0]); ++i) {
        struct addrinfo hints = {.ai_family = families[i], .ai_socktype = SOCK_STREAM}, *res;
        if (getaddrinfo(r->host, NULL, &hints, &res) != 0)
            continue;
        char text[INET6_ADDRSTRLEN];
        const void *a = res->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        const char *ok = inet_ntop(res->ai_family, a, text, sizeof(text));
        freeaddrinfo(res);
        if (ok != NULL) {
            r->addr = dup_string(text);
            return 0;
        }
    }
    return -1;
}

static void schedule_reconnect(bff_redis_t *r)
{
    assert(r->ac == NULL);
    assert(!h2o_timeout_is_linked(&r->reconnect_entry));
    h2o_timeout_link(r->loop, &r->backoff[r->backoff_level], &r->reconnect_entry);
    if (r->backoff_level + 1 < BACKOFF_LEVELS)
        ++r->backoff_level;
}

static void on_reconnect_timer(h2o_timeout_entry_t *entry)
{
    bff_redis_t *r = H2O_STRUCT_FROM_MEMBER(bff_redis_t, reconnect_entry, entry);
    assert(r->_magic == REDIS_MAGIC);
    start_connect(r);
}

/* --- hiredis adapter hooks; ev.data is the client. --- */

static void on_sock_read(h2o_socket_t *sock, const char *err)
{
    bff_redis_t *r = sock->data;
    assert(r->ac != NULL); /* the socket is closed together with the context */
    /* With H2O_SOCKET_FLAG_DONT_READ h2o only reports readiness; hiredis reads and sees errors. */
    redisAsyncHandleRead(r->ac);
}

static void on_sock_write(h2o_socket_t *sock, const char *err)
{
    bff_redis_t *r = sock->data;
    assert(r->ac != NULL);
    redisAsyncHandleWrite(r->ac);
}

static void ev_add_read(void *data)
{
    bff_redis_t *r = data;
    if (!h2o_socket_is_reading(r->sock))
        h2o_socket_read_start(r->sock, on_sock_read);
}

static void ev_del_read(void *data)
{
    bff_redis_t *r = data;
    if (h2o_socket_is_reading(r->sock))
        h2o_socket_read_stop(r->sock);
}

/* Commands started in one loop turn go out together in one write at the end of the turn,
 * without arming write readiness (two epoll_ctl calls per command otherwise). */
static void on_flush(h2o_timeout_entry_t *entry)
{
    bff_redis_t *r = H2O_STRUCT_FROM_MEMBER(bff_redis_t, flush_entry, entry);
    /* Also while a refused setup disconnects: what was buffered goes out and gets its reply
     * (hiredis waits for those before it lets go), instead of waiting out its timeout. */
    if (r->ac == NULL)
        return;
    r->flushing = 1;
    redisAsyncHandleWrite(r->ac); /* may free the context on a write error: ev_cleanup runs */
    r->flushing = 0;
}

static void ev_add_write(void *data)
{
    bff_redis_t *r = data;
    if (r->connected && !r->flushing) {
        if (!h2o_timeout_is_linked(&r->flush_entry))
            h2o_timeout_link(r->loop, &r->flush_timeout, &r->flush_entry);
        return;
    }
    /* Connecting, or the socket's buffer is full: wait until it is writable. notify_write fires
     * once and must not be armed twice; hiredis re-adds while it has output. */
    if (!h2o_socket_is_writing(r->sock))
        h2o_socket_notify_write(r->sock, on_sock_write);
}

static void ev_del_write(void *data)
{
    /* h2o 2.2.5 cannot disarm notify_write; a spurious wake-up finds hiredis's buffer empty. */
}

/* Called by hiredis whenever it frees the context, whoever started the teardown: after the
 * pending callbacks ran with NULL replies, before it closes its own fd. */
static void ev_cleanup(void *data)
{
    bff_redis_t *r = data;
    h2o_socket_close(r->sock);
    r->sock = NULL;
    h2o_timeout_unlink(&r->connect_timeout_entry);
    h2o_timeout_unlink(&r->flush_entry);
    r->ac = NULL;
    r->connected = 0;
    if (!r->destroying)
        schedule_reconnect(r);
}

/* AUTH or SELECT refused: the connection would act on the wrong data, so it goes, and the
 * reconnect backoff paces the retries (an operator fixes the password meanwhile). */
static void on_setup_reply(void *cbdata, const char *err, const redisReply *reply)
{
    bff_redis_t *r = cbdata;
    if (err == NULL && reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bffd: redis %s:%u refused the connection setup: %s\n", r->host, r->port,
                reply->str);
        r->connected = 0;
        redisAsyncDisconnect(r->ac);
    }
}

/* Every reply of the subscription: its confirmation, then one per message. hiredis passes NULL
 * when the connection goes (the reconnect subscribes again). */
static void on_subscription(redisAsyncContext *ac, void *reply, void *privdata)
{
    bff_redis_t *r = privdata;
    const redisReply *rep = reply;
    if (rep == NULL || r->destroying || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return;
    r->backoff_level = 0;
    ++r->callback_depth;
    if (strcmp(rep->element[0]->str, "subscribe") == 0 && r->on_subscribed != NULL)
        r->on_subscribed(r->sub_data);
    else if (strcmp(rep->element[0]->str, "message") == 0 &&
             rep->element[2]->type == REDIS_REPLY_STRING)
        r->on_message(r->sub_data, rep->element[2]->str, rep->element[2]->len);
    --r->callback_depth;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    bff_redis_t *r = ac->data;
    if (status != REDIS_OK)
        return; /* hiredis frees the context next; ev_cleanup schedules the retry */
    h2o_timeout_unlink(&r->connect_timeout_entry);
    r->connected = 1;
    ++r->_stats.connects;
    /* Best effort, on our dup (same socket): notices an idle peer that vanished. Not hiredis's
     * redisEnableKeepAlive, which would poison the context with an error if setsockopt failed. */
    int fd = h2o_socket_get_fd(r->sock), on = 1, idle = 15;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    /* Pipelined ahead of anything a caller sends on this connection. */
    if (r->password != NULL) {
        const char *argv[] = {"AUTH", r->password};
        start_command(r, on_setup_reply, r, 2, argv, NULL);
    }
    if (r->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%u", r->db);
        const char *argv[] = {"SELECT", db};
        start_command(r, on_setup_reply, r, 2, argv, NULL);
    }
    if (r->channel != NULL)
        redisAsyncCommand(r->ac, on_subscription, r, "SUBSCRIBE %s", r->channel);
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    bff_redis_t *r = H2O_STRUCT_FROM_MEMBER(bff_redis_t, connect_timeout_entry, entry);
    assert(r->_magic == REDIS_MAGIC);
    assert(r->ac != NULL && !r->connected);
    ++r->_stats.connect_timeouts;
    redisAsyncFree(r->ac); /* not inside a hiredis callback here, so this frees at once */
}

static void start_connect(bff_redis_t *r)
{
    assert(r->ac == NULL && r->sock == NULL);
    ++r->_stats.connect_attempts;
    if (r->addr == NULL && resolve_host(r) != 0) {
        schedule_reconnect(r);
        return;
    }

    redisAsyncContext *ac = redisAsyncConnect(r->addr, r->port);
    if (ac == NULL)
        h2o_fatal("no memory");
    /* Some failures (e.g. refused on loopback) are known at once; the hooks are not set yet,
     * so freeing runs no cleanup. */
    int fd = ac->err == 0 ? fcntl(ac->c.fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd == -1) {
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    /* Keep hiredis's fd out of child processes too; we never close it, hiredis does. */
    fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);

    r->ac = ac;
    ac->data = r;
    r->sock = h2o_evloop_socket_create(r->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    r->sock->data = r;
    ac->ev.data = r;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    /* Also arms write readiness: hiredis learns the connect finished from the first write event. */
    redisAsyncSetConnectCallback(ac, on_connect);
    if (r->connect_timeout_ms != 0)
        h2o_timeout_link(r->loop, &r->connect_timeout, &r->connect_timeout_entry);
}

bff_redis_t *bff_redis_create(h2o_evloop_t *loop, const char *host, uint16_t port,
                              uint64_t command_timeout_ms, uint64_t connect_timeout_ms)
{
    bff_redis_t *r = h2o_mem_alloc(sizeof(*r));
    *r = (bff_redis_t){._magic = REDIS_MAGIC,
                       .loop = loop,
                       .host = dup_string(host),
                       .port = port,
                       .command_timeout_ms = command_timeout_ms,
                       .connect_timeout_ms = connect_timeout_ms};
    /* All timeout queues live as long as the client: h2o_evloop_run walks the loop's list of
     * queues while running timers, so none may be added or removed from inside a callback. */
    h2o_timeout_init(loop, &r->command_timeout, command_timeout_ms);
    h2o_timeout_init(loop, &r->connect_timeout, connect_timeout_ms);
    h2o_timeout_init(loop, &r->flush_timeout, 0);
    for (unsigned i = 0; i != BACKOFF_LEVELS; ++i)
        h2o_timeout_init(loop, &r->backoff[i], backoff_delay(i));
    r->connect_timeout_entry.cb = on_connect_timeout;
    r->reconnect_entry.cb = on_reconnect_timer;
    r->flush_entry.cb = on_flush;

    start_connect(r);
    return r;
}

void bff_redis_destroy(bff_redis_t *r)
{
    if (r == NULL)
        return;
    assert(r->_magic == REDIS_MAGIC);
    assert(r->callback_depth == 0);
    r->destroying = 1; /* on_reply drops every reply; ev_cleanup does not reschedule */
    h2o_timeout_unlink(&r->reconnect_entry);
    if (r->ac != NULL)
        redisAsyncFree(r->ac); /* hands every command back through on_reply */
    assert(r->ac == NULL && r->sock == NULL);
    assert(r->num_commands == 0);

    h2o_timeout_dispose(r->loop, &r->command_timeout);
    h2o_timeout_dispose(r->loop, &r->connect_timeout);
    h2o_timeout_dispose(r->loop, &r->flush_timeout);
    for (unsigned i = 0; i != BACKOFF_LEVELS; ++i)
        h2o_timeout_dispose(r->loop, &r->backoff[i]);
    free(r->host);
    free(r->addr);
    free(r->password);
    free(r->channel);
    r->_magic = 0;
    free(r);
}

void bff_redis_set_setup(bff_redis_t *r, const char *password, unsigned db)
{
    free(r->password);
    r->password = password != NULL ? dup_string(password) : NULL;
    r->db = db;
    if (bff_redis_is_connected(r)) /* connected already: drop it so the setup runs */
        redisAsyncDisconnect(r->ac);
}

void bff_redis_subscribe(bff_redis_t *r, const char *channel, bff_redis_message_cb on_message,
                         bff_redis_subscribed_cb on_subscribed, void *data)
{
    assert(r->channel == NULL);
    r->channel = dup_string(channel);
    r->on_message = on_message;
    r->on_subscribed = on_subscribed;
    r->sub_data = data;
    if (bff_redis_is_connected(r))
        redisAsyncCommand(r->ac, on_subscription, r, "SUBSCRIBE %s", r->channel);
}

int bff_redis_in_callback(const bff_redis_t *r)
{
    return r->callback_depth != 0;
}

int bff_redis_is_connected(bff_redis_t *r)
{
    assert(r->_magic == REDIS_MAGIC);
    /* During a teardown hiredis runs pending callbacks before ev_cleanup clears `connected`. */
    return r->connected && r->ac != NULL &&
           (r->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) == 0;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    bff_redis_command_t *cmd = privdata;
    bff_redis_t *r = cmd->redis;
    assert(cmd->_magic == COMMAND_MAGIC);

    h2o_timeout_unlink(&cmd->timeout_entry);
    /* The server answers: reset the backoff here rather than on connect, so a server that accepts
     * and then drops or stalls every connection is not retried every 100 ms. */
    if (reply != NULL)
        r->backoff_level = 0;
    /* hiredis passes NULL for every command still queued when the context is freed. */
    if (cmd->cb != NULL && !r->destroying)
        invoke(r, cmd->cb, cmd->cbdata, reply != NULL ? NULL : bff_redis_err_disconnected, reply);
    --r->num_commands;
    cmd->_magic = 0;
    free(cmd);
}

static void on_command_timeout(h2o_timeout_entry_t *entry)
{
    bff_redis_command_t *cmd = H2O_STRUCT_FROM_MEMBER(bff_redis_command_t, timeout_entry, entry);
    bff_redis_t *r = cmd->redis;
    assert(cmd->_magic == COMMAND_MAGIC && cmd->cb != NULL);
    assert(r->ac != NULL);

    bff_redis_cb cb = cmd->cb;
    cmd->cb = NULL; /* hiredis still owns cmd; on_reply frees it below without calling back */
    ++r->_stats.command_timeouts;
    /* hiredis cannot drop one command, so the connection goes; refuse new commands right away so
     * the callback cannot queue any on the doomed connection. */
    r->connected = 0;
    invoke(r, cb, cmd->cbdata, bff_redis_err_timeout, NULL);
    /* Not inside a hiredis callback, so this frees at once: the other pending commands get
     * bff_redis_err_disconnected, then ev_cleanup schedules the reconnect. */
    redisAsyncFree(r->ac);
}

/* Pub/sub and MONITOR make hiredis deliver many replies to one callback, or none. */
static int is_unsupported(const char *name, size_t len)
{
    static const char *const names[] = {"subscribe", "psubscribe", "unsubscribe", "punsubscribe",
                                        "monitor"};
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i) {
        if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0)
            return 1;
    }
    return 0;
}

bff_redis_command_t *bff_redis_command_start(bff_redis_t *r, bff_redis_cb cb, void *cbdata,
                                             int argc, const char **argv, const size_t *argvlen)
{
    assert(r->_magic == REDIS_MAGIC);
    assert(cb != NULL);
    /* argc 0 would trip an assert inside hiredis. */
    if (argc < 1 || is_unsupported(argv[0], argvlen != NULL ? argvlen[0] : strlen(argv[0])) ||
        r->channel != NULL)
        return NULL;
    return start_command(r, cb, cbdata, argc, argv, argvlen);
}

static bff_redis_command_t *start_command(bff_redis_t *r, bff_redis_cb cb, void *cbdata, int argc,
                                          const char **argv, const size_t *argvlen)
{
    if (!bff_redis_is_connected(r))
        return NULL;

    bff_redis_command_t *cmd = h2o_mem_alloc(sizeof(*cmd));
    *cmd = (bff_redis_command_t){._magic = COMMAND_MAGIC, .redis = r, .cb = cb, .cbdata = cbdata};
    cmd->timeout_entry.cb = on_command_timeout;
    if (redisAsyncCommandArgv(r->ac, on_reply, cmd, argc, argv, argvlen) != REDIS_OK) {
        free(cmd);
        return NULL;
    }
    ++r->num_commands;
    if (r->command_timeout_ms != 0)
        h2o_timeout_link(r->loop, &r->command_timeout, &cmd->timeout_entry);
    return cmd;
}

void bff_redis_command_cancel(bff_redis_command_t *cmd)
{
    assert(cmd->_magic == COMMAND_MAGIC);
    cmd->cb = NULL;
    h2o_timeout_unlink(&cmd->timeout_entry);
}
