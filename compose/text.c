/* A growing text buffer (compose/text.h). */
#include "compose/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compose/mem.h"

/* Room for n more bytes and the NUL. */
static void reserve(bff_text_t *t, size_t n)
{
    if (t->len + n + 1 <= t->cap)
        return;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->len + n + 1)
        cap *= 2;
    t->buf = bff_realloc(t->buf, cap);
    t->cap = cap;
}

void bff_text_put(bff_text_t *t, const char *s, size_t n)
{
    reserve(t, n);
    if (n != 0) /* s may be NULL then */
        memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void bff_text_puts(bff_text_t *t, const char *s)
{
    bff_text_put(t, s, strlen(s));
}

void bff_text_printf(bff_text_t *t, const char *fmt, ...)
{
    reserve(t, 0);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) { /* an encoding error: nothing is appended */
        t->buf[t->len] = '\0';
        return;
    }
    if ((size_t)n >= t->cap - t->len) { /* did not fit: make room and format again */
        reserve(t, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
    }
    t->len += (size_t)n;
}
