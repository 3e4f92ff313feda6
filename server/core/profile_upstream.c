/* The upstreams block of profile.yaml: each upstream's instances, timeouts, caps, breaker, TLS
 * and rate limit, with defaults; and the copy, comparison and disposal of one definition (a
 * reload keeps an upstream's per-worker state when its definition did not change). */
#include "server/core/profile.h"
#include "server/core/profile_internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/yaml_tree.h"

static int check_url(bff_diag_t *diag, const bff_yaml_node_t *at, const char *url)
{
    if (at != NULL && at->invalid) /* its ${VAR} was reported already */
        return -1;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        bff_yaml_error(diag, at, "upstream URL must start with http:// or https://, not '%s'", url);
        return -1;
    }
    const char *hostpart = strstr(url, "://") + 3;
    if (*hostpart == '\0' || *hostpart == '/') {
        bff_yaml_error(diag, at, "upstream URL '%s' has no host", url);
        return -1;
    }
    /* As curl will read it: a space in the host, a port past 65535, a line break would make
     * every call fail at run time. Its text is kept out of the message (it may hold a
     * password). */
    CURLU *u = curl_url();
    CURLUcode rc = u != NULL ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
    curl_url_cleanup(u);
    if (rc != CURLUE_OK) {
        bff_yaml_error(diag, at, "upstream URL is not a valid URL: %s", curl_url_strerror(rc));
        return -1;
    }
    return 0;
}

static void add_instance(bff_upstream_conf_t *up, const char *url, unsigned weight)
{
    up->instances = bff_realloc(up->instances, (up->ninstances + 1) * sizeof(*up->instances));
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        --len;
    up->instances[up->ninstances].url = bff_strndup(url, len);
    up->instances[up->ninstances].weight = weight;
    ++up->ninstances;
}

static int parse_instances(bff_diag_t *diag, const bff_yaml_node_t *def, bff_upstream_conf_t *up)
{
    const bff_yaml_node_t *url = bff_yaml_get(def, "url"),
                          *instances = bff_yaml_get(def, "instances");
    if ((url == NULL) == (instances == NULL)) {
        bff_yaml_error(diag, def, "upstream '%s' needs exactly one of 'url' or 'instances'",
                       up->name);
        return -1;
    }
    if (url != NULL) {
        if (url->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(diag, url, "'url' must be a string like http://host:port");
            return -1;
        }
        if (check_url(diag, url, url->str) != 0)
            return -1;
        add_instance(up, url->str, 1);
        return 0;
    }
    if (instances->kind != BFF_YAML_SEQ || instances->size == 0) {
        bff_yaml_error(diag, instances, "'instances' must be a non-empty list");
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i != instances->size; ++i) {
        const bff_yaml_node_t *inst = instances->items[i];
        if (inst->kind == BFF_YAML_SCALAR) {
            if (check_url(diag, inst, inst->str) == 0)
                add_instance(up, inst->str, 1);
            else
                ret = -1;
            continue;
        }
        static const char *const keys[] = {"url", "weight", NULL};
        const char *u = NULL;
        int64_t weight = 1;
        if (bff_yaml_check_map(diag, inst, "an instance", keys) != 0 ||
            bff_yaml_get_str(diag, inst, "url", 1, &u) != 0 ||
            bff_yaml_get_int(diag, inst, "weight", 0, 0, 1000, &weight) != 0 ||
            check_url(diag, bff_yaml_get(inst, "url"), u) != 0) {
            ret = -1;
            continue;
        }
        add_instance(up, u, (unsigned)weight);
    }
    return ret;
}

