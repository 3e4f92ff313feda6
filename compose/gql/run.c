/* A GraphQL operation's calls and life cycle (run.h); the walk over the selection is walk.c. */
#include "compose/gql/run_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cache_policy.h"
#include "compose/errors.h"
#include "compose/mem.h"

const char bff_gql_err_call_limit[] = "call limit";

static uint64_t hash_key(const bff_gql_resolver_t *res, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)res;
    for (size_t i = 0; i != len; ++i)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static void table_insert(bff_gql_run_t *run, gql_call_t *c)
{
    if ((run->ncalls + 1) * 2 > run->table_cap) {
        size_t cap = run->table_cap ? run->table_cap * 2 : 64;
        gql_call_t **t = bff_calloc(cap, sizeof(*t));
        for (size_t i = 0; i != run->table_cap; ++i) {
            gql_call_t *e = run->table[i];
            if (e == NULL)
                continue;
            size_t j = (size_t)e->hash & (cap - 1);
            while (t[j] != NULL)
                j = (j + 1) & (cap - 1);
            t[j] = e;
        }
        free(run->table);
        run->table = t;
        run->table_cap = cap;
    }
    size_t j = (size_t)c->hash & (run->table_cap - 1);
    while (run->table[j] != NULL)
        j = (j + 1) & (run->table_cap - 1);
    run->table[j] = c;
    ++run->ncalls;
}

/* The call's value from its materialized JSON (NULL = null). */
void bff_gql_call_set_value(gql_call_t *c, const char *json, size_t len)
{
    if (json == NULL)
        return;
    c->json = bff_malloc(len ? len : 1);
    memcpy(c->json, json, len);
    c->len = len;
    if (bff_jdoc_scan(&c->doc, c->json, c->len, 0, BFF_JDOC_MAX_DEPTH, NULL, NULL) != 0) {
        free(c->json); /* a shape writes valid JSON; should it not, the value is null */
        c->json = NULL;
        c->len = 0;
    }
}

int bff_gql_exec_settle(bff_gql_run_t *run, const bff_gql_resolver_t *res, unsigned parents,
                        bff_exec_t *exec, const char **err, long *status, char *detail,
                        size_t detail_size)
{
    const bff_source_outcome_t *o = bff_exec_outcome(exec, 0);
    if (run->nrecords == run->records_cap) {
        run->records_cap = run->records_cap ? run->records_cap * 2 : 8;
        run->records = bff_realloc(run->records, run->records_cap * sizeof(*run->records));
    }
    bff_gql_call_record_t *rec = run->records + run->nrecords++;
    *rec = (bff_gql_call_record_t){.resolver = res->name,
                                   .upstream = res->plan.sources[0].upstream,
                                   .started_us = o->started_us,
                                   .duration_us = o->duration_us,
                                   .status = o->status,
                                   .err = o->state == BFF_SRC_FAILED ? o->err : NULL,
                                   .parents = parents};
    bff_exec_call_stats(exec, 0, &rec->stats);
    int max_age;
    unsigned flags;
    bff_exec_cache_hints(exec, &max_age, &flags);
    if ((flags & BFF_CC_MAX_AGE) != 0 &&
        ((run->cache_flags & BFF_CC_MAX_AGE) == 0 || max_age < run->cache_max_age))
        run->cache_max_age = max_age;
    run->cache_flags |= flags;
    *status = o->status;
    if (bff_exec_state(exec) == BFF_EXEC_COMPLETE)
        return 0;
    if (o->respond_status == 404 || o->status == 404)
        return 1; /* not found: for a field, null (GraphQL has no 404), not an error */
    *err = o->err != NULL ? o->err : bff_err_upstream_transport;
    snprintf(detail, detail_size, "%s", o->detail);
    return -1;
}

/* A for-each source that lost items (but not all): what the walk reports for them. */
static void note_lost_items(gql_call_t *c, bff_exec_t *exec)
{
    c->left_out = bff_exec_items_left_out(exec, 0);
    const bff_source_outcome_t *o = bff_exec_outcome(exec, 0);
    if (o->err != bff_err_partial)
        return;
    if (c->res->value != NULL) { /* the items' places in the value are not known */
        snprintf(c->partial, sizeof(c->partial), "%s", o->detail);
        return;
    }
    bff_exec_item_failure_t f[64];
    size_t n = bff_exec_failed_items(exec, 0, f, 64);
    n = n < 64 ? n : 64; /* the errors list is bounded anyway */
    c->failures = bff_calloc(n ? n : 1, sizeof(*c->failures));
    for (size_t i = 0; i != n; ++i) {
        c->failures[i] =
            (gql_item_failure_t){.index = f[i].index, .err = f[i].err, .status = f[i].status};
        snprintf(c->failures[i].detail, sizeof(c->failures[i].detail), "%s", f[i].detail);
    }
    c->nfailures = n;
}

