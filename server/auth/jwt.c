/* JWT verification (jwt.h). The order of the checks is the security argument: size before any
 * parsing, the header's algorithm before any key, the signature before any claim. A key only
 * ever verifies algorithms of its own family, so a public key's bytes can never serve as an HMAC
 * secret. Header members that point elsewhere (jku, x5u, jwk, x5c) are never followed. */
#include "server/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

typedef struct st_alg_t {
    const char *name;
    unsigned bit;
    bff_jwk_kty_t kty;
    int curve_nid;  /* EC and OKP: the key's curve; else 0 */
    const char *md; /* NULL for EdDSA, which hashes by itself */
    int pss;
} alg_t;

static const alg_t algs[] = {
    {"HS256", BFF_JWT_HS256, BFF_JWK_OCT, 0, "SHA256", 0},
    {"HS384", BFF_JWT_HS384, BFF_JWK_OCT, 0, "SHA384", 0},
    {"HS512", BFF_JWT_HS512, BFF_JWK_OCT, 0, "SHA512", 0},
    {"RS256", BFF_JWT_RS256, BFF_JWK_RSA, 0, "SHA256", 0},
    {"RS384", BFF_JWT_RS384, BFF_JWK_RSA, 0, "SHA384", 0},
    {"RS512", BFF_JWT_RS512, BFF_JWK_RSA, 0, "SHA512", 0},
    {"PS256", BFF_JWT_PS256, BFF_JWK_RSA, 0, "SHA256", 1},
    {"PS384", BFF_JWT_PS384, BFF_JWK_RSA, 0, "SHA384", 1},
    {"PS512", BFF_JWT_PS512, BFF_JWK_RSA, 0, "SHA512", 1},
    {"ES256", BFF_JWT_ES256, BFF_JWK_EC, NID_X9_62_prime256v1, "SHA256", 0},
    {"ES384", BFF_JWT_ES384, BFF_JWK_EC, NID_secp384r1, "SHA384", 0},
    {"EdDSA", BFF_JWT_EDDSA, BFF_JWK_OKP, NID_ED25519, NULL, 0},
};

/* Exact, case-sensitive names: "none", "NONE" and "None" are simply not in the table. */
static const alg_t *find_alg(const char *name)
{
    for (size_t i = 0; i != sizeof(algs) / sizeof(algs[0]); ++i)
        if (strcmp(algs[i].name, name) == 0)
            return algs + i;
    return NULL;
}

unsigned bff_jwt_alg_bit(const char *name)
{
    const alg_t *a = find_alg(name);
    return a != NULL ? a->bit : 0;
}

const char *bff_jwt_result_reason(bff_jwt_result_t r)
{
    switch (r) {
    case BFF_JWT_OK:
        return "ok";
    case BFF_JWT_MALFORMED:
        return "malformed token";
    case BFF_JWT_TOO_LARGE:
        return "token too large";
    case BFF_JWT_BAD_ALG:
        return "algorithm not accepted";
    case BFF_JWT_UNKNOWN_KID:
        return "unknown key";
    case BFF_JWT_BAD_SIGNATURE:
        return "bad signature";
    case BFF_JWT_EXPIRED:
        return "expired";
    case BFF_JWT_NOT_YET_VALID:
        return "not yet valid";
    case BFF_JWT_ISSUED_IN_FUTURE:
        return "issued in the future";
    case BFF_JWT_MISSING_EXP:
        return "no expiry";
    case BFF_JWT_BAD_ISSUER:
        return "wrong issuer";
    case BFF_JWT_BAD_AUDIENCE:
        return "wrong audience";
    case BFF_JWT_UNSUPPORTED_CRIT:
        return "unsupported critical header";
    }
    return "malformed token";
}

/* The three segments of a compact JWS. Header and payload are never empty; an empty signature
 * gets as far as the header's checks, so that an unsigned "alg":"none" token is refused for
 * its algorithm. */
typedef struct st_segments_t {
    const char *header, *payload, *sig;
    size_t header_len, payload_len, sig_len;
} segments_t;

static int split(const char *token, size_t len, segments_t *s)
{
    const char *end = token + len;
    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return -1;
    const char *dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
    if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
        return -1;
    s->header = token;
    s->header_len = (size_t)(dot1 - token);
    s->payload = dot1 + 1;
    s->payload_len = (size_t)(dot2 - dot1 - 1);
    s->sig = dot2 + 1;
    s->sig_len = (size_t)(end - dot2 - 1);
    return s->header_len != 0 && s->payload_len != 0 ? 0 : -1;
}

/* A base64url segment holding a JSON object (duplicate members refused, as RFC 7515 4 asks of
 * the header: two "alg"s could be read differently by two parsers); NULL when it is not. */