static int parse_breaker(bff_diag_t *diag, const bff_yaml_node_t *def, bff_upstream_conf_t *up)
{
    const bff_yaml_node_t *b = bff_yaml_get(def, "circuit_breaker");
    int ret = 0;
    if (b != NULL) {
        static const char *const keys[] = {
            "consecutive_failures", "error_ratio", "min_calls", "window", "cooldown", NULL};
        if (bff_yaml_check_map(diag, b, "circuit_breaker", keys) != 0)
            return -1;
        int64_t v;
        if ((ret |= bff_yaml_get_int(diag, b, "consecutive_failures", 0, 0, 10000, &v)) == 0 &&
            bff_yaml_get(b, "consecutive_failures"))
            up->breaker.consecutive_failures = (unsigned)v;
        if ((ret |= bff_yaml_get_int(diag, b, "error_ratio", 0, 0, 100, &v)) == 0 &&
            bff_yaml_get(b, "error_ratio"))
            up->breaker.error_ratio_percent = (unsigned)v;
        if ((ret |= bff_yaml_get_int(diag, b, "min_calls", 0, 1, 100000, &v)) == 0 &&
            bff_yaml_get(b, "min_calls"))
            up->breaker.min_calls = (unsigned)v;
        ret |= bff_yaml_get_duration_ms(diag, b, "window", &up->breaker.window_ms);
        ret |= bff_yaml_get_duration_ms(diag, b, "cooldown", &up->breaker.cooldown_ms);
    }
    const bff_yaml_node_t *ph = bff_yaml_get(def, "passive_health");
    if (ph != NULL) {
        static const char *const keys[] = {"consecutive_failures", "ejection", NULL};
        if (bff_yaml_check_map(diag, ph, "passive_health", keys) != 0)
            return -1;
        int64_t v;
        if ((ret |= bff_yaml_get_int(diag, ph, "consecutive_failures", 0, 1, 10000, &v)) == 0 &&
            bff_yaml_get(ph, "consecutive_failures"))
            up->passive_health.consecutive_failures = (unsigned)v;
        ret |= bff_yaml_get_duration_ms(diag, ph, "ejection", &up->passive_health.ejection_ms);
    }
    return ret;
}

/* `tls:` of an upstream: how bffd verifies it and who bffd is to it. */
static int parse_upstream_tls(bff_diag_t *diag, const bff_yaml_node_t *def, const char *dir,
                              bff_upstream_conf_t *up)
{
    const bff_yaml_node_t *tls = bff_yaml_get(def, "tls");
    up->tls.verify = 1;
    if (tls == NULL)
        return 0;
    static const char *const keys[] = {"ca", "certificate", "key", "server_name", "verify", NULL};
    if (bff_yaml_check_map(diag, tls, "tls", keys) != 0)
        return -1;
    const char *ca = NULL, *cert = NULL, *key = NULL, *name = NULL;
    int ret = bff_yaml_get_str(diag, tls, "ca", 0, &ca);
    ret |= bff_yaml_get_str(diag, tls, "certificate", 0, &cert);
    ret |= bff_yaml_get_str(diag, tls, "key", 0, &key);
    ret |= bff_yaml_get_str(diag, tls, "server_name", 0, &name);
    ret |= bff_yaml_get_bool(diag, tls, "verify", &up->tls.verify);
    if (ret != 0)
        return -1;
    if ((cert == NULL) != (key == NULL)) {
        bff_yaml_error(diag, tls,
                       "a client certificate needs its key (certificate and key together)");
        return -1;
    }
    struct {
        const char *value, *key;
        char **out;
    } files[] = {{ca, "ca", &up->tls.ca},
                 {cert, "certificate", &up->tls.certificate},
                 {key, "key", &up->tls.key}};
    for (size_t i = 0; i != sizeof(files) / sizeof(files[0]); ++i) {
        if (files[i].value == NULL)
            continue;
        *files[i].out = bff_profile_path(dir, files[i].value);
        ret |= bff_profile_check_readable(diag, bff_yaml_get(tls, files[i].key), *files[i].out);
    }
    if (name != NULL) {
        if (*name == '\0' || strpbrk(name, ":/ \t") != NULL) {
            bff_yaml_error(diag, bff_yaml_get(tls, "server_name"),
                           "server_name is a host name, not '%s'", name);
            return -1;
        }
        up->tls.server_name = bff_strdup(name);
    }
    for (size_t i = 0; i != up->ninstances; ++i) {
        if (strncmp(up->instances[i].url, "https://", 8) != 0) {
            bff_yaml_error(diag, tls, "upstream '%s' has tls settings but a plain http:// URL",
                           up->name);
            return -1;
        }
    }
    if (!up->tls.verify) /* loud: this is how man-in-the-middle attacks get in */
        fprintf(stderr,
                "%s:%u:%u: warning: upstream '%s' does not verify its TLS certificate; anyone "
                "on the path can impersonate it\n",
                tls->file, tls->line, tls->column, up->name);
    return ret;
}

