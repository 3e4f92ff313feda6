/* The cache entry's wire form (entry.h). */
#include "server/cache/entry.h"

#include <string.h>

#define MAGIC "BFC3"
#define HEAD_SIZE (4 + 5 * 8 + 5 * 2 + 2 * 4)

static char *put_u64(char *p, uint64_t v)
{
    for (int i = 0; i != 8; ++i)
        *p++ = (char)(v >> (8 * i));
    return p;
}

static char *put_u16(char *p, unsigned v)
{
    *p++ = (char)v;
    *p++ = (char)(v >> 8);
    return p;
}

static uint64_t get_u(const char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i != n; ++i)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

size_t bff_cache_entry_size(const bff_cache_entry_t *e)
{
    return HEAD_SIZE + e->etag_len + e->content_type_len + e->tags_len + e->body_len +
           e->validators_len;
}

void bff_cache_entry_encode(const bff_cache_entry_t *e, char *out)
{
    char *p = out;
    memcpy(p, MAGIC, 4);
    p = put_u64(p + 4, e->stored_ms);
    p = put_u64(p, e->fresh_until_ms);
    p = put_u64(p, e->swr_until_ms);
    p = put_u64(p, e->sie_until_ms);
    p = put_u64(p, e->reval_until_ms);
    p = put_u16(p, e->status);
    p = put_u16(p, e->flags);
    p = put_u16(p, (unsigned)e->etag_len);
    p = put_u16(p, (unsigned)e->content_type_len);
    p = put_u16(p, (unsigned)e->tags_len);
    p = put_u16(p, (unsigned)(e->body_len & 0xffff));
    p = put_u16(p, (unsigned)(e->body_len >> 16));
    p = put_u16(p, (unsigned)(e->validators_len & 0xffff));
    p = put_u16(p, (unsigned)(e->validators_len >> 16));
    memcpy(p, e->etag, e->etag_len);
    p += e->etag_len;
    memcpy(p, e->content_type, e->content_type_len);
    p += e->content_type_len;
    if (e->tags_len != 0)
        memcpy(p, e->tags, e->tags_len);
    p += e->tags_len;
    if (e->body_len != 0)
        memcpy(p, e->body, e->body_len);
    p += e->body_len;
    if (e->validators_len != 0)
        memcpy(p, e->validators, e->validators_len);
}

int bff_cache_entry_decode(const char *blob, size_t len, bff_cache_entry_t *e)
{
    if (len < HEAD_SIZE || memcmp(blob, MAGIC, 4) != 0)
        return -1;
    const char *p = blob + 4;
    e->stored_ms = get_u(p, 8);
    e->fresh_until_ms = get_u(p + 8, 8);
    e->swr_until_ms = get_u(p + 16, 8);
    e->sie_until_ms = get_u(p + 24, 8);
    e->reval_until_ms = get_u(p + 32, 8);
    p += 40;
    e->status = (unsigned)get_u(p, 2);
    e->flags = (unsigned)get_u(p + 2, 2);
    e->etag_len = (size_t)get_u(p + 4, 2);
    e->content_type_len = (size_t)get_u(p + 6, 2);
    e->tags_len = (size_t)get_u(p + 8, 2);
    e->body_len = (size_t)get_u(p + 10, 4);
    e->validators_len = (size_t)get_u(p + 14, 4);
    p += 18;
    if (e->status < 100 || e->status > 599 || e->fresh_until_ms < e->stored_ms ||
        len - HEAD_SIZE !=
            e->etag_len + e->content_type_len + e->tags_len + e->body_len + e->validators_len)
        return -1;
    e->etag = p;
    e->content_type = p + e->etag_len;
    e->tags = e->content_type + e->content_type_len;
    e->body = e->tags + e->tags_len;
    e->validators = e->body + e->body_len;
    /* Values go into response headers: no line breaks or NULs, whatever Redis held. */
    for (size_t i = 0; i != e->etag_len + e->content_type_len; ++i)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return -1;
    return 0;
}

int bff_cache_entry_has_tag(const bff_cache_entry_t *e, const char *tag, size_t len)
{
    const char *p = e->tags, *end = e->tags + e->tags_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);
        if (n == len && memcmp(p, tag, len) == 0)
            return 1;
        p += n + 1;
    }
    return 0;
}

uint64_t bff_cache_entry_expires(const bff_cache_entry_t *e)
{
    uint64_t t = e->fresh_until_ms;
    if (e->swr_until_ms > t)
        t = e->swr_until_ms;
    if (e->sie_until_ms > t)
        t = e->sie_until_ms;
    if (e->reval_until_ms > t)
        t = e->reval_until_ms;
    return t;
}
