/* JSON comparison for `bffd test`: member order ignored, numbers by value; the first difference
 * named by its path (body.orders[0].id) with both values. */
#ifndef BFF_SERVER_SPECTEST_DIFF_H
#define BFF_SERVER_SPECTEST_DIFF_H

#include <stddef.h>

/** Compares `expected` with `actual` (JSON texts). `subset`: members of actual objects that
 * expected lacks are fine. Returns 0 when they agree, else 1 with the first difference in
 * `out` ("body.name: expected \"Ada\", got \"Bob\""); -1 when `actual` is not JSON. `root`
 * names the whole value ("body"). */
int bff_st_json_diff(const char *expected, const char *actual, size_t actual_len, int subset,
                     const char *root, char *out, size_t size);

#endif