/* `rate_limit: 50/s` or `{ rate: 50/s, burst: 10 }` (burst defaults to the rate's count). */
static int parse_call_rate(bff_diag_t *diag, const bff_yaml_node_t *n, bff_upstream_conf_t *up)
{
    static const char *const keys[] = {"rate", "burst", NULL};
    const char *rate = n != NULL && n->kind == BFF_YAML_SCALAR ? n->str : NULL;
    int64_t burst = 0;
    if (n == NULL)
        return 0;
    if (rate == NULL && (bff_yaml_check_map(diag, n, "rate_limit", keys) != 0 ||
                         bff_yaml_get_str(diag, n, "rate", 1, &rate) != 0 ||
                         bff_yaml_get_int(diag, n, "burst", 0, 1, 1000000000, &burst) != 0))
        return -1;
    if (bff_rate_parse(rate, &up->rate_limit.limit, &up->rate_limit.period_ms) != 0) {
        bff_yaml_error(diag, n, "rate_limit is COUNT/UNIT such as 50/s (s, min, h), not '%s'",
                       rate);
        return -1;
    }
    up->rate_limit.burst = burst > 0 ? (uint64_t)burst : up->rate_limit.limit;
    return 0;
}

/* propagate: [request_id, trace_context] (the default), a part of it, or [] for neither. */
static int parse_propagate(bff_diag_t *diag, const bff_yaml_node_t *n, bff_upstream_conf_t *up)
{
    static const struct {
        const char *name;
        unsigned bit;
    } parts[] = {{"request_id", BFF_PROPAGATE_REQUEST_ID},
                 {"trace_context", BFF_PROPAGATE_TRACE_CONTEXT}};
    up->propagate = BFF_PROPAGATE_ALL;
    if (n == NULL)
        return 0;
    if (n->kind != BFF_YAML_SEQ) {
        bff_yaml_error(diag, n,
                       "propagate must be a list of request_id and trace_context ([] for none)");
        return -1;
    }
    const size_t nparts = sizeof(parts) / sizeof(parts[0]);
    up->propagate = 0;
    int ret = 0;
    for (size_t i = 0; i != n->size; ++i) {
        const bff_yaml_node_t *item = n->items[i];
        if (item->invalid) { /* its ${VAR} was reported already */
            ret = -1;
            continue;
        }
        size_t k = 0;
        while (k != nparts &&
               !(item->kind == BFF_YAML_SCALAR && strcmp(item->str, parts[k].name) == 0))
            ++k;
        if (k == nparts) {
            bff_yaml_error(diag, item, "propagate lists request_id and trace_context only, not %s",
                           item->kind == BFF_YAML_SCALAR ? item->str : "a collection");
            ret = -1;
        } else if (up->propagate & parts[k].bit) {
            bff_yaml_error(diag, item, "%s is listed twice in propagate", parts[k].name);
            ret = -1;
        }
        up->propagate |= k == nparts ? 0 : parts[k].bit;
    }
    return ret;
}

