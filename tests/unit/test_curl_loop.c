/* The curl multi adapter on a real h2o evloop against the real demo upstream: parallel
 * transfers, connection reuse, cancel, timeouts, refused connections, lanes, and a pooled
 * connection whose peer went away. */
#include "server/loop/curl_loop.c"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "tests/unit/tap.h"

static pid_t upstream_pid;
static int upstream_port;
static h2o_evloop_t *loop;
static bff_curl_loop_t *cl;

typedef struct {
    int calls;
    CURLcode code;
    long status;
    long new_connections;
    char body[4096];
    size_t len;
} result_t;

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    result_t *r = ud;
    size_t len = size * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static void on_done(CURL *easy, CURLcode code, void *data)
{
    result_t *r = data;
    ++r->calls;
    r->code = code;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &r->new_connections);
    curl_easy_cleanup(easy);
}

static CURL *make(const char *path, result_t *r, long timeout_ms)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", upstream_port, path);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    return e;
}

/* Runs the loop like a worker does until `done()` or the deadline. */
static void run_until(int (*done)(void *), void *arg, uint64_t max_ms)
{
    uint64_t deadline = h2o_now(loop) + max_ms;
    while (!done(arg) && h2o_now(loop) < deadline) {
        h2o_evloop_run(loop, bff_curl_loop_wait_ms(cl, 50));
        bff_curl_loop_on_tick(cl);
    }
}

static int all_done(void *arg)
{
    return bff_curl_loop_active(cl) == 0;
}

static int never(void *arg)
{
    return 0;
}

