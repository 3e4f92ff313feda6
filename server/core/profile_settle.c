/* The profile loader's last step (profile_settle.h): endpoints, sources and the graph meet the
 * profile's cache, auth and rate-limit blocks once everything is loaded. */
#include "compose/file.h"
#include "server/core/profile_settle.h"

#include <stdio.h>
#include <string.h>

#include "server/core/digest.h"

/* Adds a file's bytes to a digest: its content, not its path, so every instance deployed from
 * the same files computes the same keys (a file that cannot be read adds nothing: it was read
 * moments ago, so the loader reported any problem). */
static void digest_file(bff_sha256_t *h, const char *path)
{
    bff_sha256_add(h, "\n--\n", 4);
    FILE *f = bff_fopen_regular(path, NULL);
    if (f == NULL)
        return;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) != 0)
        bff_sha256_add(h, buf, n);
    fclose(f);
}

/* An endpoint's (or the graph's) auth and rate_limit need the profile's blocks and plans. */
static int check_access(bff_diag_t *diag, const bff_profile_t *p, const bff_access_t *a,
                        const char *file, unsigned line, unsigned column)
{
    int ret = 0;
    if (a->auth != BFF_AUTH_NONE && !p->auth.present) {
        bff_diag_add(diag, file, line, column,
                     "auth: %s needs an 'auth' block in profile.yaml (jwt or api_keys)",
                     a->auth == BFF_AUTH_REQUIRED ? "required" : "optional");
        ret = -1;
    }
    if (a->rate_limited && !p->rate.present) {
        bff_diag_add(diag, file, line, column,
                     "rate_limit needs a 'rate_limits' block with plans in profile.yaml");
        ret = -1;
    } else if (a->rate_plan != NULL && bff_rate_conf_plan(&p->rate, a->rate_plan) == NULL) {
        bff_diag_add(diag, file, line, column, "rate_limit: no plan named '%s' in profile.yaml",
                     a->rate_plan);
        ret = -1;
    }
    return ret;
}

static int settle_access(bff_diag_t *diag, bff_profile_t *p)
{
    int ret = 0;
    for (size_t i = 0; i != p->nendpoints; ++i)
        ret |= check_access(diag, p, &p->endpoints[i]->access, p->endpoints[i]->file,
                            p->endpoints[i]->line, p->endpoints[i]->column);
    if (p->graph != NULL) {
        ret |= check_access(diag, p, &p->graph->access, p->graph->file, 0, 0);
        if (p->graph->reads_auth && p->graph->access.auth == BFF_AUTH_NONE) {
            bff_diag_add(diag, p->graph->file, 0, 0,
                         "a resolver reads auth.* but graph.yaml has no 'auth: required' (or "
                         "optional)");
            ret = -1;
        }
        if (p->graph->has_guards && p->graph->access.auth == BFF_AUTH_NONE) {
            bff_diag_add(diag, p->graph->file, 0, 0,
                         "a field has scopes or 'auth: required' but graph.yaml has no "
                         "'auth: optional' (or required): no request would have a principal");
            ret = -1;
        }
    }
    for (size_t i = 0; i != p->auth.napi_keys; ++i)
        if (p->auth.api_keys[i].plan != NULL &&
            bff_rate_conf_plan(&p->rate, p->auth.api_keys[i].plan) == NULL) {
            bff_diag_add(diag, p->dir, 0, 0, "API key '%s' has plan '%s', which rate_limits lacks",
                         p->auth.api_keys[i].name, p->auth.api_keys[i].plan);
            ret = -1;
        }
    return ret;
}

/* Sources with `cache:` take the profile's default ttl, and need its cache block. */
static int settle_sources(bff_diag_t *diag, bff_profile_t *p, bff_plan_t *plan)
{
    int ret = 0;
    for (size_t s = 0; s != plan->nsources; ++s) {
        bff_source_t *src = plan->sources + s;
        if (src->cache.enabled && !p->cache.present) {
            bff_diag_add(diag, src->file, src->line, src->column,
                         "source '%s' asks for caching but profile.yaml has no 'cache' block "
                         "(add 'cache: {}' for the in-process cache alone)",
                         src->name);
            ret = -1;
        }
        bff_cache_conf_apply_defaults(&p->cache, &src->cache);
    }
    return ret;
}

/* Endpoint cache policies take the profile's defaults, and each endpoint's digest covers the
 * profile's name and the endpoint's file (its sources and shape): a changed spec never meets
 * its old entries, while instances of one deployment (whose profile.yaml may differ in
 * listen addresses or upstream URLs) share theirs. Caching an endpoint needs the profile's
 * cache block. */
static int settle_cache_policies(bff_diag_t *diag, bff_profile_t *p)
{
    int ret = 0;
    for (size_t i = 0; i != p->nendpoints; ++i) {
        bff_spec_t *spec = p->endpoints[i];
        if (spec->cache.enabled && !p->cache.present) {
            bff_diag_add(diag, spec->file, spec->line, spec->column,
                         "the endpoint asks for caching but profile.yaml has no 'cache' block "
                         "(add 'cache: {}' for the in-process cache alone)");
            ret = -1;
        }
        bff_cache_conf_apply_defaults(&p->cache, &spec->cache);
        ret |= settle_sources(diag, p, &spec->plan);
        bff_sha256_t h;
        bff_sha256_begin(&h);
        bff_sha256_add(&h, p->name, strlen(p->name) + 1);
        digest_file(&h, spec->file);
        bff_sha256_end(&h, spec->digest);
    }
    if (p->graph != NULL) {
        for (size_t i = 0; i != p->graph->nresolvers; ++i)
            if (p->graph->resolvers[i].kind == BFF_GQL_RESOLVE_SOURCE)
                ret |= settle_sources(diag, p, &p->graph->resolvers[i].plan);
        if (p->graph->cache.enabled && !p->cache.present) {
            bff_diag_add(diag, p->graph->file, 0, 0,
                         "graph.yaml asks for caching but profile.yaml has no 'cache' block");
            ret = -1;
        }
        bff_cache_conf_apply_defaults(&p->cache, &p->graph->cache);
        /* graph.yaml and its schema shape every answer */
        bff_sha256_t h;
        bff_sha256_begin(&h);
        bff_sha256_add(&h, p->name, strlen(p->name) + 1);
        digest_file(&h, p->graph->file);
        bff_sha256_add(&h, p->graph->introspection_json, p->graph->introspection_len);
        bff_sha256_end(&h, p->graph->digest);
    }
    return ret;
}

int bff_profile_settle(bff_diag_t *diag, bff_profile_t *p)
{
    return settle_cache_policies(diag, p) | settle_access(diag, p);
}
