/* Runs one spec test case the way the server answers a request: the router, the request doc,
 * the executor (on recordings, replay.h) and the compose answer are the server's own
 * functions; auth, rate limits, caches and the debug view are not run (the case gives claims). */
#ifndef BFF_SERVER_SPECTEST_RUN_H
#define BFF_SERVER_SPECTEST_RUN_H

#include "server/spectest/case.h"

typedef struct st_bff_st_result_t {
    const char *skip; /* not run, and why; NULL = run */
    char **failures;  /* why the case failed; none = passed */
    size_t nfailures;
} bff_st_result_t;

/** Runs case `c` of `profile` (whose case file is `file`, for positions in failures). */
void bff_st_case_run(const bff_profile_t *profile, const char *file, bff_st_case_t *c,
                     bff_st_result_t *res);
void bff_st_result_dispose(bff_st_result_t *res);
/** Notes why the case failed. */
void bff_st_fail(bff_st_result_t *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
