/* The fixture of the JWT tests (test_jwt.c: verification, test_jwk.c: keys): keys generated with
 * OpenSSL and the set of their public halves, a policy, a small test-only signer minting tokens,
 * and bff_jwt_verify wrapped so that every verification also checks that claims come back on OK
 * only and that OpenSSL's error queue is left empty. Header-only and static, like tap.h; include
 * it after server/auth/jwk.c and jwt.c. setup() before the tests, teardown() after them. */
#ifndef BFF_TESTS_JWT_FIXTURE_H
#define BFF_TESTS_JWT_FIXTURE_H

#include <openssl/pem.h>

#include "tests/unit/b64url_fixture.h"
#include "tests/unit/tap.h"

#define NOW 1700000000
#define ISS "https://id.example"
#define BASE "\"iss\":\"" ISS "\",\"aud\":\"api\""
#define CLAIMS "{" BASE ",\"exp\":1700000060,\"sub\":\"alice\"}"

static const unsigned char hs_secret[] = "0123456789abcdef0123456789abcdef-hs";
static const char *const auds[] = {"api", "web"};
static const bff_jwt_policy_t policy = {
    .algs = 0xfff, .issuer = ISS, .audiences = auds, .naudiences = 2, .max_bytes = 8192};

/* The test's keys; `set` holds their public halves with kids rsa, p256, p384, ed and hs. */
static struct {
    EVP_PKEY *rsa, *rsa_other, *p256, *p384, *ed;
    bff_jwk_set_t set;
} fx;

#define ASSERT_RESULT(got, want)                                                                   \
    do {                                                                                           \
        bff_jwt_result_t g_ = (got), w_ = (want);                                                  \
        if (g_ != w_)                                                                              \
            TAP_FAIL("%s: '%s', expected '%s'", #got, bff_jwt_result_reason(g_),                   \
                     bff_jwt_result_reason(w_));                                                   \
    } while (0)

/* OpenSSL's DER ECDSA signature, in place, as the raw R||S a JWS carries. */
static __attribute__((unused)) size_t der_to_raw(unsigned char *sig, size_t len, size_t size)
{
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (es == NULL)
        abort();
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    BN_bn2binpad(r, sig, (int)size);
    BN_bn2binpad(s, sig + size, (int)size);
    ECDSA_SIG_free(es);
    return 2 * size;
}

/* How a token gets signed: `pkey`, or an HMAC with `secret`; `der` leaves ECDSA's DER form
 * (which a JWS must not carry). */
typedef struct st_signer_t {
    const char *alg;
    EVP_PKEY *pkey;
    const void *secret;
    size_t secret_len;
    int der;
    int pss_salt;     /* 0: the digest's length, as RFC 7518 asks */
    const char *mgf1; /* NULL: the signing digest */
} signer_t;

static __attribute__((unused)) size_t sign_input(const signer_t *s, const char *input,
                                                 unsigned char sig[1024])
{
    const char *alg = s->alg;
    const char *md = strstr(alg, "384") ? "SHA384" : strstr(alg, "512") ? "SHA512" : "SHA256";
    size_t siglen = 1024, inlen = strlen(input);
    if (alg[0] == 'H') {
        if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, s->secret, s->secret_len,
                      (const unsigned char *)input, inlen, sig, siglen, &siglen) == NULL)
            abort();
        return siglen;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestSignInit_ex(ctx, &pctx, strcmp(alg, "EdDSA") == 0 ? NULL : md, NULL, NULL,
                                   s->pkey, NULL) == 1;
    if (ok && alg[0] == 'P')
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(
                 pctx, s->pss_salt != 0 ? s->pss_salt : RSA_PSS_SALTLEN_DIGEST) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, s->mgf1 != NULL ? s->mgf1 : md, NULL) > 0;
    ok = ok && EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input, inlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        abort();
    if (alg[0] == 'E' && alg[1] == 'S' && !s->der)
        siglen = der_to_raw(sig, siglen, strcmp(alg, "ES384") == 0 ? 48 : 32);
    return siglen;
}

/* header.payload.signature from two JSON texts taken as they are (duplicates included). */
static __attribute__((unused)) char *mint_with(const char *header, const char *payload,
                                               const signer_t *s)
{
    size_t hl = strlen(header), pl = strlen(payload), n;
    char *tok = bff_malloc(2 * (hl + pl) + 2048);
    b64url(header, hl, tok);
    n = strlen(tok);
    tok[n++] = '.';
    b64url(payload, pl, tok + n);
    n += strlen(tok + n);
    unsigned char sig[1024];
    size_t siglen = sign_input(s, tok, sig);
    tok[n++] = '.';
    b64url(sig, siglen, tok + n);
    return tok;
}

