/* Serves one composed endpoint: validates parameters, runs the spec's sources through the
 * executor on this worker's loop, shapes the result and responds. */
#ifndef BFF_SERVER_ENDPOINT_H
#define BFF_SERVER_ENDPOINT_H

#include <stddef.h>

#include "compose/spec.h"
#include "server/handler.h"

/** Takes over the request: it always ends with a response (or the client going away).
 * `path_values` holds (offset, length) of each path parameter in req->path (still percent-encoded).
 */
void bff_endpoint_serve(bff_request_t *r, const bff_spec_t *spec, size_t (*path_values)[2]);

#endif
