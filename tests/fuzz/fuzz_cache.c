/* Fuzzes the two cache parsers of bytes bffd does not write itself: an upstream's Cache-Control
 * value (first byte even) and a cache entry as Redis hands it back (first byte odd). A decoded
 * entry's parts must lie inside the blob and hold no byte that could split a header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/cache_policy.h"
#include "server/cache/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        char *s = malloc(size);
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        int age;
        unsigned flags;
        bff_cache_control_parse(s, &age, &flags);
        if (((flags & BFF_CC_MAX_AGE) != 0) != (age >= 0) || age > 100000000)
            abort();
        free(s);
        return 0;
    }
    const char *blob = (const char *)data + 1;
    size_t len = size - 1;
    bff_cache_entry_t e;
    if (bff_cache_entry_decode(blob, len, &e) == 0) {
        const char *end = blob + len;
        if (e.etag < blob || e.etag + e.etag_len > end || e.body + e.body_len > end ||
            e.validators + e.validators_len != end || e.content_type + e.content_type_len > end)
            abort();
        for (size_t i = 0; i != e.etag_len; ++i)
            if ((unsigned char)e.etag[i] < 0x20)
                abort();
        /* Re-encoding gives the same bytes. */
        char *again = malloc(len);
        bff_cache_entry_encode(&e, again);
        if (bff_cache_entry_size(&e) != len || memcmp(again, blob, len) != 0)
            abort();
        free(again);
    }
    return 0;
}
