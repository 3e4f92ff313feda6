/* JWT verification keys (jwk.h): JWK members, PEM public keys and HMAC secrets become OpenSSL
 * keys through EVP_PKEY_fromdata and friends (nothing deprecated). Keys are checked here, once,
 * so verification can trust them: sizes, curves, RSA exponents, points on their curve. It does
 * not fetch anything (jku / x5u are the caller's business, if anyone's). */
#include "server/auth/jwk.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

/* Longest base64url member read from a JWK: 8192 characters decode to 6144 bytes, room for any
 * modulus BFF_JWK_RSA_MAX_BITS allows. */
#define MAX_MEMBER_CHARS 8192

static int b64val(unsigned char c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '-'             ? 62
           : c == '_'             ? 63
                                  : -1;
}

long bff_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1 || len > LONG_MAX / 3)
        return -1; /* one character alone carries 6 bits: no byte ends there */
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i != len; ++i) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits != 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1; /* non-canonical: stray bits after the last byte */
    return (long)o;
}

static int fail(char *err, size_t size, const char *msg)
{
    snprintf(err, size, "%s", msg);
    return -1;
}

/* A new zeroed key at the end of the set, or NULL (message in err) when the set is full or the
 * kid does not fit: a truncated kid could match another token's. */
static bff_jwk_key_t *append(bff_jwk_set_t *set, const char *kid, const char *alg, char *err,
                             size_t size)
{
    if (kid != NULL && strlen(kid) >= sizeof(set->keys->kid)) {
        fail(err, size, "a kid is 127 bytes at most");
        return NULL;
    }
    if (set->nkeys >= BFF_JWK_MAX_KEYS) {
        fail(err, size, "too many keys");
        return NULL;
    }
    set->keys = bff_realloc(set->keys, (set->nkeys + 1) * sizeof(*set->keys));
    bff_jwk_key_t *k = set->keys + set->nkeys++;
    memset(k, 0, sizeof(*k));
    if (kid != NULL)
        snprintf(k->kid, sizeof(k->kid), "%s", kid);
    if (alg != NULL)
        snprintf(k->alg, sizeof(k->alg), "%s", alg);
    return k;
}

/* Frees the keys past the first `n` (undoing a failed parse). */
static void truncate_set(bff_jwk_set_t *set, size_t n)
{
    while (set->nkeys > n) {
        bff_jwk_key_t *k = set->keys + --set->nkeys;
        EVP_PKEY_free(k->pkey);
        if (k->secret != NULL)
            OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
}

/* An RSA public key verifies safely only with a sane modulus and exponent: e = 1 would make
 * every "signature" its own padded digest, and OpenSSL does not refuse it on import. */
static int check_rsa(EVP_PKEY *pkey, char *err, size_t size)
{
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < BFF_JWK_RSA_MIN_BITS)
        return fail(err, size, "RSA keys need 2048 bits at least");
    if (bits > BFF_JWK_RSA_MAX_BITS)
        return fail(err, size, "RSA keys have 8192 bits at most");
    BIGNUM *n = NULL, *e = NULL;
    int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 && BN_is_odd(n) &&
             BN_is_odd(e) && BN_num_bits(e) >= 2 && BN_num_bits(e) <= 64;
    BN_free(n);
    BN_free(e);
    return ok ? 0 : fail(err, size, "an RSA key needs an odd modulus and an odd exponent > 1");
}

/* Sets kty and curve_nid from the key, or -1 when bffd does not verify with such a key. */
static int classify(EVP_PKEY *pkey, bff_jwk_key_t *k, char *err, size_t size)
{
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        k->kty = BFF_JWK_RSA;
        return check_rsa(pkey, err, size);
    case EVP_PKEY_EC: {
        char group[32] = "";
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
            group[0] = '\0'; /* explicit curve parameters: refused below */
        if (strcmp(group, "prime256v1") == 0)
            k->curve_nid = NID_X9_62_prime256v1;
        else if (strcmp(group, "secp384r1") == 0)
            k->curve_nid = NID_secp384r1;
        else
            return fail(err, size, "EC keys must be on curve P-256 or P-384");
        /* The point must be on the curve and not the identity (invalid-curve attacks). */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
        EVP_PKEY_CTX_free(ctx);
        k->kty = BFF_JWK_EC;
        return ok ? 0 : fail(err, size, "an EC key's point is not on its curve");
    }
    case EVP_PKEY_ED25519:
        k->kty = BFF_JWK_OKP;
        k->curve_nid = NID_ED25519;
        return 0;
    default:
        return fail(err, size, "only RSA, EC P-256/P-384 and Ed25519 public keys verify tokens");
    }
}

