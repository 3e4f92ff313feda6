/* Reading verified claims (claims.h). */
#include "server/auth/claims.h"

#include <stdio.h>

int bff_claim_text(json_t *v, char *out, size_t size)
{
    if (json_is_string(v))
        return snprintf(out, size, "%s", json_string_value(v));
    if (json_is_integer(v))
        return snprintf(out, size, "%lld", (long long)json_integer_value(v));
    if (json_is_array(v)) {
        size_t n = 0, i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e))
                return -1;
            int k = snprintf(out + n, size - n, "%s%s", n ? "," : "", json_string_value(e));
            if (k < 0 || (size_t)k >= size - n)
                return -1;
            n += (size_t)k;
        }
        return (int)n;
    }
    return -1;
}

const char *bff_claims_scopes(json_t *claims, const char *scope_claim, char *buf, size_t size)
{
    json_t *scope = json_object_get(claims, scope_claim != NULL ? scope_claim : "scope");
    if (scope == NULL)
        scope = json_object_get(claims, "scp");
    if (json_is_string(scope))
        return json_string_value(scope);
    if (!json_is_array(scope) || bff_claim_text(scope, buf, size) < 0)
        return NULL;
    for (char *c = buf; *c; ++c) /* an array's scopes, joined with spaces */
        if (*c == ',')
            *c = ' ';
    return buf;
}