static json_t *segment_json(const char *s, size_t len)
{
    unsigned char *buf = bff_malloc(len + 1);
    long n = bff_b64url_decode(s, len, buf);
    json_t *v =
        n > 0 ? json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(buf);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* The header's alg and kid (kid NULL when absent; borrowed from `header`). */
static bff_jwt_result_t check_header(json_t *header, const bff_jwt_policy_t *policy,
                                     const alg_t **alg, const char **kid)
{
    json_t *algv = json_object_get(header, "alg"), *kidv = json_object_get(header, "kid");
    if (!json_is_string(algv) || (kidv != NULL && !json_is_string(kidv)))
        return BFF_JWT_MALFORMED;
    if (kidv != NULL && json_string_length(kidv) >= 128)
        return BFF_JWT_MALFORMED; /* no key has such a kid (jwk.c refuses them) */
    *kid = json_string_value(kidv);
    *alg = find_alg(json_string_value(algv));
    if (*alg == NULL || (policy->algs & (*alg)->bit) == 0)
        return BFF_JWT_BAD_ALG;
    /* We understand no extension, and RFC 7515 4.1.11 says to refuse what we do not. */
    if (json_object_get(header, "crit") != NULL)
        return BFF_JWT_UNSUPPORTED_CRIT;
    return BFF_JWT_OK;
}

/* The raw R||S of a JWS ECDSA signature as the DER OpenSSL verifies. An all-zero R or S is
 * never valid (some libraries once accepted it): refused before OpenSSL sees it. */
static unsigned char *ecdsa_der(const unsigned char *sig, size_t siglen, size_t *derlen)
{
    size_t half = siglen / 2;
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    if (r == NULL || s == NULL || BN_is_zero(r) || BN_is_zero(s)) {
        BN_free(r);
        BN_free(s);
        return NULL;
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    if (es == NULL || ECDSA_SIG_set0(es, r, s) != 1)
        abort(); /* only allocation fails here */
    unsigned char *der = NULL;
    int n = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (n <= 0)
        return NULL;
    *derlen = (size_t)n;
    return der;
}

static int verify_hmac(const alg_t *alg, const bff_jwk_key_t *key, const unsigned char *input,
                       size_t inlen, const unsigned char *sig, size_t siglen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, alg->md, NULL, key->secret, key->secret_len, input, inlen,
                  mac, sizeof(mac), &maclen) == NULL)
        return 0;
    return maclen == siglen && CRYPTO_memcmp(mac, sig, siglen) == 0;
}