/* Adds `pkey` (stolen: freed on failure too) after checking it. */
static int add_pkey(bff_jwk_set_t *set, EVP_PKEY *pkey, const char *kid, const char *alg, char *err,
                    size_t size)
{
    bff_jwk_key_t tmp = {0}, *k;
    if (classify(pkey, &tmp, err, size) != 0 || (k = append(set, kid, alg, err, size)) == NULL) {
        EVP_PKEY_free(pkey);
        return -1;
    }
    k->kty = tmp.kty;
    k->curve_nid = tmp.curve_nid;
    k->pkey = pkey;
    return 0;
}

static EVP_PKEY *read_pem(const char *pem, size_t len)
{
    if (len > INT_MAX)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (pkey != NULL)
        return pkey;
    /* A certificate, then: its key, whatever its dates (it is only a container here). */
    bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (cert != NULL)
        pkey = X509_get_pubkey(cert);
    X509_free(cert);
    return pkey;
}

int bff_jwk_set_add_pem(bff_jwk_set_t *set, const char *pem, size_t len, const char *kid, char *err,
                        size_t errsize)
{
    ERR_set_mark(); /* OpenSSL's error queue is shared with TLS: leave it as we found it */
    EVP_PKEY *pkey = read_pem(pem, len);
    int ret = pkey != NULL ? add_pkey(set, pkey, kid, NULL, err, errsize)
                           : fail(err, errsize, "not a PEM public key or certificate");
    ERR_pop_to_mark();
    return ret;
}

static int add_secret(bff_jwk_set_t *set, const unsigned char *secret, size_t len, const char *kid,
                      const char *alg, char *err, size_t errsize)
{
    if (len < BFF_JWK_MIN_SECRET)
        return fail(err, errsize, "an HMAC secret needs 32 bytes at least");
    bff_jwk_key_t *k = append(set, kid, alg, err, errsize);
    if (k == NULL)
        return -1;
    k->kty = BFF_JWK_OCT;
    k->secret = bff_malloc(len);
    memcpy(k->secret, secret, len);
    k->secret_len = len;
    return 0;
}

int bff_jwk_set_add_secret(bff_jwk_set_t *set, const unsigned char *secret, size_t len,
                           const char *kid, char *err, size_t errsize)
{
    return add_secret(set, secret, len, kid, NULL, err, errsize);
}

/* A required base64url member, decoded into a malloc'ed buffer; NULL (message in err) when it is
 * absent, empty, too long or not strict base64url. */
static unsigned char *member_bytes(json_t *jwk, const char *name, size_t *len, char *err,
                                   size_t size)
{
    json_t *v = json_object_get(jwk, name);
    size_t n = json_string_length(v);
    if (!json_is_string(v) || n == 0 || n > MAX_MEMBER_CHARS) {
        snprintf(err, size, "a JWK's '%s' is missing or not a base64url string", name);
        return NULL;
    }
    unsigned char *out = bff_malloc(n);
    long got = bff_b64url_decode(json_string_value(v), n, out);
    if (got <= 0) {
        snprintf(err, size, "a JWK's '%s' is not strict base64url", name);
        free(out);
        return NULL;
    }
    *len = (size_t)got;
    return out;
}

static EVP_PKEY *from_params(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *rsa_key(json_t *jwk, char *err, size_t size)
{
    size_t nlen = 0, elen = 0;
    unsigned char *n = member_bytes(jwk, "n", &nlen, err, size), *e = NULL;
    if (n != NULL)
        e = member_bytes(jwk, "e", &elen, err, size);
    EVP_PKEY *pkey = NULL;
    if (e != NULL) {
        BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *params = NULL;
        if (bn == NULL || be == NULL || bld == NULL ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
            (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
            abort(); /* only allocation fails here */
        if ((pkey = from_params("RSA", params)) == NULL)
            fail(err, size, "an RSA JWK's n and e do not make a key");
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        BN_free(bn);
        BN_free(be);
    }
    free(n);
    free(e);
    return pkey;
}

/* x and y are each exactly the curve's size (RFC 7518 6.2.1.2): no leading zeros stripped. */
static EVP_PKEY *ec_key(json_t *jwk, int p384, char *err, size_t size)
{
    size_t coord = p384 ? 48 : 32, xlen = 0, ylen = 0;
    unsigned char *x = member_bytes(jwk, "x", &xlen, err, size), *y = NULL;
    if (x != NULL)
        y = member_bytes(jwk, "y", &ylen, err, size);
    EVP_PKEY *pkey = NULL;
    if (y != NULL && (xlen != coord || ylen != coord)) {
        fail(err, size, "an EC JWK's x and y are each exactly the curve's size");
    } else if (y != NULL) {
        unsigned char point[1 + 2 * 48];
        point[0] = 0x04; /* uncompressed */
        memcpy(point + 1, x, coord);
        memcpy(point + 1 + coord, y, coord);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                             p384 ? "secp384r1" : "prime256v1", 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * coord),
            OSSL_PARAM_construct_end()};
        if ((pkey = from_params("EC", params)) == NULL)
            fail(err, size, "an EC JWK's x and y are not a point on its curve");
    }
    free(x);
    free(y);
    return pkey;
}

static EVP_PKEY *okp_key(json_t *jwk, char *err, size_t size)
{
    size_t xlen = 0;
    unsigned char *x = member_bytes(jwk, "x", &xlen, err, size);
    EVP_PKEY *pkey = NULL;
    if (x != NULL && xlen != 32)
        fail(err, size, "an Ed25519 JWK's x is 32 bytes");
    else if (x != NULL &&
             (pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen)) == NULL)
        fail(err, size, "an Ed25519 JWK's x is not a key");
    free(x);
    return pkey;
}

