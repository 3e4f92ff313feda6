/* A request's spans (W3C trace context, OTLP): one server span for the request, with bffd's
 * span id as the parent of every upstream call, and one client span per source that ran. Built
 * at the request's end and handed to the worker's exporter (otlp.h) when the profile traces
 * and the trace is sampled. */
#ifndef BFF_SERVER_OBS_REQUEST_TRACE_H
#define BFF_SERVER_OBS_REQUEST_TRACE_H

#include "compose/exec.h"
#include "compose/gql/run.h"
#include "server/http/request.h"

/** The traceparent this request sends upstream (made once): the client's trace with the
 * request's span as parent, or a new trace, sampled by the profile's sample_ratio. Sets
 * r->trace_id too. */
const char *bff_req_traceparent(bff_req_t *r);
/** Notes how each source of `plan` went (names, times, outcome) for the request's spans. */
void bff_tracing_note_sources(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec);
/** Notes the calls a GraphQL operation made (one span each, named by the resolver), after
 * those noted already (a batch's operations add up). */
void bff_tracing_note_graphql(bff_req_t *r, const bff_gql_run_t *run);

#endif
