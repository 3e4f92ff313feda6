/* The fetcher of `bffd test`: a bff_fetch_ops_t that answers the executor's calls from a
 * case's recordings, in call order and never from inside start (the executor's contract), on a
 * fake clock. The executor, plans, shaping, fallbacks and failure handling are the server's own. */
#ifndef BFF_SERVER_SPECTEST_REPLAY_H
#define BFF_SERVER_SPECTEST_REPLAY_H

#include "compose/exec.h"
#include "server/spectest/case.h"

typedef struct st_bff_st_pending_t bff_st_pending_t;

typedef struct st_bff_st_replay_t {
    const bff_profile_t *profile;
    bff_st_case_t *c;
    bff_st_pending_t *head, *tail; /* answers waiting to be delivered, oldest first */
    uint64_t now_us;
    char **problems; /* unrecorded calls, bodies that differ: each fails the case */
    size_t nproblems;
} bff_st_replay_t;

extern const bff_fetch_ops_t bff_st_replay_ops;

void bff_st_replay_init(bff_st_replay_t *r, const bff_profile_t *profile, bff_st_case_t *c);
/** Delivers the waiting answers until none is left (callbacks may add more). */
void bff_st_replay_drain(bff_st_replay_t *r);
/** Adds a problem (printf-style). */
void bff_st_replay_problem(bff_st_replay_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void bff_st_replay_dispose(bff_st_replay_t *r);

#endif
