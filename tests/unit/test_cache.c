/* The cache's pure parts: Cache-Control parsing (data-driven, tests/cases/cache_control), the
 * entry's wire form (round trip, and every malformed blob refused), and L1's LRU (cap,
 * recency, expiry, replacement). */
#include "server/cache/entry.c"
#include "server/cache/l1.c"

#include "compose/cache_policy.h"
#include "tests/unit/tap.h"

static void test_cache_control_cases(void)
{
    FILE *f = fopen("tests/cases/cache_control/cases.txt", "r");
    ASSERT_TRUE(f != NULL);
    if (f == NULL)
        return;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        ASSERT_TRUE(bar2 != NULL);
        if (bar2 == NULL)
            continue;
        *bar1 = *bar2 = '\0';
        int want_age = atoi(bar1 + 1), age;
        unsigned want = 0, flags;
        for (const char *p = bar2 + 1; *p; ++p)
            want |= *p == 'n' ? BFF_CC_NO_STORE : *p == 'p' ? BFF_CC_PRIVATE : BFF_CC_MAX_AGE;
        bff_cache_control_parse(line, &age, &flags);
        if (age != want_age || flags != want)
            TAP_FAIL("'%s': max-age %d flags %u, expected %d %u", line, age, flags, want_age, want);
        ++n;
    }
    fclose(f);
    ASSERT_TRUE(n >= 20);
}

static size_t encode(const bff_cache_entry_t *e, char *buf)
{
    bff_cache_entry_encode(e, buf);
    return bff_cache_entry_size(e);
}

static void test_entry_round_trip_and_refusals(void)
{
    bff_cache_entry_t e = {.stored_ms = 1000,
                           .fresh_until_ms = 31000,
                           .swr_until_ms = 41000,
                           .sie_until_ms = 91000,
                           .reval_until_ms = 95000,
                           .status = 200,
                           .flags = BFF_CACHE_PRIVATE,
                           .etag = "\"abc\"",
                           .etag_len = 5,
                           .content_type = "application/json",
                           .content_type_len = 16,
                           .tags = "user:1\nusers",
                           .tags_len = 12,
                           .body = "{\"a\":1}",
                           .body_len = 7,
                           .validators = "[{\"u\":\"users\"}]",
                           .validators_len = 15};
    char buf[256], copy[256];
    size_t len = encode(&e, buf);
    bff_cache_entry_t d;
    ASSERT_INT_EQ(bff_cache_entry_decode(buf, len, &d), 0);
    ASSERT_INT_EQ(d.fresh_until_ms, 31000);
    ASSERT_INT_EQ(d.swr_until_ms, 41000);
    ASSERT_INT_EQ(d.sie_until_ms, 91000);
    ASSERT_INT_EQ(d.status, 200);
    ASSERT_INT_EQ(d.flags, BFF_CACHE_PRIVATE);
    ASSERT_TRUE(d.body_len == 7 && memcmp(d.body, "{\"a\":1}", 7) == 0);
    ASSERT_TRUE(d.etag_len == 5 && memcmp(d.etag, "\"abc\"", 5) == 0);
    ASSERT_INT_EQ(d.reval_until_ms, 95000);
    ASSERT_TRUE(d.validators_len == 15 && memcmp(d.validators, "[{\"u\":\"users\"}]", 15) == 0);
    ASSERT_INT_EQ(bff_cache_entry_expires(&d), 95000);
    ASSERT_TRUE(bff_cache_entry_has_tag(&d, "user:1", 6));
    ASSERT_TRUE(bff_cache_entry_has_tag(&d, "users", 5));
    ASSERT_TRUE(!bff_cache_entry_has_tag(&d, "user", 4));
    ASSERT_TRUE(!bff_cache_entry_has_tag(&d, "user:1\nusers", 12));
    /* Every truncation, one byte more, and a foreign magic are refused. */
    for (size_t cut = 0; cut != len; ++cut)
        ASSERT_INT_EQ(bff_cache_entry_decode(buf, cut, &d), -1);
    memcpy(copy, buf, len);
    copy[len] = 'x';
    ASSERT_INT_EQ(bff_cache_entry_decode(copy, len + 1, &d), -1);
    memcpy(copy, buf, len);
    copy[3] = '9'; /* another version */
    ASSERT_INT_EQ(bff_cache_entry_decode(copy, len, &d), -1);
    /* A header value that would split the response is refused. */
    e.etag = "\"a\r\n\"";
    len = encode(&e, buf);
    ASSERT_INT_EQ(bff_cache_entry_decode(buf, len, &d), -1);
    /* So is a status no HTTP answer has. */
    e.etag = "\"abc\"";
    e.status = 42;
    len = encode(&e, buf);
    ASSERT_INT_EQ(bff_cache_entry_decode(buf, len, &d), -1);
}

