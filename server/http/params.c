/* Parses and checks a request's parameters into the request doc. */
#include "server/http/params.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (isxdigit(c) ? (tolower(c) - 'a' + 10) : -1);
}

/* Percent-decodes (and '+' -> ' ' for queries) into pool memory; -1 on a bad escape or NUL. */
int bff_url_decode(h2o_mem_pool_t *pool, const char *s, size_t n, int plus, h2o_iovec_t *out)
{
    char *d = h2o_mem_alloc_pool(pool, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            if ((hi = hexval((unsigned char)s[i + 1])) < 0 ||
                (lo = hexval((unsigned char)s[i + 2])) < 0)
                return -1;
            d[j] = (char)(hi * 16 + lo);
            if (d[j++] == '\0')
                return -1;
            i += 2;
        } else {
            d[j++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    d[j] = '\0';
    *out = h2o_iovec_init(d, j);
    return 0;
}

static int find_query_value(h2o_iovec_t query, const char *name, h2o_iovec_t *raw)
{
    if (query.base == NULL)
        return 0;
    const char *p = query.base, *end = query.base + query.len;
    size_t namelen = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - p) == namelen && memcmp(p, name, namelen) == 0) {
            *raw = eq ? h2o_iovec_init(eq + 1, (size_t)(stop - eq - 1)) : h2o_iovec_init("", 0);
            return 1;
        }
        p = stop + 1;
    }
    return 0;
}

/* JSON's number grammar: what the request doc can carry as a number, and what clients mean
 * (no "+5", ".5", "1.", hex or spaces, which strtod would take). */
int bff_is_json_number(h2o_iovec_t v)
{
    const char *p = v.base, *end = v.base + v.len;
    if (p < end && *p == '-')
        ++p;
    if (p == end || !isdigit((unsigned char)*p) ||
        (*p == '0' && p + 1 < end && isdigit((unsigned char)p[1])))
        return 0;
    while (p < end && isdigit((unsigned char)*p))
        ++p;
    if (p < end && *p == '.') {
        if (++p == end || !isdigit((unsigned char)*p))
            return 0;
        while (p < end && isdigit((unsigned char)*p))
            ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            ++p;
        if (p == end || !isdigit((unsigned char)*p))
            return 0;
        while (p < end && isdigit((unsigned char)*p))
            ++p;
    }
    return p == end;
}

/* Checks one value against its declaration and appends it to the request doc. On a problem,
 * writes the message into msg and returns -1. */
static int check_param(const bff_param_t *p, h2o_iovec_t v, bff_jwrite_t *w, char *msg, size_t size)
{
    const char *where = p->in_path ? "path parameter" : "query parameter";
    if (p->max_length && v.len > p->max_length) {
        snprintf(msg, size, "%s '%s' is longer than %zu characters", where, p->name, p->max_length);
        return -1;
    }
    if (p->nenum) {
        int ok = 0;
        for (size_t i = 0; i != p->nenum && !ok; ++i)
            ok =
                strlen(p->enum_values[i]) == v.len && memcmp(p->enum_values[i], v.base, v.len) == 0;
        if (!ok) {
            snprintf(msg, size, "%s '%s' must be one of the allowed values", where, p->name);
            return -1;
        }
    }
    bff_jwrite_key(w, p->name, strlen(p->name));
    if (p->type == BFF_PARAM_STRING) {
        bff_jwrite_str(w, v.base, v.len);
        return 0;
    }
    if (p->type == BFF_PARAM_BOOL) {
        int t = h2o_memis(v.base, v.len, H2O_STRLIT("true")) ||
                h2o_memis(v.base, v.len, H2O_STRLIT("1"));
        int f = h2o_memis(v.base, v.len, H2O_STRLIT("false")) ||
                h2o_memis(v.base, v.len, H2O_STRLIT("0"));
        if (!t && !f) {
            snprintf(msg, size, "%s '%s' must be true or false", where, p->name);
            return -1;
        }
        bff_jwrite_bool(w, t);
        return 0;
    }
    char *end;
    double d = strtod(v.base, &end);
    int is_int = p->type == BFF_PARAM_INT;
    int bad = v.len == 0 || end != v.base + v.len || !isfinite(d) || !bff_is_json_number(v);
    if (!bad && is_int)
        bad = strspn(v.base + (v.base[0] == '-'), "0123456789") != v.len - (v.base[0] == '-') ||
              fabs(d) > 9007199254740991.0;
    if (bad || (p->has_min && d < p->min) || (p->has_max && d > p->max)) {
        if (p->has_min && p->has_max)
            snprintf(msg, size, "%s '%s' must be %s between %g and %g", where, p->name,
                     is_int ? "an integer" : "a number", p->min, p->max);
        else if (p->has_min)
            snprintf(msg, size, "%s '%s' must be %s of at least %g", where, p->name,
                     is_int ? "an integer" : "a number", p->min);
        else if (p->has_max)
            snprintf(msg, size, "%s '%s' must be %s of at most %g", where, p->name,
                     is_int ? "an integer" : "a number", p->max);
        else
            snprintf(msg, size, "%s '%s' must be %s", where, p->name,
                     is_int ? "an integer" : "a number");
        return -1;
    }
    bff_jwrite_raw(w, v.base, v.len);
    return 0;
}

