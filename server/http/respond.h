/* Small helpers to send JSON responses and errors in bffd's error format:
 * {"error":{"code":"...","message":"..."}} plus the request id header. */
#ifndef BFF_SERVER_RESPOND_H
#define BFF_SERVER_RESPOND_H

#include <h2o.h>

#include "server/http/answer.h"

/* The `error.code` values a client can see (compared by pointer, like bff_err_*). */
extern const char bff_code_bad_request[];
extern const char bff_code_not_found[];
extern const char bff_code_method_not_allowed[];
extern const char bff_code_headers_too_large[];
extern const char bff_code_bad_parameter[];
extern const char bff_code_bad_body[];
extern const char bff_code_body_too_large[];
extern const char bff_code_unsupported_media_type[];
extern const char bff_code_upstream_failed[];
extern const char bff_code_upstream_timeout[];
extern const char bff_code_response_too_large[];
extern const char bff_code_client_closed_request[];
extern const char bff_code_overloaded[];
/** The code of an answer whose status an upstream decided (on_status): "not_found" for 404... */
const char *bff_code_for_status(int status);

/** Sends `body` (borrowed; copied only if not pool memory is not required: it must outlive the
 * request, so pass pool memory or static text) as application/json with `status`. */
void bff_respond_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t body);
/** The same with another media type (static text or pool memory). */
void bff_respond_typed(h2o_req_t *req, int status, const char *reason, h2o_iovec_t type,
                       h2o_iovec_t body);
/** Sends a JSON error; `message` is escaped. `extra_json` (may be NULL) is raw members appended
 * inside "error" (e.g. "\"source\":\"user\""). */
void bff_respond_error(h2o_req_t *req, int status, const char *code, const char *message,
                       const char *extra_json);
/** Adds an answer's headers to the response (pool copies). */
void bff_respond_add_headers(h2o_req_t *req, const bff_answer_t *a);
/** Sends a decided answer (answer.h): its headers, then its body as application/json. */
void bff_respond_answer(h2o_req_t *req, const bff_answer_t *a);
/** For resources that are only read: answers anything but GET and HEAD with 405 (Allow: GET,
 * HEAD) and returns 1; 0 for GET and HEAD. */
int bff_respond_unless_get(h2o_req_t *req);
/** 1 when the request's If-None-Match names `etag` (a list, or "*"; a weak validator matches by
 * its opaque part, as RFC 9110 13.1.2 allows for GET and HEAD). */
int bff_if_none_match(h2o_req_t *req, const char *etag, size_t len);
/** Reason phrase for a status code. */
const char *bff_status_reason(int status);

#endif
