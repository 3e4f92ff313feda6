/* A profile's `rate_limits:` block: the plans (rate and burst, GCRA), what a limit is keyed by,
 * where the shared state lives (Redis) and what happens when Redis cannot answer. */
#ifndef BFF_SERVER_RATELIMIT_RATE_CONF_H
#define BFF_SERVER_RATELIMIT_RATE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

/* A quota's calendar window, in UTC: it resets at midnight, or on the first of the month. */
typedef enum en_bff_quota_window_t {
    BFF_QUOTA_DAY,
    BFF_QUOTA_MONTH,
} bff_quota_window_t;

typedef struct st_bff_rate_plan_t {
    char *name;
    uint64_t limit; /* requests per period */
    uint64_t period_ms;
    uint64_t burst; /* at most this many at once (default: limit) */
    uint64_t quota; /* requests per calendar window (UTC); 0 = none */
    bff_quota_window_t quota_window;
} bff_rate_plan_t;

typedef enum en_bff_rate_key_t {
    BFF_RATE_KEY_AUTO,      /* the principal when there is one, else the client's address */
    BFF_RATE_KEY_PRINCIPAL, /* anonymous requests share one limit */
    BFF_RATE_KEY_IP,
} bff_rate_key_t;

typedef struct st_bff_rate_conf_t {
    int present;
    bff_rate_plan_t *plans;
    size_t nplans;
    size_t default_plan; /* index into plans */
    bff_rate_key_t key;
    int fail_closed;  /* Redis unreachable: 503 (else an in-process limiter per worker) */
    char *redis_host; /* NULL = the cache's Redis, or in-process only */
    uint16_t redis_port;
    unsigned redis_db;
    char *redis_password;
    char *prefix;
    uint64_t command_timeout_ms;
} bff_rate_conf_t;

/** Reads `node` (may be NULL). Returns 0, or -1 after reporting. */
int bff_rate_conf_parse(const bff_yaml_node_t *node, const char *profile_name, bff_diag_t *diag,
                        bff_rate_conf_t *out);
void bff_rate_conf_dispose(bff_rate_conf_t *c);
/** The plan named `name`, or NULL. */
const bff_rate_plan_t *bff_rate_conf_plan(const bff_rate_conf_t *c, const char *name);
/** Parses "60/min" (s, sec, second, m, min, minute, h, hour, d, day). Returns 0 or -1. */
int bff_rate_parse(const char *s, uint64_t *limit, uint64_t *period_ms);
/** Parses "10000/day" or "10000/month" (d, day, month). Returns 0 or -1. */
int bff_quota_parse(const char *s, uint64_t *limit, bff_quota_window_t *window);
/** The UTC second at which the window holding `now_s` (Unix seconds) ends. */
uint64_t bff_quota_window_end(uint64_t now_s, bff_quota_window_t window);

#endif
