/* JWT verification (compact JWS, RFC 7515/7519): strict parsing, the algorithm allow-list, key
 * selection by kid and algorithm family, signatures through OpenSSL's EVP, then the time, issuer
 * and audience claims. No I/O: keys come from jwk.h, the time from the caller. */
#ifndef BFF_SERVER_AUTH_JWT_H
#define BFF_SERVER_AUTH_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/auth/jwk.h"

#define BFF_JWT_HS256 (1u << 0)
#define BFF_JWT_HS384 (1u << 1)
#define BFF_JWT_HS512 (1u << 2)
#define BFF_JWT_RS256 (1u << 3)
#define BFF_JWT_RS384 (1u << 4)
#define BFF_JWT_RS512 (1u << 5)
#define BFF_JWT_PS256 (1u << 6)
#define BFF_JWT_PS384 (1u << 7)
#define BFF_JWT_PS512 (1u << 8)
#define BFF_JWT_ES256 (1u << 9)
#define BFF_JWT_ES384 (1u << 10)
#define BFF_JWT_EDDSA (1u << 11)

/* The cap on a token when the policy's max_bytes is 0. */
#define BFF_JWT_DEFAULT_MAX_BYTES 8192
/* Leeway beyond a day is a misconfiguration; it is clamped to this. */
#define BFF_JWT_MAX_LEEWAY_S 86400

typedef struct st_bff_jwt_policy_t {
    unsigned algs;                /* allowed algorithms (bits above); "none" never is */
    const char *issuer;           /* required iss; NULL = not checked */
    const char *const *audiences; /* the token's aud (string or array) must contain one; */
    size_t naudiences;            /*   0 = not checked */
    int64_t leeway_s;             /* clock skew allowed for exp, nbf and iat */
    size_t max_bytes;             /* longer tokens are refused before any parsing; 0 = 8192 */
} bff_jwt_policy_t;

typedef enum {
    BFF_JWT_OK = 0,
    BFF_JWT_MALFORMED,
    BFF_JWT_TOO_LARGE,
    BFF_JWT_BAD_ALG,
    BFF_JWT_UNKNOWN_KID,
    BFF_JWT_BAD_SIGNATURE,
    BFF_JWT_EXPIRED,
    BFF_JWT_NOT_YET_VALID,
    BFF_JWT_ISSUED_IN_FUTURE,
    BFF_JWT_MISSING_EXP,
    BFF_JWT_BAD_ISSUER,
    BFF_JWT_BAD_AUDIENCE,
    BFF_JWT_UNSUPPORTED_CRIT,
} bff_jwt_result_t;

/** Verifies `token` (`len` bytes, no NUL needed) against `keys` at `now` (Unix seconds). On
 * BFF_JWT_OK, *claims is the payload: a **new** reference the caller decrefs; on any other
 * result *claims is NULL. kid_out (may be NULL) receives the header's kid ("" if none) whenever
 * the header parsed, so a caller can refetch a JWKS on BFF_JWT_UNKNOWN_KID. The checks run in
 * this order: size, form, header (alg, kid, crit), signature, then claims, so nothing from an
 * unverified payload is looked at. OpenSSL's error queue is left as it was found. */
bff_jwt_result_t bff_jwt_verify(const char *token, size_t len, const bff_jwt_policy_t *policy,
                                const bff_jwk_set_t *keys, int64_t now, json_t **claims,
                                char kid_out[128]);
/** A short reason, safe to show a client: "expired", "bad signature", ... (static storage). */
const char *bff_jwt_result_reason(bff_jwt_result_t r);
/** "RS256" -> BFF_JWT_RS256 (names are case-sensitive, as in RFC 7518); 0 for unknown names and
 * any spelling of "none". */
unsigned bff_jwt_alg_bit(const char *name);

#endif
