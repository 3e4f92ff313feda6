/* Request smuggling guard for HTTP/1 (RFC 9112 6.1, 6.3, 3.2, 5.2). libh2o 2.2.5 accepts a request
 * with both Content-Length and Transfer-Encoding (and would then route a second request hidden
 * in its body), a request without Host or with two, conflicting Content-Lengths, chunked HTTP/1.0
 * and obs-fold, and it consumes those headers before any handler sees the request. So bffd
 * checks the head where h2o parses it: libh2o calls picohttpparser's phr_parse_request through
 * its PLT, so a function of that name in bffd's executable runs instead (it calls the real one
 * first). A head that must be refused is rewritten into a body-less request for a path no client
 * can send; the pipeline's first stage answers it 400 with bffd's JSON error and closes the
 * connection, so nothing after it on the connection is ever read or routed. Cost: one pass over
 * the parsed headers per request. */
#ifndef BFF_SERVER_HTTP_HEAD_GUARD_H
#define BFF_SERVER_HTTP_HEAD_GUARD_H

#include <h2o.h>
#include <stddef.h>

/* picohttpparser's header record (libh2o ships no header for it). */
typedef struct st_bff_phr_header_t {
    const char *name; /* NULL: a continuation line (obs-fold) */
    size_t name_len;
    const char *value;
    size_t value_len;
} bff_phr_header_t;

/** Why a parsed HTTP/1.`minor` request head must be refused, or NULL. Pure. */
const char *bff_head_check(int minor, const bff_phr_header_t *headers, size_t n);
/** The reason h2o's request was refused at its head (by the guard), or NULL. */
const char *bff_head_guard_refused(const h2o_req_t *req);

#endif
