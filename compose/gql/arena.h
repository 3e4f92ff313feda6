/* A bump allocator for one GraphQL document or schema: nodes are never freed one by one, so
 * the whole tree goes with one call. Chunks are malloc'ed (aborting on out of memory, like
 * compose/mem.h); allocations are 16-byte aligned. */
#ifndef BFF_COMPOSE_GQL_ARENA_H
#define BFF_COMPOSE_GQL_ARENA_H

#include <stddef.h>

typedef struct st_bff_gql_arena_chunk_t bff_gql_arena_chunk_t;

typedef struct st_bff_gql_arena_t {
    bff_gql_arena_chunk_t *chunks; /* the newest first */
    char *pos, *end;
    size_t bytes; /* allocated so far, for size limits */
} bff_gql_arena_t;

void bff_gql_arena_init(bff_gql_arena_t *a);
/** Zeroed memory that lives until bff_gql_arena_dispose. */
void *bff_gql_arena_alloc(bff_gql_arena_t *a, size_t size);
char *bff_gql_arena_strndup(bff_gql_arena_t *a, const char *s, size_t len);
/** Grows an arena array: a new copy of `old` (`n` elements of `size`) with room for `cap`. */
void *bff_gql_arena_grow(bff_gql_arena_t *a, void *old, size_t n, size_t cap, size_t size);
void bff_gql_arena_dispose(bff_gql_arena_t *a);

#endif
