/* Tests the Redis loop client against a real redis-server started on a free port in a temp dir:
 * round trips, pipelining order, per-command timeouts, cancel, server death and restart. */
#include "server/loop/redis_loop.c"
#include "tests/unit/tap.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t redis_pid = -1;
static char redis_dir[] = "/tmp/bff-test-redis-XXXXXX";
static volatile sig_atomic_t redis_dir_made;
static uint16_t redis_port;
static h2o_evloop_t *loop;

/* --- redis-server lifecycle: always killed, even on a crash or a hang --- */

static void kill_redis(void)
{
    pid_t pid = redis_pid;
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
    redis_pid = -1;
}

static void on_fatal_signal(int sig)
{
    if (redis_pid > 0)
        kill(redis_pid, SIGKILL);
    if (redis_dir_made)
        rmdir(redis_dir); /* async-signal-safe; redis with --save '' leaves it empty */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_watchdog(int sig)
{
    static const char msg[] = "Bail out! test_redis_loop watchdog expired\n";
    if (redis_pid > 0)
        kill(redis_pid, SIGKILL);
    if (redis_dir_made)
        rmdir(redis_dir);
    ssize_t ignored = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(2);
}

static void remove_redis_dir(void)
{
    if (!redis_dir_made)
        return;
    DIR *d = opendir(redis_dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
    }
    rmdir(redis_dir);
    redis_dir_made = 0;
}

static void on_exit_cleanup(void)
{
    kill_redis();
    remove_redis_dir();
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        perror("free_port");
        exit(1);
    }
    close(fd);
    return ntohs(sin.sin_port);
}

/* Synchronous PING with hiredis's blocking API: test setup only. */
static int redis_answers(uint16_t port)
{
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, (struct timeval){0, 200000});
    int ok = 0;
    if (c != NULL && c->err == 0) {
        redisReply *reply = redisCommand(c, "PING");
        ok = reply != NULL && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
        if (reply != NULL)
            freeReplyObject(reply);
    }
    redisFree(c);
    return ok;
}

/* Starts redis-server on redis_port and waits until it answers. Returns 0 or -1. */
static int start_redis(void)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)redis_port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1)
        return -1;
    if (pid == 0) {
        /* Dies with us even if we are SIGKILLed (e.g. by a test-runner timeout). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", redis_dir, (char *)NULL);
        _exit(127);
    }
    redis_pid = pid;
    for (uint64_t deadline = now_ms() + 5000; now_ms() < deadline;) {
        if (redis_answers(redis_port))
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            redis_pid = -1; /* exited: exec failed or the port was taken */
            return -1;
        }
        usleep(20000);
    }
    kill_redis();
    return -1;
}

/* --- loop helpers, each bounded by a deadline --- */

static int run_until(int (*done)(void *), void *arg, uint64_t timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    while (!done(arg)) {
        if (now_ms() >= deadline)
            return 0;
        h2o_evloop_run(loop, 10);
    }
    return 1;
}

static void run_for(uint64_t ms)
{
    for (uint64_t deadline = now_ms() + ms; now_ms() < deadline;)
        h2o_evloop_run(loop, 10);
}

static int client_connected(void *r)
{
    return bff_redis_is_connected(r);
}

static bff_redis_t *connected_client(uint64_t command_timeout_ms)
{
    bff_redis_t *r = bff_redis_create(loop, "127.0.0.1", redis_port, command_timeout_ms, 1000);
    if (!run_until(client_connected, r, 3000))
        TAP_FAIL("%s", "client did not connect within 3 s");
    h2o_evloop_run(loop, 0); /* refresh the loop clock the command timers count from */
    return r;
}

/* --- a callback that records what it got --- */

typedef struct st_result_t {
    int calls;
    const char *err;
    int type;
    long long integer;
    size_t len;
    char str[128];
    /* Optional: start a PING from inside the callback and record what start returned. */
    bff_redis_t *chain_on;
    struct st_result_t *chain_result;
    int chain_started;
} result_t;

