/* The profile's `cache:` block (cache_conf.h). */
#include "server/cache/cache_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/mem.h"

/* redis://[:password@]host[:port][/db] */
int bff_cache_parse_redis_url(const char *url, bff_cache_conf_t *c)
{
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8, *at = strrchr(p, '@');
    if (at != NULL) {
        const char *pw = memchr(p, ':', (size_t)(at - p));
        pw = pw != NULL ? pw + 1 : p;
        if (at > pw) {
            c->redis_password = bff_calloc(1, (size_t)(at - pw) + 1);
            memcpy(c->redis_password, pw, (size_t)(at - pw));
        }
        p = at + 1;
    }
    const char *end = p + strcspn(p, ":/");
    if (end == p)
        return -1;
    c->redis_host = bff_calloc(1, (size_t)(end - p) + 1);
    memcpy(c->redis_host, p, (size_t)(end - p));
    c->redis_port = 6379;
    if (*end == ':') {
        char *stop;
        long port = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || port < 1 || port > 65535 || (*stop != '\0' && *stop != '/'))
            return -1;
        c->redis_port = (uint16_t)port;
        end = stop;
    }
    if (*end == '/' && end[1] != '\0') {
        char *stop;
        long db = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || *stop != '\0' || db < 0 || db > 1000000)
            return -1;
        c->redis_db = (unsigned)db;
    }
    return 0;
}

int bff_cache_conf_parse(const bff_yaml_node_t *node, const char *profile_name, bff_diag_t *diag,
                         bff_cache_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->memory_bytes = 64u << 20;
    c->command_timeout_ms = 100;
    c->connect_timeout_ms = 500;
    c->lock_ms = 5000;
    c->lock_wait_ms = 1000;
    c->defaults.ttl_ms = 30000;
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "bffd:%s:", profile_name ? profile_name : "");
    if (node == NULL) {
        c->prefix = bff_strdup(prefix);
        return 0;
    }
    static const char *const keys[] = {
        "redis",           "password",       "prefix",    "memory", "command_timeout",
        "connect_timeout", "lock",           "lock_wait", "ttl",    "stale_while_revalidate",
        "stale_if_error",  "client_max_age", NULL};
    if (bff_yaml_check_map(diag, node, "cache", keys) != 0)
        return -1;
    c->present = 1;
    const char *redis = NULL, *password = NULL, *pfx = NULL;
    int ret = bff_yaml_get_str(diag, node, "redis", 0, &redis);
    ret |= bff_yaml_get_str(diag, node, "password", 0, &password);
    ret |= bff_yaml_get_str(diag, node, "prefix", 0, &pfx);
    ret |= bff_yaml_get_size(diag, node, "memory", &c->memory_bytes);
    ret |= bff_yaml_get_duration_ms(diag, node, "command_timeout", &c->command_timeout_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "connect_timeout", &c->connect_timeout_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "lock", &c->lock_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "lock_wait", &c->lock_wait_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "ttl", &c->defaults.ttl_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "stale_while_revalidate", &c->defaults.swr_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "stale_if_error", &c->defaults.sie_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "client_max_age", &c->defaults.client_ms);
    if (redis != NULL && redis[0] != '\0' && bff_cache_parse_redis_url(redis, c) != 0) {
        bff_yaml_error(diag, bff_yaml_get(node, "redis"),
                       "redis must be a URL like redis://127.0.0.1:6379/0, not '%s'", redis);
        ret = -1;
    }
    if (password != NULL && password[0] != '\0') {
        free(c->redis_password);
        c->redis_password = bff_strdup(password);
    }
    if (c->command_timeout_ms == 0) {
        bff_yaml_error(diag, bff_yaml_get(node, "command_timeout"),
                       "command_timeout must be above 0: a Redis that stops answering would "
                       "hold requests forever");
        ret = -1;
    }
    if (c->defaults.ttl_ms == 0)
        c->defaults.ttl_ms = 30000;
    c->prefix = bff_strdup(pfx != NULL ? pfx : prefix);
    return ret;
}

void bff_cache_conf_apply_defaults(const bff_cache_conf_t *conf, bff_cache_policy_t *p)
{
    if (!p->enabled)
        return;
    if (p->ttl_ms == 0)
        p->ttl_ms = conf->defaults.ttl_ms;
    if (!p->has_swr)
        p->swr_ms = conf->defaults.swr_ms;
    if (!p->has_sie)
        p->sie_ms = conf->defaults.sie_ms;
    if (!p->has_client)
        p->client_ms = conf->defaults.client_ms;
}

int bff_cache_is_credential(const char *name, size_t len)
{
    static const char *const names[] = {"authorization", "cookie", "proxy-authorization",
                                        "x-api-key"};
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i)
        if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0)
            return 1;
    return 0;
}

int bff_cache_is_per_request_line(const char *line)
{
    return strncasecmp(line, "x-request-id:", 13) == 0 ||
           strncasecmp(line, "traceparent:", 12) == 0 ||
           strncasecmp(line, "tracestate:", 11) == 0 ||
           strncasecmp(line, "idempotency-key:", 16) == 0;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? bff_strdup(s) : NULL;
}

void bff_cache_conf_copy(bff_cache_conf_t *dst, const bff_cache_conf_t *src)
{
    *dst = *src;
    dst->redis_host = dup_or_null(src->redis_host);
    dst->redis_password = dup_or_null(src->redis_password);
    dst->prefix = dup_or_null(src->prefix);
}

void bff_cache_conf_dispose(bff_cache_conf_t *c)
{
    free(c->redis_host);
    free(c->redis_password);
    free(c->prefix);
    memset(c, 0, sizeof(*c));
}

static int same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int bff_cache_conf_same_store(const bff_cache_conf_t *a, const bff_cache_conf_t *b)
{
    return a->present == b->present && same(a->redis_host, b->redis_host) &&
           a->redis_port == b->redis_port && a->redis_db == b->redis_db &&
           same(a->redis_password, b->redis_password) && same(a->prefix, b->prefix) &&
           a->memory_bytes == b->memory_bytes && a->command_timeout_ms == b->command_timeout_ms &&
           a->connect_timeout_ms == b->connect_timeout_ms && a->lock_ms == b->lock_ms &&
           a->lock_wait_ms == b->lock_wait_ms;
}