static void key_of(unsigned char key[32], unsigned i)
{
    memset(key, 0, 32);
    memcpy(key, &i, sizeof(i));
    key[31] = (unsigned char)i;
}

static void test_l1_lru_cap_and_expiry(void)
{
    char blob[1000];
    memset(blob, 'b', sizeof(blob));
    size_t cost = ITEM_COST(sizeof(blob));
    bff_l1_t *l1 = bff_l1_create(cost * 10);
    unsigned char k[32];
    for (unsigned i = 0; i != 10; ++i) {
        key_of(k, i);
        bff_l1_put(l1, k, blob, sizeof(blob), 100);
    }
    ASSERT_INT_EQ(bff_l1_count(l1), 10);
    const char *got;
    size_t len;
    key_of(k, 0); /* 0 becomes the most recent: 1 is the oldest now */
    ASSERT_INT_EQ(bff_l1_get(l1, k, 50, &got, &len), 0);
    key_of(k, 10);
    bff_l1_put(l1, k, blob, sizeof(blob), 100);
    ASSERT_INT_EQ(bff_l1_count(l1), 10);
    ASSERT_TRUE(bff_l1_bytes(l1) <= cost * 10);
    key_of(k, 1);
    ASSERT_INT_EQ(bff_l1_get(l1, k, 50, &got, &len), -1); /* evicted */
    key_of(k, 0);
    ASSERT_INT_EQ(bff_l1_get(l1, k, 50, &got, &len), 0);
    ASSERT_INT_EQ(bff_l1_get(l1, k, 100, &got, &len), -1); /* expired at 100 */
    ASSERT_INT_EQ(bff_l1_count(l1), 9);
    /* Replacing a key keeps one copy; too large a blob is not kept at all. */
    key_of(k, 5);
    bff_l1_put(l1, k, "new", 3, 200);
    ASSERT_INT_EQ(bff_l1_get(l1, k, 150, &got, &len), 0);
    ASSERT_TRUE(len == 3 && memcmp(got, "new", 3) == 0);
    static char big[4 * 1000 * 10];
    key_of(k, 99);
    bff_l1_put(l1, k, big, sizeof(big), 200);
    ASSERT_INT_EQ(bff_l1_get(l1, k, 150, &got, &len), -1);
    /* Many keys: the table grows, every key still found. */
    bff_l1_t *many = bff_l1_create(64u << 20);
    for (unsigned i = 0; i != 5000; ++i) {
        key_of(k, i);
        bff_l1_put(many, k, (const char *)&i, sizeof(i), 100);
    }
    int all = 1;
    for (unsigned i = 0; i != 5000; ++i) {
        key_of(k, i);
        all &= bff_l1_get(many, k, 1, &got, &len) == 0 && memcmp(got, &i, sizeof(i)) == 0;
    }
    ASSERT_TRUE(all);
    bff_l1_destroy(many);
    /* An L1 of size 0 keeps nothing. */
    bff_l1_t *none = bff_l1_create(0);
    bff_l1_put(none, k, "x", 1, 100);
    ASSERT_INT_EQ(bff_l1_count(none), 0);
    bff_l1_destroy(none);
    bff_l1_destroy(l1);
}

int main(void)
{
    TAP_RUN(test_cache_control_cases);
    TAP_RUN(test_entry_round_trip_and_refusals);
    TAP_RUN(test_l1_lru_cap_and_expiry);
    TAP_DONE();
}
