/* The admin listener (`bffd --admin HOST:PORT`): operators' API, on its own address and never on
 * a profile's listener, served by the first worker. Every request needs
 * `Authorization: Bearer TOKEN` (the token from --admin-token-file or BFFD_ADMIN_TOKEN).
 *   POST /cache/purge   {"profile"?: NAME, "tags"?: [...], "paths"?: [...]} (purge.c)
 *   POST /reload        the same as SIGHUP
 *   GET  /metrics       Prometheus text (obs/metrics.h)
 *   GET  /health        {"status":"ok"} */
#ifndef BFF_SERVER_ADMIN_ADMIN_H
#define BFF_SERVER_ADMIN_ADMIN_H

#include <h2o.h>

#include "server/core/worker.h"

/** Serves the admin API on worker `w`'s loop from the listening socket `fd`. */
void bff_admin_start(bff_worker_t *w, int fd);

/** POST /cache/purge (purge.c): answers `req` when every Redis deletion has answered. */
void bff_admin_purge(bff_worker_t *w, h2o_req_t *req);

#endif
