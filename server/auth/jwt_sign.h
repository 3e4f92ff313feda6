/* Signing JWTs: bffd's own short-lived tokens for upstreams that trust one issuer whatever the
 * client presented (token translation, upstream_auth.h). The key is loaded once with the
 * profile; a signer is read-only afterwards, so every worker thread may use it. */
#ifndef BFF_SERVER_AUTH_JWT_SIGN_H
#define BFF_SERVER_AUTH_JWT_SIGN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_bff_jwt_signer_t {
    char alg[8];           /* HS256/384/512, RS256/384/512, PS256/384/512, ES256, ES384, EdDSA */
    EVP_PKEY *pkey;        /* private key (owned); NULL for HS* */
    unsigned char *secret; /* HS* (owned) */
    size_t secret_len;
    char *kid;      /* NULL = none */
    char *issuer;   /* iss */
    char *audience; /* aud */
    uint64_t ttl_s; /* exp = iat + ttl */
    char **claims;  /* names copied from the principal's claims */
    size_t nclaims;
} bff_jwt_signer_t;

/** Sets the key: a PEM private key (RSA of 2048 bits or more, EC P-256/P-384, Ed25519) whose
 * type fits `alg`, or an HMAC secret (at least 32 bytes) for HS*. Returns 0, or -1 with a
 * message in err. */
int bff_jwt_signer_set_key(bff_jwt_signer_t *s, const char *alg, const char *pem, size_t pem_len,
                           const unsigned char *secret, size_t secret_len, char *err,
                           size_t errsize);
void bff_jwt_signer_dispose(bff_jwt_signer_t *s);

/** A compact JWS: {alg, typ, kid} and {the named claims of `claims_json` that it has, iss,
 * aud, iat, exp}. Malloc'ed, or NULL when the claims are not a JSON object or signing failed. */
char *bff_jwt_sign(const bff_jwt_signer_t *s, const char *claims_json, size_t len, int64_t now);

/** base64url without padding into out (4 * ((len + 2) / 3) + 1 bytes); returns its length. */
size_t bff_b64url_encode(const unsigned char *in, size_t len, char *out);

#endif
