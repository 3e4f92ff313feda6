/* Unit tests for compose/json_scan.c against documents it did not see written: the case folders
 * (tests/cases/json_scan/valid and invalid, with the expected error and offset of each invalid
 * one) and random documents built alongside the tokens they must produce; every accepted
 * document must keep the structural invariants and survive a round trip through the writer. */
#include "compose/diag.c"
#include "compose/json_scan.c"
#include "compose/json_write.c"

#include <dirent.h>
#include <sys/stat.h>

#include "tests/unit/tap.h"
#include "tests/unit/jdoc_invariants.h"
#include "tests/unit/test_util.h"

/* Sorted list of "*.json" names in dir (caller frees each and the array). */
static char **list_json(const char *dir, size_t *count)
{
    char **names = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        *count = 0;
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        names = bff_realloc(names, (n + 1) * sizeof(*names));
        names[n++] = bff_strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; ++i) {
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; --j) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    }
    *count = n;
    return names;
}

/* Naive recursive subtree end: the oracle for `next`. */
static uint32_t naive_end(const bff_jdoc_t *doc, uint32_t i)
{
    const bff_jtok_t *t = doc->toks + i;
    uint32_t j = i + 1;
    if (t->type == BFF_J_ARRAY) {
        for (uint32_t k = 0; k < t->size; ++k)
            j = naive_end(doc, j);
    } else if (t->type == BFF_J_OBJECT) {
        for (uint32_t k = 0; k < t->size; ++k)
            j = naive_end(doc, j + 1);
    }
    return j;
}

static char *unescaped(const bff_jdoc_t *doc, uint32_t tok, size_t *len)
{
    char *s = bff_malloc(doc->toks[tok].end - doc->toks[tok].start + 1);
    *len = bff_jdoc_unescape(doc, tok, s);
    s[*len] = '\0';
    return s;
}

/* Re-emits value `i` through the writer (strings unescaped then re-escaped); returns its next. */
static uint32_t reemit(const bff_jdoc_t *doc, uint32_t i, bff_jwrite_t *w)
{
    const bff_jtok_t *t = doc->toks + i;
    size_t len;
    switch (t->type) {
    case BFF_J_OBJECT:
    case BFF_J_ARRAY: {
        int obj = t->type == BFF_J_OBJECT;
        bff_jwrite_open(w, obj ? '{' : '[');
        uint32_t j = i + 1;
        for (uint32_t k = 0; k < t->size; ++k) {
            if (obj) {
                char *key = unescaped(doc, j, &len);
                bff_jwrite_key(w, key, len);
                free(key);
                ++j;
            }
            j = reemit(doc, j, w);
        }
        bff_jwrite_close(w, obj ? '}' : ']');
        return j;
    }
    case BFF_J_STRING: {
        char *s = unescaped(doc, i, &len);
        bff_jwrite_str(w, s, len);
        free(s);
        return i + 1;
    }
    default: {
        const char *raw = bff_jdoc_raw(doc, i, &len);
        bff_jwrite_raw(w, raw, len);
        return i + 1;
    }
    }
}

/* Re-emits doc, rescans the output and compares the two token streams; returns a violation. */
static const char *check_roundtrip(const bff_jdoc_t *doc)
{
    static char msg[128];
    const char *ret = NULL;
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, 1 << 26);
    reemit(doc, 0, &w);
    bff_jdoc_t again = {0};
    const char *err = NULL;
    size_t off = 0;
    if (bff_jwrite_done(&w) != 0) {
        ret = "writer refused the re-emitted document";
    } else if (bff_jdoc_scan(&again, w.buf, w.len, 0, 64, &err, &off) != 0) {
        snprintf(msg, sizeof(msg), "re-emitted output does not scan: %s at %zu", err, off);
        ret = msg;
    } else if (again.ntoks != doc->ntoks) {
        ret = "token count changed";
    }
    for (uint32_t i = 0; ret == NULL && i < doc->ntoks; ++i) {
        const bff_jtok_t *a = doc->toks + i, *b = again.toks + i;
        if (a->type != b->type || a->size != b->size || a->next != b->next) {
            ret = "token shape changed";
        } else if (a->type == BFF_J_STRING) {
            size_t la, lb;
            char *sa = unescaped(doc, i, &la), *sb = unescaped(&again, i, &lb);
            if (la != lb || memcmp(sa, sb, la) != 0)
                ret = "string content changed";
            free(sa);
            free(sb);
        }
    }
    bff_jdoc_dispose(&again);
    bff_jwrite_dispose(&w);
    return ret;
}

