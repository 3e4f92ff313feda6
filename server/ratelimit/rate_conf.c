/* The profile's `rate_limits:` block (rate_conf.h). */
#include "server/ratelimit/rate_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/cache/cache_conf.h"

int bff_rate_parse(const char *s, uint64_t *limit, uint64_t *period_ms)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s || *end != '/' || n == 0 || n > 1000000000ull)
        return -1;
    const char *unit = end + 1;
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {{"s", 1000},     {"sec", 1000},     {"second", 1000}, {"m", 60000},
                 {"min", 60000},  {"minute", 60000}, {"h", 3600000},   {"hour", 3600000},
                 {"d", 86400000}, {"day", 86400000}};
    for (size_t i = 0; i != sizeof(units) / sizeof(units[0]); ++i)
        if (strcmp(unit, units[i].name) == 0) {
            *limit = n;
            *period_ms = units[i].ms;
            return 0;
        }
    return -1;
}

int bff_quota_parse(const char *s, uint64_t *limit, bff_quota_window_t *window)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s || *end != '/' || n == 0 || n > 1000000000000ull)
        return -1;
    if (strcmp(end + 1, "d") == 0 || strcmp(end + 1, "day") == 0)
        *window = BFF_QUOTA_DAY;
    else if (strcmp(end + 1, "month") == 0)
        *window = BFF_QUOTA_MONTH;
    else
        return -1;
    *limit = n;
    return 0;
}

/* The same arithmetic as the limiter's script (it uses Redis's clock, this one the header's). */
uint64_t bff_quota_window_end(uint64_t now_s, bff_quota_window_t window)
{
    uint64_t day = now_s / 86400;
    if (window == BFF_QUOTA_DAY)
        return (day + 1) * 86400;
    /* The civil date of `day` (days since 1970-03-01 based eras of 400 years). */
    uint64_t z = day + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    uint64_t mday = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    uint64_t year = yoe + era * 400 + (month <= 2);
    static const uint8_t lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t len = lengths[month - 1];
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        len = 29;
    return (day - (mday - 1) + len) * 86400;
}

static int parse_plans(const bff_yaml_node_t *node, bff_diag_t *diag, bff_rate_conf_t *c)
{
    if (node == NULL || node->kind != BFF_YAML_MAP || node->size == 0) {
        bff_yaml_error(diag, node,
                       "rate_limits needs 'plans': { free: { rate: 60/min, burst: 10 } }");
        return -1;
    }
    int ret = 0;
    c->plans = bff_calloc(node->size, sizeof(*c->plans));
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *p = node->items[i];
        static const char *const keys[] = {"rate", "burst", "quota", NULL};
        const char *rate = NULL, *quota = NULL;
        int64_t burst = 0;
        if (bff_yaml_check_map(diag, p, "a plan", keys) != 0 ||
            bff_yaml_get_str(diag, p, "rate", 1, &rate) != 0 ||
            bff_yaml_get_int(diag, p, "burst", 0, 1, 1000000000, &burst) != 0 ||
            bff_yaml_get_str(diag, p, "quota", 0, &quota) != 0) {
            ret = -1;
            continue;
        }
        bff_rate_plan_t *plan = c->plans + c->nplans;
        if (bff_rate_parse(rate, &plan->limit, &plan->period_ms) != 0) {
            bff_yaml_error(diag, bff_yaml_get(p, "rate"),
                           "rate is COUNT/UNIT such as 60/min (s, min, h, day), not '%s'", rate);
            ret = -1;
            continue;
        }
        if (quota != NULL && bff_quota_parse(quota, &plan->quota, &plan->quota_window) != 0) {
            bff_yaml_error(diag, bff_yaml_get(p, "quota"),
                           "quota is COUNT/day or COUNT/month such as 10000/day, not '%s'", quota);
            ret = -1;
            continue;
        }
        plan->burst = burst > 0 ? (uint64_t)burst : plan->limit;
        plan->name = bff_strdup(node->keys[i]->str);
        ++c->nplans;
    }
    return ret;
}

