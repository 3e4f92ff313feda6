/* The front door: the h2o handler of a profile's slot on a worker. Every request becomes a
 * bff_req_t and walks the pipeline (stage/pipeline.h). */
#ifndef BFF_SERVER_HTTP_HANDLER_H
#define BFF_SERVER_HTTP_HANDLER_H

#include <h2o.h>

#include "server/core/worker.h"

/** Registers the handler on `pathconf` of the slot's own h2o configuration. */
void bff_handler_register(bff_site_ctx_t *site, h2o_pathconf_t *pathconf);

#endif