static void on_result(void *cbdata, const char *err, const redisReply *reply)
{
    result_t *res = cbdata;
    ++res->calls;
    res->err = err;
    if (reply != NULL) {
        res->type = reply->type;
        res->integer = reply->integer;
        res->len = reply->str != NULL ? reply->len : 0;
        if (reply->str != NULL)
            memcpy(res->str, reply->str,
                   reply->len < sizeof(res->str) ? reply->len : sizeof(res->str));
    }
    if (res->chain_on != NULL) {
        const char *argv[] = {"PING"};
        res->chain_started = bff_redis_command_start(res->chain_on, on_result, res->chain_result, 1,
                                                     argv, NULL) != NULL;
    }
}

static int result_done(void *res)
{
    return ((result_t *)res)->calls != 0;
}

static __attribute__((sentinel)) bff_redis_command_t *start(bff_redis_t *r, result_t *res,
                                                            const char *arg0, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a != NULL && argc < 16; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    return bff_redis_command_start(r, on_result, res, argc, argv, NULL);
}

/* Runs one command to completion and checks it succeeded. */
static void roundtrip_set_get(bff_redis_t *r, const char *value)
{
    result_t set = {0}, get = {0};
    ASSERT_TRUE(start(r, &set, "SET", "bff:test:k", value, NULL) != NULL);
    ASSERT_TRUE(start(r, &get, "GET", "bff:test:k", NULL) != NULL);
    ASSERT_TRUE(run_until(result_done, &get, 2000));
    ASSERT_INT_EQ(set.calls, 1);
    ASSERT_TRUE(set.err == NULL);
    ASSERT_INT_EQ(set.type, REDIS_REPLY_STATUS);
    ASSERT_STR_EQ(set.str, "OK");
    ASSERT_INT_EQ(get.calls, 1);
    ASSERT_TRUE(get.err == NULL);
    ASSERT_INT_EQ(get.type, REDIS_REPLY_STRING);
    ASSERT_STR_EQ(get.str, value);
}

/* --- tests --- */

static void test_set_get(void)
{
    bff_redis_t *r = connected_client(1000);
    roundtrip_set_get(r, "hello");

    /* Binary-safe arguments through argvlen. */
    const char *argv[] = {"SET", "bff:test:bin", "a\0b"};
    const size_t argvlen[] = {3, 12, 3};
    result_t set = {0}, get = {0};
    ASSERT_TRUE(bff_redis_command_start(r, on_result, &set, 3, argv, argvlen) != NULL);
    ASSERT_TRUE(start(r, &get, "GET", "bff:test:bin", NULL) != NULL);
    ASSERT_TRUE(run_until(result_done, &get, 2000));
    ASSERT_INT_EQ(get.len, 3);
    ASSERT_TRUE(memcmp(get.str, "a\0b", 3) == 0);

    /* A server error is a reply, not a transport error. */
    result_t bad = {0};
    ASSERT_TRUE(start(r, &bad, "NOSUCHCOMMAND", NULL) != NULL);
    ASSERT_TRUE(run_until(result_done, &bad, 2000));
    ASSERT_TRUE(bad.err == NULL);
    ASSERT_INT_EQ(bad.type, REDIS_REPLY_ERROR);
    ASSERT_STR_CONTAINS(bad.str, "unknown command");
    ASSERT_TRUE(bff_redis_is_connected(r));
    bff_redis_destroy(r);
}

#define PIPELINE_N 1000
static struct {
    int calls, order;
    long long value;
    const char *err;
} pipeline[PIPELINE_N];
static int pipeline_seen;

static void on_pipeline(void *cbdata, const char *err, const redisReply *reply)
{
    size_t i = (size_t)(uintptr_t)cbdata;
    ++pipeline[i].calls;
    pipeline[i].order = pipeline_seen++;
    pipeline[i].err = err;
    pipeline[i].value = reply != NULL ? reply->integer : -1;
}

static int pipeline_done(void *unused)
{
    return pipeline_seen >= PIPELINE_N;
}