static void start_upstream(void)
{
    const char *build = getenv("BFF_BUILD_DIR") ? getenv("BFF_BUILD_DIR") : "build";
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/upstream/demo_upstream", build);
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    upstream_pid = fork();
    if (upstream_pid == 0) {
        dup2(fds[1], 1);
        execl(path, path, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    FILE *fp = fdopen(fds[0], "r");
    if (fgets(line, sizeof(line), fp) == NULL ||
        sscanf(line, "listening on 127.0.0.1:%d", &upstream_port) != 1) {
        fprintf(stderr, "demo upstream did not start (%s)\n", path);
        exit(1);
    }
    fclose(fp);
}

static void stop_upstream(void)
{
    if (upstream_pid > 0) {
        kill(upstream_pid, SIGTERM);
        waitpid(upstream_pid, NULL, 0);
        upstream_pid = 0;
    }
}

static void test_parallel_transfers(void)
{
    enum { N = 40 };
    static result_t r[N];
    memset(r, 0, sizeof(r));
    uint64_t start = h2o_now(loop);
    for (int i = 0; i != N; ++i) {
        char path[64];
        snprintf(path, sizeof(path), "/users/%d?delay_ms=200", i);
        ASSERT_INT_EQ(bff_curl_loop_start(cl, make(path, r + i, 5000), on_done, r + i), 0);
    }
    run_until(all_done, NULL, 5000);
    /* Forty 200 ms calls in parallel take about 200 ms, not 8 s. */
    ASSERT_TRUE(h2o_now(loop) - start < 1500);
    for (int i = 0; i != N; ++i) {
        char id[32];
        snprintf(id, sizeof(id), "\"id\":\"%d\"", i);
        ASSERT_INT_EQ(r[i].calls, 1);
        ASSERT_INT_EQ(r[i].code, CURLE_OK);
        ASSERT_INT_EQ(r[i].status, 200);
        ASSERT_STR_CONTAINS(r[i].body, id);
    }
}

static void test_connection_reuse(void)
{
    result_t r[5];
    memset(r, 0, sizeof(r));
    for (int i = 0; i != 5; ++i) {
        CURL *e = make("/users/1", r + i, 2000);
        bff_curl_loop_start(cl, e, on_done, r + i);
        run_until(all_done, NULL, 2000);
        ASSERT_INT_EQ(r[i].calls, 1);
        ASSERT_INT_EQ(r[i].status, 200);
    }
    /* After the first, sequential calls reuse the pooled connection: no new connects. */
    for (int i = 1; i != 5; ++i)
        ASSERT_INT_EQ(r[i].new_connections, 0);
}

static void test_cancel(void)
{
    result_t r = {0};
    CURL *e = make("/users/2?delay_ms=300", &r, 2000);
    bff_curl_loop_start(cl, e, on_done, &r);
    run_until(never, NULL, 50);
    bff_curl_loop_cancel(cl, e);
    curl_easy_cleanup(e);
    run_until(never, NULL, 400);
    ASSERT_INT_EQ(r.calls, 0);
    ASSERT_INT_EQ(bff_curl_loop_active(cl), 0);
}

static void test_timeout(void)
{
    result_t r = {0};
    uint64_t start = h2o_now(loop);
    bff_curl_loop_start(cl, make("/users/3?delay_ms=2000", &r, 100), on_done, &r);
    run_until(all_done, NULL, 3000);
    ASSERT_INT_EQ(r.calls, 1);
    ASSERT_INT_EQ(r.code, CURLE_OPERATION_TIMEDOUT);
    ASSERT_TRUE(h2o_now(loop) - start < 1000);
}

static uint64_t mono_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Reads the monotonic clock twice, 2 ms of real time apart (CLOCK_MONOTONIC_RAW is never
 * frozen), and returns the difference it saw. */
static uint64_t monotonic_step_us(void)
{
    uint64_t before = mono_us(CLOCK_MONOTONIC), raw = mono_us(CLOCK_MONOTONIC_RAW);
    while (mono_us(CLOCK_MONOTONIC_RAW) - raw < 2000)
        ;
    return mono_us(CLOCK_MONOTONIC) - before;
}

typedef struct {
    result_t r;
    uint64_t step_inside_us;
    curl_off_t total_us;
} clocked_t;

static size_t on_write_clocked(char *p, size_t size, size_t n, void *ud)
{
    clocked_t *c = ud;
    c->step_inside_us = monotonic_step_us(); /* curl calls this inside socket_action */
    return on_write(p, size, n, &c->r);
}

static void on_done_clocked(CURL *easy, CURLcode code, void *data)
{
    clocked_t *c = data;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &c->total_us);
    on_done(easy, code, &c->r);
}

/* Inside curl_multi_socket_action the monotonic clock stands still (curl_clock.h); across calls
 * it moves, so curl's own timing of a transfer is still real. */
static void test_curl_sees_one_time_per_call(void)
{
    clocked_t c = {{0}, 1, 0};
    CURL *e = make("/users/6?delay_ms=60", &c.r, 2000);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write_clocked);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &c);
    bff_curl_loop_start(cl, e, on_done_clocked, &c);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(c.r.status, 200);
    ASSERT_INT_EQ(c.step_inside_us, 0);
    ASSERT_TRUE(c.total_us >= 50000);         /* the upstream's 60 ms, seen across calls */
    ASSERT_TRUE(monotonic_step_us() >= 1500); /* outside, the clock is real (RAW is not slewed) */
    struct timespec rt;
    ASSERT_INT_EQ(clock_gettime(CLOCK_REALTIME, &rt), 0);
    ASSERT_TRUE(rt.tv_sec > 1700000000); /* other clocks pass through */
}

static void test_refused(void)
{
    result_t r = {0};
    int saved = upstream_port;
    upstream_port = 1; /* nothing listens on port 1 */
    bff_curl_loop_start(cl, make("/users/4", &r, 2000), on_done, &r);
    upstream_port = saved;
    run_until(all_done, NULL, 3000);
    ASSERT_INT_EQ(r.calls, 1);
    ASSERT_INT_EQ(r.code, CURLE_COULDNT_CONNECT);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d != NULL && readdir(d) != NULL)
        ++n;
    if (d != NULL)
        closedir(d);
    return n;
}

static unsigned lane_to_release;

static void on_done_release(CURL *easy, CURLcode code, void *data)
{
    on_done(easy, code, data);
    bff_curl_loop_lane_release(cl, lane_to_release); /* closes the lane this transfer ran in */
}

