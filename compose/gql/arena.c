/* The bump allocator of arena.h. */
#include "compose/gql/arena.h"

#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

#define CHUNK_MIN 4096

struct st_bff_gql_arena_chunk_t {
    bff_gql_arena_chunk_t *next;
    size_t size;
    _Alignas(16) char bytes[];
};

void bff_gql_arena_init(bff_gql_arena_t *a)
{
    memset(a, 0, sizeof(*a));
}

void *bff_gql_arena_alloc(bff_gql_arena_t *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if (a->pos == NULL || (size_t)(a->end - a->pos) < size) {
        size_t want = a->chunks != NULL ? a->chunks->size * 2 : CHUNK_MIN;
        while (want < size)
            want *= 2;
        bff_gql_arena_chunk_t *c = bff_malloc(sizeof(*c) + want);
        c->next = a->chunks;
        c->size = want;
        a->chunks = c;
        a->pos = c->bytes;
        a->end = c->bytes + want;
    }
    void *p = a->pos;
    a->pos += size;
    a->bytes += size;
    memset(p, 0, size);
    return p;
}

char *bff_gql_arena_strndup(bff_gql_arena_t *a, const char *s, size_t len)
{
    char *p = bff_gql_arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void *bff_gql_arena_grow(bff_gql_arena_t *a, void *old, size_t n, size_t cap, size_t size)
{
    void *p = bff_gql_arena_alloc(a, cap * size);
    if (n != 0)
        memcpy(p, old, n * size);
    return p;
}

void bff_gql_arena_dispose(bff_gql_arena_t *a)
{
    for (bff_gql_arena_chunk_t *c = a->chunks, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    memset(a, 0, sizeof(*a));
}
