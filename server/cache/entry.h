/* A cached answer as stored in both levels: one contiguous blob, the same bytes in L1 and in
 * Redis, so a hit from either is decoded the same way and an L2 hit fills L1 without
 * re-encoding. Times are wall-clock milliseconds because other instances read the entry.
 *
 * Layout (little-endian): "BFC3", stored, fresh_until, swr_until, sie_until, reval_until (u64
 * each), status, flags, etag length, content-type length, tags length (u16 each), body length,
 * validators length (u32 each), then the etag, content type, tags (newline-separated), body and
 * validators bytes. Redis is not trusted to
 * hand back what was stored: decode checks every length. */
#ifndef BFF_SERVER_CACHE_ENTRY_H
#define BFF_SERVER_CACHE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#define BFF_CACHE_PRIVATE 1u /* keyed by a principal: clients get Cache-Control: private */

typedef struct st_bff_cache_entry_t {
    uint64_t stored_ms;      /* when it was composed */
    uint64_t fresh_until_ms; /* a hit until then */
    uint64_t swr_until_ms;   /* then stale: served while one refresh runs, until this */
    uint64_t sie_until_ms;   /* served when upstreams fail, until this */
    uint64_t reval_until_ms; /* kept until this to be revalidated with conditional requests */
    unsigned status;
    unsigned flags;
    const char *etag; /* with its quotes: "\"...\"" */
    size_t etag_len;
    const char *content_type;
    size_t content_type_len;
    const char *tags; /* purge tags, '\n' between them */
    size_t tags_len;
    const char *body;
    size_t body_len;
    const char *validators; /* the upstream calls and their validators (cache_validators.h) */
    size_t validators_len;
} bff_cache_entry_t;

/** The blob's size for `e`. */
size_t bff_cache_entry_size(const bff_cache_entry_t *e);
/** Writes `e` into `out` (bff_cache_entry_size bytes). */
void bff_cache_entry_encode(const bff_cache_entry_t *e, char *out);
/** Reads a blob; the strings of *e point into `blob`. Returns 0, or -1 when it is not a whole,
 * well-formed entry of this version (treated as a miss). */
int bff_cache_entry_decode(const char *blob, size_t len, bff_cache_entry_t *e);
/** 1 when `tag` is one of the entry's tags. */
int bff_cache_entry_has_tag(const bff_cache_entry_t *e, const char *tag, size_t len);
/** The moment after which nobody may use the entry (the latest of its windows). */
uint64_t bff_cache_entry_expires(const bff_cache_entry_t *e);

#endif