static int verify_pkey(const alg_t *alg, const bff_jwk_key_t *key, const unsigned char *input,
                       size_t inlen, const unsigned char *sig, size_t siglen)
{
    unsigned char *der = NULL;
    if (alg->kty == BFF_JWK_EC) {
        size_t size = alg->curve_nid == NID_secp384r1 ? 48 : 32, derlen = 0;
        /* Exactly R||S: a DER signature, or one of another curve's size, is refused. */
        if (siglen != 2 * size || (der = ecdsa_der(sig, siglen, &derlen)) == NULL)
            return 0;
        sig = der;
        siglen = derlen;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (ctx == NULL)
        abort();
    int ok = EVP_DigestVerifyInit_ex(ctx, &pctx, alg->md, NULL, NULL, key->pkey, NULL) == 1;
    if (ok && alg->pss) /* RFC 7518 3.5: salt as long as the digest, MGF1 with that digest */
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, alg->md, NULL) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    else if (ok && alg->kty == BFF_JWK_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    ok = ok && EVP_DigestVerify(ctx, sig, siglen, input, inlen) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

/* Whether `key` may verify `alg`: same family, same curve, and the JWK's own alg if it named
 * one. This is what stops HS256 with an RSA key's PEM as the secret, or ES256 on P-384. */
static int key_fits(const alg_t *alg, const bff_jwk_key_t *key)
{
    return key->kty == alg->kty && (alg->curve_nid == 0 || key->curve_nid == alg->curve_nid) &&
           (key->alg[0] == '\0' || strcmp(key->alg, alg->name) == 0);
}

static bff_jwt_result_t check_signature(const alg_t *alg, const char *kid,
                                        const bff_jwk_set_t *keys, const segments_t *s)
{
    unsigned char *sig = bff_malloc(s->sig_len + 1);
    long siglen = bff_b64url_decode(s->sig, s->sig_len, sig);
    if (siglen < 0) {
        free(sig);
        return BFF_JWT_MALFORMED;
    }
    /* The signing input is the first two segments as sent, dot included. */
    const unsigned char *input = (const unsigned char *)s->header;
    size_t inlen = s->header_len + 1 + s->payload_len, with_kid = 0;
    int verified = 0;
    for (size_t i = 0; i != keys->nkeys && !verified; ++i) {
        const bff_jwk_key_t *k = keys->keys + i;
        if (kid != NULL && strcmp(k->kid, kid) != 0)
            continue;
        ++with_kid;
        if (!key_fits(alg, k))
            continue;
        verified = alg->kty == BFF_JWK_OCT ? verify_hmac(alg, k, input, inlen, sig, (size_t)siglen)
                                           : verify_pkey(alg, k, input, inlen, sig, (size_t)siglen);
    }
    free(sig);
    if (verified)
        return BFF_JWT_OK;
    /* A key with that kid exists but did not verify: a bad signature, not a reason to refetch. */
    return kid != NULL && with_kid == 0 ? BFF_JWT_UNKNOWN_KID : BFF_JWT_BAD_SIGNATURE;
}

/* A NumericDate claim: absent (1), a number within int64 (0, *out), or anything else (-1).
 * Fractions round toward the stricter side: exp down, nbf and iat up. */
static int time_claim(json_t *claims, const char *name, int round_up, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (v == NULL)
        return 1;
    if (json_is_integer(v)) { /* jansson refuses integer literals beyond int64 at parse time */
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    double d = json_real_value(v);
    if (!(d > -9.2e18 && d < 9.2e18))
        return -1;
    int64_t t = (int64_t)d; /* toward zero */
    if (round_up && (double)t < d)
        ++t;
    else if (!round_up && (double)t > d)
        --t;
    *out = t;
    return 0;
}

static int audience_ok(json_t *aud, const bff_jwt_policy_t *p)
{
    for (size_t i = 0; i != p->naudiences; ++i) {
        if (json_is_string(aud) && strcmp(json_string_value(aud), p->audiences[i]) == 0)
            return 1;
        for (size_t k = 0; k < json_array_size(aud); ++k) {
            json_t *e = json_array_get(aud, k);
            if (json_is_string(e) && strcmp(json_string_value(e), p->audiences[i]) == 0)
                return 1;
        }
    }
    return 0;
}

static bff_jwt_result_t check_claims(json_t *claims, const bff_jwt_policy_t *p, int64_t now)
{
    int64_t exp = 0, nbf = 0, iat = 0;
    int e = time_claim(claims, "exp", 0, &exp), n = time_claim(claims, "nbf", 1, &nbf),
        i = time_claim(claims, "iat", 1, &iat);
    if (e < 0 || n < 0 || i < 0)
        return BFF_JWT_MALFORMED;
    if (e == 1)
        return BFF_JWT_MISSING_EXP;
    int64_t leeway = p->leeway_s < 0                      ? 0
                     : p->leeway_s > BFF_JWT_MAX_LEEWAY_S ? BFF_JWT_MAX_LEEWAY_S
                                                          : p->leeway_s;
    if (exp <= now - leeway)
        return BFF_JWT_EXPIRED;
    if (n == 0 && nbf > now + leeway)
        return BFF_JWT_NOT_YET_VALID;
    if (i == 0 && iat > now + leeway)
        return BFF_JWT_ISSUED_IN_FUTURE;
    if (p->issuer != NULL) {
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        if (iss == NULL || strcmp(iss, p->issuer) != 0)
            return BFF_JWT_BAD_ISSUER;
    }
    if (p->naudiences != 0 && !audience_ok(json_object_get(claims, "aud"), p))
        return BFF_JWT_BAD_AUDIENCE;
    return BFF_JWT_OK;
}

/* bff_jwt_verify without the bookkeeping of kid_out and OpenSSL's error queue. */
static bff_jwt_result_t verify(const char *token, size_t len, const bff_jwt_policy_t *policy,
                               const bff_jwk_set_t *keys, int64_t now, json_t **claims,
                               char *kid_out)
{
    size_t max = policy->max_bytes != 0 ? policy->max_bytes : BFF_JWT_DEFAULT_MAX_BYTES;
    if (len > max)
        return BFF_JWT_TOO_LARGE;
    segments_t s;
    json_t *header;
    if (split(token, len, &s) != 0 || (header = segment_json(s.header, s.header_len)) == NULL)
        return BFF_JWT_MALFORMED;
    const alg_t *alg = NULL;
    const char *kid = NULL;
    bff_jwt_result_t res = check_header(header, policy, &alg, &kid);
    if (kid_out != NULL && kid != NULL)
        snprintf(kid_out, 128, "%s", kid);
    if (res == BFF_JWT_OK)
        res = check_signature(alg, kid, keys, &s);
    json_decref(header);
    if (res != BFF_JWT_OK)
        return res;
    json_t *payload = segment_json(s.payload, s.payload_len);
    if (payload == NULL)
        return BFF_JWT_MALFORMED;
    if ((res = check_claims(payload, policy, now)) != BFF_JWT_OK) {
        json_decref(payload);
        return res;
    }
    *claims = payload;
    return BFF_JWT_OK;
}

bff_jwt_result_t bff_jwt_verify(const char *token, size_t len, const bff_jwt_policy_t *policy,
                                const bff_jwk_set_t *keys, int64_t now, json_t **claims,
                                char kid_out[128])
{
    *claims = NULL;
    if (kid_out != NULL)
        kid_out[0] = '\0';
    /* A failed verification leaves errors on the thread's queue, which TLS code would misread. */
    ERR_set_mark();
    bff_jwt_result_t res = verify(token, len, policy, keys, now, claims, kid_out);
    ERR_pop_to_mark();
    return res;
}
