/* A profile's `cache:` block: where the second level lives (Redis) and the defaults endpoints
 * inherit. Without the block nothing is cached; with it but without `redis`, L1 alone serves. */
#ifndef BFF_SERVER_CACHE_CACHE_CONF_H
#define BFF_SERVER_CACHE_CACHE_CONF_H

#include <stdint.h>

#include "compose/cache_policy.h"
#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_cache_conf_t {
    int present;           /* the profile has a cache: block */
    char *redis_host;      /* NULL = no second level */
    uint16_t redis_port;   /* 6379 */
    unsigned redis_db;     /* SELECTed on every connection */
    char *redis_password;  /* AUTH on every connection; NULL = none */
    char *prefix;          /* of every Redis key: "bffd:<profile>:" unless set */
    uint64_t memory_bytes; /* L1 cap per worker; 0 = no L1 */
    uint64_t command_timeout_ms, connect_timeout_ms;
    uint64_t lock_ms;            /* a composition lock across instances lives this long at most */
    uint64_t lock_wait_ms;       /* a miss waits this long for another instance's entry */
    bff_cache_policy_t defaults; /* ttl, stale windows and client max-age of endpoints */
} bff_cache_conf_t;

/** Reads the profile's `cache:` (node may be NULL). Returns 0, or -1 after reporting. */
int bff_cache_conf_parse(const bff_yaml_node_t *node, const char *profile_name, bff_diag_t *diag,
                         bff_cache_conf_t *out);
/** 1 when the header `name` (len bytes, any case) carries who the client is (authorization,
 * cookie, proxy-authorization, x-api-key): what reads one is cached per principal. */
int bff_cache_is_credential(const char *name, size_t len);
/** 1 when a "Name: value" line sent with every call of a run is the request's own (request id,
 * trace context, Idempotency-Key) rather than about who the client is (claim headers). */
int bff_cache_is_per_request_line(const char *line);
/** Reads redis://[:password@]host[:port][/db] into c's redis_* members. Returns 0 or -1. */
int bff_cache_parse_redis_url(const char *url, bff_cache_conf_t *c);
/** Fills what an enabled policy left unset from the profile's defaults. */
void bff_cache_conf_apply_defaults(const bff_cache_conf_t *conf, bff_cache_policy_t *policy);
void bff_cache_conf_copy(bff_cache_conf_t *dst, const bff_cache_conf_t *src);
void bff_cache_conf_dispose(bff_cache_conf_t *conf);
/** 1 when two blocks would build the same cache (the same Redis, prefix and L1 size). */
int bff_cache_conf_same_store(const bff_cache_conf_t *a, const bff_cache_conf_t *b);

#endif
