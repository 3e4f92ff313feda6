/* The first cache level: one worker's in-process LRU of entry blobs (entry.h) under a byte cap,
 * keyed by 32-byte digests. Worker-local, so nothing locks. Entries leave by LRU order when the
 * cap is reached, and when found expired. */
#ifndef BFF_SERVER_CACHE_L1_H
#define BFF_SERVER_CACHE_L1_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_bff_l1_t bff_l1_t;

/** `max_bytes` counts blobs and their bookkeeping; 0 makes an L1 that stores nothing. */
bff_l1_t *bff_l1_create(size_t max_bytes);
void bff_l1_destroy(bff_l1_t *l1);

/** Finds a blob not expired at `now_ms` and makes it the most recent. The blob is borrowed:
 * valid until the next put or remove on this L1. Returns 0, or -1 when there is none. */
int bff_l1_get(bff_l1_t *l1, const unsigned char key[32], uint64_t now_ms, const char **blob,
               size_t *len);
/** Stores a copy of `blob` (replacing the key's previous one) until `expires_ms`. A blob
 * larger than an eighth of the cap is not kept. */
void bff_l1_put(bff_l1_t *l1, const unsigned char key[32], const char *blob, size_t len,
                uint64_t expires_ms);
void bff_l1_remove(bff_l1_t *l1, const unsigned char key[32]);
/** Drops every entry for which `pred` returns 1 (a purge by tag: rare, so a full walk). */
size_t bff_l1_remove_if(bff_l1_t *l1, int (*pred)(void *data, const char *blob, size_t len),
                        void *data);
/** Drops every entry. */
void bff_l1_clear(bff_l1_t *l1);

size_t bff_l1_bytes(const bff_l1_t *l1);
size_t bff_l1_count(const bff_l1_t *l1);

#endif
