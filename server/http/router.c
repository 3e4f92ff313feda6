/* Linear route matching; profiles have tens of routes, and a match costs a few memcmps. */
#include "server/http/router.h"

#include <stdio.h>
#include <string.h>

#include "server/http/respond.h"

static void append_allow(char *allow, size_t size, const char *method)
{
    if (strstr(allow, method) != NULL)
        return;
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

bff_route_result_t bff_router_match(const bff_profile_t *profile, h2o_iovec_t method,
                                    h2o_iovec_t path, h2o_mem_pool_t *pool,
                                    bff_route_match_t *match, char *allow, size_t allow_size)
{
    const bff_spec_t *best = NULL;
    size_t best_literals = 0;
    size_t values[BFF_SPEC_MAX_PATH_PARAMS][2], best_values[BFF_SPEC_MAX_PATH_PARAMS][2];
    allow[0] = '\0';
    /* HEAD is GET without the body (RFC 9110 9.3.2): it runs the GET endpoint. */
    if (h2o_memis(method.base, method.len, H2O_STRLIT("HEAD")))
        method = h2o_iovec_init(H2O_STRLIT("GET"));
    for (size_t i = 0; i != profile->nendpoints; ++i) {
        const bff_spec_t *spec = profile->endpoints[i];
        if (!bff_spec_match(spec, path.base, path.len, values))
            continue;
        if (!h2o_memis(method.base, method.len, spec->method, strlen(spec->method))) {
            append_allow(allow, allow_size, spec->method);
            if (strcmp(spec->method, "GET") == 0)
                append_allow(allow, allow_size, "HEAD");
            continue;
        }
        size_t literals = 0;
        for (size_t s = 0; s != spec->nsegments; ++s)
            literals += spec->segments[s].literal != NULL;
        if (best == NULL || literals > best_literals) {
            best = spec;
            best_literals = literals;
            memcpy(best_values, values, sizeof(values));
        }
    }
    if (best == NULL)
        return allow[0] != '\0' ? BFF_ROUTE_WRONG_METHOD : BFF_ROUTE_NOT_FOUND;
    size_t n = 0;
    for (size_t s = 0; s != best->nsegments; ++s)
        n += best->segments[s].literal == NULL;
    match->spec = best;
    match->nvalues = n;
    match->values = h2o_mem_alloc_pool(pool, (n ? n : 1) * sizeof(h2o_iovec_t));
    for (size_t i = 0; i != n; ++i)
        match->values[i] = h2o_strdup(pool, path.base + best_values[i][0], best_values[i][1]);
    return BFF_ROUTE_FOUND;
}

int bff_router_resolve(const bff_profile_t *profile, h2o_iovec_t method, h2o_iovec_t path,
                       h2o_mem_pool_t *pool, bff_route_match_t *match, bff_answer_t *a)
{
    char allow[128];
    switch (bff_router_match(profile, method, path, pool, match, allow, sizeof(allow))) {
    case BFF_ROUTE_FOUND:
        return 0;
    case BFF_ROUTE_WRONG_METHOD:
        bff_answer_add_header(a, H2O_STRLIT("allow"), allow, strlen(allow));
        bff_answer_error(a, 405, bff_code_method_not_allowed, "method not allowed for this route",
                         NULL);
        return -1;
    case BFF_ROUTE_NOT_FOUND:
        break;
    }
    bff_answer_error(a, 404, bff_code_not_found, "no route for this path", NULL);
    return -1;
}
