/* The persisted-query registry shared by a graph's workers: found by digest, replaced in its
 * slot by a newcomer, texts over the cap not kept, and consistent under concurrent use. */
#include "compose/gql/apq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"

/* A digest-shaped key: the first three hex digits pick the slot. */
static void key(char out[65], unsigned slot_bits, unsigned tail)
{
    snprintf(out, 65, "%03x%061x", slot_bits, tail);
}

static void test_put_get_and_replace(void)
{
    bff_gql_apq_t *apq = bff_gql_apq_create();
    char a[65], b[65], c[65];
    key(a, 0x001, 1);
    key(b, 0x002, 2);
    key(c, 0x001 + 512, 3); /* the same slot as a */
    size_t len = 0;
    ASSERT_TRUE(bff_gql_apq_get(apq, a, &len) == NULL);
    bff_gql_apq_put(apq, a, "{ a }", 5);
    bff_gql_apq_put(apq, b, "{ b }xx", 5); /* the length counts, not the NUL */
    char *got = bff_gql_apq_get(apq, a, &len);
    ASSERT_STR_EQ(got ? got : "(none)", "{ a }");
    ASSERT_INT_EQ(len, 5);
    free(got);
    got = bff_gql_apq_get(apq, b, &len);
    ASSERT_STR_EQ(got ? got : "(none)", "{ b }");
    free(got);
    bff_gql_apq_put(apq, a, "{ a }", 5); /* again: kept as it is */
    bff_gql_apq_put(apq, c, "{ c }", 5); /* a newcomer takes a's slot */
    ASSERT_TRUE(bff_gql_apq_get(apq, a, &len) == NULL);
    got = bff_gql_apq_get(apq, c, &len);
    ASSERT_STR_EQ(got ? got : "(none)", "{ c }");
    free(got);
    bff_gql_apq_free(apq);
}

static void test_large_texts_are_not_kept(void)
{
    bff_gql_apq_t *apq = bff_gql_apq_create();
    char k[65];
    key(k, 0x0ab, 9);
    size_t n = BFF_GQL_APQ_MAX_TEXT + 1, len;
    char *big = malloc(n);
    memset(big, ' ', n);
    bff_gql_apq_put(apq, k, big, n);
    ASSERT_TRUE(bff_gql_apq_get(apq, k, &len) == NULL);
    bff_gql_apq_put(apq, k, big, n - 1);
    char *got = bff_gql_apq_get(apq, k, &len);
    ASSERT_TRUE(got != NULL && len == n - 1);
    free(got);
    free(big);
    bff_gql_apq_free(apq);
}

static bff_gql_apq_t *shared;

static void *churn(void *arg)
{
    unsigned id = (unsigned)(size_t)arg, bad = 0;
    for (unsigned i = 0; i != 20000; ++i) {
        char k[65], text[32];
        key(k, i % 700, id);
        int n = snprintf(text, sizeof(text), "{ t%u_%u }", id, i % 700);
        bff_gql_apq_put(shared, k, text, (size_t)n);
        size_t len;
        char *got = bff_gql_apq_get(shared, k, &len);
        if (got != NULL && (len != (size_t)n || strcmp(got, text) != 0))
            ++bad; /* a text under another key's digest */
        free(got);
    }
    return (void *)(size_t)bad;
}

static void test_threads(void)
{
    shared = bff_gql_apq_create();
    pthread_t t[4];
    for (size_t i = 0; i != 4; ++i)
        pthread_create(t + i, NULL, churn, (void *)i);
    size_t bad = 0;
    for (size_t i = 0; i != 4; ++i) {
        void *r;
        pthread_join(t[i], &r);
        bad += (size_t)r;
    }
    ASSERT_INT_EQ(bad, 0);
    bff_gql_apq_free(shared);
}

int main(void)
{
    TAP_RUN(test_put_get_and_replace);
    TAP_RUN(test_large_texts_are_not_kept);
    TAP_RUN(test_threads);
    TAP_DONE();
}