static void add_headers_to_doc(const bff_spec_t *spec, const h2o_headers_t *headers,
                               bff_jwrite_t *w)
{
    if (spec->nrequest_headers == 0)
        return;
    bff_jwrite_key(w, H2O_STRLIT("header"));
    bff_jwrite_open(w, '{');
    for (size_t i = 0; i != spec->nrequest_headers; ++i) {
        const char *name = spec->request_headers[i];
        ssize_t idx = h2o_find_header_by_str(headers, name, strlen(name), -1);
        /* HTTP allows header bytes JSON does not (obs-text): such a value counts as absent. */
        if (idx < 0 ||
            !bff_utf8_valid(headers->entries[idx].value.base, headers->entries[idx].value.len))
            continue;
        bff_jwrite_key(w, name, strlen(name));
        bff_jwrite_str(w, headers->entries[idx].value.base, headers->entries[idx].value.len);
    }
    bff_jwrite_close(w, '}');
}

int bff_params_build(const bff_spec_t *spec, const h2o_iovec_t *path_values, h2o_iovec_t query,
                     const h2o_headers_t *headers, h2o_iovec_t body, h2o_mem_pool_t *pool,
                     bff_jwrite_t *w, char *msg, size_t msg_size, const char **bad)
{
    size_t pi = 0;
    *bad = NULL; /* the parameter at fault; names are plain identifiers */
    bff_jwrite_open(w, '{');
    for (size_t i = 0; i != spec->nparams; ++i) {
        const bff_param_t *p = spec->params + i;
        *bad = p->name;
        h2o_iovec_t raw, v;
        int have;
        if (p->in_path) {
            raw = path_values[pi++];
            have = 1;
        } else {
            have = find_query_value(query, p->name, &raw);
        }
        if (!have) {
            if (p->default_value == NULL) {
                if (p->required) {
                    snprintf(msg, msg_size, "query parameter '%s' is required", p->name);
                    return -1;
                }
                continue;
            }
            raw = h2o_iovec_init(p->default_value, strlen(p->default_value));
            v = raw;
        } else if (bff_url_decode(pool, raw.base, raw.len, !p->in_path, &v) != 0) {
            snprintf(msg, msg_size, "parameter '%s' has a malformed percent-encoding", p->name);
            return -1;
        } else if (!bff_utf8_valid(v.base, v.len)) {
            snprintf(msg, msg_size, "parameter '%s' is not valid UTF-8", p->name);
            return -1;
        } else if (p->in_path && (h2o_memis(v.base, v.len, H2O_STRLIT(".")) ||
                                  h2o_memis(v.base, v.len, H2O_STRLIT("..")))) {
            /* A dot-segment would climb the upstream's path ("/users/{id}/orders" with ".."
             * is "/users/orders" after normalization): never the client's to choose. */
            snprintf(msg, msg_size, "path parameter '%s' cannot be '.' or '..'", p->name);
            return -1;
        }
        if (check_param(p, v, w, msg, msg_size) != 0)
            return -1;
    }
    add_headers_to_doc(spec, headers, w);
    if (body.base != NULL) {
        bff_jwrite_key(w, H2O_STRLIT("body"));
        bff_jwrite_raw(w, body.base, body.len);
    }
    bff_jwrite_close(w, '}');
    if (bff_jwrite_done(w) != 0) {
        snprintf(msg, msg_size, "request parameters could not be encoded");
        *bad = NULL;
        return -1;
    }
    return 0;
}
