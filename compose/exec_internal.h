/* The executor's insides, shared by exec.c (the run, calls, single sources) and exec_items.c
 * (for-each and batch sources). Nothing outside the executor includes this. */
#ifndef BFF_COMPOSE_EXEC_INTERNAL_H
#define BFF_COMPOSE_EXEC_INTERNAL_H

#include "compose/exec.h"

#define EXEC_MAGIC 0xb1ffe4ecu
#define MAX_UPSTREAM_TOKENS (1u << 20)
#define MAX_ITEMS 1000       /* the spec loader caps for_each/batch `max` at this */
#define MAX_COMMON_HEADERS 4 /* the run's own lines: request id, trace context */
#define MAX_HEADER_LINES 32  /* a source's own header lines */

/* One upstream exchange; several sources or items may wait on the same one (coalescing). */
typedef struct st_call_rec_t {
    char *key; /* upstream \n method \n path \n headers \n body */
    void *call;
    struct st_call_ctx_t *ctx; /* the callback's context while `call` runs */
    int done;
    const char *err;
    long status;
    char *body;
    size_t body_len;
    uint64_t duration_us;
    char detail[160];
    char log_detail[200];
    char *headers_json;
    char content_type[64];
    int retry_after;
    unsigned attempts;
    int from_cache;
} call_rec_t;

typedef struct st_call_ctx_t {
    bff_exec_t *exec;
    size_t rec;
} call_ctx_t;

typedef struct st_src_run_t {
    size_t *recs; /* call records: one, one per for-each item (SIZE_MAX: not started) or one per
                     batch chunk */
    size_t nrecs, next_item, inflight, pending;
    char *combined; /* for-each: "[item0,item1,...]"; batch in chunks: the chunks merged */
    size_t *failed; /* for-each: the indexes of the items that failed (null in `combined`) */
    size_t nfailed;
    size_t left_out; /* for-each: items past `max`, never called */
    bff_jdoc_t doc;
    char *meta_json; /* {"$status": N, "$headers": {...}}, when the plan reads them */
    bff_jdoc_t meta;
} src_run_t;

struct st_bff_exec_t {
    uint32_t magic;
    bff_exec_conf_t conf;
    const bff_plan_t *plan;
    size_t nsources; /* the plan's, kept so that destroy never reads the plan */
    char *reqdoc_json;
    bff_jdoc_t reqdoc;
    char **headers;
    size_t nheaders;
    bff_source_outcome_t *out;
    src_run_t *src;
    const bff_jdoc_t **docs;
    uint32_t *roots;
    const bff_jdoc_t **meta;
    call_rec_t *recs;
    size_t nrecs, recs_cap;
    bff_exec_state_t state;
    int cache_max_age;    /* shortest Cache-Control max-age of the calls; -1 = none */
    unsigned cache_flags; /* BFF_CC_* any call's Cache-Control set */
    size_t failed_source;
};

/* Shared steps (exec.c). */
uint64_t bff_exec_i_now(bff_exec_t *exec);
bff_shape_env_t bff_exec_i_env(const bff_exec_t *exec, const bff_jdoc_t *item_doc,
                               uint32_t item_tok);
/** Renders and starts (or joins) one call for source `s`; returns the record index, or SIZE_MAX
 * with the source's detail set when the request cannot be built. */
size_t bff_exec_i_start_call(bff_exec_t *exec, size_t s, const bff_jdoc_t *item_doc,
                             uint32_t item_tok, int item_preencoded);
void bff_exec_i_fail(bff_exec_t *exec, size_t s, const char *err, long status, const char *detail);
int bff_exec_i_scan(bff_exec_t *exec, size_t s, const char *body, size_t len, long status);
/** What a record's answer reads as: no body (HEAD, 204, or empty) is null. */
void bff_exec_i_body_of(const call_rec_t *cr, const char **body, size_t *len);
int bff_exec_i_content_type_ok(const bff_source_t *src, const call_rec_t *cr);
/** A source completes with the single record recs[0]. */
void bff_exec_i_complete_single(bff_exec_t *exec, size_t s);

/* Iterating sources (exec_items.c). */
/** Starts a FOR_EACH or BATCH source whose list is there. */
void bff_exec_i_start_items(bff_exec_t *exec, size_t s);
/** A record of such a source came back: more items start, or the source completes. */
void bff_exec_i_items_progress(bff_exec_t *exec, size_t s);

#endif
