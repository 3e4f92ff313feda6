/* Fuzzes what a client controls of a GraphQL-over-HTTP request before any document is parsed:
 * the query string of a GET, or the JSON body of a POST (one operation, or a batch read in one
 * scan), as the GraphQL stage reads them (server/stage/graphql_request.c). Input: its first
 * byte picks GET (even) or POST (odd), the rest is the query string or the body. Any crash,
 * leak, a status other than 0/400/415, or parameters that are not what their member said
 * (variables and extensions must be JSON objects) is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/json_scan.h"
#include "server/stage/graphql_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_be_object(h2o_iovec_t v)
{
    if (v.base == NULL)
        return;
    bff_jdoc_t d = {0};
    if (bff_jdoc_scan(&d, v.base, v.len, 0, 0, NULL, NULL) != 0 || d.toks[0].type != BFF_J_OBJECT)
        abort();
    bff_jdoc_dispose(&d);
}

static void check(const bff_gql_params_t *p)
{
    must_be_object(p->variables);
    must_be_object(p->extensions);
}

static void each(void *ctx, size_t i, int status, const bff_gql_params_t *p, const char *msg)
{
    (void)msg;
    if (i != (*(size_t *)ctx)++ || (status != 0 && status != 400))
        abort();
    if (status == 0)
        check(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    h2o_mem_init_pool(&req.pool);
    int post = data[0] & 1;
    char *path = NULL;
    if (post) {
        req.method = h2o_iovec_init(H2O_STRLIT("POST"));
        req.path = h2o_iovec_init(H2O_STRLIT("/graphql"));
        req.query_at = SIZE_MAX;
        req.entity = h2o_iovec_init(data + 1, size - 1);
        h2o_add_header(&req.pool, &req.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
    } else {
        path = malloc(size + 9);
        memcpy(path, "/graphql?", 9);
        memcpy(path + 9, data + 1, size - 1);
        req.method = h2o_iovec_init(H2O_STRLIT("GET"));
        req.path = h2o_iovec_init(path, size + 8);
        req.query_at = 8;
    }
    bff_gql_params_t p;
    size_t batch;
    char msg[256];
    int status = bff_gql_read_params(&req, -1, &batch, &p, msg, sizeof(msg));
    if (status != 0 && status != 400 && status != 415)
        abort();
    if (status == 0 && batch == 0)
        check(&p);
    if (status == 0 && batch != 0) {
        size_t seen = 0;
        if (bff_gql_read_batch(&req, each, &seen) != 0 || seen != batch)
            abort();
    }
    h2o_mem_clear_pool(&req.pool);
    free(path);
    return 0;
}
