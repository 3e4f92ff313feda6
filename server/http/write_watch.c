/* The write watch's list and sweep. */
#include "server/http/write_watch.h"

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_acked (glibc's stops short of it) */
#include <stdlib.h>
#include <sys/socket.h>

#include "compose/mem.h"

typedef struct st_watched_t {
    h2o_linklist_t link;
    h2o_socket_t *sock;
    uint64_t acked;    /* the peer's acknowledged bytes at the last look */
    uint64_t since_ms; /* when they last changed, or the socket last had nothing to write */
} watched_t;

static void on_close(void *data)
{
    watched_t *w = data;
    h2o_linklist_unlink(&w->link);
    free(w);
}

void bff_write_watch_init(bff_write_watch_t *ww)
{
    h2o_linklist_init_anchor(&ww->socks);
}

void bff_write_watch_add(bff_write_watch_t *ww, h2o_socket_t *sock)
{
    watched_t *w = bff_calloc(1, sizeof(*w));
    w->sock = sock;
    w->acked = UINT64_MAX; /* the first look counts as progress and starts the clock */
    h2o_linklist_insert(&ww->socks, &w->link);
    sock->on_close.cb = on_close;
    sock->on_close.data = w;
}

static uint64_t bytes_acked(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(info.tcpi_bytes_acked))
        return 0; /* not TCP (a test's socketpair): never seen to progress, like a stall */
    return info.tcpi_bytes_acked;
}

void bff_write_watch_sweep(bff_write_watch_t *ww, uint64_t now_ms, uint64_t timeout_ms)
{
    for (h2o_linklist_t *l = ww->socks.next; l != &ww->socks; l = l->next) {
        watched_t *w = H2O_STRUCT_FROM_MEMBER(watched_t, link, l);
        if (!h2o_socket_is_writing(w->sock)) {
            w->since_ms = now_ms;
            continue;
        }
        int fd = h2o_socket_get_fd(w->sock);
        uint64_t acked = bytes_acked(fd);
        if (acked != w->acked) {
            w->acked = acked;
            w->since_ms = now_ms;
        } else if (now_ms - w->since_ms >= timeout_ms) {
            /* h2o sees the pending write fail and closes the socket, which calls on_close */
            shutdown(fd, SHUT_RDWR);
            w->since_ms = now_ms;
            ++ww->cut;
        }
    }
}
