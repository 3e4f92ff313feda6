/* Builds JSON output into one capped heap buffer, inserting commas from a small per-level bit
 * stack and turning contract breaches into a failed writer rather than malformed output.
 * It deliberately does not validate raw values or the UTF-8 of strings: callers pass through
 * bytes that were validated on the way in (bff_jdoc_scan) or that they produced themselves. */
#include "compose/json_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "compose/diag.h"

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Output for bytes that need escaping; 'u' means \u00XX. 0 = copy verbatim. */
/* clang-format off */
static const char esc_char[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ['\\'] = '\\',
};
/* clang-format on */

/* Nonzero iff one of the 8 bytes in `x` is '"', '\\' or < 0x20 (see json_scan.c special8). */
static inline uint64_t needs_escape8(uint64_t x)
{
    uint64_t lt = x - 0x20 * ONES;
    uint64_t q = (x ^ ('"' * ONES)) - ONES;
    uint64_t b = (x ^ ('\\' * ONES)) - ONES;
    return (lt | q | b) & ~x & HIGHS;
}

/* Marks the writer failed: nothing more is appended until reset. */
static void fail(bff_jwrite_t *w)
{
    w->_lim = w->len;
}

static int misuse(bff_jwrite_t *w)
{
    w->_misuse = 1;
    fail(w);
    return -1;
}

void bff_jwrite_init(bff_jwrite_t *w, size_t initial, size_t max)
{
    if (initial > max)
        initial = max;
    *w = (bff_jwrite_t){.buf = bff_malloc(initial), .cap = initial, .max = max, ._lim = initial};
}

void bff_jwrite_dispose(bff_jwrite_t *w)
{
    free(w->buf);
    *w = (bff_jwrite_t){0};
}

void bff_jwrite_reset(bff_jwrite_t *w)
{
    *w = (bff_jwrite_t){.buf = w->buf, .cap = w->cap, .max = w->max, ._lim = w->cap};
}

int bff_jwrite_done(const bff_jwrite_t *w)
{
    if (w->overflow || w->_misuse || w->_depth != 0 || w->_after_key || !w->_root)
        return -1;
    return 0;
}

int bff_jwrite_reserve(bff_jwrite_t *w, size_t n)
{
    if (n <= w->_lim - w->len)
        return 0;
    if (w->overflow || w->_misuse)
        return -1;
    if (n > w->max - w->len) {
        w->overflow = 1;
        fail(w);
        return -1;
    }
    size_t need = w->len + n, cap = w->cap < 64 ? 64 : w->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > w->max)
        cap = w->max;
    w->buf = bff_realloc(w->buf, cap);
    w->cap = w->_lim = cap;
    return 0;
}

/* Comma and contract bookkeeping before any value; returns -1 if the value must be dropped. */
static inline int before_value(bff_jwrite_t *w)
{
    if (w->_after_key) {
        w->_after_key = 0;
        return 0;
    }
    if (w->_depth == 0) {
        if (w->_root)
            return misuse(w);
        w->_root = 1;
        return 0;
    }
    uint64_t bit = 1ull << (w->_depth - 1);
    if (w->_obj & bit)
        return misuse(w); /* a value in an object needs a key first */
    if (w->_more & bit) {
        if (w->len == w->_lim && bff_jwrite_reserve(w, 1) != 0)
            return -1;
        w->buf[w->len++] = ',';
        return 0;
    }
    w->_more |= bit;
    return 0;
}

/* Appends s as a quoted, escaped JSON string. */
static void write_string(bff_jwrite_t *w, const char *s, size_t n)
{
    if (n == 0) { /* s may be NULL */
        bff_jwrite_bytes(w, "\"\"", 2);
        return;
    }
    /* Optimistic: room for the no-escape case; each escape reserves its extra bytes. */
    if (bff_jwrite_reserve(w, n + 2) != 0)
        return;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (;;) {
        const unsigned char *run = p;
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (needs_escape8(x) != 0)
                break;
            p += 8;
        }
        while (p < end && esc_char[*p] == 0)
            ++p;
        if (p != run) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
        }
        if (p == end)
            break;
        /* This escape, the rest of the input and the closing quote. */
        char e = esc_char[*p];
        w->len = (size_t)(o - w->buf);
        if (bff_jwrite_reserve(w, (e == 'u' ? 6 : 2) + (size_t)(end - p - 1) + 1) != 0)
            return;
        o = w->buf + w->len;
        *o++ = '\\';
        if (e == 'u') {
            static const char hex[] = "0123456789abcdef";
            memcpy(o, "u00", 3);
            o[3] = hex[*p >> 4];
            o[4] = hex[*p & 15];
            o += 5;
        } else {
            *o++ = e;
        }
        ++p;
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