static void on_exec_done(void *data, bff_exec_t *exec)
{
    gql_call_t *c = data;
    bff_gql_run_t *run = c->run;
    c->upstream = c->res->plan.sources[0].upstream;
    int settled = bff_gql_exec_settle(run, c->res, 1, exec, &c->err, &c->status, c->detail,
                                      sizeof(c->detail));
    if (settled < 0) {
        ++run->failed;
    } else if (settled == 0) {
        note_lost_items(c, exec);
        bff_shape_env_t env = bff_exec_env(exec);
        if (c->res->value != NULL) {
            bff_jwrite_t w;
            bff_jwrite_init(&w, 1024, (size_t)64 << 20);
            bff_shape_eval(c->res->value, &env, &w);
            if (bff_jwrite_done(&w) == 0)
                bff_gql_call_set_value(c, w.buf, w.len);
            bff_jwrite_dispose(&w);
        } else if (env.source_docs[0] != NULL) {
            size_t len;
            const char *raw = bff_jdoc_raw(env.source_docs[0], env.source_roots[0], &len);
            bff_gql_call_set_value(c, raw, len);
        }
    }
    c->state = GQL_CALL_DONE;
    c->exec = NULL;
    bff_exec_destroy(exec);
    --run->running;
    run->dirty = 1;
    bff_gql_run_settle(run);
}

static void launch(bff_gql_run_t *run, gql_call_t *c)
{
    bff_exec_conf_t conf = {.plan = &c->res->plan,
                            .request_doc = c->key,
                            .request_doc_len = c->keylen,
                            .headers = (const char *const *)run->call_headers,
                            .nheaders = run->conf.ncall_headers,
                            .ops = run->conf.ops,
                            .host = run->conf.host,
                            .on_done = on_exec_done,
                            .data = c};
    c->state = GQL_CALL_RUNNING;
    ++run->running;
    c->exec = bff_exec_create(&conf);
    if (c->exec == NULL) { /* the key is JSON we wrote: only a bug gets here */
        c->state = GQL_CALL_DONE;
        c->err = bff_err_bad_request;
        snprintf(c->detail, sizeof(c->detail), "the call could not be built");
        --run->running;
        ++run->failed;
        return;
    }
    bff_exec_start(c->exec); /* may complete at once (breaker open, no time left) */
}

static void pump_queue(bff_gql_run_t *run)
{
    while (run->queue_head != run->nqueue && run->running < run->conf.graph->concurrency) {
        gql_call_t *c = run->queue[run->queue_head++];
        launch(run, c);
    }
}

void bff_gql_call_fail(bff_gql_run_t *run, gql_call_t *c, const char *err, const char *detail)
{
    c->state = GQL_CALL_DONE;
    c->err = err;
    snprintf(c->detail, sizeof(c->detail), "%s", detail);
    ++run->failed;
}

gql_call_t *bff_gql_call_get(bff_gql_run_t *run, const bff_gql_resolver_t *res, const char *key,
                             size_t keylen)
{
    uint64_t h = hash_key(res, key, keylen);
    if (run->table_cap != 0) {
        size_t j = (size_t)h & (run->table_cap - 1);
        for (gql_call_t *e; (e = run->table[j]) != NULL; j = (j + 1) & (run->table_cap - 1))
            if (e->hash == h && e->res == res && e->keylen == keylen &&
                memcmp(e->key, key, keylen) == 0)
                return e;
    }
    gql_call_t *c = bff_calloc(1, sizeof(*c));
    c->res = res;
    c->run = run;
    c->key = bff_malloc(keylen + 1);
    memcpy(c->key, key, keylen);
    c->key[keylen] = '\0';
    c->keylen = keylen;
    c->hash = h;
    table_insert(run, c);
    if (res->kind == BFF_GQL_RESOLVE_VALUE) {
        /* Computed from the key's `args` and `parent`: no call. */
        bff_jdoc_t req = {0};
        if (bff_jdoc_scan(&req, c->key, c->keylen, 0, BFF_JDOC_MAX_DEPTH, NULL, NULL) == 0) {
            bff_shape_env_t env = {.request_doc = &req};
            bff_jwrite_t w;
            bff_jwrite_init(&w, 256, (size_t)64 << 20);
            bff_shape_eval(res->value, &env, &w);
            if (bff_jwrite_done(&w) == 0)
                bff_gql_call_set_value(c, w.buf, w.len);
            bff_jwrite_dispose(&w);
        }
        bff_jdoc_dispose(&req);
        c->state = GQL_CALL_DONE;
        return c;
    }
    c->counted = 1;
    if (run->expired) {
        bff_gql_call_fail(run, c, bff_err_upstream_timeout, "the operation's deadline passed");
        return c;
    }
    if (res->batch_key != NULL) { /* counted per batch when the pass ends */
        bff_gql_batch_wait(run, c);
        return c;
    }
    if (run->made >= run->conf.graph->max_calls) {
        bff_gql_call_fail(run, c, bff_gql_err_call_limit,
                          "the operation needs more upstream calls "
                          "than this endpoint allows");
        return c;
    }
    ++run->made;
    c->state = GQL_CALL_QUEUED;
    if (run->nqueue == run->queue_cap) {
        run->queue_cap = run->queue_cap ? run->queue_cap * 2 : 16;
        run->queue = bff_realloc(run->queue, run->queue_cap * sizeof(*run->queue));
    }
    run->queue[run->nqueue++] = c;
    pump_queue(run);
    return c;
}

