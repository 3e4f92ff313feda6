/* Why a source failed: the reasons a client can see in `errors[].reason` and in a failed
 * request's error body. Compared by pointer (as h2o's h2o_socket_error_*); the text is the
 * wire value, so it never changes once released. */
#ifndef BFF_COMPOSE_ERRORS_H
#define BFF_COMPOSE_ERRORS_H

#include <stddef.h>

/* Reported by the fetch layer for one upstream exchange. */
extern const char bff_err_upstream_timeout[];      /* no answer within the time allowed */
extern const char bff_err_upstream_connect[];      /* connection refused / failed */
extern const char bff_err_upstream_status[];       /* a status the source does not accept */
extern const char bff_err_upstream_too_large[];    /* body over the upstream's max_body */
extern const char bff_err_upstream_transport[];    /* any other transfer error */
extern const char bff_err_circuit_open[];          /* breaker open: failed fast */
extern const char bff_err_bulkhead_full[];         /* too many calls in flight: failed fast */
extern const char bff_err_upstream_rate_limited[]; /* over the upstream's rate_limit: failed fast */
extern const char bff_err_overloaded[]; /* too many calls already waiting for a connection */

/* Reported by the executor. */
extern const char bff_err_invalid_json[]; /* the body is not valid JSON, or not declared as JSON */
extern const char bff_err_input_failed[]; /* the source a for-each/batch iterates over failed */
extern const char bff_err_bad_request[];  /* the upstream request could not be built */
extern const char bff_err_partial[];      /* some for-each items failed, the rest arrived */

/** The stable, coarse code a `safe` profile shows instead of `reason`: "timeout",
 * "unavailable", "bad_status", "invalid_body", "bad_request" or "partial". */
const char *bff_err_safe_code(const char *reason);
/** The client-facing detail of a fetch failure (timeout, connect, bad status, anything else as
 * a failed transfer): the fetcher's words, shared with `bffd test`'s recorded failures. */
void bff_err_describe(const char *err, long status, char *buf, size_t size);

#endif
