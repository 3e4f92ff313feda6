/* Fuzzes JWT verification and JWK parsing. Each input is used three ways: (1) as a token,
 * verified against a fixed set (an HMAC secret and an Ed25519 key from a fixed seed): it may
 * only verify if its signature is exactly what the key holder would make; (2) as a payload the
 * harness signs itself, so the claims checks are reached: the verdict is then never about the
 * header or the signature, and an OK has a live exp; (3) when it starts with '{', as a JWK or
 * JWKS document. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/auth/jwt.h"
#include "tests/unit/b64url_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000
#define LEEWAY 5

static const unsigned char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
static EVP_PKEY *ed_private;
static bff_jwk_set_t keys;
static const char *const audiences[] = {"a"};
static const bff_jwt_policy_t policy = {
    .algs = 0xfff, .issuer = "iss", .audiences = audiences, .naudiences = 1, .leeway_s = LEEWAY};

static void setup(void)
{
    unsigned char seed[32], pub[32];
    for (int i = 0; i != 32; ++i)
        seed[i] = (unsigned char)(i + 1);
    size_t publen = sizeof(pub);
    ed_private = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    if (ed_private == NULL || EVP_PKEY_get_raw_public_key(ed_private, pub, &publen) != 1)
        abort();
    char x[64], jwk[160], err[256];
    b64url(pub, publen, x);
    snprintf(jwk, sizeof(jwk), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\",\"x\":\"%s\"}",
             x);
    if (bff_jwk_set_add_secret(&keys, secret, sizeof(secret) - 1, "hs", err, sizeof(err)) != 0 ||
        bff_jwk_set_parse(&keys, jwk, strlen(jwk), err, sizeof(err)) != 0 || keys.nkeys != 2)
        abort();
}

/* Whether `sig` is what the key holder makes over `input`: an HS256/384/512 MAC with the secret
 * or the (deterministic) Ed25519 signature. */
static int holder_signed(const char *input, size_t inlen, const unsigned char *sig, size_t siglen)
{
    static const char *const mds[] = {"SHA256", "SHA384", "SHA512"};
    unsigned char mine[EVP_MAX_MD_SIZE];
    size_t len = 0;
    for (int i = 0; i != 3; ++i)
        if (EVP_Q_mac(NULL, "HMAC", NULL, mds[i], NULL, secret, sizeof(secret) - 1,
                      (const unsigned char *)input, inlen, mine, sizeof(mine), &len) != NULL &&
            len == siglen && memcmp(mine, sig, len) == 0)
            return 1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    len = 64;
    int ok = ctx != NULL && EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, ed_private, NULL) &&
             EVP_DigestSign(ctx, mine, &len, (const unsigned char *)input, inlen) == 1 &&
             len == siglen && memcmp(mine, sig, len) == 0;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void as_token(const char *token, size_t len)
{
    json_t *claims = NULL;
    char kid[128];
    bff_jwt_result_t r = bff_jwt_verify(token, len, &policy, &keys, NOW, &claims, kid);
    if ((r == BFF_JWT_OK) != (claims != NULL) || strlen(kid) >= sizeof(kid))
        abort();
    json_decref(claims);
    if (r != BFF_JWT_OK)
        return;
    const char *dot = memchr(token, '.', len);
    dot = memchr(dot + 1, '.', len - (size_t)(dot + 1 - token));
    size_t siglen = len - (size_t)(dot + 1 - token);
    unsigned char *sig = bff_malloc(siglen + 1);
    long n = bff_b64url_decode(dot + 1, siglen, sig);
    if (n < 0 || !holder_signed(token, (size_t)(dot - token), sig, (size_t)n))
        abort(); /* verified what the key holder never signed */
    free(sig);
}

static void as_signed_payload(const uint8_t *data, size_t size)
{
    static const char header[] = "{\"alg\":\"HS256\",\"kid\":\"hs\"}";
    char *token = bff_malloc(64 + size * 4 / 3 + 4 + 64);
    b64url(header, sizeof(header) - 1, token);
    size_t n = strlen(token);
    token[n++] = '.';
    b64url(data, size, token + n);
    n += strlen(token + n);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, sizeof(secret) - 1,
                  (const unsigned char *)token, n, mac, sizeof(mac), &maclen) == NULL)
        abort();
    token[n++] = '.';
    b64url(mac, maclen, token + n);
    json_t *claims = NULL;
    bff_jwt_result_t r = bff_jwt_verify(token, strlen(token), &policy, &keys, NOW, &claims, NULL);
    if (r == BFF_JWT_BAD_ALG || r == BFF_JWT_UNKNOWN_KID || r == BFF_JWT_BAD_SIGNATURE ||
        r == BFF_JWT_UNSUPPORTED_CRIT)
        abort(); /* the header and signature are right: only the payload can be wrong */
    if (r == BFF_JWT_OK) {
        json_t *exp = json_object_get(claims, "exp");
        if (!json_is_number(exp) || json_number_value(exp) <= NOW - LEEWAY - 1 ||
            strcmp(json_string_value(json_object_get(claims, "iss")), "iss") != 0)
            abort();
    }
    json_decref(claims);
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ed_private == NULL)
        setup();
    as_token((const char *)data, size);
    as_signed_payload(data, size);
    if (size != 0 && data[0] == '{') {
        bff_jwk_set_t set = {0};
        char err[256];
        if (bff_jwk_set_parse(&set, (const char *)data, size, err, sizeof(err)) != 0 &&
            set.nkeys != 0)
            abort(); /* a failed parse leaves the set as it was */
        for (size_t i = 0; i != set.nkeys; ++i)
            if ((set.keys[i].kty == BFF_JWK_OCT) != (set.keys[i].pkey == NULL))
                abort();
        bff_jwk_set_dispose(&set);
    }
    return 0;
}