/* Plans until stable: each pass may start calls whose inputs a previous pass made ready
 * (computed values land at once); calls landing during a pass ask for another. */
void bff_gql_run_settle(bff_gql_run_t *run)
{
    if (run->walking || run->done)
        return;
    run->walking = 1;
    int pending;
    do {
        do {
            run->dirty = 0;
            pump_queue(run);
            pending = bff_gql_walk(run, NULL);
        } while (run->dirty);
        /* The pass has met every parent it can see: their batched calls go out together. */
    } while (bff_gql_batch_flush(run) && run->dirty);
    run->walking = 0;
    if (pending || run->running != 0 || run->queue_head != run->nqueue)
        return;
    run->done = 1;
    run->conf.on_done(run->conf.data, run);
}

bff_gql_run_t *bff_gql_run_create(const bff_gql_run_conf_t *conf)
{
    bff_gql_run_t *run = bff_calloc(1, sizeof(*run));
    run->conf = *conf;
    run->variables = bff_malloc(conf->variables_len + 1);
    memcpy(run->variables, conf->variables, conf->variables_len);
    run->variables[conf->variables_len] = '\0';
    if (bff_jdoc_scan(&run->vars, run->variables, conf->variables_len, 0, BFF_JDOC_MAX_DEPTH, NULL,
                      NULL) != 0 ||
        run->vars.toks[0].type != BFF_J_OBJECT) {
        bff_jdoc_dispose(&run->vars);
        free(run->variables);
        free(run);
        return NULL;
    }
    const char *headers = conf->headers != NULL ? conf->headers : "{}";
    size_t hlen = conf->headers != NULL ? conf->headers_len : 2;
    run->headers = bff_strndup(headers, hlen);
    run->headers_len = hlen;
    if (conf->auth != NULL) {
        run->auth = bff_strndup(conf->auth, conf->auth_len);
        run->auth_len = conf->auth_len;
    }
    run->scopes = bff_strndup(conf->scopes != NULL ? conf->scopes : "", conf->scopes_len);
    run->conf.scopes = NULL;
    run->call_headers = bff_calloc(conf->ncall_headers + 1, sizeof(char *));
    for (size_t i = 0; i != conf->ncall_headers; ++i)
        run->call_headers[i] = bff_strdup(conf->call_headers[i]);
    run->conf.call_headers = NULL;
    run->conf.variables = run->conf.headers = NULL;
    return run;
}

void bff_gql_run_start(bff_gql_run_t *run)
{
    bff_gql_run_settle(run);
}

void bff_gql_run_expire(bff_gql_run_t *run)
{
    if (run->done)
        return;
    run->expired = 1;
    run->walking = 1; /* the execs' on_done calls below must not walk yet */
    for (size_t i = 0; i != run->table_cap; ++i) {
        gql_call_t *c = run->table[i];
        if (c == NULL)
            continue;
        if (c->state == GQL_CALL_QUEUED)
            bff_gql_call_fail(run, c, bff_err_upstream_timeout, "the operation's deadline passed");
        else if (c->state == GQL_CALL_RUNNING && c->exec != NULL)
            bff_exec_expire(c->exec, "the operation's deadline passed");
    }
    bff_gql_batch_expire(run);
    run->nbatch_wait = 0;
    run->queue_head = run->nqueue;
    run->walking = 0;
    bff_gql_run_settle(run);
}

void bff_gql_run_destroy(bff_gql_run_t *run)
{
    if (run == NULL)
        return;
    for (size_t i = 0; i != run->table_cap; ++i) {
        gql_call_t *c = run->table[i];
        if (c == NULL)
            continue;
        if (c->exec != NULL)
            bff_exec_destroy(c->exec);
        bff_jdoc_dispose(&c->doc);
        free(c->json);
        free(c->failures);
        free(c->key);
        free(c);
    }
    bff_gql_batch_destroy_all(run);
    free(run->table);
    free(run->queue);
    free(run->batch_wait);
    free(run->records);
    for (size_t i = 0; i != run->nerrors; ++i)
        free(run->errors[i].json);
    free(run->errors);
    for (size_t i = 0; i != run->conf.ncall_headers; ++i)
        free(run->call_headers[i]);
    free(run->call_headers);
    bff_jdoc_dispose(&run->introspection);
    bff_jdoc_dispose(&run->vars);
    free(run->variables);
    free(run->headers);
    free(run->auth);
    free(run->scopes);
    free(run);
}

