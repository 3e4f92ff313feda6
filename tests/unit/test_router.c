/* Route matching: literal segments win over parameters, 405 lists the methods a path has,
 * values stay percent-encoded and are copied into the pool, trailing slashes are distinct. */
#include "server/http/router.h"

#include "tests/unit/tap.h"

static const char *const upstreams[] = {"users"};

static bff_spec_t *spec_of(const char *route)
{
    char yaml[256];
    snprintf(yaml, sizeof(yaml), "endpoint: %s\nresponse: { ok: { $value: true } }\n", route);
    bff_diag_t diag = {0};
    bff_yaml_doc_t *doc = bff_yaml_load_string("r.yaml", yaml, strlen(yaml), &diag);
    bff_spec_env_t env = {upstreams, 1};
    bff_spec_t *spec = doc ? bff_spec_parse(bff_yaml_root(doc), &env, &diag) : NULL;
    if (spec == NULL)
        TAP_FAIL("cannot compile %s", route);
    bff_yaml_free(doc);
    bff_diag_clear(&diag);
    return spec;
}

static bff_profile_t profile;

static bff_route_result_t match(const char *method, const char *path, bff_route_match_t *m,
                                char *allow, h2o_mem_pool_t *pool)
{
    return bff_router_match(&profile, h2o_iovec_init(method, strlen(method)),
                            h2o_iovec_init(path, strlen(path)), pool, m, allow, 128);
}

static void test_routes(void)
{
    const char *routes[] = {"GET /users/{id}",  "GET /users/me",
                            "POST /users/{id}", "GET /users/{id}/orders/{orderId}",
                            "GET /slash/",      "DELETE /slash/"};
    profile.nendpoints = sizeof(routes) / sizeof(routes[0]);
    profile.endpoints = bff_calloc(profile.nendpoints, sizeof(bff_spec_t *));
    for (size_t i = 0; i != profile.nendpoints; ++i)
        profile.endpoints[i] = spec_of(routes[i]);

    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    bff_route_match_t m;
    char allow[128];
    ASSERT_INT_EQ(match("GET", "/users/42", &m, allow, &pool), BFF_ROUTE_FOUND);
    ASSERT_TRUE(m.spec == profile.endpoints[0]);
    ASSERT_INT_EQ(m.nvalues, 1);
    ASSERT_TRUE(h2o_memis(m.values[0].base, m.values[0].len, H2O_STRLIT("42")));
    /* The most literal route wins, whatever the file order. */
    ASSERT_INT_EQ(match("GET", "/users/me", &m, allow, &pool), BFF_ROUTE_FOUND);
    ASSERT_TRUE(m.spec == profile.endpoints[1]);
    ASSERT_INT_EQ(m.nvalues, 0);
    /* Values stay encoded (decoding is the parameters' job), and a copy outlives the path. */
    char path[] = "/users/a%2Fb/orders/o%201";
    ASSERT_INT_EQ(match("GET", path, &m, allow, &pool), BFF_ROUTE_FOUND);
    memset(path, 'x', sizeof(path) - 1);
    ASSERT_INT_EQ(m.nvalues, 2);
    ASSERT_TRUE(h2o_memis(m.values[0].base, m.values[0].len, H2O_STRLIT("a%2Fb")));
    ASSERT_TRUE(h2o_memis(m.values[1].base, m.values[1].len, H2O_STRLIT("o%201")));
    /* Another method on a known path: 405 with the methods it has. */
    ASSERT_INT_EQ(match("DELETE", "/users/42", &m, allow, &pool), BFF_ROUTE_WRONG_METHOD);
    ASSERT_STR_EQ(allow, "GET, HEAD, POST");
    /* HEAD runs the GET endpoint. */
    ASSERT_INT_EQ(match("HEAD", "/users/me", &m, allow, &pool), BFF_ROUTE_FOUND);
    ASSERT_TRUE(m.spec == profile.endpoints[1]);
    ASSERT_INT_EQ(match("HEAD", "/slash/", &m, allow, &pool), BFF_ROUTE_FOUND);
    ASSERT_INT_EQ(match("GET", "/users", &m, allow, &pool), BFF_ROUTE_NOT_FOUND);
    ASSERT_INT_EQ(match("GET", "/users/", &m, allow, &pool), BFF_ROUTE_NOT_FOUND);
    ASSERT_INT_EQ(match("GET", "/users/42/", &m, allow, &pool), BFF_ROUTE_NOT_FOUND);
    ASSERT_INT_EQ(match("GET", "/slash/", &m, allow, &pool), BFF_ROUTE_FOUND);
    ASSERT_INT_EQ(match("GET", "/slash", &m, allow, &pool), BFF_ROUTE_NOT_FOUND);
    ASSERT_INT_EQ(match("PUT", "/slash/", &m, allow, &pool), BFF_ROUTE_WRONG_METHOD);
    ASSERT_STR_EQ(allow, "GET, HEAD, DELETE");
    ASSERT_INT_EQ(match("GET", "", &m, allow, &pool), BFF_ROUTE_NOT_FOUND);
    h2o_mem_clear_pool(&pool);
    for (size_t i = 0; i != profile.nendpoints; ++i)
        bff_spec_free(profile.endpoints[i]);
    free(profile.endpoints);
}

int main(void)
{
    TAP_RUN(test_routes);
    TAP_DONE();
}
