/* Reads a profile folder: profile.yaml (listener, limits, upstreams) and every endpoints/NAME.yaml
 * spec, collecting all problems with positions. Nothing here opens sockets. */
#include "compose/file.h"
#include "server/core/profile.h"
#include "server/core/profile_internal.h"
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

int bff_profile_check_readable(bff_diag_t *diag, const bff_yaml_node_t *at, const char *path)
{
    if (access(path, R_OK) != 0) {
        bff_yaml_error(diag, at, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

char *bff_profile_path(const char *dir, const char *path)
{
    if (path[0] == '/')
        return bff_strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *s = bff_malloc(n);
    snprintf(s, n, "%s/%s", dir, path);
    return s;
}

/* An access log file the server can open for appending (checked by bffd check too, which does
 * not open it): an existing writable file, or a writable folder to create it in. */
static int check_log_path(bff_diag_t *diag, const bff_yaml_node_t *at, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            bff_yaml_error(diag, at, "access_log '%s' is a folder, not a file", path);
            return -1;
        }
        if (access(path, W_OK) != 0) {
            bff_yaml_error(diag, at, "cannot write the access log '%s': %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    char *dir = bff_strdup(path), *slash = strrchr(dir, '/');
    if (slash != NULL)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int ok = access(slash != NULL ? dir : ".", W_OK) == 0;
    if (!ok)
        bff_yaml_error(diag, at, "cannot create the access log '%s': %s", path, strerror(errno));
    free(dir);
    return ok ? 0 : -1;
}

static int parse_server_keys(bff_diag_t *diag, const bff_yaml_node_t *root, bff_profile_t *p)
{
    const char *name = NULL, *listen = NULL, *log = "-";
    int ret = bff_yaml_get_str(diag, root, "name", 1, &name);
    ret |= bff_yaml_get_str(diag, root, "listen", 1, &listen);
    p->name = bff_strdup(name ? name : "?");
    const bff_yaml_node_t *name_node = bff_yaml_get(root, "name"),
                          *listen_node = bff_yaml_get(root, "listen");
    if (name_node != NULL) {
        p->name_line = name_node->line, p->name_column = name_node->column;
        /* It labels metrics, keys Redis entries and names the profile in logs. */
        int bad = name != NULL && name[0] == '\0';
        for (const char *c = name; c != NULL && *c != '\0' && !bad; ++c)
            bad = (unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f;
        if (bad) {
            bff_yaml_error(diag, name_node,
                           "name must be non-empty, without spaces, quotes or control characters");
            ret = -1;
        }
    }
    if (listen_node != NULL)
        p->listen_line = listen_node->line, p->listen_column = listen_node->column;
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
                        : bff_profile_path(p->dir, log);
    if (strcmp(log, "-") != 0 && strcmp(log, "off") != 0)
        ret |= check_log_path(diag, bff_yaml_get(root, "access_log"), p->access_log);
    const bff_yaml_node_t *tls = bff_yaml_get(root, "tls");
    if (tls != NULL) {
        static const char *const keys[] = {"certificate", "key", NULL};
        const char *cert = NULL, *key = NULL;
        if (bff_yaml_check_map(diag, tls, "tls", keys) != 0 ||
            bff_yaml_get_str(diag, tls, "certificate", 1, &cert) != 0 ||
            bff_yaml_get_str(diag, tls, "key", 1, &key) != 0)
            return -1;
        p->tls_certificate = bff_profile_path(p->dir, cert);
        p->tls_key = bff_profile_path(p->dir, key);
        ret |=
            bff_profile_check_readable(diag, bff_yaml_get(tls, "certificate"), p->tls_certificate);
        ret |= bff_profile_check_readable(diag, bff_yaml_get(tls, "key"), p->tls_key);
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
        if (p->max_header_bytes < 1024) { /* a smaller cap refuses every request, probes too */
            bff_yaml_error(diag, bff_yaml_get(limits, "max_header_bytes"),
                           "max_header_bytes must be at least 1KiB");
            ret = -1;
        }
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
        names[(*n)++] = bff_profile_path(dir, de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(char *), compare_names);
    return names;
}

static int load_endpoints(bff_diag_t *diag, bff_profile_t *p)
{
    char *dir = bff_profile_path(p->dir, "endpoints");
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
    FILE *f = bff_fopen_regular(file, NULL);
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
    char *file = bff_profile_path(p->dir, "graph.yaml");
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
    char *file = bff_profile_path(dir, "profile.yaml");
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
    ret |= bff_profile_parse_upstreams(diag, root, p);
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
