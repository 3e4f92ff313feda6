/* Reads a profile folder: profile.yaml (listener, limits, upstreams) and every endpoints/NAME.yaml
 * spec, collecting all problems with positions. Nothing here opens sockets. */
#include "server/core/profile.h"
#include "server/core/profile_settle.h"

#include "server/core/digest.h"
#include "server/http/client_addr.h"

#include "compose/gql/validate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/yaml_tree.h"

int bff_profile_parse_listen(const char *s, char **host, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL)
        return -1;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
        ++h, hlen -= 2;
    int64_t p;
    if (bff_parse_int(colon + 1, &p) != 0 || p < 0 || p > 65535)
        return -1;
    *host = hlen ? bff_strndup(h, hlen) : bff_strdup("0.0.0.0");
    *port = (uint16_t)p;
    return 0;
}

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

static int check_readable(bff_diag_t *diag, const bff_yaml_node_t *at, const char *path);
static char *resolve_relative(const char *dir, const char *path);

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
        *files[i].out = resolve_relative(dir, files[i].value);
        ret |= check_readable(diag, bff_yaml_get(tls, files[i].key), *files[i].out);
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

static int parse_upstream(bff_diag_t *diag, const bff_yaml_node_t *key, const bff_yaml_node_t *def,
                          const char *dir, bff_upstream_conf_t *up)
{
    static const char *const keys[] = {"url",
                                       "instances",
                                       "load_balancing",
                                       "connect_timeout",
                                       "timeout",
                                       "max_body",
                                       "max_connections",
                                       "max_concurrent",
                                       "http2",
                                       "circuit_breaker",
                                       "passive_health",
                                       "tls",
                                       "auth",
                                       "rate_limit",
                                       NULL};
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
    ret |= parse_call_rate(diag, bff_yaml_get(def, "rate_limit"), up);
    if (ret == 0)
        ret |= parse_upstream_tls(diag, def, dir, up);
    return ret;
}

static int parse_upstreams(bff_diag_t *diag, const bff_yaml_node_t *root, bff_profile_t *p)
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

