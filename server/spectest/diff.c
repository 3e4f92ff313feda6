/* JSON comparison with the path to the first difference (diff.h), on jansson's trees. */
#include "server/spectest/diff.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SHOWN 120 /* bytes of a value shown in a difference */

static void show(const json_t *v, char *buf, size_t size)
{
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (s == NULL) {
        snprintf(buf, size, "nothing");
        return;
    }
    if (strlen(s) > SHOWN)
        snprintf(buf, size, "%.*s...", SHOWN, s);
    else
        snprintf(buf, size, "%s", s);
    free(s);
}

static int report(const char *path, const char *what, const json_t *want, const json_t *got,
                  char *out, size_t size)
{
    char a[SHOWN + 8], b[SHOWN + 8];
    show(want, a, sizeof(a));
    show(got, b, sizeof(b));
    if (what != NULL)
        snprintf(out, size, "%s: %s (expected %s, got %s)", path, what, a, b);
    else
        snprintf(out, size, "%s: expected %s, got %s", path, a, b);
    return 1;
}

static int same_scalar(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) /* 1 and 1.0 are the same number */
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static int diff(const json_t *want, const json_t *got, int subset, const char *path, char *out,
                size_t size)
{
    char sub[1024];
    if (json_is_object(want) && json_is_object(got)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)want, key, v)
        {
            snprintf(sub, sizeof(sub), "%s.%s", path, key);
            json_t *g = json_object_get(got, key);
            if (g == NULL)
                return report(sub, "missing member", v, NULL, out, size);
            if (diff(v, g, subset, sub, out, size))
                return 1;
        }
        if (!subset)
            json_object_foreach((json_t *)got, key, v)
            {
                if (json_object_get(want, key) == NULL) {
                    snprintf(sub, sizeof(sub), "%s.%s", path, key);
                    return report(sub, "unexpected member", NULL, v, out, size);
                }
            }
        return 0;
    }
    if (json_is_array(want) && json_is_array(got)) {
        size_t n = json_array_size(want), m = json_array_size(got);
        for (size_t i = 0; i != n && i != m; ++i) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (diff(json_array_get(want, i), json_array_get(got, i), subset, sub, out, size))
                return 1;
        }
        if (n != m) {
            char what[64];
            snprintf(what, sizeof(what), "%zu elements expected, %zu found", n, m);
            snprintf(sub, sizeof(sub), "%s[%zu]", path, n < m ? n : m);
            return report(sub, what, json_array_get(want, m < n ? m : n),
                          json_array_get(got, n < m ? n : m), out, size);
        }
        return 0;
    }
    if (json_typeof(want) != json_typeof(got) && !(json_is_number(want) && json_is_number(got)))
        return report(path, NULL, want, got, out, size);
    if (!same_scalar(want, got))
        return report(path, NULL, want, got, out, size);
    return 0;
}

int bff_st_json_diff(const char *expected, const char *actual, size_t actual_len, int subset,
                     const char *root, char *out, size_t size)
{
    json_t *want = json_loads(expected, JSON_DECODE_ANY, NULL);
    json_t *got = actual ? json_loadb(actual, actual_len, JSON_DECODE_ANY, NULL) : NULL;
    int ret;
    if (got == NULL) {
        snprintf(out, size, "%s: not JSON: %.*s", root,
                 actual ? (int)(actual_len > SHOWN ? SHOWN : actual_len) : 6,
                 actual ? actual : "(none)");
        ret = -1;
    } else if (want == NULL) {
        snprintf(out, size, "%s: the expected value is not JSON", root);
        ret = -1;
    } else {
        ret = diff(want, got, subset, root, out, size);
    }
    json_decref(want);
    json_decref(got);
    return ret;
}
