/* Relaying and translating the client's identity for upstreams (upstream_auth.h). */
#include "server/auth/upstream_auth.h"

#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compose/mem.h"
#include "server/auth/auth_conf.h"
#include "server/cache/l1.h"
#include "server/core/clock.h"
#include "server/core/digest.h"

#define MINTED_CACHE_BYTES (4u << 20)

static _Atomic uint64_t signers_loaded;

static int parse_token(const bff_yaml_node_t *node, const char *upstream, const char *dir,
                       bff_diag_t *diag, bff_upstream_auth_t *out)
{
    static const char *const keys[] = {"algorithm", "key", "secret", "kid", "issuer",
                                       "audience",  "ttl", "claims", NULL};
    if (bff_yaml_check_map(diag, node, "token", keys) != 0)
        return -1;
    const char *alg = NULL, *key = NULL, *secret = NULL, *kid = NULL, *iss = NULL, *aud = upstream;
    uint64_t ttl_ms = 60000;
    int ret = bff_yaml_get_str(diag, node, "algorithm", 1, &alg);
    ret |= bff_yaml_get_str(diag, node, "key", 0, &key);
    ret |= bff_yaml_get_str(diag, node, "secret", 0, &secret);
    ret |= bff_yaml_get_str(diag, node, "kid", 0, &kid);
    ret |= bff_yaml_get_str(diag, node, "issuer", 1, &iss);
    ret |= bff_yaml_get_str(diag, node, "audience", 0, &aud);
    ret |= bff_yaml_get_duration_ms(diag, node, "ttl", &ttl_ms);
    if (ret != 0)
        return -1;
    if (ttl_ms < 1000 || ttl_ms > 3600000) {
        bff_yaml_error(diag, bff_yaml_get(node, "ttl"), "ttl must be between 1s and 1h");
        return -1;
    }
    if ((key != NULL) == (secret != NULL)) {
        bff_yaml_error(diag, node,
                       "token needs exactly one of key (a PEM private key file) or "
                       "secret (HS256/384/512)");
        return -1;
    }
    bff_jwt_signer_t *s = bff_calloc(1, sizeof(*s));
    char err[256] = "";
    size_t pem_len = 0;
    char *path = key != NULL ? bff_auth_path_in(dir, key) : NULL;
    char *pem = path != NULL ? bff_auth_read_file(path, &pem_len) : NULL;
    if (path != NULL && pem == NULL) {
        bff_yaml_error(diag, bff_yaml_get(node, "key"), "cannot read '%s'", path);
        ret = -1;
    } else if (bff_jwt_signer_set_key(s, alg, pem, pem_len, (const unsigned char *)secret,
                                      secret != NULL ? strlen(secret) : 0, err, sizeof(err)) != 0) {
        bff_yaml_error(diag, bff_yaml_get(node, key != NULL ? "key" : "secret"), "%s", err);
        ret = -1;
    }
    if (pem != NULL)
        OPENSSL_cleanse(pem, pem_len);
    free(pem);
    free(path);
    const bff_yaml_node_t *claims = bff_yaml_get(node, "claims");
    if (claims != NULL && (claims->kind != BFF_YAML_SEQ || claims->size > 32)) {
        bff_yaml_error(diag, claims, "claims is a list of claim names (at most 32), e.g. [sub]");
        ret = -1;
    }
    s->nclaims = claims != NULL && ret == 0 ? claims->size : 1;
    s->claims = bff_calloc(s->nclaims, sizeof(char *));
    for (size_t i = 0; i != s->nclaims; ++i) {
        const bff_yaml_node_t *c = claims != NULL && ret == 0 ? claims->items[i] : NULL;
        if (c != NULL && c->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(diag, c, "a claim name");
            ret = -1;
        }
        s->claims[i] = bff_strdup(c != NULL && c->kind == BFF_YAML_SCALAR ? c->str : "sub");
        if (strcmp(s->claims[i], "iss") == 0 || strcmp(s->claims[i], "aud") == 0 ||
            strcmp(s->claims[i], "exp") == 0 || strcmp(s->claims[i], "iat") == 0) {
            bff_yaml_error(diag, c, "'%s' is bffd's own in the token it signs", s->claims[i]);
            ret = -1;
        }
    }
    s->kid = kid != NULL ? bff_strdup(kid) : NULL;
    s->issuer = bff_strdup(iss);
    s->audience = bff_strdup(aud);
    s->ttl_s = ttl_ms / 1000;
    out->signer = s;
    out->signer_id = atomic_fetch_add(&signers_loaded, 1) + 1;
    return ret;
}

