/* The operators' debug view: a request carrying `X-Bffd-Debug: <admin token>` (the token of the
 * admin listener, so only operators can ask) gets an `X-Bffd-Debug` response header explaining
 * each source: its state, upstream, status, time, calls, attempts (retries included), how many
 * a source cache answered, and the bytes fetched, plus the bytes delivered. Nothing changes in
 * the body, so a slow or wrong screen can be diagnosed in production as the client sees it. */
#ifndef BFF_SERVER_OBS_DEBUG_VIEW_H
#define BFF_SERVER_OBS_DEBUG_VIEW_H

#include "compose/exec.h"
#include "compose/gql/run.h"
#include "server/http/request.h"

/** 1 when the request asks for the view with the right token (compared in constant time). */
int bff_debug_requested(bff_req_t *r);
/** Adds the explanation of `exec`'s sources; `delivered` is the body's size (SIZE_MAX: left
 * out). */
void bff_debug_explain(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                       size_t delivered);
/** The same for a GraphQL operation: one entry per call it made (a resolver's call, or one
 * batch of parents' calls with their number as `parents`), in the order they finished. */
void bff_debug_explain_graphql(bff_req_t *r, const bff_gql_run_t *run, size_t delivered);

#endif
