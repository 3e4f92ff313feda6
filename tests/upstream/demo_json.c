/* The JSON buffer responses are written into: raw, formatted, lower-cased and escaped text, the
 * escaping turning invalid UTF-8 into U+FFFD. */
#include "demo_upstream.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "h2o.h"

void jb_init(jbuf_t *b, h2o_mem_pool_t *pool, size_t cap)
{
    b->pool = pool;
    b->buf = h2o_mem_alloc_pool(pool, cap);
    b->len = 0;
    b->cap = cap;
}

static void jb_reserve(jbuf_t *b, size_t extra)
{
    size_t ncap = b->cap;
    char *nbuf;
    if (b->len + extra <= b->cap)
        return;
    while (ncap < b->len + extra)
        ncap *= 2;
    nbuf = h2o_mem_alloc_pool(b->pool, ncap);
    memcpy(nbuf, b->buf, b->len);
    b->buf = nbuf;
    b->cap = ncap;
}

void jb_raw(jbuf_t *b, const char *s, size_t len)
{
    jb_reserve(b, len);
    memcpy(b->buf + b->len, s, len);
    b->len += len;
}

__attribute__((format(printf, 2, 3))) void jb_fmt(jbuf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    int n;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        jb_reserve(b, (size_t)n + 1);
        n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

void jb_lower(jbuf_t *b, const char *s)
{
    size_t len = strlen(s);
    jb_reserve(b, len);
    for (size_t i = 0; i != len; ++i)
        b->buf[b->len++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
}

/* length of a valid UTF-8 sequence at s (no overlongs/surrogates), or 0 */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    size_t n;
    uint32_t cp, min;
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (avail < n)
        return 0;
    cp = s[0] & (0x3fu >> (n - 1));
    for (size_t i = 1; i != n; ++i) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* writes the escape sequence for one ASCII byte that cannot appear raw; returns its length */
static size_t escape_ascii(char *d, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    d[0] = '\\';
    switch (c) {
    case '"':
    case '\\':
        d[1] = (char)c;
        return 2;
    case '\n':
        d[1] = 'n';
        return 2;
    case '\r':
        d[1] = 'r';
        return 2;
    case '\t':
        d[1] = 't';
        return 2;
    default:
        memcpy(d + 1, "u00", 3);
        d[4] = hex[c >> 4];
        d[5] = hex[c & 15];
        return 6;
    }
}

/* escapes s into b (without quotes); invalid UTF-8 bytes become U+FFFD */
void jb_escape(jbuf_t *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p != end) {
        const unsigned char *chunk_end = end - p > 4096 ? p + 4096 : end;
        char *d;
        jb_reserve(b, (size_t)(chunk_end - p) * 6);
        for (d = b->buf + b->len; p < chunk_end;) {
            size_t n;
            if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
                *d++ = (char)*p++;
            } else if (*p < 0x80) {
                d += escape_ascii(d, *p++);
            } else if ((n = utf8_len(p, (size_t)(end - p))) != 0) {
                memcpy(d, p, n);
                d += n;
                p += n;
            } else {
                memcpy(d, "\\ufffd", 6);
                d += 6;
                ++p;
            }
        }
        b->len = (size_t)(d - b->buf);
    }
}

void jb_str(jbuf_t *b, h2o_iovec_t s)
{
    JB_LIT(b, "\"");
    jb_escape(b, s.base, s.len);
    JB_LIT(b, "\"");
}

h2o_iovec_t jb_iovec(jbuf_t *b)
{
    return h2o_iovec_init(b->buf, b->len);
}
