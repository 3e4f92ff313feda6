/* The request doc of a routed request, or the 4xx answer saying what is wrong with it. Shared by
 * the params stage and `bffd test`, which builds its cases' requests the same way. */
#ifndef BFF_SERVER_HTTP_REQUEST_DOC_H
#define BFF_SERVER_HTTP_REQUEST_DOC_H

#include <h2o.h>

#include "compose/spec.h"
#include "server/core/profile.h"
#include "server/http/answer.h"

/** Checks the client's body (size: 413; media type: 415; JSON: 400, when the spec reads it)
 * and the route's `values`, the raw `query` (NULL base = none) and `headers` against `spec`,
 * and writes the request doc into `*doc` (pool memory), with `claims` (a JSON object; NULL base
 * = no principal) as its `auth` member when the spec reads it. Returns 0, or -1 with the error
 * answer in `a`. */
int bff_request_doc_build(const bff_profile_t *profile, const bff_spec_t *spec,
                          const h2o_iovec_t *values, h2o_iovec_t query,
                          const h2o_headers_t *headers, h2o_iovec_t entity, h2o_iovec_t claims,
                          h2o_mem_pool_t *pool, h2o_iovec_t *doc, bff_answer_t *a);

#endif
