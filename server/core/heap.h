/* The allocator bffd runs on (CMakeLists.txt, BFF_MALLOC: tcmalloc unless a sanitizer build)
 * and what it holds, for `bffd --version` and /metrics. Asked at run time: tcmalloc, when
 * linked, names itself through its extension API; otherwise glibc's mallinfo2 answers. */
#ifndef BFF_SERVER_CORE_HEAP_H
#define BFF_SERVER_CORE_HEAP_H

#include <stddef.h>

typedef struct st_bff_heap_stats_t {
    const char *allocator; /* "tcmalloc" or "glibc" */
    size_t allocated;      /* bytes the program has allocated and not freed */
    size_t held;           /* bytes the allocator has taken from the system, caches included */
} bff_heap_stats_t;

/* "gperftools 2.10", or "glibc" */
const char *bff_heap_allocator_version(void);
void bff_heap_stats(bff_heap_stats_t *stats);

#endif