static int parse_upstream(bff_diag_t *diag, const bff_yaml_node_t *key, const bff_yaml_node_t *def,
                          const char *dir, bff_upstream_conf_t *up)
{
    static const char *const keys[] = {
        "url",     "instances",       "load_balancing",  "connect_timeout",
        "timeout", "max_body",        "max_connections", "max_concurrent",
        "http2",   "circuit_breaker", "passive_health",  "tls",
        "auth",    "rate_limit",      "propagate",       NULL};
    up->name = bff_strdup(key->str);
    up->connect_timeout_ms = 1000;
    up->timeout_ms = 5000;
    up->max_body_bytes = 1 << 20;
    up->max_connections = 256; /* per worker and host, like KrakenD's idle-connection default */
    up->breaker.consecutive_failures = 5;
    up->breaker.error_ratio_percent = 50;
    up->breaker.min_calls = 20;
    up->breaker.window_ms = 10000;
    up->breaker.cooldown_ms = 5000;
    up->passive_health.consecutive_failures = 3;
    up->passive_health.ejection_ms = 10000;
    if (bff_yaml_check_map(diag, def, "an upstream", keys) != 0)
        return -1;
    int ret = parse_instances(diag, def, up);
    ret |= bff_yaml_get_duration_ms(diag, def, "connect_timeout", &up->connect_timeout_ms);
    ret |= bff_yaml_get_duration_ms(diag, def, "timeout", &up->timeout_ms);
    ret |= bff_yaml_get_size(diag, def, "max_body", &up->max_body_bytes);
    int64_t v;
    if ((ret |= bff_yaml_get_int(diag, def, "max_connections", 0, 1, 10000, &v)) == 0 &&
        bff_yaml_get(def, "max_connections"))
        up->max_connections = (unsigned)v;
    if ((ret |= bff_yaml_get_int(diag, def, "max_concurrent", 0, 0, 1000000, &v)) == 0 &&
        bff_yaml_get(def, "max_concurrent"))
        up->max_concurrent = (unsigned)v;
    ret |= bff_yaml_get_bool(diag, def, "http2", &up->http2);
    for (size_t i = 0; ret == 0 && up->http2 && i != up->ninstances; ++i) {
        if (strncmp(up->instances[i].url, "http://", 7) == 0) {
            /* curl 7.88 breaks the second stream on a reused h2c connection (prior knowledge)
             * and loses calls while many connections upgrade at once: HTTP/2 is kept to TLS. */
            const bff_yaml_node_t *n = bff_yaml_get(def, "http2");
            fprintf(stderr,
                    "%s:%u:%u: warning: upstream '%s' has http2 with a plain http:// URL; "
                    "libcurl 7.88 cannot keep cleartext HTTP/2 (h2c) connections reliably, so "
                    "its calls use HTTP/1.1\n",
                    n->file, n->line, n->column, up->name);
            up->http2 = 0;
        }
    }
    const char *lb = "round_robin";
    ret |= bff_yaml_get_str(diag, def, "load_balancing", 0, &lb);
    if (strcmp(lb, "round_robin") == 0) {
        up->lb = BFF_LB_ROUND_ROBIN;
    } else if (strcmp(lb, "least_outstanding") == 0) {
        up->lb = BFF_LB_LEAST_OUTSTANDING;
    } else {
        bff_yaml_error(diag, bff_yaml_get(def, "load_balancing"),
                       "load_balancing must be round_robin or least_outstanding");
        ret = -1;
    }
    ret |= parse_breaker(diag, def, up);
    ret |= parse_propagate(diag, bff_yaml_get(def, "propagate"), up);
    ret |= parse_call_rate(diag, bff_yaml_get(def, "rate_limit"), up);
    if (ret == 0)
        ret |= parse_upstream_tls(diag, def, dir, up);
    return ret;
}