static void test_pipeline(void)
{
    bff_redis_t *r = connected_client(2000);
    result_t del = {0};
    ASSERT_TRUE(start(r, &del, "DEL", "bff:test:ctr", NULL) != NULL);
    ASSERT_TRUE(run_until(result_done, &del, 2000));

    /* All started in one loop tick: hiredis writes them as one pipeline. */
    const char *argv[] = {"INCR", "bff:test:ctr"};
    for (size_t i = 0; i != PIPELINE_N; ++i) {
        if (bff_redis_command_start(r, on_pipeline, (void *)(uintptr_t)i, 2, argv, NULL) == NULL) {
            TAP_FAIL("start %zu returned NULL", i);
            break;
        }
    }
    ASSERT_TRUE(run_until(pipeline_done, NULL, 5000));
    run_for(50); /* nothing more may arrive */
    int bad = 0;
    for (size_t i = 0; i != PIPELINE_N && bad < 5; ++i) {
        if (pipeline[i].calls != 1 || pipeline[i].order != (int)i || pipeline[i].err != NULL ||
            pipeline[i].value != (long long)i + 1) {
            TAP_FAIL("command %zu: calls=%d order=%d value=%lld", i, pipeline[i].calls,
                     pipeline[i].order, pipeline[i].value);
            ++bad;
        }
    }
    ASSERT_INT_EQ(pipeline_seen, PIPELINE_N);
    ASSERT_INT_EQ(r->num_commands, 0);
    bff_redis_destroy(r);
}

static void test_chained_start(void)
{
    bff_redis_t *r = connected_client(1000);
    result_t second = {0}, first = {.chain_on = r, .chain_result = &second};
    ASSERT_TRUE(start(r, &first, "PING", NULL) != NULL);
    ASSERT_TRUE(run_until(result_done, &second, 2000));
    ASSERT_INT_EQ(first.chain_started, 1);
    ASSERT_INT_EQ(second.calls, 1);
    ASSERT_STR_EQ(second.str, "PONG");
    bff_redis_destroy(r);
}

static void test_cancel(void)
{
    bff_redis_t *r = connected_client(2000);

    /* Cancelled before it was even written. */
    result_t cancelled = {0}, ping = {0};
    bff_redis_command_t *cmd = start(r, &cancelled, "GET", "bff:test:k", NULL);
    ASSERT_TRUE(cmd != NULL);
    bff_redis_command_cancel(cmd);
    ASSERT_TRUE(start(r, &ping, "PING", NULL) != NULL);
    ASSERT_TRUE(run_until(result_done, &ping, 2000));
    ASSERT_INT_EQ(cancelled.calls, 0);

    /* Cancelled while in flight: the late reply (after 300 ms) is dropped, and the command
     * object is released only then. */
    result_t slow = {0};
    cmd = start(r, &slow, "BLPOP", "bff:test:never", "0.3", NULL);
    ASSERT_TRUE(cmd != NULL);
    run_for(50);
    bff_redis_command_cancel(cmd);
    ASSERT_INT_EQ(r->num_commands, 1);
    run_for(500);
    ASSERT_INT_EQ(slow.calls, 0);
    ASSERT_INT_EQ(r->num_commands, 0);
    ASSERT_TRUE(bff_redis_is_connected(r));
    roundtrip_set_get(r, "after-cancel");
    bff_redis_destroy(r);
}

static void test_command_timeout(void)
{
    bff_redis_t *r = connected_client(100);
    uint64_t connects_before = r->_stats.connects;

    /* BLPOP holds the reply back for 1 s; the command behind it waits in the pipeline. */
    result_t slow = {0}, behind = {0}, cancelled = {0};
    uint64_t t0 = now_ms();
    ASSERT_TRUE(start(r, &slow, "BLPOP", "bff:test:never", "1", NULL) != NULL);
    ASSERT_TRUE(start(r, &behind, "GET", "bff:test:k", NULL) != NULL);
    bff_redis_command_t *cmd = start(r, &cancelled, "PING", NULL);
    ASSERT_TRUE(cmd != NULL);
    bff_redis_command_cancel(cmd);

    ASSERT_TRUE(run_until(result_done, &slow, 2000));
    uint64_t elapsed = now_ms() - t0;
    ASSERT_TRUE(slow.err == bff_redis_err_timeout);
    ASSERT_TRUE(elapsed >= 90 && elapsed < 700);
    ASSERT_INT_EQ(behind.calls, 1);
    ASSERT_TRUE(behind.err == bff_redis_err_disconnected);
    ASSERT_INT_EQ(cancelled.calls, 0);
    ASSERT_INT_EQ(r->_stats.command_timeouts, 1);
    ASSERT_INT_EQ(r->num_commands, 0);
    /* Disconnected now: fail fast. */
    ASSERT_INT_EQ(bff_redis_is_connected(r), 0);
    result_t refused = {0};
    ASSERT_TRUE(start(r, &refused, "PING", NULL) == NULL);

    /* It reconnects by itself and works again; no callback ran twice. */
    ASSERT_TRUE(run_until(client_connected, r, 3000));
    ASSERT_INT_EQ(r->_stats.connects, connects_before + 1);
    h2o_evloop_run(loop, 0);
    roundtrip_set_get(r, "after-timeout");
    ASSERT_INT_EQ(slow.calls, 1);
    ASSERT_INT_EQ(behind.calls, 1);
    ASSERT_INT_EQ(refused.calls, 0);
    bff_redis_destroy(r);
}

