/* A BFF profile: one client type's listener, limits, upstreams and endpoint specs, loaded from
 * a folder (profile.yaml + endpoints/NAME.yaml) and validated strictly before anything serves. */
#ifndef BFF_SERVER_PROFILE_H
#define BFF_SERVER_PROFILE_H

#include <stdint.h>

#include "compose/diag.h"
#include "compose/gql/graph.h"
#include "compose/spec.h"
#include "server/auth/auth_conf.h"
#include "server/auth/upstream_auth.h"
#include "server/cache/cache_conf.h"
#include "server/contract/openapi_conf.h"
#include "server/http/cors.h"
#include "server/obs/tracing_conf.h"
#include "server/ratelimit/rate_conf.h"

typedef enum en_bff_lb_policy_t { BFF_LB_ROUND_ROBIN, BFF_LB_LEAST_OUTSTANDING } bff_lb_policy_t;

typedef struct st_bff_instance_conf_t {
    char *url; /* base URL without trailing slash */
    unsigned weight;
} bff_instance_conf_t;

typedef struct st_bff_breaker_conf_t {
    unsigned consecutive_failures; /* opens after this many in a row (0 = never by count) */
    unsigned error_ratio_percent;  /* ... or this share of failures over the window (0 = off) */
    unsigned min_calls;            /* calls in the window before the ratio counts */
    uint64_t window_ms;
    uint64_t cooldown_ms; /* open -> half-open */
} bff_breaker_conf_t;

typedef struct st_bff_passive_health_conf_t {
    unsigned consecutive_failures; /* an instance is ejected after this many */
    uint64_t ejection_ms;
} bff_passive_health_conf_t;

/* bffd's own per-request header lines an upstream may be sent (`propagate`). */
enum {
    BFF_PROPAGATE_REQUEST_ID = 1,    /* X-Request-ID */
    BFF_PROPAGATE_TRACE_CONTEXT = 2, /* traceparent, tracestate */
    BFF_PROPAGATE_ALL = 3,
};

typedef struct st_bff_upstream_conf_t {
    char *name;
    bff_instance_conf_t *instances;
    size_t ninstances;
    bff_lb_policy_t lb;
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms;
    uint64_t max_body_bytes;
    unsigned max_connections; /* per worker */
    unsigned max_concurrent;  /* bulkhead: calls in flight per worker; 0 = unlimited */
    unsigned max_queued; /* calls waiting for a connection, per worker (limits.max_queued_calls) */
    int http2;
    unsigned propagate; /* BFF_PROPAGATE_*: which of bffd's own per-request headers it gets */
    struct {
        uint64_t limit, period_ms, burst; /* calls per period per instance; limit 0 = none */
    } rate_limit;
    bff_breaker_conf_t breaker;
    bff_passive_health_conf_t passive_health;
    struct {
        char *ca;          /* CA bundle to verify the upstream with; NULL = the system's */
        char *certificate; /* client certificate (mTLS) and its key; NULL = none */
        char *key;
        char *server_name; /* the name to verify and send (SNI) instead of the URL's host */
        int verify;        /* 0 only when the profile says so, with a warning */
    } tls;
} bff_upstream_conf_t;

/* How much a client learns about a failed source (neither mode ever shows a URL or a host). */
typedef enum en_bff_errors_mode_t {
    BFF_ERRORS_DETAILED, /* source, upstream name, reason, status and a message */
    BFF_ERRORS_SAFE,     /* a stable reason code and the status only */
} bff_errors_mode_t;

typedef struct st_bff_profile_t {
    char *dir;
    char *name;
    char *host;
    uint16_t port;
    unsigned name_line, name_column, listen_line, listen_column; /* in profile.yaml */
    char *tls_certificate, *tls_key;
    uint64_t max_header_bytes;
    uint64_t max_body_bytes;
    uint64_t request_timeout_ms; /* default overall deadline of an endpoint */
    uint64_t drain_timeout_ms;
    size_t max_inflight;       /* client requests in progress per worker; past it: 503 */
    uint64_t write_timeout_ms; /* a connection taking no response bytes this long is cut */
    uint64_t max_unsent_bytes; /* response bytes one connection may hold unsent */
    unsigned
        max_queued_calls; /* upstream calls waiting for a connection, per worker and upstream */
    char *access_log;     /* "-" = stdout, "off", or a path */
    bff_errors_mode_t errors;
    bff_upstream_conf_t *upstreams;
    size_t nupstreams;
    bff_upstream_auth_t *upstream_auth; /* per upstream: token relay or translation */
    int upstream_auth_any;              /* some upstream has one */
    bff_spec_t **endpoints;
    size_t nendpoints;
    bff_gql_graph_t *graph; /* graph.yaml: the GraphQL endpoint; NULL = none */
    bff_cache_conf_t cache;
    bff_auth_conf_t auth;
    bff_rate_conf_t rate;
    bff_cors_conf_t cors;
    bff_tracing_conf_t tracing; /* spans to an OTLP collector; endpoint NULL = off */
    bff_openapi_conf_t openapi; /* the OpenAPI document on the public listener */
    struct {
        uint64_t min_size; /* smaller answers go as they are */
        int gzip;          /* gzip level 1-9; 0 = compression off */
    } compression;
    struct st_bff_cidr_t *trusted_proxies; /* their X-Forwarded-For names the client */
    size_t ntrusted_proxies;
    struct st_bff_cidr_t *ip_allow, *ip_deny; /* client addresses let in / kept out */
    size_t nip_allow, nip_deny;
} bff_profile_t;

/** Loads and validates the profile in `dir`. Every problem is added to diag as
 * file:line:column; returns NULL if there was any. */
bff_profile_t *bff_profile_load(const char *dir, bff_diag_t *diag);
void bff_profile_free(bff_profile_t *profile);
/** Deep copy of an upstream definition (dst is overwritten); dispose frees what copy made. */
void bff_upstream_conf_copy(bff_upstream_conf_t *dst, const bff_upstream_conf_t *src);
void bff_upstream_conf_dispose(bff_upstream_conf_t *conf);
/** 1 when two definitions would behave the same (name, instances, every policy). */
int bff_upstream_conf_equal(const bff_upstream_conf_t *a, const bff_upstream_conf_t *b);
/** Parses "host:port" (or ":port", "[::1]:port"). Returns 0 / -1. */
int bff_profile_parse_listen(const char *s, char **host, uint16_t *port);

#endif
