/* The URL handed to curl parsed: for every target bff_url_with_target accepts, what curl sends
 * (scheme, host and port, and the request target: the path URL-encoded as curl asks for it, then
 * '?' and the query if there is one) equals what curl's own parse of the whole string gives;
 * targets where they could differ are refused (NULL), and the caller sends the string.
 * Data-driven over the shapes a rendered source path takes. */
#include "server/fetch/upstream_url.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

static const struct {
    const char *target;
    int accepted;
} cases[] = {
    {"/users/1", 1},
    {"/orders?userId=7&limit=10", 1},
    {"/a/b?x=1&y=a%2fb&z=", 1},
    {"/p%2fq/%c3%a9", 1},
    {"/x/../y/./z", 1}, /* kept as is on both ways (CURLOPT_PATH_AS_IS) */
    {"/a?b?c", 1},
    {"/%", 1},
    {"/a%2", 1},
    {"/a%z9", 1},
    {"/a;b,c:d@e!f$g'h(i)j*k+l=m", 1},
    {"/p%2Fq", 0}, /* curl_url_set would lowercase the escape */
    {"/a?x=%C3%A9", 0},
    {"/a#frag", 0}, /* the parse cuts the fragment off */
    {"/a b", 0},
    {"/a\tb", 0},
    {"/\xc3\xa9", 0},
    {"/a?", 0},
    {"users/1", 0},
    {"", 0},
};

static char *part(CURLU *u, CURLUPart what, unsigned flags)
{
    char *s = NULL;
    if (curl_url_get(u, what, &s, flags) != CURLUE_OK)
        return NULL;
    return s;
}

/* The request target curl 7.88 writes (Curl_http_target): the path it reads URL-encoded, then
 * '?' and the query if the URL has one. */
static void request_target(CURLU *u, char *out, size_t size)
{
    char *path = part(u, CURLUPART_PATH, CURLU_URLENCODE), *query = part(u, CURLUPART_QUERY, 0);
    snprintf(out, size, "%s%s%s", path ? path : "(none)", query ? "?" : "", query ? query : "");
    curl_free(path);
    curl_free(query);
}

static void check_same_parts(const char *base, const char *prefix)
{
    CURLU *b = bff_url_parse_base(base);
    ASSERT_TRUE(b != NULL);
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char target[256], whole[512];
        snprintf(target, sizeof(target), "%s%s", prefix, cases[i].target);
        if (prefix[0] != '\0' && cases[i].target[0] != '/')
            continue; /* a prefix makes any target start with '/' */
        snprintf(whole, sizeof(whole), "%.*s%s", (int)bff_url_authority_len(base), base, target);
        CURLU *got = bff_url_with_target(b, target);
        if (!cases[i].accepted) {
            if (got != NULL)
                printf("#   accepted, but should not be: %s\n", whole);
            ASSERT_TRUE(got == NULL);
            curl_url_cleanup(got);
            continue;
        }
        ASSERT_TRUE(got != NULL);
        if (got == NULL) {
            printf("#   refused: %s\n", whole);
            continue;
        }
        CURLU *want = curl_url();
        ASSERT_INT_EQ(
            curl_url_set(want, CURLUPART_URL, whole, CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS),
            CURLUE_OK);
        static const struct {
            CURLUPart part;
            unsigned flags;
        } parts[] = {
            {CURLUPART_SCHEME, 0}, {CURLUPART_HOST, 0}, {CURLUPART_PORT, CURLU_DEFAULT_PORT}};
        for (size_t k = 0; k != sizeof(parts) / sizeof(parts[0]); ++k) {
            char *g = part(got, parts[k].part, parts[k].flags);
            char *w = part(want, parts[k].part, parts[k].flags);
            if ((g == NULL) != (w == NULL) || (g != NULL && strcmp(g, w) != 0))
                printf("#   %s: part %d\n", whole, (int)parts[k].part);
            ASSERT_STR_EQ(g ? g : "(none)", w ? w : "(none)");
            curl_free(g);
            curl_free(w);
        }
        char got_target[512], want_target[512];
        request_target(got, got_target, sizeof(got_target));
        request_target(want, want_target, sizeof(want_target));
        if (strcmp(got_target, want_target) != 0)
            printf("#   %s: request target\n", whole);
        ASSERT_STR_EQ(got_target, want_target);
        curl_url_cleanup(want);
        curl_url_cleanup(got);
    }
    curl_url_cleanup(b);
}

