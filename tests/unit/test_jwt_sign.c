/* JWT signing (server/auth/jwt_sign.c): every algorithm's token verifies with bffd's verifier
 * (jwt.c) against the key's public half, carries exactly the named claims plus iss, aud, iat
 * and exp, and keys that do not fit the algorithm are refused when the profile loads. (The
 * integration test verifies the same tokens with jose, an independent implementation.) */
#include "server/auth/jwt_sign.c"

#include <jansson.h>
#include <openssl/pem.h>

#include "server/auth/jwk.h"
#include "server/auth/jwt.h"
#include "tests/unit/tap.h"

#define NOW 1700000000
#define CLAIMS "{\"sub\":\"alice\",\"scope\":\"a b\",\"plan\":\"gold\",\"email\":\"a@x\"}"

static char *pem_private(EVP_PKEY *k, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *data;
    *len = (size_t)BIO_get_mem_data(b, &data);
    char *out = malloc(*len);
    memcpy(out, data, *len);
    BIO_free(b);
    return out;
}

static int add_public(bff_jwk_set_t *set, EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char err[128];
    int ret = bff_jwk_set_add_pem(set, data, (size_t)n, "k1", err, sizeof(err));
    BIO_free(b);
    return ret;
}

static void sign_and_verify(const char *alg, EVP_PKEY *k)
{
    bff_jwt_signer_t s = {0};
    char err[256] = "";
    bff_jwk_set_t set = {0};
    static const unsigned char secret[] = "0123456789abcdef0123456789abcdef!";
    if (k != NULL) {
        size_t len;
        char *pem = pem_private(k, &len);
        ASSERT_INT_EQ(bff_jwt_signer_set_key(&s, alg, pem, len, NULL, 0, err, sizeof(err)), 0);
        free(pem);
        ASSERT_INT_EQ(add_public(&set, k), 0);
    } else {
        ASSERT_INT_EQ(
            bff_jwt_signer_set_key(&s, alg, NULL, 0, secret, sizeof(secret) - 1, err, sizeof(err)),
            0);
        ASSERT_INT_EQ(
            bff_jwk_set_add_secret(&set, secret, sizeof(secret) - 1, "k1", err, sizeof(err)), 0);
    }
    s.kid = strdup("k1");
    s.issuer = strdup("bffd-test");
    s.audience = strdup("orders");
    s.ttl_s = 60;
    s.nclaims = 2;
    s.claims = calloc(2, sizeof(char *));
    s.claims[0] = strdup("sub");
    s.claims[1] = strdup("scope");
    char *token = bff_jwt_sign(&s, CLAIMS, strlen(CLAIMS), NOW);
    ASSERT_TRUE(token != NULL);
    const char *aud[] = {"orders"};
    bff_jwt_policy_t policy = {.algs = bff_jwt_alg_bit(alg),
                               .issuer = "bffd-test",
                               .audiences = aud,
                               .naudiences = 1,
                               .max_bytes = 8192};
    json_t *claims = NULL;
    bff_jwt_result_t res =
        bff_jwt_verify(token, strlen(token), &policy, &set, NOW + 1, &claims, NULL);
    if (res != BFF_JWT_OK)
        TAP_FAIL("%s: %s", alg, bff_jwt_result_reason(res));
    ASSERT_STR_EQ(json_string_value(json_object_get(claims, "sub")), "alice");
    ASSERT_STR_EQ(json_string_value(json_object_get(claims, "scope")), "a b");
    ASSERT_TRUE(json_object_get(claims, "plan") == NULL); /* not named: not copied */
    ASSERT_TRUE(json_object_get(claims, "email") == NULL);
    ASSERT_INT_EQ(json_integer_value(json_object_get(claims, "iat")), NOW);
    ASSERT_INT_EQ(json_integer_value(json_object_get(claims, "exp")), NOW + 60);
    json_decref(claims);
    /* Past its ttl it is refused. */
    res = bff_jwt_verify(token, strlen(token), &policy, &set, NOW + 61, &claims, NULL);
    ASSERT_INT_EQ(res == BFF_JWT_OK, 0);
    free(token);
    /* Claims that are not an object sign nothing. */
    ASSERT_TRUE(bff_jwt_sign(&s, "[1]", 3, NOW) == NULL);
    bff_jwt_signer_dispose(&s);
    bff_jwk_set_dispose(&set);
}

static void test_every_algorithm_verifies(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
             *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
             *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"),
             *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    const char *hs[] = {"HS256", "HS384", "HS512"},
               *rs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    for (size_t i = 0; i != 3; ++i)
        sign_and_verify(hs[i], NULL);
    for (size_t i = 0; i != 6; ++i)
        sign_and_verify(rs[i], rsa);
    sign_and_verify("ES256", p256);
    sign_and_verify("ES384", p384);
    sign_and_verify("EdDSA", ed);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
}

static void test_keys_that_do_not_fit_are_refused(void)
{
    struct {
        const char *alg;
        EVP_PKEY *key;
    } rows[] = {
        {"ES256", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)},
        {"ES256", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")},
        {"ES384", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")},
        {"RS256", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")},
        {"RS256", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)},
        {"EdDSA", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")},
        {"none", EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")},
    };
    for (size_t i = 0; i != sizeof(rows) / sizeof(rows[0]); ++i) {
        bff_jwt_signer_t s = {0};
        char err[256] = "";
        size_t len;
        char *pem = pem_private(rows[i].key, &len);
        ASSERT_INT_EQ(bff_jwt_signer_set_key(&s, rows[i].alg, pem, len, NULL, 0, err, sizeof(err)),
                      -1);
        ASSERT_TRUE(err[0] != '\0');
        free(pem);
        EVP_PKEY_free(rows[i].key);
        bff_jwt_signer_dispose(&s);
    }
    bff_jwt_signer_t s = {0};
    char err[256];
    ASSERT_INT_EQ(bff_jwt_signer_set_key(&s, "HS256", NULL, 0, (const unsigned char *)"short", 5,
                                         err, sizeof(err)),
                  -1);
    ASSERT_INT_EQ(bff_jwt_signer_set_key(&s, "RS256", "not pem", 7, NULL, 0, err, sizeof(err)), -1);
    bff_jwt_signer_dispose(&s);
}

static void test_base64url_vectors(void)
{
    static const struct {
        const char *in, *out;
    } rows[] = {{"", ""},        {"f", "Zg"},        {"fo", "Zm8"},
                {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"\xfb\xff", "-_8"}};
    for (size_t i = 0; i != sizeof(rows) / sizeof(rows[0]); ++i) {
        char out[32];
        size_t n = bff_b64url_encode((const unsigned char *)rows[i].in, strlen(rows[i].in), out);
        ASSERT_STR_EQ(out, rows[i].out);
        ASSERT_INT_EQ(n, strlen(rows[i].out));
    }
}

int main(void)
{
    TAP_RUN(test_base64url_vectors);
    TAP_RUN(test_every_algorithm_verifies);
    TAP_RUN(test_keys_that_do_not_fit_are_refused);
    TAP_DONE();
}
