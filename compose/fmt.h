/* Small formatters for the per-request path, where glibc's snprintf costs ~700 instructions a
 * call (its float path more): a bounded string copy, hex, decimal and milliseconds. Each put
 * writes at p and returns the byte after what it wrote; the caller sizes the buffer. */
#ifndef BFF_COMPOSE_FMT_H
#define BFF_COMPOSE_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* snprintf(dst, size, "%s", src) without the format engine: at most size - 1 bytes, always
 * terminated (size > 0); returns the bytes copied. */
static inline size_t bff_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* `digits` lower-case hex digits of v, most significant first (as %0<digits>llx). */
static inline char *bff_put_hex(char *p, uint64_t v, unsigned digits)
{
    for (unsigned i = digits; i != 0; --i, v >>= 4)
        p[i - 1] = "0123456789abcdef"[v & 0xf];
    return p + digits;
}

/* v in decimal (as %llu); at most 20 bytes. */
static inline char *bff_put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n != 0)
        *p++ = tmp[--n];
    return p;
}

/* Microseconds as milliseconds with one decimal, halves rounded up (as %.1f of us / 1000.0 but
 * for that tie rule); at most 22 bytes. */
static inline char *bff_put_ms1(char *p, uint64_t us)
{
    uint64_t tenths = us / 100 + (us % 100 >= 50);
    p = bff_put_u64(p, tenths / 10);
    *p++ = '.';
    *p++ = (char)('0' + tenths % 10);
    return p;
}

#endif