int bff_upstream_auth_parse(const bff_yaml_node_t *node, const char *upstream, const char *dir,
                            bff_diag_t *diag, bff_upstream_auth_t *out)
{
    memset(out, 0, sizeof(*out));
    if (node == NULL)
        return 0;
    static const char *const keys[] = {"relay", "token", NULL};
    if (bff_yaml_check_map(diag, node, "an upstream's auth", keys) != 0)
        return -1;
    int ret = bff_yaml_get_bool(diag, node, "relay", &out->relay);
    const bff_yaml_node_t *token = bff_yaml_get(node, "token");
    if (token != NULL && out->relay) {
        bff_yaml_error(diag, node, "relay the client's token, or sign one (token): not both");
        return -1;
    }
    if (token != NULL)
        ret |= parse_token(token, upstream, dir, diag, out);
    return ret;
}

void bff_upstream_auth_dispose(bff_upstream_auth_t *ua)
{
    if (ua->signer != NULL) {
        bff_jwt_signer_dispose(ua->signer);
        free(ua->signer);
    }
    memset(ua, 0, sizeof(*ua));
}

void bff_call_identity_copy(const bff_call_identity_t *id, bff_call_identity_t *out)
{
    *out = (bff_call_identity_t){0};
    if (id->token != NULL) {
        out->token = bff_strndup(id->token, id->token_len);
        out->token_len = id->token_len;
    }
    if (id->claims != NULL) {
        out->claims = bff_strndup(id->claims, id->claims_len);
        out->claims_len = id->claims_len;
    }
}

void bff_call_identity_free(bff_call_identity_t *id)
{
    free((char *)id->token);
    free((char *)id->claims);
    *id = (bff_call_identity_t){0};
}

/* A token bffd signed for these claims, kept per worker for half its life. */
static char *minted_token(const bff_upstream_auth_t *ua, const bff_call_identity_t *id,
                          bff_l1_t **minted)
{
    unsigned char key[32];
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, "minted-v1", 10);
    bff_sha256_add(&h, &ua->signer_id, sizeof(ua->signer_id));
    bff_sha256_add(&h, id->claims, id->claims_len);
    bff_sha256_end(&h, key);
    uint64_t now_ms = bff_wall_ms();
    const char *blob;
    size_t len;
    if (*minted != NULL && bff_l1_get(*minted, key, now_ms, &blob, &len) == 0)
        return bff_strndup(blob, len);
    char *token = bff_jwt_sign(ua->signer, id->claims, id->claims_len, (int64_t)(now_ms / 1000));
    if (token == NULL)
        return NULL;
    if (*minted == NULL)
        *minted = bff_l1_create(MINTED_CACHE_BYTES);
    bff_l1_put(*minted, key, token, strlen(token), now_ms + ua->signer->ttl_s * 500);
    return token;
}

const bff_fetch_req_t *bff_upstream_auth_apply(const bff_upstream_auth_t *ua,
                                               const bff_call_identity_t *id,
                                               struct st_bff_l1_t **minted,
                                               const bff_fetch_req_t *req, bff_authed_req_t *tmp)
{
    *tmp = (bff_authed_req_t){0};
    if (id == NULL || id->claims == NULL || (!ua->relay && ua->signer == NULL) ||
        (ua->relay && id->token == NULL))
        return req;
    for (size_t i = 0; i != req->nheaders; ++i)
        if (strncasecmp(req->headers[i], "authorization:", 14) == 0)
            return req; /* the source says what to send */
    char *token = ua->relay ? bff_strndup(id->token, id->token_len) : minted_token(ua, id, minted);
    if (token == NULL)
        return req;
    size_t n = strlen(token) + 32;
    tmp->line = bff_malloc(n);
    snprintf(tmp->line, n, "Authorization: Bearer %s", token);
    free(token);
    tmp->lines = bff_calloc(req->nheaders + 1, sizeof(char *));
    memcpy(tmp->lines, req->headers, req->nheaders * sizeof(char *));
    tmp->lines[req->nheaders] = tmp->line;
    tmp->req = *req;
    tmp->req.headers = tmp->lines;
    tmp->req.nheaders = req->nheaders + 1;
    return &tmp->req;
}

void bff_authed_req_dispose(bff_authed_req_t *tmp)
{
    free(tmp->line);
    free(tmp->lines);
}
