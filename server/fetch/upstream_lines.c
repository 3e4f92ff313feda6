/* The lines (host_slots.h) an upstream definition takes, one per instance's host:port, and what
 * a profile's lines add up to: bff_upstream_create takes them, bffd check and the open-files
 * check sum them. Apart from the calls (upstream.c): this runs at set-up, not per call. */
#include "server/fetch/upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/fetch/upstream_url.h"

void bff_upstream_acquire_lines(bff_host_slots_t *t, const char *profile,
                                const bff_upstream_conf_t *conf, bff_host_t **lines)
{
    size_t ownerlen = strlen(profile) + strlen(conf->name) + 2;
    char *owner = bff_malloc(ownerlen);
    snprintf(owner, ownerlen, "%s\n%s", profile, conf->name);
    for (size_t i = 0; i != conf->ninstances; ++i) {
        char host[512];
        size_t len = bff_url_host_key(conf->instances[i].url, host, sizeof(host));
        /* HTTP/2 calls share connections: curl's cap on connections is no cap on calls. */
        lines[i] =
            conf->http2 ? NULL : bff_host_acquire(t, owner, host, len, conf->max_connections);
    }
    free(owner);
}

void bff_upstream_connection_sum(const bff_profile_t *p, bff_upstream_connections_t *out)
{
    bff_host_slots_t *t = bff_host_slots_create();
    bff_host_t ***lines = bff_calloc(p->nupstreams + 1, sizeof(*lines));
    for (size_t u = 0; u != p->nupstreams; ++u) {
        lines[u] = bff_calloc(p->upstreams[u].ninstances, sizeof(*lines[u]));
        bff_upstream_acquire_lines(t, p->name, &p->upstreams[u], lines[u]);
    }
    bff_host_slots_sum_t sum;
    bff_host_slots_sum(t, &sum);
    *out = (bff_upstream_connections_t){.total = sum.total, .peak = sum.peak, .lines = sum.lines};
    /* The authority points into the table: copied (its password hidden) before the lines go. */
    if (sum.authority_len != 0)
        bff_url_redacted(sum.authority, sum.authority_len, out->authority, sizeof(out->authority));
    else
        out->authority[0] = '\0';
    for (size_t u = 0; u != p->nupstreams; ++u) {
        for (size_t i = 0; i != p->upstreams[u].ninstances; ++i)
            bff_host_release(lines[u][i]);
        free(lines[u]);
    }
    free(lines);
    bff_host_slots_destroy(t);
}
