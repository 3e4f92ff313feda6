/* A profile's GraphQL graph: its schema (SDL files, narrowed by `hide`) and the resolvers that
 * bind schema fields to the same sources REST endpoints use, loaded from the profile's
 * graph.yaml. A field resolves in one of three ways:
 *  - a source (`Type.field: { source: {...}, value: <shape> }`): one upstream call per parent
 *    object, its templates reading the field's arguments (`{args.id}`), the parent object
 *    (`{parent.id}`) and request headers (`{header.X}`); `value` shapes the answer (`response`)
 *    into the field's value, by default the whole answer;
 *  - a value (`Type.field: <shape>` or `{ value: <shape> }`): computed from `parent` and `args`
 *    with the response shaping language (renames, templates, $select, $format, ...);
 *  - neither: the parent object's member of the same name.
 * Loading checks every binding against the schema with file:line:column positions. Immutable
 * once loaded; one per profile and configuration. */
#ifndef BFF_COMPOSE_GQL_GRAPH_H
#define BFF_COMPOSE_GQL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "compose/diag.h"
#include "compose/gql/parse.h"
#include "compose/gql/schema.h"
#include "compose/gql/validate.h"
#include "compose/plan.h"
#include "compose/shape.h"
#include "compose/spec.h"

typedef enum en_bff_gql_resolver_kind_t {
    BFF_GQL_RESOLVE_SOURCE = 1,
    BFF_GQL_RESOLVE_VALUE,
    BFF_GQL_RESOLVE_MEMBER, /* only a guard (scopes): the parent's member of the same name */
} bff_gql_resolver_kind_t;

typedef struct st_bff_gql_resolver_t {
    bff_gql_resolver_kind_t kind;
    const bff_gql_field_t *field;
    char *name; /* "Type.field" as written */
    const char *file;
    unsigned line, column;
    bff_plan_t plan;    /* SOURCE: one source, `response` */
    bff_shape_t *value; /* SOURCE: NULL = the whole answer; VALUE: the shape */
    int reads_parent;   /* a template or the shape reads `parent` */
    /* The parent's members it reads (`parent.id` -> "id"): its calls are identical when those
     * are, whatever else the parents hold. parent_whole: a path reads `parent` itself. */
    char **parent_fields;
    size_t nparent_fields;
    int parent_whole;
    /* Per-field authorization: the field needs a principal (`auth: required`) holding every
     * scope listed; otherwise it is null with an error, and its source is never called. */
    int needs_principal;
    char **scopes;
    size_t nscopes;
    /* Batched across parents (`source.batch.items: parent.KEY` with `match`): one call carries
     * the keys of every parent the walk has met, and each parent takes the element of the
     * answer's `match.list` whose `match.key` member equals its own key (compared as text). */
    char *batch_key;        /* the parent's member (KEY); NULL = not batched */
    bff_jpath_t match_list; /* rooted at `response`: where the answer's elements are */
    char *match_key;        /* the elements' member holding the key */
} bff_gql_resolver_t;

typedef struct st_bff_gql_graph_t {
    char *file; /* graph.yaml */
    char *path; /* the endpoint, "/graphql" */
    bff_gql_schema_t *schema;
    bff_gql_resolver_t *resolvers; /* sorted by field address, for lookup */
    size_t nresolvers;
    int introspection;    /* __schema and __type answered */
    uint64_t timeout_ms;  /* an operation's deadline; 0 = the profile's request_timeout */
    unsigned max_calls;   /* upstream calls one operation may make */
    unsigned concurrency; /* calls of one operation in flight at once */
    unsigned batch_max;   /* operations one POST may carry as a JSON array; 0 = no batches */
    bff_gql_parse_limits_t parse_limits;
    bff_gql_validate_limits_t validate_limits;
    char **request_headers; /* lower-cased headers the templates read */
    size_t nrequest_headers;
    /* Trusted documents (a persisted-query manifest: {"<sha256 hex>": "document", ...}),
     * parsed and validated at load; with trusted_only, nothing else runs. The hashes are
     * checked by the server, which has the digest (server/core/profile.c). */
    struct st_bff_gql_trusted_t {
        char hash[65]; /* lower-case hex */
        char *text;
        size_t len;
    } * trusted;
    size_t ntrusted;
    int trusted_only;
    struct st_bff_gql_apq_t *apq; /* persisted query texts, shared by the workers (apq.h) */
    /* `cache:` of query operations (their answer per document, operation and variables);
     * mutations never. digest: set by the profile loader, part of every key. */
    bff_cache_policy_t cache;
    unsigned char digest[32];
    bff_access_t access;      /* auth, scopes, rate_limit of the endpoint */
    int reads_auth;           /* a resolver reads `auth.*` (the principal's claims) */
    int has_guards;           /* some field needs a principal or scopes */
    char *introspection_json; /* the schema as introspection's __schema value */
    size_t introspection_len;
} bff_gql_graph_t;

/** Loads graph.yaml (`file`) of a profile whose upstreams `env` names. Every problem goes to
 * diag (file:line:column); returns NULL if there was any. */
bff_gql_graph_t *bff_gql_graph_load(const char *file, const bff_spec_env_t *env, bff_diag_t *diag);
void bff_gql_graph_free(bff_gql_graph_t *graph);
/** The trusted document with this sha256 (64 lower-case hex digits), or NULL. */
const struct st_bff_gql_trusted_t *bff_gql_graph_trusted(const bff_gql_graph_t *graph,
                                                         const char *hash);
/** The resolver bound to `field`, or NULL (the parent's member of the same name). */
const bff_gql_resolver_t *bff_gql_graph_resolver(const bff_gql_graph_t *graph,
                                                 const bff_gql_field_t *field);

#endif
