/* The allocator and its figures (server/core/heap.h). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "server/core/heap.h"

#include <dlfcn.h>
#include <malloc.h>

typedef const char *(*tc_version_fn)(int *, int *, const char **);
typedef int (*tc_property_fn)(const char *, size_t *);

const char *bff_heap_allocator_version(void)
{
    tc_version_fn tc_version = (tc_version_fn)dlsym(RTLD_DEFAULT, "tc_version");
    int major, minor;
    const char *patch;
    return tc_version != NULL ? tc_version(&major, &minor, &patch) : "glibc";
}

void bff_heap_stats(bff_heap_stats_t *stats)
{
    tc_property_fn get = (tc_property_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
    if (get != NULL) {
        size_t allocated = 0, held = 0;
        get("generic.current_allocated_bytes", &allocated);
        get("generic.heap_size", &held);
        *stats = (bff_heap_stats_t){.allocator = "tcmalloc", .allocated = allocated, .held = held};
        return;
    }
    struct mallinfo2 mi = mallinfo2(); /* every arena; it locks each one briefly */
    *stats = (bff_heap_stats_t){
        .allocator = "glibc", .allocated = mi.uordblks + mi.hblkhd, .held = mi.arena + mi.hblkhd};
}
