/* Access log: one JSON line per request. Workers buffer lines and flush once per loop turn, so
 * logging costs one write(2) per batch instead of one per request. A log belongs to the
 * configuration that opened it; it is refcounted because a worker's buffer may still hold lines
 * for it after a reload released that configuration. */
#ifndef BFF_SERVER_ACCESS_LOG_H
#define BFF_SERVER_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

typedef struct st_bff_access_log_t {
    int fd; /* -1 = off */
    int owns_fd;
    atomic_size_t refcnt;
} bff_access_log_t;

/** A worker's batch of lines for one log (which it holds a reference to). */
typedef struct st_bff_access_log_buf_t {
    bff_access_log_t *log;
    char *buf;
    size_t len, cap;
} bff_access_log_buf_t;

typedef struct st_bff_access_log_entry_t {
    const char *profile;
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    int status;
    size_t bytes;
    uint64_t duration_us;
    const char *request_id;
    size_t request_id_len;
    const char *protocol;
    const char *route;    /* the matched route template, or NULL */
    const char *client;   /* the peer's address, or NULL */
    const char *trace_id; /* or NULL */
    int partial;
    const char *failed; /* a JSON array (already encoded) of failed sources, or NULL */
    size_t failed_len;
} bff_access_log_entry_t;

/** Opens "-" (stdout), "off", or a file (append); the reference count starts at 1. Returns NULL
 * with the reason in `err`. */
bff_access_log_t *bff_access_log_open(const char *spec, char *err, size_t errsize);
void bff_access_log_retain(bff_access_log_t *log);
/** Whether lines for `log` (NULL: none configured) are written at all. */
static inline int bff_access_log_on(const bff_access_log_t *log)
{
    return log != NULL && log->fd >= 0;
}
/** Drops a reference; the last one closes the file. Any thread. */
void bff_access_log_release(bff_access_log_t *log);
/** Appends one line for `log` to the buffer; flushes first when the buffer is full or holds
 * another log's lines. */
void bff_access_log_add(bff_access_log_buf_t *buf, bff_access_log_t *log,
                        const bff_access_log_entry_t *e);
/** Writes out buffered lines (non-blocking best effort: a full pipe drops the batch). */
void bff_access_log_flush(bff_access_log_buf_t *buf);
/** Flushes and lets go of the buffer's log and memory. */
void bff_access_log_buf_dispose(bff_access_log_buf_t *buf);

#endif
