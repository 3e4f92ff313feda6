/* Aborting allocators: bffd is a server, not a library, so out of memory ends the process with a
 * message instead of spreading half-handled NULL paths (as h2o_mem_alloc and Redis zmalloc). */
#ifndef BFF_COMPOSE_MEM_H
#define BFF_COMPOSE_MEM_H

#include <stddef.h>

void *bff_malloc(size_t size);
void *bff_calloc(size_t n, size_t size);
void *bff_realloc(void *p, size_t size);
char *bff_strdup(const char *s);
char *bff_strndup(const char *s, size_t len);

#endif