static const char *string_member(json_t *jwk, const char *name, int *bad)
{
    json_t *v = json_object_get(jwk, name);
    if (v != NULL && !json_is_string(v))
        *bad = 1;
    return json_string_value(v);
}

/* One JWK: 1 added, 0 skipped (another use, type or curve), -1 malformed or refused. */
static int add_jwk(bff_jwk_set_t *set, json_t *jwk, char *err, size_t size)
{
    if (!json_is_object(jwk))
        return fail(err, size, "a JWK is a JSON object");
    int bad = 0;
    const char *kty = string_member(jwk, "kty", &bad), *use = string_member(jwk, "use", &bad),
               *kid = string_member(jwk, "kid", &bad), *alg = string_member(jwk, "alg", &bad),
               *crv = string_member(jwk, "crv", &bad);
    if (bad || kty == NULL)
        return fail(err, size, "a JWK needs kty; its kty, use, kid, alg and crv are strings");
    if (use != NULL && strcmp(use, "sig") != 0)
        return 0;
    if (alg != NULL && strlen(alg) >= sizeof(set->keys->alg))
        return 0; /* no JWS algorithm has such a name: the key would never verify */
    EVP_PKEY *pkey;
    if (strcmp(kty, "oct") == 0) {
        size_t len;
        unsigned char *k = member_bytes(jwk, "k", &len, err, size);
        if (k == NULL)
            return -1;
        int r = add_secret(set, k, len, kid, alg, err, size);
        OPENSSL_cleanse(k, len);
        free(k);
        return r == 0 ? 1 : -1;
    } else if (strcmp(kty, "RSA") == 0) {
        pkey = rsa_key(jwk, err, size);
    } else if (strcmp(kty, "EC") == 0) {
        if (crv == NULL)
            return fail(err, size, "an EC JWK needs crv");
        if (strcmp(crv, "P-256") != 0 && strcmp(crv, "P-384") != 0)
            return 0;
        pkey = ec_key(jwk, strcmp(crv, "P-384") == 0, err, size);
    } else if (strcmp(kty, "OKP") == 0) {
        if (crv == NULL)
            return fail(err, size, "an OKP JWK needs crv");
        if (strcmp(crv, "Ed25519") != 0)
            return 0;
        pkey = okp_key(jwk, err, size);
    } else {
        return 0;
    }
    if (pkey == NULL)
        return -1;
    return add_pkey(set, pkey, kid, alg, err, size) == 0 ? 1 : -1;
}

static int add_document(bff_jwk_set_t *set, json_t *doc, char *err, size_t size)
{
    json_t *keys = json_object_get(doc, "keys");
    if (keys == NULL)
        return add_jwk(set, doc, err, size) < 0 ? -1 : 0;
    if (!json_is_array(keys))
        return fail(err, size, "'keys' is an array of JWKs");
    for (size_t i = 0; i != json_array_size(keys); ++i) {
        if (add_jwk(set, json_array_get(keys, i), err, size) < 0) {
            size_t used = strlen(err);
            if (used < size)
                snprintf(err + used, size - used, " (key %zu)", i);
            return -1;
        }
    }
    return 0;
}

int bff_jwk_set_parse(bff_jwk_set_t *set, const char *json, size_t len, char *err, size_t errsize)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(err, errsize, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return -1;
    }
    ERR_set_mark();
    size_t before = set->nkeys;
    int ret = add_document(set, doc, err, errsize);
    if (ret != 0)
        truncate_set(set, before);
    ERR_pop_to_mark();
    json_decref(doc);
    return ret;
}

void bff_jwk_set_dispose(bff_jwk_set_t *set)
{
    truncate_set(set, 0);
    free(set->keys);
    set->keys = NULL;
}
