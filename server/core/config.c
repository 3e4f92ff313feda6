/* Loads, checks and frees configuration snapshots. */
#include "server/core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/contract/openapi.h"
#include "server/core/digest.h"
#include "server/core/listener.h"

static atomic_size_t alive;

size_t bff_config_alive(void)
{
    return atomic_load(&alive);
}

static void free_config(bff_config_t *c)
{
    atomic_fetch_sub(&alive, 1);
    for (size_t i = 0; i != c->nsites; ++i) {
        bff_config_site_t *site = c->sites + i;
        bff_profile_free(site->profile);
        if (site->ssl_ctx != NULL)
            SSL_CTX_free(site->ssl_ctx);
        bff_access_log_release(site->access_log);
        free(site->openapi_json);
    }
    free(c->sites);
    free(c);
}

/* TLS pairs and log files are loaded as serving would: a readable but broken file fails here. */
static int open_resources(bff_config_site_t *site, int check_only, bff_diag_t *diag)
{
    bff_profile_t *p = site->profile;
    char err[512];
    char *file = bff_malloc(strlen(p->dir) + sizeof("/profile.yaml"));
    sprintf(file, "%s/profile.yaml", p->dir);
    int ret = 0;
    if (p->tls_certificate != NULL &&
        (site->ssl_ctx = bff_listener_ssl_ctx(p->tls_certificate, p->tls_key, err, sizeof(err))) ==
            NULL) {
        bff_diag_add(diag, file, 0, 0, "%s", err);
        ret = -1;
    }
    if (!check_only &&
        (site->access_log = bff_access_log_open(p->access_log, err, sizeof(err))) == NULL) {
        bff_diag_add(diag, file, 0, 0, "%s", err);
        ret = -1;
    }
    free(file);
    return ret;
}

/* The document is generated here, off the worker loops, once per snapshot. */
static void build_openapi(bff_config_site_t *site)
{
    if (!site->profile->openapi.enabled)
        return;
    site->openapi_json = bff_openapi_render(site->profile, 0, &site->openapi_len);
    char hex[65];
    bff_sha256_hex(site->openapi_json, site->openapi_len, hex);
    snprintf(site->openapi_etag, sizeof(site->openapi_etag), "\"%.16s\"", hex);
}

static int any_address(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* Profiles served together need their own names (metrics labels, Redis keys, logs) and their own
 * listeners (a second bind fails at run time, or with SO_REUSEPORT splits the traffic). */
static int check_distinct(const bff_config_t *c, bff_diag_t *diag)
{
    int ret = 0;
    for (size_t i = 0; i != c->nsites; ++i) {
        const bff_profile_t *p = c->sites[i].profile;
        char *file = bff_malloc(strlen(p->dir) + sizeof("/profile.yaml"));
        sprintf(file, "%s/profile.yaml", p->dir);
        for (size_t j = 0; j != i; ++j) {
            const bff_profile_t *q = c->sites[j].profile;
            if (strcmp(p->name, q->name) == 0) {
                bff_diag_add(diag, file, p->name_line, p->name_column,
                             "profile name '%s' is taken by %s/profile.yaml", p->name, q->dir);
                ret = -1;
            }
            if (p->port != 0 && p->port == q->port &&
                (strcmp(p->host, q->host) == 0 || any_address(p->host) || any_address(q->host))) {
                bff_diag_add(diag, file, p->listen_line, p->listen_column,
                             "listen %s:%u is taken by profile '%s' (%s/profile.yaml)", p->host,
                             (unsigned)p->port, q->name, q->dir);
                ret = -1;
            }
        }
        free(file);
    }
    return ret;
}

bff_config_t *bff_config_load(const bff_config_args_t *args, bff_diag_t *diag)
{
    bff_config_t *c = bff_calloc(1, sizeof(*c));
    atomic_init(&c->refcnt, 1);
    atomic_fetch_add(&alive, 1);
    c->generation = 1;
    c->sites = bff_calloc(args->ndirs, sizeof(*c->sites));
    int failed = 0;
    for (size_t i = 0; i != args->ndirs; ++i) {
        bff_profile_t *p = bff_profile_load(args->dirs[i], diag);
        if (p == NULL) {
            failed = 1;
            continue;
        }
        c->sites[c->nsites++].profile = p;
        if (args->listen_host != NULL) { /* the command line wins over profile.yaml */
            free(p->host);
            p->host = bff_strdup(args->listen_host);
            p->port = args->listen_port;
        }
    }
    failed |= check_distinct(c, diag) != 0;
    for (size_t i = 0; i != c->nsites && !failed; ++i) {
        failed |= open_resources(c->sites + i, args->check_only, diag) != 0;
        build_openapi(c->sites + i);
    }
    if (failed) {
        free_config(c);
        return NULL;
    }
    return c;
}

void bff_config_retain(bff_config_t *c)
{
    atomic_fetch_add_explicit(&c->refcnt, 1, memory_order_relaxed);
}

void bff_config_release(bff_config_t *c)
{
    if (c != NULL && atomic_fetch_sub_explicit(&c->refcnt, 1, memory_order_acq_rel) == 1)
        free_config(c);
}

int bff_config_check_reload(const bff_config_t *cur, const bff_config_t *next, bff_diag_t *diag)
{
    int ret = 0;
    if (cur->nsites != next->nsites) {
        bff_diag_add(diag, NULL, 0, 0, "the number of profiles changed: restart bffd to apply it");
        return -1;
    }
    for (size_t i = 0; i != cur->nsites; ++i) {
        const bff_profile_t *a = cur->sites[i].profile, *b = next->sites[i].profile;
        if (strcmp(a->host, b->host) != 0 || a->port != b->port) {
            bff_diag_add(diag, b->dir, 0, 0,
                         "profile %s: listen changed from %s:%u to %s:%u, which needs a restart "
                         "(the listening sockets stay as they are)",
                         b->name, a->host, a->port, b->host, b->port);
            ret = -1;
        }
        if (a->compression.min_size != b->compression.min_size ||
            a->compression.gzip != b->compression.gzip) {
            bff_diag_add(diag, b->dir, 0, 0,
                         "profile %s: compression changed, which needs a restart (the response "
                         "filter is set up with the listener)",
                         b->name);
            ret = -1;
        }
    }
    return ret;
}