/* Each lane is a multi handle of its own: its own pool of connections, its own timer. */
static void test_lanes(void)
{
    unsigned a = bff_curl_loop_lane(cl, "web/users"), b = bff_curl_loop_lane(cl, "web/orders");
    ASSERT_TRUE(a != 0 && b != 0 && a != b);
    ASSERT_INT_EQ(bff_curl_loop_lane(cl, "web/users"), a);

    /* Parallel transfers in two lanes and lane 0 all finish, each exactly once. */
    enum { N = 12 };
    static result_t r[N];
    memset(r, 0, sizeof(r));
    for (int i = 0; i != N; ++i) {
        char path[64];
        snprintf(path, sizeof(path), "/users/%d?delay_ms=%d", i, 20 * (i % 4));
        CURL *e = make(path, r + i, 3000);
        ASSERT_INT_EQ(bff_curl_loop_start_in(cl,
                                             i % 3 == 0   ? 0
                                             : i % 3 == 1 ? a
                                                          : b,
                                             e, on_done, r + i),
                      0);
    }
    run_until(all_done, NULL, 3000);
    for (int i = 0; i != N; ++i) {
        ASSERT_INT_EQ(r[i].calls, 1);
        ASSERT_INT_EQ(r[i].status, 200);
    }

    /* Lane a has idle connections to the upstream now; lane a reuses one, a new lane opens its
     * own. */
    result_t again = {0}, fresh = {0};
    bff_curl_loop_start_in(cl, a, make("/users/1", &again, 2000), on_done, &again);
    run_until(all_done, NULL, 2000);
    unsigned c = bff_curl_loop_lane(cl, "mobile/users");
    bff_curl_loop_start_in(cl, c, make("/users/1", &fresh, 2000), on_done, &fresh);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(again.status, 200);
    ASSERT_INT_EQ(again.new_connections, 0);
    ASSERT_INT_EQ(fresh.status, 200);
    ASSERT_INT_EQ(fresh.new_connections, 1);

    /* A short timeout in one lane fires while another lane's transfer still runs; a cancelled
     * transfer in a lane never calls back. */
    result_t slow = {0}, quick = {0}, cancelled = {0};
    bff_curl_loop_start_in(cl, a, make("/users/2?delay_ms=400", &slow, 3000), on_done, &slow);
    CURL *ce = make("/users/3?delay_ms=300", &cancelled, 3000);
    bff_curl_loop_start_in(cl, c, ce, on_done, &cancelled);
    uint64_t start = h2o_now(loop);
    bff_curl_loop_start_in(cl, b, make("/users/4?delay_ms=2000", &quick, 100), on_done, &quick);
    run_until(never, NULL, 20);
    bff_curl_loop_cancel(cl, ce);
    curl_easy_cleanup(ce);
    while (quick.calls == 0 && h2o_now(loop) - start < 2000) {
        h2o_evloop_run(loop, bff_curl_loop_wait_ms(cl, 50));
        bff_curl_loop_on_tick(cl);
    }
    ASSERT_INT_EQ(quick.code, CURLE_OPERATION_TIMEDOUT);
    ASSERT_INT_EQ(slow.calls, 0);
    run_until(all_done, NULL, 3000);
    ASSERT_INT_EQ(slow.calls, 1);
    ASSERT_INT_EQ(slow.status, 200);
    ASSERT_INT_EQ(cancelled.calls, 0);

    /* Held twice, a lane stays when one holder lets go; released by the last, it closes with
     * its idle connections, and the key's next lane starts with none. */
    result_t warm = {0}, kept = {0}, reopened = {0};
    bff_curl_loop_start_in(cl, c, make("/users/1", &warm, 2000), on_done, &warm);
    run_until(all_done, NULL, 2000); /* the cancel above closed c's connection: one again */
    ASSERT_INT_EQ(bff_curl_loop_lane(cl, "mobile/users"), c);
    bff_curl_loop_lane_release(cl, c);
    bff_curl_loop_start_in(cl, c, make("/users/1", &kept, 2000), on_done, &kept);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(kept.new_connections, 0);
    int fds_before = open_fds();
    bff_curl_loop_lane_release(cl, c);
    ASSERT_TRUE(open_fds() < fds_before);
    c = bff_curl_loop_lane(cl, "mobile/users");
    bff_curl_loop_start_in(cl, c, make("/users/1", &reopened, 2000), on_done, &reopened);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(reopened.status, 200);
    ASSERT_INT_EQ(reopened.new_connections, 1);

    /* The last holder may let go inside the completion of the lane's last transfer (a request's
     * end releasing the configuration that held the upstream). */
    lane_to_release = bff_curl_loop_lane(cl, "web/gone");
    result_t gone[2] = {{0}};
    bff_curl_loop_start_in(cl, lane_to_release, make("/users/1", gone, 2000), on_done, gone);
    bff_curl_loop_start_in(cl, lane_to_release, make("/users/2?delay_ms=60", gone + 1, 2000),
                           on_done_release, gone + 1);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(gone[0].status, 200);
    ASSERT_INT_EQ(gone[1].status, 200);
    ASSERT_INT_EQ(bff_curl_loop_wait_ms(cl, 1000) > 0, 1); /* the freed slot sets no deadline */

    /* Past the last lane, keys share the keyed lanes (never lane 0), the same key the same one. */
    for (int i = 0; i != BFF_CURL_LANES_MAX + 8; ++i) {
        char key[32];
        snprintf(key, sizeof(key), "p/u%d", i);
        unsigned lane = bff_curl_loop_lane(cl, key);
        ASSERT_TRUE(lane != 0 && lane < BFF_CURL_LANES_MAX);
        ASSERT_INT_EQ(bff_curl_loop_lane(cl, key), lane);
    }
}