static int check_readable(bff_diag_t *diag, const bff_yaml_node_t *at, const char *path)
{
    if (access(path, R_OK) != 0) {
        bff_yaml_error(diag, at, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static char *resolve_relative(const char *dir, const char *path)
{
    if (path[0] == '/')
        return bff_strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *s = bff_malloc(n);
    snprintf(s, n, "%s/%s", dir, path);
    return s;
}

static int parse_server_keys(bff_diag_t *diag, const bff_yaml_node_t *root, bff_profile_t *p)
{
    const char *name = NULL, *listen = NULL, *log = "-";
    int ret = bff_yaml_get_str(diag, root, "name", 1, &name);
    ret |= bff_yaml_get_str(diag, root, "listen", 1, &listen);
    p->name = bff_strdup(name ? name : "?");
    if (listen != NULL && bff_profile_parse_listen(listen, &p->host, &p->port) != 0) {
        bff_yaml_error(diag, bff_yaml_get(root, "listen"), "listen must be HOST:PORT, not '%s'",
                       listen);
        ret = -1;
    }
    ret |= bff_yaml_get_str(diag, root, "access_log", 0, &log);
    const char *errors = "detailed";
    ret |= bff_yaml_get_str(diag, root, "errors", 0, &errors);
    if (strcmp(errors, "safe") == 0) {
        p->errors = BFF_ERRORS_SAFE;
    } else if (strcmp(errors, "detailed") != 0) {
        bff_yaml_error(diag, bff_yaml_get(root, "errors"),
                       "errors must be detailed or safe, not '%s'", errors);
        ret = -1;
    }
    p->access_log = strcmp(log, "-") == 0 || strcmp(log, "off") == 0
                        ? bff_strdup(log)
                        : resolve_relative(p->dir, log);
    const bff_yaml_node_t *tls = bff_yaml_get(root, "tls");
    if (tls != NULL) {
        static const char *const keys[] = {"certificate", "key", NULL};
        const char *cert = NULL, *key = NULL;
        if (bff_yaml_check_map(diag, tls, "tls", keys) != 0 ||
            bff_yaml_get_str(diag, tls, "certificate", 1, &cert) != 0 ||
            bff_yaml_get_str(diag, tls, "key", 1, &key) != 0)
            return -1;
        p->tls_certificate = resolve_relative(p->dir, cert);
        p->tls_key = resolve_relative(p->dir, key);
        ret |= check_readable(diag, bff_yaml_get(tls, "certificate"), p->tls_certificate);
        ret |= check_readable(diag, bff_yaml_get(tls, "key"), p->tls_key);
    }
    const bff_yaml_node_t *limits = bff_yaml_get(root, "limits");
    p->max_header_bytes = 16 * 1024;
    p->max_body_bytes = 1 << 20;
    p->request_timeout_ms = 3000;
    p->drain_timeout_ms = 10000;
    p->max_inflight = 1024;     /* per worker: 16 times the benchmarks' 64 connections */
    p->max_queued_calls = 1024; /* per worker and upstream, beyond its connections */
    p->write_timeout_ms = 10000;
    p->max_unsent_bytes = 32u << 20;
    if (limits != NULL) {
        static const char *const keys[] = {
            "max_header_bytes", "max_body_bytes",   "request_timeout",
            "drain_timeout",    "max_inflight",     "max_queued_calls",
            "write_timeout",    "max_unsent_bytes", NULL};
        if (bff_yaml_check_map(diag, limits, "limits", keys) != 0)
            return -1;
        ret |= bff_yaml_get_duration_ms(diag, limits, "write_timeout", &p->write_timeout_ms);
        ret |= bff_yaml_get_size(diag, limits, "max_unsent_bytes", &p->max_unsent_bytes);
        if (p->write_timeout_ms == 0)
            p->write_timeout_ms = 10000;
        int64_t v;
        if ((ret |= bff_yaml_get_int(diag, limits, "max_inflight", 0, 1, 10000000, &v)) == 0 &&
            bff_yaml_get(limits, "max_inflight"))
            p->max_inflight = (size_t)v;
        if ((ret |= bff_yaml_get_int(diag, limits, "max_queued_calls", 0, 0, 10000000, &v)) == 0 &&
            bff_yaml_get(limits, "max_queued_calls"))
            p->max_queued_calls = (unsigned)v;
        ret |= bff_yaml_get_size(diag, limits, "max_header_bytes", &p->max_header_bytes);
        ret |= bff_yaml_get_size(diag, limits, "max_body_bytes", &p->max_body_bytes);
        ret |= bff_yaml_get_duration_ms(diag, limits, "request_timeout", &p->request_timeout_ms);
        ret |= bff_yaml_get_duration_ms(diag, limits, "drain_timeout", &p->drain_timeout_ms);
    }
    return ret;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Endpoint files in name order, so errors and route precedence are stable. */
static char **list_yaml_files(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return NULL;
    char **names = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 ||
            (strcmp(de->d_name + len - 5, ".yaml") != 0 &&
             strcmp(de->d_name + len - 4, ".yml") != 0))
            continue;
        names = bff_realloc(names, (*n + 1) * sizeof(char *));
        names[(*n)++] = resolve_relative(dir, de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(char *), compare_names);
    return names;
}

static int load_endpoints(bff_diag_t *diag, bff_profile_t *p)
{
    char *dir = resolve_relative(p->dir, "endpoints");
    size_t nfiles;
    char **files = list_yaml_files(dir, &nfiles);
    free(dir);
    const char **names = bff_calloc(p->nupstreams, sizeof(char *));
    for (size_t i = 0; i != p->nupstreams; ++i)
        names[i] = p->upstreams[i].name;
    bff_spec_env_t env = {names, p->nupstreams};
    int ret = 0;
    p->endpoints = bff_calloc(nfiles, sizeof(bff_spec_t *));
    for (size_t i = 0; i != nfiles; ++i) {
        bff_yaml_doc_t *doc = bff_yaml_load_file(files[i], diag);
        bff_spec_t *spec = doc ? bff_spec_parse(bff_yaml_root(doc), &env, diag) : NULL;
        if (doc != NULL && bff_yaml_doc_failed(doc)) { /* a ${VAR}: reported, and fatal */
            bff_spec_free(spec);
            spec = NULL;
        }
        bff_yaml_free(doc);
        free(files[i]);
        if (spec == NULL) {
            ret = -1;
            continue;
        }
        for (size_t j = 0; j != p->nendpoints; ++j) {
            const bff_spec_t *other = p->endpoints[j];
            if (strcmp(other->method, spec->method) == 0 && bff_spec_same_route(other, spec)) {
                bff_diag_add(diag, spec->file, spec->line, spec->column,
                             "duplicate route %s %s (also defined at %s:%u:%u)", spec->method,
                             spec->route, other->file, other->line, other->column);
                ret = -1;
            }
        }
        p->endpoints[p->nendpoints++] = spec;
    }
    free(files);
    free(names);
    return ret;
}

/* The indentation of line `line` of `file` (a block scalar's), 0 if unreadable. */
static unsigned block_indent(const char *file, unsigned line)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return 0;
    char buf[4096];
    unsigned n = 0, indent = 0;
    while (fgets(buf, sizeof(buf), f) != NULL)
        if (++n == line) {
            while (buf[indent] == ' ')
                ++indent;
            break;
        }
    fclose(f);
    return indent;
}

/* Endpoints that run a stored GraphQL operation: parsed and validated against the profile's
 * graph now; each variable must be one of the endpoint's parameters or optional. */
static int load_stored_operations(bff_diag_t *diag, bff_profile_t *p)
{
    int ret = 0;
    for (size_t i = 0; i != p->nendpoints; ++i) {
        bff_spec_t *spec = p->endpoints[i];
        if (spec->graphql == NULL)
            continue;
        if (p->graph == NULL) {
            bff_diag_add(diag, spec->file, spec->graphql_line, spec->graphql_column,
                         "'graphql' needs the profile's graph.yaml (the schema and resolvers)");
            ret = -1;
            continue;
        }
        bff_gql_errors_t errs = {0};
        spec->graphql_doc = bff_gql_parse(spec->graphql, strlen(spec->graphql), NULL, &errs);
        if (spec->graphql_doc != NULL)
            bff_gql_validate(p->graph->schema, spec->graphql_doc, NULL, &errs);
        if (errs.n == 0 && spec->graphql_doc->noperations != 1)
            bff_gql_error_add(&errs, NULL, 0, "the text must hold exactly one operation");
        const bff_gql_operation_t *op = errs.n == 0 ? spec->graphql_doc->operations : NULL;
        if (op != NULL && op->kind != BFF_GQL_QUERY && strcmp(spec->method, "GET") == 0)
            bff_gql_error_add(&errs, &op->loc, 1, "a GET endpoint runs a query, not a %s",
                              op->kind == BFF_GQL_MUTATION ? "mutation" : "subscription");
        for (size_t v = 0; op != NULL && v != op->nvars; ++v) {
            const bff_gql_variable_def_t *var = op->vars + v;
            int param = 0;
            for (size_t k = 0; k != spec->nparams && !param; ++k)
                param = strcmp(spec->params[k].name, var->name) == 0;
            if (!param && var->type->kind == BFF_GQL_NON_NULL && var->default_value == NULL)
                bff_gql_error_add(&errs, &var->loc, 1,
                                  "variable $%s is required, but the endpoint has no parameter "
                                  "of that name",
                                  var->name);
        }
        /* Positions in the file: a block scalar's text starts on the line after `|`, indented. */
        unsigned indent =
            spec->graphql_block ? block_indent(spec->file, spec->graphql_line + 1) : 0;
        for (size_t e = 0; e != errs.n; ++e) {
            unsigned line = spec->graphql_line, column = spec->graphql_column;
            if (errs.items[e].nlocs != 0) {
                const bff_gql_loc_t *l = errs.items[e].locs;
                if (spec->graphql_block) {
                    line += l->line;
                    column = indent + l->column;
                } else {
                    line += l->line - 1;
                    column = l->line == 1 ? column + l->column - 1 : l->column;
                }
            }
            bff_diag_add(diag, spec->file, line, column, "%s", errs.items[e].message);
        }
        if (errs.n == 0)
            spec->graphql_op = op;
        ret |= errs.n != 0 ? -1 : 0;
        bff_gql_errors_dispose(&errs);
    }
    return ret;
}

/* graph.yaml, when the profile has one: its GraphQL endpoint over the same upstreams. */
static int load_graph(bff_diag_t *diag, bff_profile_t *p)
{
    char *file = resolve_relative(p->dir, "graph.yaml");
    struct stat st;
    int ret = 0;
    if (stat(file, &st) == 0) {
        const char **names = bff_calloc(p->nupstreams + 1, sizeof(char *));
        for (size_t i = 0; i != p->nupstreams; ++i)
            names[i] = p->upstreams[i].name;
        bff_spec_env_t env = {names, p->nupstreams};
        p->graph = bff_gql_graph_load(file, &env, diag);
        free(names);
        ret = p->graph != NULL ? 0 : -1;
        for (size_t i = 0; ret == 0 && i != p->graph->ntrusted; ++i) {
            char hash[65];
            bff_sha256_hex(p->graph->trusted[i].text, p->graph->trusted[i].len, hash);
            if (strcmp(hash, p->graph->trusted[i].hash) != 0) {
                bff_diag_add(diag, file, 0, 0,
                             "trusted document %s: its sha256 is %s (the key must be the "
                             "digest of the document's exact text)",
                             p->graph->trusted[i].hash, hash);
                ret = -1;
            }
        }
        for (size_t i = 0; ret == 0 && i != p->nendpoints; ++i)
            if (strcmp(p->endpoints[i]->route, p->graph->path) == 0) {
                bff_diag_add(diag, file, 0, 0, "the GraphQL path %s is also the route of %s:%u:%u",
                             p->graph->path, p->endpoints[i]->file, p->endpoints[i]->line,
                             p->endpoints[i]->column);
                ret = -1;
            }
    }
    free(file);
    return ret | load_stored_operations(diag, p);
}

/* `compression:` gzip through libh2o's filter, negotiated by Accept-Encoding. */
static int parse_compression(bff_diag_t *diag, const bff_yaml_node_t *node, bff_profile_t *p)
{
    p->compression.min_size = 1024;
    p->compression.gzip = 0;
    if (node == NULL)
        return 0;
    static const char *const keys[] = {"gzip", "min_size", NULL};
    if (bff_yaml_check_map(diag, node, "compression", keys) != 0)
        return -1;
    int64_t level = 5;
    int ret = bff_yaml_get_int(diag, node, "gzip", 0, 0, 9, &level);
    ret |= bff_yaml_get_size(diag, node, "min_size", &p->compression.min_size);
    p->compression.gzip = (int)level;
    return ret;
}

bff_profile_t *bff_profile_load(const char *dir, bff_diag_t *diag)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        bff_diag_add(diag, dir, 0, 0, "profile folder does not exist or is not a folder");
        return NULL;
    }
    bff_profile_t *p = bff_calloc(1, sizeof(*p));
    p->dir = bff_strdup(dir);
    char *file = resolve_relative(dir, "profile.yaml");
    bff_yaml_doc_t *doc = bff_yaml_load_file(file, diag);
    free(file);
    if (doc == NULL) {
        bff_profile_free(p);
        return NULL;
    }
    static const char *const keys[] = {
        "name",        "listen",   "tls",     "limits",      "access_log",      "errors",
        "upstreams",   "cache",    "auth",    "rate_limits", "trusted_proxies", "cors",
        "compression", "ip_allow", "ip_deny", "tracing",     "openapi",         NULL};
    const bff_yaml_node_t *root = bff_yaml_root(doc);
    int ret = bff_yaml_check_map(diag, root, "profile.yaml", keys);
    ret |= parse_server_keys(diag, root, p);
    ret |= parse_upstreams(diag, root, p);
    ret |= bff_cache_conf_parse(bff_yaml_get(root, "cache"), p->name, diag, &p->cache);
    ret |= bff_auth_conf_parse(bff_yaml_get(root, "auth"), p->dir, diag, &p->auth);
    ret |= bff_rate_conf_parse(bff_yaml_get(root, "rate_limits"), p->name, diag, &p->rate);
    ret |= bff_cors_conf_parse(bff_yaml_get(root, "cors"), diag, &p->cors);
    ret |= parse_compression(diag, bff_yaml_get(root, "compression"), p);
    ret |= bff_tracing_conf_parse(bff_yaml_get(root, "tracing"), p->name, diag, &p->tracing);
    ret |= bff_openapi_conf_parse(root, diag, &p->openapi);
    ret |= bff_cidrs_parse(bff_yaml_get(root, "ip_allow"), diag, &p->ip_allow, &p->nip_allow);
    ret |= bff_cidrs_parse(bff_yaml_get(root, "ip_deny"), diag, &p->ip_deny, &p->nip_deny);
    ret |= bff_cidrs_parse(bff_yaml_get(root, "trusted_proxies"), diag, &p->trusted_proxies,
                           &p->ntrusted_proxies);
    for (size_t i = 0; i != p->nupstreams; ++i)
        p->upstreams[i].max_queued = p->max_queued_calls;
    ret |= bff_yaml_doc_failed(doc) ? -1 : 0; /* an unset ${VAR}: reported, the rest checked too */
    bff_yaml_free(doc);
    ret |= load_endpoints(diag, p);
    ret |= load_graph(diag, p);
    ret |= bff_openapi_conf_check(p, diag);
    ret |= bff_profile_settle(diag, p);
    if (ret != 0) {
        bff_profile_free(p);
        return NULL;
    }
    return p;
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
        a->http2 != b->http2 || a->rate_limit.limit != b->rate_limit.limit ||
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

void bff_profile_free(bff_profile_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i != p->nupstreams; ++i) {
        bff_upstream_conf_dispose(p->upstreams + i);
        if (p->upstream_auth != NULL)
            bff_upstream_auth_dispose(p->upstream_auth + i);
    }
    free(p->upstreams);
    free(p->upstream_auth);
    bff_tracing_conf_dispose(&p->tracing);
    bff_openapi_conf_dispose(&p->openapi);
    bff_gql_graph_free(p->graph);
    for (size_t i = 0; i != p->nendpoints; ++i)
        bff_spec_free(p->endpoints[i]);
    free(p->endpoints);
    free(p->dir);
    free(p->name);
    free(p->host);
    free(p->tls_certificate);
    free(p->tls_key);
    free(p->access_log);
    bff_cache_conf_dispose(&p->cache);
    bff_auth_conf_dispose(&p->auth);
    free(p->trusted_proxies);
    free(p->ip_allow);
    free(p->ip_deny);
    bff_cors_conf_dispose(&p->cors);
    bff_rate_conf_dispose(&p->rate);
    free(p);
}
