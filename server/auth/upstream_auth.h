/* What an upstream gets to know of the client's identity beyond claims_to_headers (opt-in per
 * upstream, `auth:` in its definition): the client's own verified token relayed as it came
 * (`relay: true`), or a short-lived token bffd signs with the verified claims (`token:`, token
 * translation), so upstreams trust one issuer whatever the client presented. Either goes as
 * `Authorization: Bearer ...`; a source that sets its own Authorization header keeps it. */
#ifndef BFF_SERVER_AUTH_UPSTREAM_AUTH_H
#define BFF_SERVER_AUTH_UPSTREAM_AUTH_H

#include "compose/diag.h"
#include "compose/exec.h"
#include "compose/yaml_tree.h"
#include "server/auth/jwt_sign.h"

struct st_bff_l1_t;

typedef struct st_bff_upstream_auth_t {
    int relay;
    bff_jwt_signer_t *signer; /* token translation; NULL = none */
    uint64_t signer_id;       /* unique per loaded signer: minted tokens are kept under it */
} bff_upstream_auth_t;

/** Reads an upstream's `auth:` (may be NULL: nothing). Returns 0, or -1 after reporting. */
int bff_upstream_auth_parse(const bff_yaml_node_t *node, const char *upstream, const char *dir,
                            bff_diag_t *diag, bff_upstream_auth_t *out);
void bff_upstream_auth_dispose(bff_upstream_auth_t *ua);

/* Whom a run's calls are made for: what the auth stage verified (borrowed, or copies a run
 * that outlives its request keeps). */
typedef struct st_bff_call_identity_t {
    const char *token; /* the client's verified bearer token or session cookie; NULL: none */
    size_t token_len;
    const char *claims; /* its claims as JSON; NULL: anonymous */
    size_t claims_len;
} bff_call_identity_t;

/** Malloc'ed copies of `id`'s strings into *out (release with bff_call_identity_free). */
void bff_call_identity_copy(const bff_call_identity_t *id, bff_call_identity_t *out);
void bff_call_identity_free(bff_call_identity_t *id);

/* A request made to carry an Authorization line; disposed once the call started. */
typedef struct st_bff_authed_req_t {
    bff_fetch_req_t req;
    const char **lines;
    char *line;
} bff_authed_req_t;

/** The request to send to an upstream with `ua`: `req` itself when nothing is due (no relay or
 * translation, no principal, no token to relay, or the source sets Authorization), else
 * `tmp->req`, a copy with the line. Minted tokens are kept in *minted (a worker's, created on
 * first use) for half their life. */
const bff_fetch_req_t *bff_upstream_auth_apply(const bff_upstream_auth_t *ua,
                                               const bff_call_identity_t *id,
                                               struct st_bff_l1_t **minted,
                                               const bff_fetch_req_t *req, bff_authed_req_t *tmp);
void bff_authed_req_dispose(bff_authed_req_t *tmp);

#endif
