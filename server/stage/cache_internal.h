/* Shared by the cache stage (cache.c) and its background refresh (cache_refresh.c). */
#ifndef BFF_SERVER_STAGE_CACHE_INTERNAL_H
#define BFF_SERVER_STAGE_CACHE_INTERNAL_H

#include "compose/exec.h"
#include "server/cache/cache.h"
#include "server/auth/upstream_auth.h"
#include "server/http/request.h"

/** The entry blob for a composed answer (malloc'ed; NULL when it must not be stored: not a
 * 200, a source failed, or an upstream's Cache-Control forbids it). `validators` (may be
 * empty) lets it be revalidated when the policy says so (cache_validators.h). */
char *bff_cache_i_build(const bff_cache_policy_t *policy, int per_principal, int status,
                        h2o_iovec_t type, h2o_iovec_t body, h2o_iovec_t tags, int whole,
                        int max_age, unsigned flags, h2o_iovec_t validators, size_t *len);
/** The endpoint's cache tags rendered from a finished run, newline-separated, into `buf`
 * (a tag that renders empty, too long or with a line break is left out). Returns the length. */
size_t bff_cache_i_tags(const bff_spec_t *spec, const bff_exec_t *exec, char *buf, size_t size);
#define BFF_CACHE_TAGS_MAX 4096
/** Stores the answer of a finished run of `spec` under `key` when it may be stored (a whole
 * 200 the upstreams allow). Returns the blob (malloc'ed) or NULL. */
char *bff_cache_i_store_run(bff_cache_t *cache, uint64_t since, const unsigned char key[32],
                            int per_principal, const bff_profile_t *profile, const bff_spec_t *spec,
                            const bff_exec_t *exec, size_t *len);
/** Refreshes `key` in the background from request `r`'s endpoint and doc (stale-while-
 * revalidate): at most one refresh per key on this worker, and with Redis, per key across
 * instances. */
void bff_cache_i_refresh(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                         int per_principal);

/* A background refresh and the job it runs (a REST plan, a GraphQL query). */
typedef struct st_bff_cache_refresh_t bff_cache_refresh_t;
typedef struct st_bff_cache_refresh_ops_t {
    /* Starts the job's run, which ends with bff_cache_i_refresh_done (maybe at once). Returns
     * 0, or -1 when nothing started (the refresh then ends itself). */
    int (*start)(bff_cache_refresh_t *f, void *job);
    void (*expire)(void *job);  /* the deadline passed: end the run now */
    void (*dispose)(void *job); /* the refresh is over (or never ran) */
} bff_cache_refresh_ops_t;

struct st_bff_cache_refresh_t {
    bff_conf_view_t *view; /* retained */
    bff_cache_t *cache;    /* view->caches[site] */
    bff_worker_t *worker;
    size_t site;
    unsigned char key[32];
    int per_principal;
    uint64_t purges; /* bff_cache_purges when the refresh began */
    uint64_t timeout_ms;
    uint64_t deadline_at; /* loop time (ms) */
    bff_timer_t deadline;
    bff_cache_fill_t *fill;
    void *lock;
    const bff_cache_refresh_ops_t *ops;
    void *job;
    /* Copies of the principal's: its claim header lines, and what relay/translation needs. */
    char **claim_lines;
    size_t nclaim_lines;
    bff_call_identity_t id;
};

/** Fetches on the refresh's view (host = the bff_cache_refresh_t), bounded by its deadline. */
extern const bff_fetch_ops_t bff_cache_refresh_fetch_ops;
/** Runs `job` to refresh `key` unless this worker composes it already or, with Redis, another
 * instance holds its lock (then the job is disposed at once). */
void bff_cache_i_refresh_job(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                             int per_principal, uint64_t timeout_ms,
                             const bff_cache_refresh_ops_t *ops, void *job);
/** The job's run ended; `blob` is the entry it stored (NULL: none). Frees the refresh. */
void bff_cache_i_refresh_done(bff_cache_refresh_t *f, const char *blob, size_t len);

#endif
