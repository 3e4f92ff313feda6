/* The shared registry of persisted query texts (apq.h). */
#include "compose/gql/apq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

#define SLOTS 512 /* as the per-worker document cache */

typedef struct {
    char hash[65]; /* "" = empty */
    char *text;
    size_t len;
} slot_t;

struct st_bff_gql_apq_t {
    pthread_mutex_t lock;
    slot_t slots[SLOTS];
};

/* The digest is uniformly spread: its first hex digits pick the slot. */
static slot_t *slot_of(bff_gql_apq_t *apq, const char *hash)
{
    return apq->slots + strtoul((char[4]){hash[0], hash[1], hash[2], 0}, NULL, 16) % SLOTS;
}

bff_gql_apq_t *bff_gql_apq_create(void)
{
    bff_gql_apq_t *apq = bff_calloc(1, sizeof(*apq));
    pthread_mutex_init(&apq->lock, NULL);
    return apq;
}

void bff_gql_apq_free(bff_gql_apq_t *apq)
{
    if (apq == NULL)
        return;
    for (size_t i = 0; i != SLOTS; ++i)
        free(apq->slots[i].text);
    pthread_mutex_destroy(&apq->lock);
    free(apq);
}

void bff_gql_apq_put(bff_gql_apq_t *apq, const char *hash, const char *text, size_t len)
{
    if (len > BFF_GQL_APQ_MAX_TEXT)
        return;
    slot_t *s = slot_of(apq, hash);
    char *copy = bff_strndup(text, len), *old = NULL;
    pthread_mutex_lock(&apq->lock);
    if (strcmp(s->hash, hash) != 0) {
        old = s->text;
        s->text = copy, copy = NULL;
        s->len = len;
        memcpy(s->hash, hash, 65);
    }
    pthread_mutex_unlock(&apq->lock);
    free(copy); /* the same digest was there already */
    free(old);
}

char *bff_gql_apq_get(bff_gql_apq_t *apq, const char *hash, size_t *len)
{
    slot_t *s = slot_of(apq, hash);
    char *copy = NULL;
    pthread_mutex_lock(&apq->lock);
    if (strcmp(s->hash, hash) == 0) {
        copy = bff_strndup(s->text, s->len);
        *len = s->len;
    }
    pthread_mutex_unlock(&apq->lock);
    return copy;
}
