/* The composition spec model: one REST endpoint, its route and parameters, the plan of its
 * sources (source.h, plan.h) and its response shape. Built once at load. */
#ifndef BFF_COMPOSE_SPEC_H
#define BFF_COMPOSE_SPEC_H

#include <stdint.h>

#include "compose/access.h"
#include "compose/cache_policy.h"
#include "compose/diag.h"
#include "compose/plan.h"
#include "compose/shape.h"
#include "compose/yaml_tree.h"

#define BFF_SPEC_MAX_SOURCES BFF_PLAN_MAX_SOURCES
#define BFF_SPEC_MAX_CACHE_TAGS 16
#define BFF_SPEC_MAX_PATH_PARAMS 64 /* callers size bff_spec_match's `values` for this many */

typedef enum en_bff_param_type_t {
    BFF_PARAM_STRING,
    BFF_PARAM_INT,
    BFF_PARAM_NUMBER,
    BFF_PARAM_BOOL,
} bff_param_type_t;

typedef struct st_bff_param_t {
    char *name;
    int in_path; /* else a query parameter */
    bff_param_type_t type;
    int required;
    char *default_value; /* query only; NULL = none */
    int has_min, has_max;
    double min, max;
    size_t max_length;
    char **enum_values;
    size_t nenum;
} bff_param_t;

typedef struct st_bff_path_segment_t {
    char *literal; /* NULL for a parameter */
    size_t param;  /* index into params */
} bff_path_segment_t;

typedef struct st_bff_spec_t {
    char *file;
    unsigned line, column;
    char *method;
    char *route; /* as written: /dashboard/{userId} */
    bff_path_segment_t *segments;
    size_t nsegments;
    char *description;
    bff_param_t *params; /* path parameters first, then query parameters */
    size_t nparams;
    bff_plan_t plan; /* the sources and their order */
    bff_shape_t *response;
    uint64_t timeout_ms;        /* overall deadline; 0 = profile default */
    uint64_t respond_by_ms;     /* answer with what is in by then (late optional sources
                                   pending); 0 = wait for every source */
    unsigned status;            /* the answer's status when every required source arrived (200) */
    bff_template_t status_tmpl; /* or a template giving it ("{created.$status}"); 0 parts = none */
    bff_header_tmpl_t *headers; /* the answer's own headers (Location, ...), templates */
    size_t nheaders;
    uint64_t max_body;      /* the client's body at most (write endpoints); 0 = the profile's */
    int reads_body;         /* a template or shape reads the client's `body` */
    int reads_auth;         /* ... or the verified principal's claims (`auth.sub`) */
    bff_access_t access;    /* auth, scopes, rate_limit */
    char **request_headers; /* lower-cased headers the templates read */
    size_t nrequest_headers;
    /* A stored GraphQL operation instead of sources and a response (`graphql:`): the
     * parameters are its variables, its data the answer. The text is parsed and validated
     * against the profile's graph when the profile loads (server/core/profile.c). */
    char *graphql;
    bff_cache_policy_t cache;   /* the composed answer's (GET endpoints only) */
    bff_template_t *cache_tags; /* cache.tags: purge tags rendered at store */
    size_t ncache_tags;
    /* SHA-256 of what shapes the answer (the endpoint's file and its profile's), set by the
     * profile loader: part of every cache key, so no reload serves an older spec's entry. */
    unsigned char digest[32];
    unsigned graphql_line, graphql_column;
    int graphql_block; /* written as a block scalar: its text starts on the next line */
    struct st_bff_gql_document_t *graphql_doc;
    const struct st_bff_gql_operation_t *graphql_op;
} bff_spec_t;

/** What the spec loader needs from the profile. */
typedef struct st_bff_spec_env_t {
    const char *const *upstreams;
    size_t nupstreams;
} bff_spec_env_t;

/** Compiles one endpoint spec. Reports every problem to diag; returns NULL if any. */
bff_spec_t *bff_spec_parse(const bff_yaml_node_t *root, const bff_spec_env_t *env,
                           bff_diag_t *diag);
void bff_spec_free(bff_spec_t *spec);

/** Matches a request path (no query) against the route. On success stores each path parameter's
 * raw (still percent-encoded) value as offsets into `path`: values[i] = {start, len}. */
int bff_spec_match(const bff_spec_t *spec, const char *path, size_t len, size_t (*values)[2]);

/** 1 if the two routes are the same pattern (literals equal, parameters in the same places).
 * Overlapping but different routes are fine: the router prefers literal segments. */
int bff_spec_same_route(const bff_spec_t *a, const bff_spec_t *b);

#endif