static void test_server_killed_and_restarted(void)
{
    bff_redis_t *r = connected_client(3000);
    result_t chained = {0};
    result_t pending = {.chain_on = r, .chain_result = &chained}, cancelled = {0};
    ASSERT_TRUE(start(r, &pending, "BLPOP", "bff:test:never", "5", NULL) != NULL);
    bff_redis_command_t *cmd = start(r, &cancelled, "BLPOP", "bff:test:never2", "5", NULL);
    ASSERT_TRUE(cmd != NULL);
    run_for(50);
    bff_redis_command_cancel(cmd);

    kill_redis();
    ASSERT_TRUE(run_until(result_done, &pending, 2000));
    ASSERT_INT_EQ(pending.calls, 1);
    ASSERT_TRUE(pending.err == bff_redis_err_disconnected);
    ASSERT_INT_EQ(pending.chain_started, 0); /* start from inside the teardown is refused */
    ASSERT_INT_EQ(cancelled.calls, 0);
    ASSERT_INT_EQ(chained.calls, 0);

    /* While the server is down, start fails at once instead of queueing. */
    result_t refused = {0};
    uint64_t t0 = now_ms();
    ASSERT_TRUE(start(r, &refused, "GET", "bff:test:k", NULL) == NULL);
    ASSERT_TRUE(now_ms() - t0 < 5);
    ASSERT_INT_EQ(bff_redis_is_connected(r), 0);
    uint64_t attempts = r->_stats.connect_attempts;
    run_for(400);
    ASSERT_INT_EQ(bff_redis_is_connected(r), 0);
    ASSERT_TRUE(r->_stats.connect_attempts > attempts); /* it keeps trying */

    /* Same port again: the client finds it by itself. */
    if (start_redis() != 0) {
        TAP_FAIL("%s", "could not restart redis-server");
        bff_redis_destroy(r);
        return;
    }
    ASSERT_TRUE(run_until(client_connected, r, 10000));
    h2o_evloop_run(loop, 0);
    roundtrip_set_get(r, "after-restart");
    ASSERT_INT_EQ(r->backoff_level, 0); /* the answer reset the backoff */
    ASSERT_INT_EQ(refused.calls, 0);
    bff_redis_destroy(r);
}

static void test_backoff_when_refused(void)
{
    uint16_t port = free_port(); /* nothing listens there */
    bff_redis_t *r = bff_redis_create(loop, "127.0.0.1", port, 1000, 1000);
    run_for(1000);
    ASSERT_INT_EQ(backoff_delay(0), BFF_REDIS_BACKOFF_MIN_MS);
    ASSERT_INT_EQ(backoff_delay(1), 2 * BFF_REDIS_BACKOFF_MIN_MS);
    ASSERT_INT_EQ(backoff_delay(BACKOFF_LEVELS - 1), BFF_REDIS_BACKOFF_MAX_MS);
    ASSERT_TRUE(backoff_delay(BACKOFF_LEVELS - 2) < BFF_REDIS_BACKOFF_MAX_MS);
    /* Attempts at about 0, 100, 300 and 700 ms. */
    ASSERT_INT_EQ(bff_redis_is_connected(r), 0);
    ASSERT_TRUE(r->_stats.connect_attempts >= 3 && r->_stats.connect_attempts <= 5);
    ASSERT_INT_EQ(r->_stats.connects, 0);
    result_t res = {0};
    ASSERT_TRUE(start(r, &res, "PING", NULL) == NULL);
    bff_redis_destroy(r); /* while waiting to reconnect */
}

