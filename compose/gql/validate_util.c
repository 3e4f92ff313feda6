/* The validator's small tools (validate_internal.h): hash maps, a growing string, graphql-js's
 * suggestion lists, and grouping equal names without quadratic scans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

/* ---- string map ---- */

static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s != '\0'; ++s)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

size_t *vd_strmap_get(const vd_strmap_t *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        vd_strmap_slot_t *s = m->slots + i;
        if (s->gen != m->gen)
            return NULL;
        if (strcmp(s->key, key) == 0)
            return &s->value;
    }
}

static void strmap_grow(vd_strmap_t *m)
{
    vd_strmap_slot_t *old = m->slots;
    size_t oldcap = m->cap;
    m->cap = oldcap != 0 ? oldcap * 2 : 16;
    m->slots = bff_calloc(m->cap, sizeof(*m->slots));
    unsigned gen = m->gen;
    m->gen = 1;
    for (size_t i = 0; i != oldcap; ++i) {
        if (old[i].gen != gen)
            continue;
        size_t j = hash_str(old[i].key) & (m->cap - 1);
        while (m->slots[j].gen == m->gen)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
        m->slots[j].gen = m->gen;
    }
    free(old);
}

size_t *vd_strmap_put(vd_strmap_t *m, const char *key, size_t value, int *added)
{
    if ((m->n + 1) * 2 > m->cap)
        strmap_grow(m);
    size_t i = hash_str(key) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        vd_strmap_slot_t *s = m->slots + i;
        if (s->gen != m->gen)
            break;
        if (strcmp(s->key, key) == 0) {
            if (added != NULL)
                *added = 0;
            return &s->value;
        }
    }
    vd_strmap_slot_t *s = m->slots + i;
    s->key = key;
    s->value = value;
    s->gen = m->gen;
    ++m->n;
    if (added != NULL)
        *added = 1;
    return &s->value;
}

void vd_strmap_clear(vd_strmap_t *m)
{
    m->n = 0;
    if (++m->gen == 0) { /* wrapped: stale slots could look current */
        memset(m->slots, 0, m->cap * sizeof(*m->slots));
        m->gen = 1;
    }
}

void vd_strmap_dispose(vd_strmap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ---- pair map ---- */

static size_t hash_pair(uintptr_t a, uintptr_t b)
{
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)b + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    return (size_t)(h ^ (h >> 29));
}

uintptr_t *vd_pmap_get(const vd_pmap_t *m, uintptr_t a, uintptr_t b)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = hash_pair(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        vd_pmap_slot_t *s = m->slots + i;
        if (!s->used)
            return NULL;
        if (s->a == a && s->b == b)
            return &s->value;
    }
}

uintptr_t *vd_pmap_put(vd_pmap_t *m, uintptr_t a, uintptr_t b, uintptr_t value, int *added)
{
    if ((m->n + 1) * 2 > m->cap) {
        vd_pmap_slot_t *old = m->slots;
        size_t oldcap = m->cap;
        m->cap = oldcap != 0 ? oldcap * 2 : 64;
        m->slots = bff_calloc(m->cap, sizeof(*m->slots));
        for (size_t i = 0; i != oldcap; ++i) {
            if (!old[i].used)
                continue;
            size_t j = hash_pair(old[i].a, old[i].b) & (m->cap - 1);
            while (m->slots[j].used)
                j = (j + 1) & (m->cap - 1);
            m->slots[j] = old[i];
        }
        free(old);
    }
    size_t i = hash_pair(a, b) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        vd_pmap_slot_t *s = m->slots + i;
        if (!s->used)
            break;
        if (s->a == a && s->b == b) {
            if (added != NULL)
                *added = 0;
            return &s->value;
        }
    }
    vd_pmap_slot_t *s = m->slots + i;
    s->a = a;
    s->b = b;
    s->value = value;
    s->used = 1;
    ++m->n;
    if (added != NULL)
        *added = 1;
    return &s->value;
}

