/* Parsed and validated GraphQL documents, per worker and profile, keyed by the sha256 of their
 * text: a repeated document is parsed and validated once, and an automatic persisted query can
 * send the digest alone. Direct-mapped (BFF_GQL_CACHE_SLOTS slots, a newcomer replaces the
 * slot's entry), so memory is bounded and a lookup is one compare. An entry belongs to the
 * configuration it was validated against (a reload makes every entry miss); requests hold a
 * reference, so an entry replaced while in use goes when its last request ends. */
#ifndef BFF_SERVER_STAGE_GRAPHQL_CACHE_H
#define BFF_SERVER_STAGE_GRAPHQL_CACHE_H

#include <stdint.h>

#include "compose/gql/graph.h"

#define BFF_GQL_CACHE_SLOTS 512

typedef struct st_bff_gql_cached_t {
    char hash[65];
    bff_gql_document_t *doc;
    const bff_gql_graph_t *graph;
    uint64_t generation;
    unsigned refs; /* the cache's own, and each request's */
} bff_gql_cached_t;

typedef struct st_bff_gql_cache_t {
    bff_gql_cached_t *slots[BFF_GQL_CACHE_SLOTS];
    uint64_t hits, misses;
} bff_gql_cache_t;

/** The entry for `hash` validated against this graph and configuration (a reference the
 * caller releases), or NULL. */
bff_gql_cached_t *bff_gql_cache_find(bff_gql_cache_t *cache, const char *hash,
                                     const bff_gql_graph_t *graph, uint64_t generation);
/** Takes `doc` (valid for `graph`) into the cache; returns a reference to its entry. */
bff_gql_cached_t *bff_gql_cache_add(bff_gql_cache_t *cache, const char *hash,
                                    bff_gql_document_t *doc, const bff_gql_graph_t *graph,
                                    uint64_t generation);
void bff_gql_cache_retain(bff_gql_cached_t *entry);
void bff_gql_cache_release(bff_gql_cached_t *entry);

#endif