static void test_connect_timeout(void)
{
    /* A listener whose accept queue is full: further SYNs are dropped, connects hang. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    ASSERT_TRUE(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    ASSERT_TRUE(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
    ASSERT_TRUE(listen(lfd, 0) == 0);
    int fillers[2];
    for (int i = 0; i != 2; ++i) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
        usleep(20000);
    }

    bff_redis_t *r = bff_redis_create(loop, "127.0.0.1", ntohs(sin.sin_port), 1000, 100);
    run_for(700);
    ASSERT_INT_EQ(bff_redis_is_connected(r), 0);
    ASSERT_INT_EQ(r->_stats.connects, 0);
    ASSERT_TRUE(r->_stats.connect_timeouts >= 2);
    ASSERT_TRUE(r->_stats.connect_attempts >= 2);
    bff_redis_destroy(r); /* possibly while connecting */
    for (int i = 0; i != 2; ++i)
        close(fillers[i]);
    close(lfd);
}

static void test_destroy(void)
{
    /* Before the connect even finished. */
    bff_redis_t *r = bff_redis_create(loop, "127.0.0.1", redis_port, 1000, 1000);
    bff_redis_destroy(r);
    run_for(20);

    /* With commands in flight and not yet written: their callbacks never run. */
    r = connected_client(1000);
    result_t inflight = {0}, unsent = {0};
    ASSERT_TRUE(start(r, &inflight, "BLPOP", "bff:test:never", "5", NULL) != NULL);
    run_for(30);
    ASSERT_TRUE(start(r, &unsent, "PING", NULL) != NULL);
    bff_redis_destroy(r);
    run_for(50);
    ASSERT_INT_EQ(inflight.calls, 0);
    ASSERT_INT_EQ(unsent.calls, 0);
}

static void test_unsupported_commands(void)
{
    bff_redis_t *r = connected_client(1000);
    result_t res = {0};
    ASSERT_TRUE(start(r, &res, "SUBSCRIBE", "ch", NULL) == NULL);
    ASSERT_TRUE(start(r, &res, "psubscribe", "ch*", NULL) == NULL);
    ASSERT_TRUE(start(r, &res, "Unsubscribe", NULL) == NULL);
    ASSERT_TRUE(start(r, &res, "MONITOR", NULL) == NULL);
    ASSERT_TRUE(bff_redis_command_start(r, on_result, &res, 0, NULL, NULL) == NULL);
    run_for(20);
    ASSERT_INT_EQ(res.calls, 0);
    ASSERT_TRUE(bff_redis_is_connected(r));
    bff_redis_destroy(r);
}

static void test_host_name(void)
{
    bff_redis_t *r = bff_redis_create(loop, "localhost", redis_port, 1000, 1000);
    ASSERT_STR_EQ(r->addr, "127.0.0.1");
    ASSERT_TRUE(run_until(client_connected, r, 3000));
    h2o_evloop_run(loop, 0);
    roundtrip_set_get(r, "by-name");
    bff_redis_destroy(r);
}

int main(void)
{
    static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGQUIT};
    for (size_t i = 0; i != sizeof(fatal_signals) / sizeof(fatal_signals[0]); ++i)
        signal(fatal_signals[i], on_fatal_signal);
    signal(SIGALRM, on_watchdog);
    signal(SIGPIPE, SIG_IGN);
    atexit(on_exit_cleanup);
    alarm(50); /* under the runner's 60 s: a hang still reports and cleans up */

    if (mkdtemp(redis_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    redis_dir_made = 1;
    int started = -1;
    for (int attempt = 0; attempt != 3 && started != 0; ++attempt) {
        redis_port = free_port();
        started = start_redis();
    }
    if (started != 0) {
        printf("Bail out! could not start redis-server (is it installed?)\n");
        return 1;
    }

    loop = h2o_evloop_create();
    TAP_RUN(test_set_get);
    TAP_RUN(test_pipeline);
    TAP_RUN(test_chained_start);
    TAP_RUN(test_cancel);
    TAP_RUN(test_command_timeout);
    TAP_RUN(test_unsupported_commands);
    TAP_RUN(test_host_name);
    TAP_RUN(test_destroy);
    TAP_RUN(test_backoff_when_refused);
    TAP_RUN(test_connect_timeout);
    TAP_RUN(test_server_killed_and_restarted);
    h2o_evloop_run(loop, 0); /* lets h2o free the sockets closed last */
    h2o_evloop_destroy(loop);

    kill_redis();
    remove_redis_dir();
    TAP_DONE();
}