void vd_pmap_dispose(vd_pmap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* ---- growing string ---- */

const char *vd_buf_str(vd_buf_t *b)
{
    if (b->buf == NULL)
        bff_text_put(b, NULL, 0);
    return b->buf;
}

void vd_buf_dispose(vd_buf_t *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

/* ---- suggestions ---- */

/* JavaScript strings are UTF-16: lengths, thresholds and distances count its code units. Only
 * ASCII letters are lower-cased (names are ASCII; other text only reaches here quoted). */
static size_t utf16_units(const char *s, uint16_t *out)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        uint32_t cp = *p;
        size_t len = 1;
        if (cp >= 0xF0 && p[1] && p[2] && p[3]) {
            cp = ((cp & 0x07) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
                 (p[3] & 0x3Fu);
            len = 4;
        } else if (cp >= 0xE0 && p[1] && p[2]) {
            cp = ((cp & 0x0F) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            len = 3;
        } else if (cp >= 0xC0 && p[1]) {
            cp = ((cp & 0x1F) << 6) | (p[1] & 0x3Fu);
            len = 2;
        }
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        if (cp >= 0x10000) {
            if (out != NULL) {
                out[n] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
                out[n + 1] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            }
            n += 2;
        } else {
            if (out != NULL)
                out[n] = (uint16_t)cp;
            ++n;
        }
        p += len;
    }
    return n;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* LexicalDistance.measure: Damerau-Levenshtein over lower-cased code units, a case-only change
 * counting one; SIZE_MAX above the threshold. rows holds 3 * (la + lb + 2). */
static size_t lexical_distance(const char *input, const uint16_t *in, size_t nin,
                               const char *option, size_t threshold, size_t *rows)
{
    if (strcmp(input, option) == 0)
        return 0;
    size_t nopt = utf16_units(option, NULL);
    uint16_t stackbuf[64];
    uint16_t *opt = nopt <= 64 ? stackbuf : bff_malloc(nopt * sizeof(*opt));
    utf16_units(option, opt);
    size_t result = SIZE_MAX;
    if (nopt == nin && memcmp(opt, in, nin * sizeof(*in)) == 0) {
        result = 1;
        goto Done;
    }
    const uint16_t *a = opt, *b = in;
    size_t la = nopt, lb = nin;
    if (la < lb) {
        a = in;
        b = opt;
        la = nin;
        lb = nopt;
    }
    if (la - lb > threshold)
        goto Done;
    size_t w = lb + 1;
    for (size_t j = 0; j <= lb; ++j)
        rows[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t *up = rows + ((i - 1) % 3) * w, *cur = rows + (i % 3) * w;
        size_t smallest = cur[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t cell = min3(up[j] + 1, cur[j - 1] + 1, up[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                size_t dd = rows[((i - 2) % 3) * w + j - 2] + 1;
                if (dd < cell)
                    cell = dd;
            }
            if (cell < smallest)
                smallest = cell;
            cur[j] = cell;
        }
        if (smallest > threshold)
            goto Done;
    }
    size_t d = rows[(la % 3) * w + lb];
    result = d <= threshold ? d : SIZE_MAX;
Done:
    if (opt != stackbuf)
        free(opt);
    return result;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

int vd_natural_compare(const char *a, const char *b)
{
    size_t ia = 0, ib = 0, la = strlen(a), lb = strlen(b);
    while (ia < la && ib < lb) {
        int ca = (unsigned char)a[ia], cb = (unsigned char)b[ib];
        if (is_digit(ca) && is_digit(cb)) {
            double na = 0, nb = 0; /* JavaScript numbers; a leading zero ends the run */
            do {
                ++ia;
                na = na * 10 + (ca - '0');
                ca = ia < la ? (unsigned char)a[ia] : -1;
            } while (is_digit(ca) && na > 0);
            do {
                ++ib;
                nb = nb * 10 + (cb - '0');
                cb = ib < lb ? (unsigned char)b[ib] : -1;
            } while (is_digit(cb) && nb > 0);
            if (na < nb)
                return -1;
            if (na > nb)
                return 1;
        } else {
            if (ca != cb)
                return ca < cb ? -1 : 1;
            ++ia;
            ++ib;
        }
    }
    return la < lb ? -1 : la > lb ? 1 : 0;
}

typedef struct {
    const char *name;
    size_t distance;
} scored_t;

static int scored_cmp(const void *x, const void *y)
{
    const scored_t *a = x, *b = y;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return vd_natural_compare(a->name, b->name);
}

size_t vd_suggestion_list(const char *input, const char *const *options, size_t n, const char **out)
{
    size_t nin = utf16_units(input, NULL);
    uint16_t *in = bff_malloc((nin + 1) * sizeof(*in));
    utf16_units(input, in);
    size_t threshold = nin * 2 / 5 + 1; /* Math.floor(length * 0.4) + 1 */
    size_t *rows = NULL, nrows = 0;
    scored_t *found = bff_malloc((n != 0 ? n : 1) * sizeof(*found));
    size_t nfound = 0;
    for (size_t i = 0; i != n; ++i) {
        int dup = 0; /* options are object keys in graphql-js: each once */
        for (size_t k = 0; k != nfound && !dup; ++k)
            dup = strcmp(found[k].name, options[i]) == 0;
        if (dup)
            continue;
        size_t need = 3 * (nin + strlen(options[i]) * 2 + 2);
        if (need > nrows) {
            rows = bff_realloc(rows, need * sizeof(*rows));
            nrows = need;
        }
        size_t d = lexical_distance(input, in, nin, options[i], threshold, rows);
        if (d != SIZE_MAX) {
            found[nfound].name = options[i];
            found[nfound++].distance = d;
        }
    }
    /* Array.prototype.sort is stable; a name appears once, so qsort's order is the same. */
    qsort(found, nfound, sizeof(*found), scored_cmp);
    for (size_t i = 0; i != nfound; ++i)
        out[i] = found[i].name;
    free(found);
    free(rows);
    free(in);
    return nfound;
}

void vd_did_you_mean(vd_buf_t *b, const char *what, const char *const *names, size_t n)
{
    if (n == 0)
        return;
    bff_text_puts(b, " Did you mean ");
    if (what != NULL) {
        bff_text_puts(b, what);
        bff_text_puts(b, " ");
    }
    if (n > 5)
        n = 5;
    for (size_t i = 0; i != n; ++i) {
        if (i != 0)
            bff_text_puts(b, n == 2 ? " or " : i + 1 == n ? ", or " : ", ");
        bff_text_printf(b, "\"%s\"", names[i]);
    }
    bff_text_puts(b, "?");
}

void vd_suggest(vd_buf_t *b, const char *what, const char *input, const char *const *options,
                size_t n)
{
    const char **out = bff_malloc((n != 0 ? n : 1) * sizeof(*out));
    size_t k = vd_suggestion_list(input, options, n, out);
    vd_did_you_mean(b, what, out, k);
    free(out);
}

/* ---- grouping equal names ---- */

typedef struct {
    const char *name;
    size_t index;
} named_t;

static int named_cmp(const void *x, const void *y)
{
    const named_t *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

void vd_group_names(const char *const *names, size_t n, size_t *first, size_t *next)
{
    for (size_t i = 0; i != n; ++i) {
        first[i] = i;
        next[i] = SIZE_MAX;
    }
    if (n <= 8) { /* the usual handful: no allocation */
        for (size_t i = 1; i < n; ++i)
            for (size_t j = 0; j != i; ++j)
                if (first[j] == j && strcmp(names[i], names[j]) == 0) {
                    first[i] = j;
                    size_t k = j;
                    while (next[k] != SIZE_MAX)
                        k = next[k];
                    next[k] = i;
                    break;
                }
        return;
    }
    named_t *sorted = bff_malloc(n * sizeof(*sorted));
    for (size_t i = 0; i != n; ++i) {
        sorted[i].name = names[i];
        sorted[i].index = i;
    }
    qsort(sorted, n, sizeof(*sorted), named_cmp);
    for (size_t i = 1; i < n; ++i)
        if (strcmp(sorted[i].name, sorted[i - 1].name) == 0) {
            first[sorted[i].index] = first[sorted[i - 1].index];
            next[sorted[i - 1].index] = sorted[i].index;
        }
    free(sorted);
}