int bff_profile_parse_upstreams(bff_diag_t *diag, const bff_yaml_node_t *root, bff_profile_t *p)
{
    const bff_yaml_node_t *ups = bff_yaml_get(root, "upstreams");
    if (ups == NULL)
        return 0;
    if (ups->kind != BFF_YAML_MAP) {
        bff_yaml_error(diag, ups, "'upstreams' must be a mapping of name: upstream");
        return -1;
    }
    p->upstreams = bff_calloc(ups->size, sizeof(*p->upstreams));
    p->upstream_auth = bff_calloc(ups->size, sizeof(*p->upstream_auth));
    int ret = 0;
    for (size_t i = 0; i != ups->size; ++i) {
        ret |= parse_upstream(diag, ups->keys[i], ups->items[i], p->dir,
                              p->upstreams + p->nupstreams++);
        if (ups->items[i]->kind == BFF_YAML_MAP)
            ret |= bff_upstream_auth_parse(bff_yaml_get(ups->items[i], "auth"), ups->keys[i]->str,
                                           p->dir, diag, p->upstream_auth + i);
        p->upstream_auth_any |= p->upstream_auth[i].relay || p->upstream_auth[i].signer != NULL;
    }
    return ret;
}
void bff_upstream_conf_copy(bff_upstream_conf_t *dst, const bff_upstream_conf_t *src)
{
    *dst = *src;
    dst->name = bff_strdup(src->name);
    dst->instances = bff_calloc(src->ninstances, sizeof(*dst->instances));
    dst->tls.ca = src->tls.ca ? bff_strdup(src->tls.ca) : NULL;
    dst->tls.certificate = src->tls.certificate ? bff_strdup(src->tls.certificate) : NULL;
    dst->tls.key = src->tls.key ? bff_strdup(src->tls.key) : NULL;
    dst->tls.server_name = src->tls.server_name ? bff_strdup(src->tls.server_name) : NULL;
    for (size_t i = 0; i != src->ninstances; ++i) {
        dst->instances[i].url = bff_strdup(src->instances[i].url);
        dst->instances[i].weight = src->instances[i].weight;
    }
}

void bff_upstream_conf_dispose(bff_upstream_conf_t *up)
{
    for (size_t j = 0; j != up->ninstances; ++j)
        free(up->instances[j].url);
    free(up->instances);
    free(up->name);
    free(up->tls.ca);
    free(up->tls.certificate);
    free(up->tls.key);
    free(up->tls.server_name);
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int bff_upstream_conf_equal(const bff_upstream_conf_t *a, const bff_upstream_conf_t *b)
{
    if (strcmp(a->name, b->name) != 0 || a->ninstances != b->ninstances || a->lb != b->lb ||
        a->connect_timeout_ms != b->connect_timeout_ms || a->timeout_ms != b->timeout_ms ||
        a->max_body_bytes != b->max_body_bytes || a->max_connections != b->max_connections ||
        a->max_concurrent != b->max_concurrent || a->max_queued != b->max_queued ||
        a->http2 != b->http2 || a->propagate != b->propagate ||
        a->rate_limit.limit != b->rate_limit.limit ||
        a->rate_limit.period_ms != b->rate_limit.period_ms ||
        a->rate_limit.burst != b->rate_limit.burst ||
        a->breaker.consecutive_failures != b->breaker.consecutive_failures ||
        a->breaker.error_ratio_percent != b->breaker.error_ratio_percent ||
        a->breaker.min_calls != b->breaker.min_calls ||
        a->breaker.window_ms != b->breaker.window_ms ||
        a->breaker.cooldown_ms != b->breaker.cooldown_ms ||
        a->passive_health.consecutive_failures != b->passive_health.consecutive_failures ||
        a->passive_health.ejection_ms != b->passive_health.ejection_ms ||
        !same_str(a->tls.ca, b->tls.ca) || !same_str(a->tls.certificate, b->tls.certificate) ||
        !same_str(a->tls.key, b->tls.key) || !same_str(a->tls.server_name, b->tls.server_name) ||
        a->tls.verify != b->tls.verify)
        return 0;
    for (size_t i = 0; i != a->ninstances; ++i)
        if (strcmp(a->instances[i].url, b->instances[i].url) != 0 ||
            a->instances[i].weight != b->instances[i].weight)
            return 0;
    return 1;
}
