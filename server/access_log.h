/* Access log: one JSON line per request. Workers buffer lines and flush once per loop turn, so
 * logging costs one write(2) per batch instead of one per request. */
#ifndef BFF_SERVER_ACCESS_LOG_H
#define BFF_SERVER_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_bff_access_log_t {
    int fd; /* -1 = off */
    int owns_fd;
} bff_access_log_t;

typedef struct st_bff_access_log_buf_t {
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
} bff_access_log_entry_t;

/** Opens "-" (stdout), "off", or a file (append). Returns NULL after printing an error. */
bff_access_log_t *bff_access_log_open(const char *spec);
void bff_access_log_close(bff_access_log_t *log);
/** Appends one line to the worker's buffer; flushes first when the buffer is full. */
void bff_access_log_add(bff_access_log_t *log, bff_access_log_buf_t *buf,
                        const bff_access_log_entry_t *e);
/** Writes out buffered lines (non-blocking best effort: a full pipe drops the batch). */
void bff_access_log_flush(bff_access_log_t *log, bff_access_log_buf_t *buf);

#endif
