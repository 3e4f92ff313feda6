/* A request's parameters as its spec declares them: path values and query parameters decoded,
 * checked against their types and bounds, and written with the request headers the spec reads
 * into the request doc, {"param": value, ..., "header": {"name": "value"}}, which templates
 * and shapes read at the `BFF_BIND_REQUEST` binding. */
#ifndef BFF_SERVER_HTTP_PARAMS_H
#define BFF_SERVER_HTTP_PARAMS_H

#include <h2o.h>

#include "compose/json_write.h"
#include "compose/spec.h"

/** Builds the request doc into `out`. `path_values` are the route's raw values (in the spec's
 * path parameter order), `query` the raw query string without '?' (NULL base = none), `body`
 * the client's body, already validated as JSON (NULL base = none), which becomes the member
 * `body`. Decoded strings are allocated from `pool`. Returns 0, or -1 with a client-facing
 * message in `msg` and *bad naming the parameter at fault (NULL when none is). */
int bff_params_build(const bff_spec_t *spec, const h2o_iovec_t *path_values, h2o_iovec_t query,
                     const h2o_headers_t *headers, h2o_iovec_t body, h2o_mem_pool_t *pool,
                     bff_jwrite_t *out, char *msg, size_t msg_size, const char **bad);

/** Percent-decodes `n` bytes of `s` into pool memory ('+' means ' ' when `plus`). Returns -1 on
 * a bad escape or a decoded NUL. */
int bff_url_decode(h2o_mem_pool_t *pool, const char *s, size_t n, int plus, h2o_iovec_t *out);
/** 1 when `v` is a number in JSON's grammar (no "+5", ".5", "1.", hex or spaces). */
int bff_is_json_number(h2o_iovec_t v);

#endif