/* header.payload.signature with the signature bytes given. */
static __attribute__((unused)) char *assemble(const char *header, const char *payload,
                                              const void *sig, size_t siglen)
{
    char *tok = bff_malloc(2 * (strlen(header) + strlen(payload) + siglen) + 8);
    b64url(header, strlen(header), tok);
    strncat(tok, ".", 2);
    b64url(payload, strlen(payload), tok + strlen(tok));
    strncat(tok, ".", 2);
    b64url(sig, siglen, tok + strlen(tok));
    return tok;
}

static __attribute__((unused)) signer_t signer(const char *alg)
{
    signer_t s = {.alg = alg};
    if (alg[0] == 'H') {
        s.secret = hs_secret;
        s.secret_len = sizeof(hs_secret) - 1;
    } else {
        s.pkey = alg[0] == 'R' || alg[0] == 'P' ? fx.rsa
                 : strcmp(alg, "ES256") == 0    ? fx.p256
                 : strcmp(alg, "ES384") == 0    ? fx.p384
                                                : fx.ed;
    }
    return s;
}

static __attribute__((unused)) const char *kid_of(const char *alg)
{
    return alg[0] == 'H'                    ? "hs"
           : alg[0] == 'R' || alg[0] == 'P' ? "rsa"
           : strcmp(alg, "ES256") == 0      ? "p256"
           : strcmp(alg, "ES384") == 0      ? "p384"
                                            : "ed";
}

/* A token by the test's key for `alg`, naming its kid when `with_kid`. */
static __attribute__((unused)) char *mint(const char *alg, int with_kid, const char *payload)
{
    char header[128];
    if (with_kid)
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid_of(alg));
    else
        snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", alg);
    signer_t s = signer(alg);
    return mint_with(header, payload, &s);
}

/* bff_jwt_verify plus the invariants every call keeps; `*sub` (may be NULL) gets the sub. */
static __attribute__((unused)) bff_jwt_result_t verify_full(const char *token, size_t len,
                                                            const bff_jwt_policy_t *p,
                                                            const bff_jwk_set_t *keys,
                                                            char kid[128], char sub[32])
{
    json_t *claims = NULL;
    bff_jwt_result_t r = bff_jwt_verify(token, len, p, keys, NOW, &claims, kid);
    if ((r == BFF_JWT_OK) != (claims != NULL) || (claims != NULL && !json_is_object(claims)))
        TAP_FAIL("claims must be an object on OK only (%s)", bff_jwt_result_reason(r));
    if (sub != NULL) {
        const char *v = json_string_value(json_object_get(claims, "sub"));
        snprintf(sub, 32, "%s", v != NULL ? v : "");
    }
    json_decref(claims);
    if (ERR_peek_error() != 0) {
        TAP_FAIL("OpenSSL's error queue is not empty after '%s'", bff_jwt_result_reason(r));
        ERR_clear_error();
    }
    return r;
}

static __attribute__((unused)) bff_jwt_result_t
check_with(const char *token, const bff_jwt_policy_t *p, const bff_jwk_set_t *keys)
{
    return verify_full(token, strlen(token), p, keys, NULL, NULL);
}

static __attribute__((unused)) bff_jwt_result_t check(const char *token)
{
    return check_with(token, &policy, &fx.set);
}

static __attribute__((unused)) char *pem_of(EVP_PKEY *k, int private_key, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (private_key)
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(b, k);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *copy = bff_strndup(data, (size_t)n);
    BIO_free(b);
    *len = (size_t)n;
    return copy;
}

static __attribute__((unused)) void add_pem_or_fail(bff_jwk_set_t *set, EVP_PKEY *k,
                                                    const char *kid)
{
    size_t len;
    char *pem = pem_of(k, 0, &len), err[256] = "";
    if (bff_jwk_set_add_pem(set, pem, len, kid, err, sizeof(err)) != 0)
        TAP_FAIL("add_pem %s: %s", kid, err);
    free(pem);
}

static __attribute__((unused)) void setup(void)
{
    fx.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    fx.rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    fx.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    fx.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!fx.rsa || !fx.rsa_other || !fx.p256 || !fx.p384 || !fx.ed)
        abort();
    add_pem_or_fail(&fx.set, fx.rsa, "rsa");
    add_pem_or_fail(&fx.set, fx.p256, "p256");
    add_pem_or_fail(&fx.set, fx.p384, "p384");
    add_pem_or_fail(&fx.set, fx.ed, "ed");
    char err[256];
    if (bff_jwk_set_add_secret(&fx.set, hs_secret, sizeof(hs_secret) - 1, "hs", err, sizeof(err)) !=
        0)
        abort();
}

static __attribute__((unused)) void teardown(void)
{
    bff_jwk_set_dispose(&fx.set);
    EVP_PKEY_free(fx.rsa);
    EVP_PKEY_free(fx.rsa_other);
    EVP_PKEY_free(fx.p256);
    EVP_PKEY_free(fx.p384);
    EVP_PKEY_free(fx.ed);
}

#endif
