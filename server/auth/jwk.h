/* Verification keys for JWTs: PEM public keys, HMAC secrets and JWK / JWKS documents, turned
 * into OpenSSL keys once, when the profile loads (or a JWKS is fetched). Only public parts are
 * read; private members of a JWK are ignored. */
#ifndef BFF_SERVER_AUTH_JWK_H
#define BFF_SERVER_AUTH_JWK_H

#include <openssl/evp.h>
#include <stddef.h>

/* A set refuses more keys than this (a JWKS is small; a huge one is a mistake or an attack). */
#define BFF_JWK_MAX_KEYS 256
/* RSA moduli accepted: 2048 bits at least (NIST), 8192 at most (verification cost). */
#define BFF_JWK_RSA_MIN_BITS 2048
#define BFF_JWK_RSA_MAX_BITS 8192
/* HMAC secrets shorter than this are guessable offline from one token. */
#define BFF_JWK_MIN_SECRET 32

typedef enum { BFF_JWK_OCT = 1, BFF_JWK_RSA, BFF_JWK_EC, BFF_JWK_OKP } bff_jwk_kty_t;

typedef struct st_bff_jwk_key_t {
    char kid[128]; /* "" = none */
    bff_jwk_kty_t kty;
    int curve_nid;         /* EC: NID_X9_62_prime256v1 or NID_secp384r1; OKP: NID_ED25519; else 0 */
    char alg[16];          /* the JWK's "alg" if it gave one ("" = any alg of its family) */
    EVP_PKEY *pkey;        /* RSA / EC / OKP public key (owned) */
    unsigned char *secret; /* OCT (owned) */
    size_t secret_len;
} bff_jwk_key_t;

/** A set of keys; start from `bff_jwk_set_t set = {0}` and release with bff_jwk_set_dispose. */
typedef struct st_bff_jwk_set_t {
    bff_jwk_key_t *keys;
    size_t nkeys;
} bff_jwk_set_t;

/** Adds the keys of a JWKS document {"keys": [...]} or of a single JWK. Keys whose "use" is not
 * "sig", and keys of a type or curve bffd does not verify with (X25519, P-521...), are skipped,
 * not errors. A malformed document or key, an RSA modulus outside 2048..8192 bits, an oct key
 * under 32 bytes or a kid of 128 bytes or more is an error. Returns 0, or -1 with a message in
 * err; on -1 the set is left as it was. */
int bff_jwk_set_parse(bff_jwk_set_t *set, const char *json, size_t len, char *err, size_t errsize);
/** Adds a PEM public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY") or the key of a PEM
 * certificate: RSA, EC P-256/P-384 or Ed25519. `kid` may be NULL. Returns 0, or -1 with a
 * message in err (nothing added). */
int bff_jwk_set_add_pem(bff_jwk_set_t *set, const char *pem, size_t len, const char *kid, char *err,
                        size_t errsize);
/** Adds an HMAC secret (copied): at least BFF_JWK_MIN_SECRET bytes, else -1, as a short secret
 * is guessable. `kid` may be NULL. Returns 0, or -1 with a message in err (nothing added). */
int bff_jwk_set_add_secret(bff_jwk_set_t *set, const unsigned char *secret, size_t len,
                           const char *kid, char *err, size_t errsize);
/** Frees every key (secrets are wiped first) and empties the set; it may be reused. */
void bff_jwk_set_dispose(bff_jwk_set_t *set);

/** Strict base64url as JOSE uses it: no padding, no whitespace, only [A-Za-z0-9_-], and no
 * stray bits after the last byte (one encoding per byte string). Returns the decoded length, or
 * -1. `out` holds at least len * 3 / 4 + 1 bytes. */
long bff_b64url_decode(const char *in, size_t len, unsigned char *out);

#endif
