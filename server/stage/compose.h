/* The compose stage (its entry point is declared with the other stages in pipeline.h) and its
 * response assembly (compose_respond.c). */
#ifndef BFF_SERVER_STAGE_COMPOSE_H
#define BFF_SERVER_STAGE_COMPOSE_H

#include <stdint.h>

#include "compose/exec.h"
#include "compose/json_write.h"
#include "server/http/answer.h"
#include "server/http/request.h"

/** Answers a finished run of `plan`: the shaped response (with an `errors` list and
 * `bff-partial: true` when optional sources failed), or 502/504 naming the failed required
 * source; Server-Timing per source and in total (since `started_us`). */
/** The shaped body of a run that did not fail (with `errors` when partial) into `w` (which
 * this initialises; the caller disposes of it), and the success status. Returns 0, or -1 when
 * the body exceeds the size limit. Used for clients and for background cache refreshes. */
int bff_compose_render(const bff_profile_t *profile, const bff_spec_t *spec, const bff_exec_t *exec,
                       bff_jwrite_t *w, int *status);

/** What a finished run answers, decided without sending (compose_answer.c): `a` is
 * initialised by the caller and gets the status, the answer's own headers (bff-partial,
 * the endpoint's `headers:`, Retry-After) and the body; a->composed for a shaped answer. */
void bff_compose_answer(const bff_profile_t *profile, const bff_spec_t *spec,
                        const bff_exec_t *exec, bff_answer_t *a);
/** The 400 for a request value a source's URL cannot take (bff_exec_missing_input). */
void bff_compose_answer_missing_input(const char *ref, bff_input_problem_t problem,
                                      bff_answer_t *a);

void bff_compose_respond(bff_req_t *r, const bff_plan_t *plan, const bff_exec_t *exec,
                         uint64_t started_us);

#endif
