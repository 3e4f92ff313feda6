/* HTTP/1.1 answers given while bffd drains say Connection: close. */
#ifndef BFF_HTTP_DRAIN_CLOSE_H
#define BFF_HTTP_DRAIN_CLOSE_H

#include <h2o.h>
#include <stdatomic.h>

/** Registers the filter on `path`: once *stopping is set, an answer ends its connection, and
 * says so, instead of keeping it alive for a request that would find the socket closed. */
void bff_drain_close_register(h2o_pathconf_t *path, const atomic_int *stopping);

#endif
