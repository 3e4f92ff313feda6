/* A request's sources counted in its worker's metrics (metrics.h): per route template and
 * source name (GraphQL: the GraphQL path and the resolver), how long each took and whether it
 * failed. The request itself is counted by the end hook (bff_metrics_on_end, pipeline.h). */
#ifndef BFF_SERVER_OBS_REQUEST_METRICS_H
#define BFF_SERVER_OBS_REQUEST_METRICS_H

#include "compose/exec.h"
#include "compose/gql/run.h"
#include "server/http/request.h"

/** Counts the sources of `plan` that ran in `exec`. */
void bff_metrics_note_sources(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec);
/** Counts the calls a GraphQL operation made, by resolver. */
void bff_metrics_note_graphql(bff_req_t *r, const bff_gql_run_t *run);

#endif