int bff_rate_conf_parse(const bff_yaml_node_t *node, const char *profile_name, bff_diag_t *diag,
                        bff_rate_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->command_timeout_ms = 50;
    if (node == NULL)
        return 0;
    static const char *const keys[] = {
        "plans",  "default_plan",    "key", "on_redis_failure", "redis",
        "prefix", "command_timeout", NULL};
    if (bff_yaml_check_map(diag, node, "rate_limits", keys) != 0)
        return -1;
    c->present = 1;
    int ret = parse_plans(bff_yaml_get(node, "plans"), diag, c);
    const char *def = NULL, *key = NULL, *failure = NULL, *redis = NULL, *prefix = NULL;
    ret |= bff_yaml_get_str(diag, node, "default_plan", 0, &def);
    ret |= bff_yaml_get_str(diag, node, "key", 0, &key);
    ret |= bff_yaml_get_str(diag, node, "on_redis_failure", 0, &failure);
    ret |= bff_yaml_get_str(diag, node, "redis", 0, &redis);
    ret |= bff_yaml_get_str(diag, node, "prefix", 0, &prefix);
    ret |= bff_yaml_get_duration_ms(diag, node, "command_timeout", &c->command_timeout_ms);
    if (c->command_timeout_ms == 0)
        c->command_timeout_ms = 50;
    if (def != NULL) {
        const bff_rate_plan_t *p = bff_rate_conf_plan(c, def);
        if (p == NULL) {
            bff_yaml_error(diag, bff_yaml_get(node, "default_plan"), "no plan named '%s'", def);
            ret = -1;
        } else {
            c->default_plan = (size_t)(p - c->plans);
        }
    }
    if (key == NULL || strcmp(key, "auto") == 0)
        c->key = BFF_RATE_KEY_AUTO;
    else if (strcmp(key, "principal") == 0)
        c->key = BFF_RATE_KEY_PRINCIPAL;
    else if (strcmp(key, "ip") == 0)
        c->key = BFF_RATE_KEY_IP;
    else {
        bff_yaml_error(diag, bff_yaml_get(node, "key"), "key is auto, principal or ip");
        ret = -1;
    }
    if (failure != NULL && strcmp(failure, "open") != 0 && strcmp(failure, "closed") != 0) {
        bff_yaml_error(diag, bff_yaml_get(node, "on_redis_failure"),
                       "on_redis_failure is open (each instance limits alone) or closed (503)");
        ret = -1;
    }
    c->fail_closed = failure != NULL && strcmp(failure, "closed") == 0;
    if (redis != NULL && redis[0] != '\0') {
        /* The same URL form as the cache's. */
        bff_cache_conf_t tmp = {0};
        if (bff_cache_parse_redis_url(redis, &tmp) != 0) {
            bff_yaml_error(diag, bff_yaml_get(node, "redis"),
                           "redis must be a URL like redis://127.0.0.1:6379/0, not '%s'", redis);
            ret = -1;
        }
        c->redis_host = tmp.redis_host, c->redis_port = tmp.redis_port;
        c->redis_db = tmp.redis_db, c->redis_password = tmp.redis_password;
    }
    char pfx[160];
    snprintf(pfx, sizeof(pfx), "bffd:%s:rl:", profile_name ? profile_name : "");
    c->prefix = bff_strdup(prefix != NULL ? prefix : pfx);
    return ret;
}

const bff_rate_plan_t *bff_rate_conf_plan(const bff_rate_conf_t *c, const char *name)
{
    for (size_t i = 0; i != c->nplans; ++i)
        if (strcmp(c->plans[i].name, name) == 0)
            return c->plans + i;
    return NULL;
}

void bff_rate_conf_dispose(bff_rate_conf_t *c)
{
    for (size_t i = 0; i != c->nplans; ++i)
        free(c->plans[i].name);
    free(c->plans);
    free(c->redis_host);
    free(c->redis_password);
    free(c->prefix);
    memset(c, 0, sizeof(*c));
}
