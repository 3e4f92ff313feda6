/* bffd test's JSON comparison: member order ignored, numbers by value, the first difference
 * named by its path with both values; subset mode ignores extra members only. */
#include "server/spectest/diff.h"

#include <stdio.h>
#include <string.h>

#include "tests/unit/tap.h"

static const struct {
    const char *expected, *actual;
    int subset, ret;
    const char *message; /* "" when they agree */
} cases[] = {
    {"{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1.0}", 0, 0, ""},
    {"{\"a\":{\"b\":[1,{\"c\":\"x\"}]}}", "{\"a\":{\"b\":[1,{\"c\":\"y\"}]}}", 0, 1,
     "body.a.b[1].c: expected \"x\", got \"y\""},
    {"{\"a\":1}", "{\"a\":1,\"z\":true}", 0, 1,
     "body.z: unexpected member (expected nothing, got true)"},
    {"{\"a\":1}", "{\"a\":1,\"z\":true}", 1, 0, ""},
    {"{\"a\":1,\"m\":null}", "{\"a\":1}", 1, 1,
     "body.m: missing member (expected null, got nothing)"},
    {"[1,2,3]", "[1,2]", 0, 1, "body[2]: 3 elements expected, 2 found (expected 3, got nothing)"},
    {"[{\"a\":1}]", "[{\"a\":1,\"b\":2}]", 1, 0, ""},
    {"{\"n\":\"1\"}", "{\"n\":1}", 0, 1, "body.n: expected \"1\", got 1"},
    {"{}", "not json", 0, -1, "body: not JSON: not json"},
};

static void test_table(void)
{
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char out[512] = "";
        int ret = bff_st_json_diff(cases[i].expected, cases[i].actual, strlen(cases[i].actual),
                                   cases[i].subset, "body", out, sizeof(out));
        ASSERT_INT_EQ(ret, cases[i].ret);
        ASSERT_STR_EQ(out, cases[i].message);
    }
}

int main(void)
{
    TAP_RUN(test_table);
    TAP_DONE();
}
