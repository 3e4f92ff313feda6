/* Request identity for logs and upstreams: the request id (the client's X-Request-ID when it
 * is sane, else a fresh one) and the W3C trace context sent with every upstream call. */
#ifndef BFF_SERVER_HTTP_TRACE_H
#define BFF_SERVER_HTTP_TRACE_H

#include <h2o.h>
#include <stdint.h>

#define BFF_TRACEPARENT_SIZE 56 /* 55 characters and the NUL */

/** The client's X-Request-ID if it is 1-128 printable characters without quotes or
 * backslashes; otherwise a new id unique without coordination (random per-thread prefix,
 * `worker_id`, `*seq` incremented), allocated from the request's pool. */
h2o_iovec_t bff_trace_request_id(h2o_req_t *req, unsigned worker_id, uint64_t *seq);
/** The traceparent for upstream calls: the client's trace (a valid `traceparent` header) with
 * a new span id as parent, or a new trace, sampled (flags 01) when `sample_new`. */
void bff_trace_traceparent(h2o_req_t *req, int sample_new, char out[BFF_TRACEPARENT_SIZE]);
/** The client's parent span id (16 hex digits) when its traceparent is valid, else NULL. */
const char *bff_trace_client_parent(h2o_req_t *req);
/** "tracestate: ..." to send upstream: the client's, passed on as it came (vendors' entries are
 * theirs) when it also sent a traceparent, at most 512 bytes of printable text. Returns 0 and
 * leaves `line` empty when there is none to pass on. */
int bff_trace_tracestate_line(h2o_req_t *req, char *line, size_t size);

#endif
