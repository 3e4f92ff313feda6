/* Automatic persisted queries shared by a graph's workers: the texts clients registered (query
 * and its sha256 sent together), found again by digest. Each worker keeps its own parsed
 * documents (server/stage/graphql_cache.h); without this table a digest registered on one worker
 * was unknown to the others, and a client spread over N workers had to send the text N times.
 * Bounded like the document cache (a newcomer replaces its slot); a reload starts afresh with
 * the new graph. Thread-safe: a lookup or a store holds a mutex for one copy. */
#ifndef BFF_COMPOSE_GQL_APQ_H
#define BFF_COMPOSE_GQL_APQ_H

#include <stddef.h>

typedef struct st_bff_gql_apq_t bff_gql_apq_t;

bff_gql_apq_t *bff_gql_apq_create(void);
void bff_gql_apq_free(bff_gql_apq_t *apq);
/** Keeps `text` under `hash` (64 lower-case hex digits, its sha256, checked by the caller).
 * Texts over BFF_GQL_APQ_MAX_TEXT are not kept (the client resends them where they are needed). */
void bff_gql_apq_put(bff_gql_apq_t *apq, const char *hash, const char *text, size_t len);
/** A copy (the caller frees it) of the text registered under `hash`, NUL-terminated, its length
 * in *len; NULL when none is. */
char *bff_gql_apq_get(bff_gql_apq_t *apq, const char *hash, size_t *len);

#define BFF_GQL_APQ_MAX_TEXT (64 * 1024)

#endif
