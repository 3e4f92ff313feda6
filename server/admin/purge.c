/* POST /cache/purge: drops cached answers by tag (cache.tags of endpoints) or by path (the
 * entry a client without credentials would get for GET PATH). Each is removed from every
 * worker's L1 of this process, deleted in Redis, and announced on the profile's channel so
 * other instances drop their L1 copies too. The answer waits for Redis's replies, so when it
 * arrives the shared level no longer has the entries. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "compose/mem.h"
#include "server/admin/admin.h"
#include "server/cache/cache.h"
#include "server/core/digest.h"
#include "server/core/server.h"
#include "server/http/respond.h"
#include "server/http/router.h"
#include "server/stage/cache.h"

#define MAX_ITEMS 100

typedef struct st_purge_ref_t purge_ref_t;

typedef struct st_purge_t {
    h2o_req_t *req;        /* NULL once the client went away */
    purge_ref_t *ref;      /* in the request's pool; NULL once the client went away */
    bff_conf_view_t *view; /* retained: its caches serve the Redis commands */
    size_t pending;
    long long deleted;
    int redis_errors;
    json_t *purged, *unmatched;
} purge_t;

/* The request's link to the purge: whichever ends first unhooks the other. */
struct st_purge_ref_t {
    purge_t *p;
};

static void finish(purge_t *p)
{
    if (p->req != NULL) {
        json_t *out =
            json_pack("{s:O,s:O,s:{s:I,s:i}}", "purged", p->purged, "unmatched", p->unmatched,
                      "redis", "deleted", (json_int_t)p->deleted, "errors", p->redis_errors);
        char *text = json_dumps(out, JSON_COMPACT);
        bff_respond_json(p->req, 200, "OK", h2o_strdup(&p->req->pool, text, strlen(text)));
        free(text);
        json_decref(out);
    }
    if (p->ref != NULL)
        p->ref->p = NULL;
    json_decref(p->purged);
    json_decref(p->unmatched);
    bff_conf_view_release(p->view);
    free(p);
}

static void on_dispose(void *data)
{
    purge_ref_t *ref = data;
    if (ref->p != NULL) {
        ref->p->req = NULL;
        ref->p->ref = NULL;
    }
}

static void on_redis(void *data, long long deleted)
{
    purge_t *p = data;
    if (deleted < 0)
        ++p->redis_errors;
    else
        p->deleted += deleted;
    if (--p->pending == 0)
        finish(p);
}

/* Everywhere: this process's workers, Redis, the other instances. */
static void purge_one(bff_worker_t *w, purge_t *p, size_t site, char kind, const char *what)
{
    bff_cache_t *cache = p->view->caches[site];
    size_t len = strlen(what);
    bff_server_purge_local(w->server, site, kind, what, len);
    char msg[600];
    int n = snprintf(msg, sizeof(msg), "%s %c %s", w->server->instance_id, kind, what);
    if (n > 0 && (size_t)n < sizeof(msg))
        bff_cache_publish(cache, msg, (size_t)n);
    ++p->pending;
    if (bff_cache_l2_purge(cache, kind, what, len, on_redis, p) == NULL)
        --p->pending; /* no Redis, or not connected: nothing more to wait for */
}

/* The key of GET `path` on the profile, or -1 when no cached endpoint answers it. */
static int path_key(const bff_profile_t *profile, const char *path, h2o_mem_pool_t *pool,
                    char hex[65])
{
    const char *q = strchr(path, '?');
    h2o_iovec_t raw = h2o_iovec_init(path, q != NULL ? (size_t)(q - path) : strlen(path));
    h2o_iovec_t query = q != NULL ? h2o_iovec_init(q + 1, strlen(q + 1)) : h2o_iovec_init(NULL, 0);
    bff_route_match_t match;
    char allow[64];
    if (bff_router_match(profile, h2o_iovec_init(H2O_STRLIT("GET")), raw, pool, &match, allow,
                         sizeof(allow)) != BFF_ROUTE_FOUND ||
        !match.spec->cache.enabled)
        return -1;
    h2o_headers_t none = {NULL, 0, 0};
    unsigned char key[32];
    int per_principal;
    if (bff_cache_endpoint_key(match.spec, match.values, query, &none, h2o_iovec_init(NULL, 0),
                               pool, key, &per_principal) != 0)
        return -1;
    bff_hex32(key, hex);
    return 0;
}

static int string_list(json_t *v, size_t max_len)
{
    if (v == NULL)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > MAX_ITEMS)
        return -1;
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > max_len ||
            strchr(json_string_value(s), '\n') != NULL)
            return -1;
    }
    return 0;
}

void bff_admin_purge(bff_worker_t *w, h2o_req_t *req)
{
    json_error_t jerr;
    json_t *body = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    json_t *profile = body != NULL ? json_object_get(body, "profile") : NULL;
    json_t *tags = body != NULL ? json_object_get(body, "tags") : NULL;
    json_t *paths = body != NULL ? json_object_get(body, "paths") : NULL;
    if (!json_is_object(body) || (profile != NULL && !json_is_string(profile)) ||
        string_list(tags, 200) != 0 || string_list(paths, 2048) != 0 ||
        json_array_size(tags) + json_array_size(paths) == 0) {
        bff_respond_error(req, 400, bff_code_bad_body,
                          "the body is {\"profile\": NAME (optional), \"tags\": [TAG, ...], "
                          "\"paths\": [\"/path?query\", ...]}: at least one tag or path, at most "
                          "100 of each",
                          NULL);
        json_decref(body);
        return;
    }
    purge_t *p = bff_calloc(1, sizeof(*p));
    p->req = req;
    p->view = w->view;
    bff_conf_view_retain(p->view);
    p->purged = json_array();
    p->unmatched = json_array();
    purge_ref_t *ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), on_dispose);
    ref->p = p;
    p->ref = ref;
    size_t matched_profiles = 0;
    char path_matched[MAX_ITEMS] = {0};
    p->pending = 1; /* held until every command is started */
    for (size_t s = 0; s != p->view->config->nsites; ++s) {
        const bff_profile_t *prof = p->view->config->sites[s].profile;
        if (p->view->caches[s] == NULL ||
            (profile != NULL && strcmp(prof->name, json_string_value(profile)) != 0))
            continue;
        ++matched_profiles;
        size_t i;
        json_t *v;
        json_array_foreach(tags, i, v)
        {
            purge_one(w, p, s, BFF_PURGE_TAG, json_string_value(v));
            json_array_append_new(p->purged, json_pack("{s:s,s:s}", "profile", prof->name, "tag",
                                                       json_string_value(v)));
        }
        json_array_foreach(paths, i, v)
        {
            char hex[65];
            if (path_key(prof, json_string_value(v), &req->pool, hex) != 0)
                continue;
            path_matched[i] = 1;
            purge_one(w, p, s, BFF_PURGE_KEY, hex);
            json_array_append_new(p->purged, json_pack("{s:s,s:s,s:s}", "profile", prof->name,
                                                       "path", json_string_value(v), "key", hex));
        }
    }
    size_t i;
    json_t *v;
    json_array_foreach(paths, i, v)
    {
        if (!path_matched[i]) /* no cached GET endpoint of those profiles answers it */
            json_array_append(p->unmatched, v);
    }
    json_decref(body);
    if (matched_profiles == 0) {
        ref->p = NULL;
        p->ref = NULL;
        p->req = NULL;
        bff_respond_error(req, 404, bff_code_not_found,
                          profile != NULL ? "no profile of that name has a cache"
                                          : "no profile has a cache",
                          NULL);
    }
    on_redis(p, 0); /* the hold */
}