static void test_parts_match_curls_parse(void)
{
    check_same_parts("http://127.0.0.1:9100", "");
    check_same_parts("https://orders.internal", "");
    check_same_parts("http://[::1]:8080/api", "/api");
}

static void test_authority(void)
{
    ASSERT_INT_EQ(bff_url_authority_len("http://h:1"), 10);
    ASSERT_INT_EQ(bff_url_authority_len("http://h:1/api/"), 10);
    ASSERT_INT_EQ(bff_url_authority_len("https://[::1]:8/x"), 15);
    ASSERT_TRUE(bff_url_with_target(NULL, "/a") == NULL); /* a base curl refused */
}

/* An address needs no name lookup, so curl's DNS cache for it is never pruned (configure). */
static void test_host_is_address(void)
{
    static const struct {
        const char *url;
        int is;
    } addresses[] = {
        {"http://127.0.0.1:9100", 1},   {"http://[::1]:8080/api", 1},
        {"https://10.0.0.7", 1},        {"http://localhost:9100", 0},
        {"https://orders.internal", 0}, {"http://127.0.0.1.nip.io", 0},
    };
    for (size_t i = 0; i != sizeof(addresses) / sizeof(addresses[0]); ++i) {
        CURLU *u = bff_url_parse_base(addresses[i].url);
        ASSERT_TRUE(u != NULL);
        if (bff_url_host_is_address(u) != addresses[i].is)
            printf("#   %s\n", addresses[i].url);
        ASSERT_INT_EQ(bff_url_host_is_address(u), addresses[i].is);
        curl_url_cleanup(u);
    }
    ASSERT_INT_EQ(bff_url_host_is_address(NULL), 0);
}

/* Connections are per host and port: the key leaves out a user and password. */
static void test_host_key(void)
{
    static const struct {
        const char *url, *want;
    } keys[] = {
        {"http://u:p@h:1/x", "http://h:1"},
        {"http://h:1", "http://h:1"},
        {"https://[::1]:8/api", "https://[::1]:8"},
        {"http://u:p@ss@h/", "http://h"},
        {"http://h/path@x", "http://h"},
    };
    for (size_t i = 0; i != sizeof(keys) / sizeof(keys[0]); ++i) {
        char out[64];
        size_t n = bff_url_host_key(keys[i].url, out, sizeof(out));
        ASSERT_STR_EQ(out, keys[i].want);
        ASSERT_INT_EQ(n, strlen(keys[i].want));
    }
}

static void test_redacted(void)
{
    static const struct {
        const char *url, *want;
    } redactions[] = {
        {"http://user:s3cret@h:1/api", "http://user:***@h:1/api"},
        {"http://user@h:1", "http://user@h:1"}, /* no password */
        {"https://h:8443/x", "https://h:8443/x"},
        {"http://u:p@ss@h/", "http://u:***@h/"}, /* the last '@' ends the userinfo */
        {"http://h/path@x", "http://h/path@x"},  /* an '@' past the authority is not one */
    };
    for (size_t i = 0; i != sizeof(redactions) / sizeof(redactions[0]); ++i) {
        char out[128];
        bff_url_redacted(redactions[i].url, strlen(redactions[i].url), out, sizeof(out));
        ASSERT_STR_EQ(out, redactions[i].want);
    }
    char out[64];
    bff_url_redacted("http://u:p@host:9/x", 17, out, sizeof(out)); /* the authority alone */
    ASSERT_STR_EQ(out, "http://u:***@host:9");
}

int main(void)
{
    TAP_RUN(test_parts_match_curls_parse);
    TAP_RUN(test_authority);
    TAP_RUN(test_host_is_address);
    TAP_RUN(test_host_key);
    TAP_RUN(test_redacted);
    TAP_DONE();
}