void bff_jwrite_open(bff_jwrite_t *w, char c)
{
    if (c != '{' && c != '[') {
        misuse(w);
        return;
    }
    if (before_value(w) != 0)
        return;
    if (w->_depth == BFF_JWRITE_MAX_DEPTH) {
        misuse(w);
        return;
    }
    uint64_t bit = 1ull << w->_depth;
    if (c == '{')
        w->_obj |= bit;
    else
        w->_obj &= ~bit;
    w->_more &= ~bit;
    ++w->_depth;
    bff_jwrite_char(w, c);
}

void bff_jwrite_close(bff_jwrite_t *w, char c)
{
    if (w->_depth == 0 || w->_after_key) {
        misuse(w);
        return;
    }
    uint64_t bit = 1ull << (w->_depth - 1);
    if (c != ((w->_obj & bit) ? '}' : ']')) {
        misuse(w);
        return;
    }
    --w->_depth;
    bff_jwrite_char(w, c);
}

void bff_jwrite_key(bff_jwrite_t *w, const char *s, size_t n)
{
    if (w->_depth == 0 || w->_after_key || !(w->_obj & (1ull << (w->_depth - 1)))) {
        misuse(w);
        return;
    }
    uint64_t bit = 1ull << (w->_depth - 1);
    if (w->_more & bit)
        bff_jwrite_char(w, ',');
    else
        w->_more |= bit;
    write_string(w, s, n);
    bff_jwrite_char(w, ':');
    w->_after_key = 1;
}

size_t bff_utf8_seq_len(const char *s, size_t avail)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = *p;
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || avail < len)
        return 0;
    for (size_t i = 1; i != len; ++i)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || /* overlong, surrogate */
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))   /* overlong, > U+10FFFF */
        return 0;
    return len;
}

int bff_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if ((len = bff_utf8_seq_len(s + i, n - i)) == 0)
            return 0;
    return 1;
}

void bff_jwrite_str(bff_jwrite_t *w, const char *s, size_t n)
{
    if (before_value(w) == 0)
        write_string(w, s, n);
}

void bff_jwrite_raw(bff_jwrite_t *w, const char *p, size_t n)
{
    if (before_value(w) == 0)
        bff_jwrite_bytes(w, p, n);
}

/* Formats v in decimal at the end of buf[0..24); returns a pointer to the first digit. */
static char *format_int(int64_t v, char *bufend)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    /* Negate in unsigned arithmetic so INT64_MIN works. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = bufend;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    return p;
}

void bff_jwrite_int(bff_jwrite_t *w, int64_t v)
{
    if (before_value(w) != 0)
        return;
    char buf[24], *p = format_int(v, buf + sizeof(buf));
    bff_jwrite_bytes(w, p, (size_t)(buf + sizeof(buf) - p));
}

void bff_jwrite_double(bff_jwrite_t *w, double d)
{
    if (before_value(w) != 0)
        return;
    if (!isfinite(d)) {
        bff_jwrite_bytes(w, "null", 4);
        return;
    }
    char buf[32];
    /* Integral values that a double holds exactly print as integers ("3", not "3e+00"). */
    if (d > -9007199254740992.0 && d < 9007199254740992.0 && (double)(int64_t)d == d) {
        char *p = format_int((int64_t)d, buf + sizeof(buf));
        bff_jwrite_bytes(w, p, (size_t)(buf + sizeof(buf) - p));
        return;
    }
    /* %g needs at most 17 significant digits to round-trip; fewer when they suffice. */
    int n = 0;
    for (int prec = 15; prec <= 17; ++prec) {
        n = snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d)
            break;
    }
    bff_jwrite_bytes(w, buf, (size_t)n);
}

void bff_jwrite_bool(bff_jwrite_t *w, int b)
{
    if (before_value(w) != 0)
        return;
    if (b)
        bff_jwrite_bytes(w, "true", 4);
    else
        bff_jwrite_bytes(w, "false", 5);
}

void bff_jwrite_null(bff_jwrite_t *w)
{
    if (before_value(w) == 0)
        bff_jwrite_bytes(w, "null", 4);
}

void bff_jwrite_rewind(bff_jwrite_t *w, const bff_jwrite_mark_t *m)
{
    if (w->overflow || w->_misuse || m->len > w->len)
        return;
    w->len = m->len;
    w->_obj = m->obj;
    w->_more = m->more;
    w->_depth = m->depth;
    w->_after_key = m->after_key;
    w->_root = m->root;
}