void bff_gql_run_cache_hints(const bff_gql_run_t *run, int *max_age_s, unsigned *flags)
{
    *max_age_s = run->cache_flags & BFF_CC_MAX_AGE ? run->cache_max_age : -1;
    *flags = run->cache_flags;
}

const bff_gql_call_record_t *bff_gql_run_records(const bff_gql_run_t *run, size_t *n)
{
    *n = run->nrecords;
    return run->records;
}

size_t bff_gql_run_error_count(const bff_gql_run_t *run)
{
    return run->nerrors;
}

size_t bff_gql_run_calls(const bff_gql_run_t *run, size_t *failed)
{
    if (failed != NULL)
        *failed = run->failed;
    return run->made;
}

/* ---- errors ---- */

static void write_path(bff_gql_run_t *run, bff_jwrite_t *w)
{
    if (run->depth == 0) /* not a field's error (graphql-js leaves the path out too) */
        return;
    bff_jwrite_key(w, "path", 4);
    bff_jwrite_open(w, '[');
    for (unsigned i = 0; i != run->depth; ++i) {
        if (run->path[i].key != NULL)
            bff_jwrite_str(w, run->path[i].key, strlen(run->path[i].key));
        else
            bff_jwrite_int(w, (int64_t)run->path[i].index);
    }
    bff_jwrite_close(w, ']');
}

void bff_gql_run_error(bff_gql_run_t *run, const bff_gql_loc_t *loc, const char *code,
                       const gql_call_t *call, const char *fmt, ...)
{
    if (run->nerrors >= 1000) /* a list of 10,000 failing items needs no 10,000 errors */
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bff_jwrite_t w;
    bff_jwrite_init(&w, 256, 1 << 20);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "message", 7);
    bff_jwrite_str(&w, msg, strlen(msg));
    if (loc != NULL) {
        bff_jwrite_key(&w, "locations", 9);
        bff_jwrite_open(&w, '[');
        bff_jwrite_open(&w, '{');
        bff_jwrite_key(&w, "line", 4);
        bff_jwrite_int(&w, loc->line);
        bff_jwrite_key(&w, "column", 6);
        bff_jwrite_int(&w, loc->column);
        bff_jwrite_close(&w, '}');
        bff_jwrite_close(&w, ']');
    }
    write_path(run, &w);
    bff_jwrite_key(&w, "extensions", 10);
    bff_jwrite_open(&w, '{');
    bff_jwrite_key(&w, "code", 4);
    bff_jwrite_str(&w, code, strlen(code));
    if (call != NULL) {
        bff_jwrite_key(&w, "source", 6);
        bff_jwrite_str(&w, call->res->name, strlen(call->res->name));
        const char *reason = run->conf.safe_errors ? bff_err_safe_code(call->err) : call->err;
        bff_jwrite_key(&w, "reason", 6);
        bff_jwrite_str(&w, reason, strlen(reason));
        if (call->status != 0) {
            bff_jwrite_key(&w, "status", 6);
            bff_jwrite_int(&w, call->status);
        }
    }
    bff_jwrite_close(&w, '}');
    bff_jwrite_close(&w, '}');
    if (bff_jwrite_done(&w) == 0) {
        if (run->nerrors == run->errors_cap) {
            run->errors_cap = run->errors_cap ? run->errors_cap * 2 : 8;
            run->errors = bff_realloc(run->errors, run->errors_cap * sizeof(*run->errors));
        }
        run->errors[run->nerrors].json = bff_strndup(w.buf, w.len);
        run->errors[run->nerrors++].len = w.len;
    }
    bff_jwrite_dispose(&w);
}

void bff_gql_run_write(bff_gql_run_t *run, bff_jwrite_t *out)
{
    bff_jwrite_open(out, '{');
    bff_jwrite_key(out, "data", 4);
    bff_gql_walk(run, out);
    if (run->nerrors != 0) {
        bff_jwrite_key(out, "errors", 6);
        bff_jwrite_open(out, '[');
        for (size_t i = 0; i != run->nerrors; ++i)
            bff_jwrite_raw(out, run->errors[i].json, run->errors[i].len);
        bff_jwrite_close(out, ']');
    }
    bff_jwrite_close(out, '}');
}
