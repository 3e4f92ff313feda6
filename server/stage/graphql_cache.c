/* The per-worker document cache (graphql_cache.h). */
#include "server/stage/graphql_cache.h"

#include <stdlib.h>
#include <string.h>

#include "compose/gql/parse.h"
#include "compose/mem.h"

static size_t slot_of(const char *hash)
{
    size_t v = 0;
    for (int i = 0; i != 8; ++i) /* hex digits of a digest: uniformly spread */
        v = v * 16 + (size_t)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return v % BFF_GQL_CACHE_SLOTS;
}

void bff_gql_cache_retain(bff_gql_cached_t *e)
{
    ++e->refs;
}

void bff_gql_cache_release(bff_gql_cached_t *e)
{
    if (e == NULL || --e->refs != 0)
        return;
    bff_gql_document_free(e->doc);
    free(e);
}

bff_gql_cached_t *bff_gql_cache_find(bff_gql_cache_t *cache, const char *hash,
                                     const bff_gql_graph_t *graph, uint64_t generation)
{
    bff_gql_cached_t *e = cache->slots[slot_of(hash)];
    if (e == NULL || e->graph != graph || e->generation != generation ||
        memcmp(e->hash, hash, 64) != 0) {
        ++cache->misses;
        return NULL;
    }
    ++cache->hits;
    ++e->refs;
    return e;
}

bff_gql_cached_t *bff_gql_cache_add(bff_gql_cache_t *cache, const char *hash,
                                    bff_gql_document_t *doc, const bff_gql_graph_t *graph,
                                    uint64_t generation)
{
    bff_gql_cached_t *e = bff_calloc(1, sizeof(*e));
    memcpy(e->hash, hash, 65);
    e->doc = doc;
    e->graph = graph;
    e->generation = generation;
    e->refs = 2; /* the cache's and the caller's */
    size_t i = slot_of(hash);
    bff_gql_cache_release(cache->slots[i]);
    cache->slots[i] = e;
    return e;
}
