/* A GraphQL query's background refresh (graphql_refresh.h). */
#include "server/stage/graphql_refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/cache/entry.h"
#include "server/stage/cache_internal.h"

typedef struct st_gql_job_t {
    bff_cache_refresh_t *f;
    bff_gql_run_conf_t conf; /* its strings and lines owned here */
    char **lines;
    bff_gql_cached_t *doc;
    char type[64];
    bff_gql_run_t *run;
} gql_job_t;

static void on_done(void *data, bff_gql_run_t *run)
{
    gql_job_t *j = data;
    bff_cache_refresh_t *f = j->f;
    bff_jwrite_t w;
    bff_jwrite_init(&w, 4096, (size_t)64 << 20);
    bff_gql_run_write(run, &w);
    char *blob = NULL;
    size_t len = 0;
    if (bff_jwrite_done(&w) == 0 && bff_gql_run_error_count(run) == 0) {
        int max_age;
        unsigned flags;
        bff_gql_run_cache_hints(run, &max_age, &flags);
        blob = bff_cache_i_build(&j->conf.graph->cache, f->per_principal, 200,
                                 h2o_iovec_init(j->type, strlen(j->type)),
                                 h2o_iovec_init(w.buf, w.len), h2o_iovec_init(NULL, 0), 1, max_age,
                                 flags, h2o_iovec_init(NULL, 0), &len);
    }
    bff_jwrite_dispose(&w);
    if (blob != NULL) {
        bff_cache_entry_t e;
        bff_cache_entry_decode(blob, len, &e);
        bff_cache_put(f->cache, f->key, blob, len, &e, f->purges);
    }
    bff_cache_i_refresh_done(f, blob, len);
    free(blob);
}

static int start(bff_cache_refresh_t *f, void *job)
{
    gql_job_t *j = job;
    j->f = f;
    j->conf.ops = &bff_cache_refresh_fetch_ops;
    j->conf.host = f;
    j->conf.on_done = on_done;
    j->conf.data = j;
    if ((j->run = bff_gql_run_create(&j->conf)) == NULL)
        return -1;
    bff_gql_run_start(j->run); /* may finish at once */
    return 0;
}

static void expire(void *job)
{
    gql_job_t *j = job;
    bff_gql_run_expire(j->run);
}

static void dispose(void *job)
{
    gql_job_t *j = job;
    if (j->run != NULL)
        bff_gql_run_destroy(j->run);
    for (size_t i = 0; i != j->conf.ncall_headers; ++i)
        free(j->lines[i]);
    free(j->lines);
    free((char *)j->conf.variables);
    free((char *)j->conf.headers);
    free((char *)j->conf.auth);
    free((char *)j->conf.scopes);
    bff_gql_cache_release(j->doc);
    free(j);
}

static const bff_cache_refresh_ops_t ops = {start, expire, dispose};

static char *copy(const char *s, size_t len)
{
    return s != NULL ? bff_strndup(s, len) : NULL;
}

void bff_gql_refresh(bff_req_t *r, bff_cache_t *cache, const unsigned char key[32],
                     int per_principal, uint64_t timeout_ms, const bff_gql_run_conf_t *conf,
                     bff_gql_cached_t *doc, h2o_iovec_t type)
{
    gql_job_t *j = bff_calloc(1, sizeof(*j));
    j->conf = *conf;
    j->conf.variables = copy(conf->variables, conf->variables_len);
    j->conf.headers = copy(conf->headers, conf->headers_len);
    j->conf.auth = copy(conf->auth, conf->auth_len);
    j->conf.scopes = copy(conf->scopes, conf->scopes_len);
    j->lines = bff_calloc(conf->ncall_headers + 1, sizeof(char *));
    for (size_t i = 0; i != conf->ncall_headers; ++i)
        j->lines[i] = bff_strdup(conf->call_headers[i]);
    j->conf.call_headers = (const char *const *)j->lines;
    j->doc = doc;
    snprintf(j->type, sizeof(j->type), "%.*s", (int)type.len, type.base);
    bff_cache_i_refresh_job(r, cache, key, per_principal, timeout_ms, &ops, j);
}