static void test_valid_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/json_scan/valid", source_dir());
    size_t n;
    char **names = list_json(dir, &n);
    ASSERT_TRUE(n >= 20);
    bff_jdoc_t doc = {0};
    for (size_t i = 0; i < n; ++i) {
        char path[2048];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *json = read_file(path, &len);
        ASSERT_TRUE(json != NULL);
        const char *err = NULL, *bad;
        size_t off = 0;
        if (bff_jdoc_scan(&doc, json, len, 0, 64, &err, &off) != 0) {
            TAP_FAIL("%s: rejected: %s at %zu", names[i], err, off);
        } else if ((bad = check_invariants(&doc)) != NULL) {
            TAP_FAIL("%s: %s", names[i], bad);
        } else if ((bad = check_roundtrip(&doc)) != NULL) {
            TAP_FAIL("%s: %s", names[i], bad);
        }
        free(json);
        free(names[i]);
    }
    free(names);
    bff_jdoc_dispose(&doc);
}

static void test_invalid_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/json_scan/invalid", source_dir());
    size_t n;
    char **names = list_json(dir, &n);
    ASSERT_TRUE(n >= 25);
    bff_jdoc_t doc = {0};
    for (size_t i = 0; i < n; ++i) {
        char path[2048];
        size_t len, elen;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *json = read_file(path, &len);
        snprintf(path + strlen(path) - 5, 6, ".err");
        char *expect = read_file(path, &elen);
        ASSERT_TRUE(json != NULL && expect != NULL);
        if (json == NULL || expect == NULL) {
            free(json);
            free(expect);
            free(names[i]);
            continue;
        }
        /* The .err file is "<offset> <message>\n". */
        expect = bff_realloc(expect, elen + 1);
        expect[elen] = '\0';
        expect[strcspn(expect, "\n")] = '\0';
        char got[256];
        const char *err = NULL;
        size_t off = 0;
        if (bff_jdoc_scan(&doc, json, len, 0, 64, &err, &off) == 0)
            snprintf(got, sizeof(got), "accepted");
        else
            snprintf(got, sizeof(got), "%zu %s", off, err);
        if (strcmp(got, expect) != 0)
            TAP_FAIL("%s: got \"%s\", expected \"%s\"", names[i], got, expect);
        ASSERT_INT_EQ(doc.ntoks, 0);
        free(json);
        free(expect);
        free(names[i]);
    }
    free(names);
    bff_jdoc_dispose(&doc);
}

/* Random documents built alongside the tokens they must produce. */

struct gen {
    uint64_t rng;
    char *buf;
    size_t len, cap;
    bff_jtok_t *want;
    uint32_t nwant, wantcap;
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return (uint32_t)(g->rng % n);
}

static void put(struct gen *g, const char *s, size_t n)
{
    if (g->len + n > g->cap) {
        g->cap = (g->len + n) * 2;
        g->buf = bff_realloc(g->buf, g->cap);
    }
    memcpy(g->buf + g->len, s, n);
    g->len += n;
}