static void test_peer_closed_pooled_connection(void)
{
    result_t r = {0};
    bff_curl_loop_start(cl, make("/users/5", &r, 2000), on_done, &r);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(r.status, 200);
    /* Restart the upstream on another port; the pooled connection's peer is gone. */
    stop_upstream();
    run_until(never, NULL, 100); /* the idle socket becomes readable (EOF): must not spin */
    start_upstream();
    result_t r2 = {0};
    bff_curl_loop_start(cl, make("/users/6", &r2, 2000), on_done, &r2);
    run_until(all_done, NULL, 3000);
    ASSERT_INT_EQ(r2.calls, 1);
    ASSERT_INT_EQ(r2.status, 200);
}

/* The peer closes a lane's pooled connections while no transfer comes: curl 7.88 would keep them
 * in CLOSE-WAIT for good; the loop empties the lane a second after its last start. */
static void test_idle_lane_closes_what_the_peer_closed(void)
{
    unsigned lane = bff_curl_loop_lane(cl, "idle/users");
    enum { N = 3 };
    result_t r[N];
    memset(r, 0, sizeof(r));
    for (int i = 0; i != N; ++i)
        bff_curl_loop_start_in(cl, lane, make("/users/1?delay_ms=30", r + i, 2000), on_done, r + i);
    run_until(all_done, NULL, 2000);
    for (int i = 0; i != N; ++i)
        ASSERT_INT_EQ(r[i].status, 200);
    int pooled = open_fds();
    stop_upstream(); /* closes its ends of the pooled connections */
    uint64_t start = h2o_now(loop);
    while (open_fds() > pooled - N && h2o_now(loop) - start < 3000) {
        h2o_evloop_run(loop, bff_curl_loop_wait_ms(cl, 2000)); /* the wait ends by itself */
        bff_curl_loop_on_tick(cl);
    }
    /* (other lanes' connections to the stopped upstream go the same way) */
    ASSERT_TRUE(open_fds() <= pooled - N);
    start_upstream();
    result_t again = {0};
    bff_curl_loop_start_in(cl, lane, make("/users/2", &again, 2000), on_done, &again);
    run_until(all_done, NULL, 2000);
    ASSERT_INT_EQ(again.status, 200);
    bff_curl_loop_lane_release(cl, lane);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(60);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    start_upstream();
    loop = h2o_evloop_create();
    cl = bff_curl_loop_create(loop, 64, 64);
    TAP_RUN(test_parallel_transfers);
    TAP_RUN(test_connection_reuse);
    TAP_RUN(test_cancel);
    TAP_RUN(test_timeout);
    TAP_RUN(test_curl_sees_one_time_per_call);
    TAP_RUN(test_refused);
    TAP_RUN(test_lanes);
    TAP_RUN(test_peer_closed_pooled_connection);
    TAP_RUN(test_idle_lane_closes_what_the_peer_closed);
    bff_curl_loop_destroy(cl);
    stop_upstream();
    curl_global_cleanup();
    TAP_DONE();
}
