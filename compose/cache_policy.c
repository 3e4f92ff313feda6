/* `cache:` of endpoints and sources (cache_policy.h). */
#include "compose/cache_policy.h"

#include <string.h>

static int is_off(const char *s)
{
    return strcmp(s, "off") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0;
}

int bff_cache_policy_parse(const bff_yaml_node_t *node, bff_diag_t *diag, bff_cache_policy_t *out,
                           const bff_yaml_node_t **tags)
{
    memset(out, 0, sizeof(*out));
    if (tags != NULL)
        *tags = NULL;
    if (node == NULL)
        return 0;
    if (node->kind == BFF_YAML_SCALAR) {
        if (is_off(node->str))
            return 0;
        if (strcmp(node->str, "on") == 0 || strcmp(node->str, "true") == 0) {
            out->enabled = 1;
            return 0;
        }
        if (bff_parse_duration_ms(node->str, &out->ttl_ms) != 0 || out->ttl_ms == 0) {
            bff_yaml_error(diag, node,
                           "cache must be a duration such as 30s, 'off', or a mapping with ttl, "
                           "stale_while_revalidate, stale_if_error, client_max_age, shared");
            return -1;
        }
        out->enabled = 1;
        return 0;
    }
    static const char *const keys[] = {"ttl",    "stale_while_revalidate", "stale_if_error",
                                       "shared", "client_max_age",         "enabled",
                                       NULL};
    static const char *const keys_tags[] = {"ttl",
                                            "stale_while_revalidate",
                                            "stale_if_error",
                                            "shared",
                                            "client_max_age",
                                            "enabled",
                                            "tags",
                                            "revalidate",
                                            NULL};
    if (bff_yaml_check_map(diag, node, "cache", tags != NULL ? keys_tags : keys) != 0)
        return -1;
    if (tags != NULL)
        *tags = bff_yaml_get(node, "tags");
    out->enabled = 1;
    int ret = bff_yaml_get_bool(diag, node, "enabled", &out->enabled);
    if (bff_yaml_get(node, "enabled") == NULL)
        out->enabled = 1;
    ret |= bff_yaml_get_duration_ms(diag, node, "ttl", &out->ttl_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "stale_while_revalidate", &out->swr_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "stale_if_error", &out->sie_ms);
    ret |= bff_yaml_get_duration_ms(diag, node, "client_max_age", &out->client_ms);
    ret |= bff_yaml_get_bool(diag, node, "shared", &out->shared);
    ret |= bff_yaml_get_duration_ms(diag, node, "revalidate", &out->reval_ms);
    out->has_swr = bff_yaml_get(node, "stale_while_revalidate") != NULL;
    out->has_sie = bff_yaml_get(node, "stale_if_error") != NULL;
    out->has_client = bff_yaml_get(node, "client_max_age") != NULL;
    return ret;
}

/* One directive's name (lower-cased comparison) at p, length n. */
static int directive_is(const char *p, size_t n, const char *name)
{
    size_t len = strlen(name);
    if (n != len)
        return 0;
    for (size_t i = 0; i != n; ++i)
        if ((p[i] | 0x20) != name[i] && !(p[i] == '-' && name[i] == '-'))
            return 0;
    return 1;
}

static int parse_seconds(const char *p, size_t n)
{
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"')
        ++p, n -= 2;
    if (n == 0)
        return -1;
    long v = 0;
    for (size_t i = 0; i != n; ++i) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        if (v < 100000000)
            v = v * 10 + (p[i] - '0');
    }
    return v > 100000000 ? 100000000 : (int)v;
}

/* A max-age or s-maxage seen again, or with a value that is no number of seconds, is invalid,
 * and an invalid one makes the answer stale at once (RFC 9111 4.2.1, 5.2.2.1): 0. */
static int age_directive(int seen, const char *arg, size_t alen)
{
    int v = arg != NULL ? parse_seconds(arg, alen) : -1;
    return seen >= 0 || v < 0 ? 0 : v;
}

void bff_cache_control_parse(const char *value, int *max_age_s, unsigned *flags)
{
    int max_age = -1, s_maxage = -1;
    *flags = 0;
    const char *p = value;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            ++p;
        const char *name = p;
        while (*p != '\0' && *p != '=' && *p != ',' && *p != ' ' && *p != '\t')
            ++p;
        size_t nlen = (size_t)(p - name);
        const char *arg = NULL;
        size_t alen = 0;
        if (*p == '=') {
            arg = ++p;
            if (*p == '"') {
                const char *q = strchr(p + 1, '"');
                p = q != NULL ? q + 1 : p + strlen(p);
            } else {
                while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
                    ++p;
            }
            alen = (size_t)(p - arg);
        }
        while (*p != '\0' && *p != ',')
            ++p;
        if (nlen == 0)
            continue;
        if (directive_is(name, nlen, "no-store") || directive_is(name, nlen, "no-cache"))
            *flags |= BFF_CC_NO_STORE;
        else if (directive_is(name, nlen, "private"))
            *flags |= BFF_CC_PRIVATE;
        else if (directive_is(name, nlen, "max-age"))
            max_age = age_directive(max_age, arg, alen);
        else if (directive_is(name, nlen, "s-maxage"))
            s_maxage = age_directive(s_maxage, arg, alen);
    }
    *max_age_s = s_maxage >= 0 ? s_maxage : max_age;
    if (*max_age_s >= 0)
        *flags |= BFF_CC_MAX_AGE;
}
