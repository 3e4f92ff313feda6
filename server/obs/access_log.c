/* Formats access log lines as JSON into a per-worker buffer and writes them in batches.
 * It does not rotate files: every configuration opens its log anew, so moving the file away and
 * reloading (SIGHUP) starts a new one, the way logrotate's postrotate hook expects. */
#include "server/obs/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "compose/diag.h"
#include "compose/json_write.h"

#define BUF_SIZE 65536

bff_access_log_t *bff_access_log_open(const char *spec, char *err, size_t errsize)
{
    bff_access_log_t *log = bff_calloc(1, sizeof(*log));
    atomic_init(&log->refcnt, 1);
    if (strcmp(spec, "off") == 0) {
        log->fd = -1;
    } else if (strcmp(spec, "-") == 0) {
        log->fd = STDOUT_FILENO;
    } else {
        log->fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log->fd < 0) {
            snprintf(err, errsize, "cannot open access log %s: %s", spec, strerror(errno));
            free(log);
            return NULL;
        }
        log->owns_fd = 1;
    }
    return log;
}

void bff_access_log_retain(bff_access_log_t *log)
{
    atomic_fetch_add_explicit(&log->refcnt, 1, memory_order_relaxed);
}

void bff_access_log_release(bff_access_log_t *log)
{
    if (log == NULL || atomic_fetch_sub_explicit(&log->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    if (log->owns_fd)
        close(log->fd);
    free(log);
}

/* JSON-escapes `s` into dst (which has room for 6x); returns bytes written. Bytes that are not
 * UTF-8 (a raw path or method may hold any) become U+FFFD: a JSON line must be UTF-8. */
static size_t escape(char *dst, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *d = dst;
    for (size_t i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t len = bff_utf8_seq_len(s + i, n - i);
            if (len == 0) {
                memcpy(d, "\\ufffd", 6);
                d += 6;
            } else {
                memcpy(d, s + i, len);
                d += len;
                i += len - 1;
            }
        } else if (c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(d, "\\u00", 4);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 15];
            d += 6;
        } else {
            *d++ = (char)c;
        }
    }
    return (size_t)(d - dst);
}

void bff_access_log_flush(bff_access_log_buf_t *buf)
{
    bff_access_log_t *log = buf->log;
    if (log == NULL || log->fd < 0 || buf->len == 0) {
        buf->len = 0;
        return;
    }
    size_t off = 0;
    while (off < buf->len) {
        ssize_t w = write(log->fd, buf->buf + off, buf->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a log must never stall the worker; drop what does not fit */
        off += (size_t)w;
    }
    buf->len = 0;
}

void bff_access_log_buf_dispose(bff_access_log_buf_t *buf)
{
    bff_access_log_flush(buf);
    bff_access_log_release(buf->log);
    free(buf->buf);
    *buf = (bff_access_log_buf_t){0};
}

void bff_access_log_add(bff_access_log_buf_t *buf, bff_access_log_t *log,
                        const bff_access_log_entry_t *e)
{
    if (!bff_access_log_on(log))
        return;
    if (buf->log != log) { /* a reload changed the destination: the old lines go first */
        bff_access_log_flush(buf);
        bff_access_log_release(buf->log);
        bff_access_log_retain(log);
        buf->log = log;
    }
    size_t path_len = e->path_len > 2048 ? 2048 : e->path_len;
    size_t method_len = e->method_len > 32 ? 32 : e->method_len;
    size_t rid_len = e->request_id_len > 128 ? 128 : e->request_id_len;
    size_t route_len = e->route ? strlen(e->route) : 0, failed_len = e->failed ? e->failed_len : 0;
    if (route_len > 1024)
        route_len = 1024;
    if (failed_len > 8192)
        failed_len = 0; /* never cut JSON in half */
    size_t need =
        640 + 6 * (path_len + method_len + rid_len + strlen(e->profile) + route_len) + failed_len;
    if (buf->cap == 0) {
        buf->cap = BUF_SIZE;
        buf->buf = bff_malloc(buf->cap);
    }
    if (buf->len + need > buf->cap)
        bff_access_log_flush(buf);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char *p = buf->buf + buf->len;
    p += strftime(p, 64, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
    p += snprintf(p, 64, ".%03dZ\",\"profile\":\"", (int)(tv.tv_usec / 1000));
    p += escape(p, e->profile, strlen(e->profile));
    p += snprintf(p, 32, "\",\"method\":\"");
    p += escape(p, e->method, method_len);
    p += snprintf(p, 32, "\",\"path\":\"");
    p += escape(p, e->path, path_len);
    p += snprintf(p, 200,
                  "\",\"protocol\":\"%s\",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,"
                  "\"request_id\":\"",
                  e->protocol, e->status, e->bytes, (double)e->duration_us / 1000.0);
    p += escape(p, e->request_id, rid_len);
    *p++ = '"';
    if (e->route != NULL) {
        p += snprintf(p, 16, ",\"route\":\"");
        p += escape(p, e->route, route_len);
        *p++ = '"';
    }
    if (e->client != NULL) /* an address: nothing to escape */
        p += snprintf(p, 80, ",\"client\":\"%.60s\"", e->client);
    if (e->trace_id != NULL && e->trace_id[0] != '\0')
        p += snprintf(p, 64, ",\"trace_id\":\"%.32s\"", e->trace_id);
    if (e->partial)
        p += snprintf(p, 32, ",\"partial\":true");
    if (failed_len != 0) {
        p += snprintf(p, 16, ",\"failed\":");
        memcpy(p, e->failed, failed_len);
        p += failed_len;
    }
    p += snprintf(p, 8, "}\n");
    buf->len = (size_t)(p - buf->buf);
}
