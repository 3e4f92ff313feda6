/* The in-process LRU (l1.h): a chained hash table whose chains are short (the table doubles as
 * entries grow) and an intrusive recency list. */
#include "server/cache/l1.h"

#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

typedef struct st_l1_item_t {
    struct st_l1_item_t *chain;         /* next in the bucket */
    struct st_l1_item_t *newer, *older; /* recency list */
    unsigned char key[32];
    uint64_t expires_ms;
    size_t len;
    char blob[];
} l1_item_t;

struct st_bff_l1_t {
    size_t max_bytes, bytes, count;
    l1_item_t **buckets;
    size_t nbuckets; /* a power of two */
    l1_item_t *newest, *oldest;
};

#define ITEM_COST(len) (sizeof(l1_item_t) + (len) + sizeof(void *))

static size_t bucket_of(const bff_l1_t *l1, const unsigned char key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h)); /* the key is a digest: any 8 bytes are uniform */
    return (size_t)h & (l1->nbuckets - 1);
}

bff_l1_t *bff_l1_create(size_t max_bytes)
{
    bff_l1_t *l1 = bff_calloc(1, sizeof(*l1));
    l1->max_bytes = max_bytes;
    l1->nbuckets = 64;
    l1->buckets = bff_calloc(l1->nbuckets, sizeof(*l1->buckets));
    return l1;
}

void bff_l1_clear(bff_l1_t *l1)
{
    for (l1_item_t *it = l1->newest, *next; it != NULL; it = next) {
        next = it->older;
        free(it);
    }
    memset(l1->buckets, 0, l1->nbuckets * sizeof(*l1->buckets));
    l1->newest = l1->oldest = NULL;
    l1->bytes = l1->count = 0;
}

void bff_l1_destroy(bff_l1_t *l1)
{
    if (l1 == NULL)
        return;
    bff_l1_clear(l1);
    free(l1->buckets);
    free(l1);
}

static void unlink_recency(bff_l1_t *l1, l1_item_t *it)
{
    if (it->newer != NULL)
        it->newer->older = it->older;
    else
        l1->newest = it->older;
    if (it->older != NULL)
        it->older->newer = it->newer;
    else
        l1->oldest = it->newer;
    it->newer = it->older = NULL;
}

static void push_newest(bff_l1_t *l1, l1_item_t *it)
{
    it->older = l1->newest;
    it->newer = NULL;
    if (l1->newest != NULL)
        l1->newest->newer = it;
    l1->newest = it;
    if (l1->oldest == NULL)
        l1->oldest = it;
}

static l1_item_t **find_slot(bff_l1_t *l1, const unsigned char key[32])
{
    l1_item_t **slot = l1->buckets + bucket_of(l1, key);
    while (*slot != NULL && memcmp((*slot)->key, key, 32) != 0)
        slot = &(*slot)->chain;
    return slot;
}

static void drop(bff_l1_t *l1, l1_item_t **slot)
{
    l1_item_t *it = *slot;
    *slot = it->chain;
    unlink_recency(l1, it);
    l1->bytes -= ITEM_COST(it->len);
    --l1->count;
    free(it);
}

int bff_l1_get(bff_l1_t *l1, const unsigned char key[32], uint64_t now_ms, const char **blob,
               size_t *len)
{
    l1_item_t **slot = find_slot(l1, key);
    if (*slot == NULL)
        return -1;
    if ((*slot)->expires_ms <= now_ms) {
        drop(l1, slot);
        return -1;
    }
    l1_item_t *it = *slot;
    unlink_recency(l1, it);
    push_newest(l1, it);
    *blob = it->blob;
    *len = it->len;
    return 0;
}

static void grow(bff_l1_t *l1)
{
    size_t old_n = l1->nbuckets;
    l1_item_t **old = l1->buckets;
    l1->nbuckets *= 2;
    l1->buckets = bff_calloc(l1->nbuckets, sizeof(*l1->buckets));
    for (size_t b = 0; b != old_n; ++b) {
        for (l1_item_t *it = old[b], *next; it != NULL; it = next) {
            next = it->chain;
            l1_item_t **head = l1->buckets + bucket_of(l1, it->key);
            it->chain = *head;
            *head = it;
        }
    }
    free(old);
}

void bff_l1_remove(bff_l1_t *l1, const unsigned char key[32])
{
    l1_item_t **slot = find_slot(l1, key);
    if (*slot != NULL)
        drop(l1, slot);
}

void bff_l1_put(bff_l1_t *l1, const unsigned char key[32], const char *blob, size_t len,
                uint64_t expires_ms)
{
    bff_l1_remove(l1, key);
    if (ITEM_COST(len) > l1->max_bytes / 8)
        return;
    while (l1->bytes + ITEM_COST(len) > l1->max_bytes && l1->oldest != NULL)
        drop(l1, find_slot(l1, l1->oldest->key));
    l1_item_t *it = bff_malloc(sizeof(*it) + len);
    memcpy(it->key, key, 32);
    it->expires_ms = expires_ms;
    it->len = len;
    memcpy(it->blob, blob, len);
    l1_item_t **head = l1->buckets + bucket_of(l1, key);
    it->chain = *head;
    *head = it;
    it->newer = it->older = NULL;
    push_newest(l1, it);
    l1->bytes += ITEM_COST(len);
    if (++l1->count > l1->nbuckets)
        grow(l1);
}

size_t bff_l1_remove_if(bff_l1_t *l1, int (*pred)(void *data, const char *blob, size_t len),
                        void *data)
{
    size_t n = 0;
    for (l1_item_t *it = l1->newest, *next; it != NULL; it = next) {
        next = it->older;
        if (pred(data, it->blob, it->len)) {
            drop(l1, find_slot(l1, it->key));
            ++n;
        }
    }
    return n;
}

size_t bff_l1_bytes(const bff_l1_t *l1)
{
    return l1->bytes;
}

size_t bff_l1_count(const bff_l1_t *l1)
{
    return l1->count;
}