static void put_ws(struct gen *g)
{
    static const char *ws[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
    const char *w = ws[rnd(g, 7)];
    put(g, w, strlen(w));
}

static uint32_t expect(struct gen *g, uint8_t type, size_t start)
{
    if (g->nwant == g->wantcap) {
        g->wantcap = g->wantcap ? g->wantcap * 2 : 64;
        g->want = bff_realloc(g->want, g->wantcap * sizeof(*g->want));
    }
    g->want[g->nwant] = (bff_jtok_t){(uint32_t)start, 0, g->nwant + 1, 0, type, 0};
    return g->nwant++;
}

static void gen_string(struct gen *g)
{
    static const char *pieces[] = {"a",
                                   "key",
                                   "0123456789abcdef",
                                   " ",
                                   "\\n",
                                   "\\\"",
                                   "\\\\",
                                   "\\u00e9",
                                   "\\uD83D\\uDE00",
                                   "\xc3\xa9",
                                   "\xe2\x82\xac",
                                   "\xf0\x9f\x98\x80",
                                   "\\/",
                                   "\\u0000",
                                   "}",
                                   "]",
                                   ",",
                                   ":"};
    put(g, "\"", 1);
    uint32_t t = expect(g, BFF_J_STRING, g->len);
    for (uint32_t n = rnd(g, 6); n > 0; --n) {
        const char *p = pieces[rnd(g, sizeof(pieces) / sizeof(pieces[0]))];
        if (p[0] == '\\')
            g->want[t].escaped = 1;
        put(g, p, strlen(p));
    }
    g->want[t].end = (uint32_t)g->len;
    put(g, "\"", 1);
}

static void gen_value(struct gen *g, int depth)
{
    static const char *nums[] = {"0", "-0", "7", "-12", "3.25", "1e10", "-2.5E-3", "100000000000"};
    static const char *lits[] = {"true", "false", "null"};
    static const uint8_t littypes[] = {BFF_J_TRUE, BFF_J_FALSE, BFF_J_NULL};
    uint32_t kind = rnd(g, depth >= 12 ? 3 : 6);
    put_ws(g);
    if (kind == 0) {
        gen_string(g);
    } else if (kind == 1) {
        const char *n = nums[rnd(g, 8)];
        uint32_t t = expect(g, BFF_J_NUMBER, g->len);
        put(g, n, strlen(n));
        g->want[t].end = (uint32_t)g->len;
    } else if (kind == 2) {
        uint32_t l = rnd(g, 3);
        uint32_t t = expect(g, littypes[l], g->len);
        put(g, lits[l], strlen(lits[l]));
        g->want[t].end = (uint32_t)g->len;
    } else {
        int obj = kind == 3;
        uint32_t t = expect(g, obj ? BFF_J_OBJECT : BFF_J_ARRAY, g->len);
        put(g, obj ? "{" : "[", 1);
        uint32_t n = rnd(g, 5);
        for (uint32_t i = 0; i < n; ++i) {
            if (i > 0)
                put(g, ",", 1);
            if (obj) {
                put_ws(g);
                gen_string(g);
                put_ws(g);
                put(g, ":", 1);
            }
            gen_value(g, depth + 1);
            put_ws(g);
        }
        if (n == 0)
            put_ws(g);
        put(g, obj ? "}" : "]", 1);
        g->want[t].size = n;
        g->want[t].end = (uint32_t)g->len;
        g->want[t].next = g->nwant;
    }
}

static void test_random_documents(void)
{
    struct gen g = {.rng = 0x9e3779b97f4a7c15ull};
    bff_jdoc_t doc = {0};
    int failures = 0;
    for (int iter = 0; iter < 3000 && failures < 5; ++iter) {
        g.len = 0;
        g.nwant = 0;
        gen_value(&g, 0);
        put_ws(&g);
        const char *err = NULL;
        size_t off = 0;
        const char *bad = NULL;
        if (bff_jdoc_scan(&doc, g.buf, g.len, 0, 64, &err, &off) != 0) {
            bad = err;
        } else if (doc.ntoks != g.nwant) {
            bad = "token count";
        } else {
            for (uint32_t i = 0; i < doc.ntoks && bad == NULL; ++i) {
                const bff_jtok_t *a = doc.toks + i, *b = g.want + i;
                if (a->type != b->type || a->start != b->start || a->end != b->end ||
                    a->next != b->next || a->size != b->size || a->escaped != b->escaped)
                    bad = "token differs from the generator's";
                else if (a->next != naive_end(&doc, i))
                    bad = "next differs from the naive count";
            }
        }
        if (bad == NULL)
            bad = check_invariants(&doc);
        if (bad == NULL)
            bad = check_roundtrip(&doc);
        if (bad != NULL) {
            ++failures;
            TAP_FAIL("iteration %d: %s (offset %zu) in: %.*s", iter, bad, off, (int)g.len, g.buf);
        }
    }
    free(g.buf);
    free(g.want);
    bff_jdoc_dispose(&doc);
}

int main(void)
{
    TAP_RUN(test_valid_cases);
    TAP_RUN(test_invalid_cases);
    TAP_RUN(test_random_documents);
    TAP_DONE();
}
