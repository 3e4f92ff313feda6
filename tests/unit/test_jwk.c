/* JWT keys (server/auth/jwk.c): JWKS documents and single JWKs as identity providers publish
 * them, the keys they refuse or skip, PEM keys and certificates, and HMAC secrets; each accepted
 * key is shown to verify a token signed by the fixture's signer (jwt_fixture.h). */
#include "server/auth/jwk.c"
#include "server/auth/jwt.c"

#include <openssl/x509.h>

#include "tests/unit/tap.h"
#include "tests/unit/jwt_fixture.h"

static void bn_member(json_t *jwk, const char *name, EVP_PKEY *k, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
        abort();
    unsigned char bin[1024];
    int n = BN_bn2binpad(bn, bin, pad != 0 ? pad : BN_num_bytes(bn));
    char b64[1400];
    b64url(bin, (size_t)n, b64);
    json_object_set_new(jwk, name, json_string(b64));
    BN_free(bn);
}

/* The public JWK of a test key, as an identity provider publishes it. */
static json_t *jwk_of(EVP_PKEY *k, const char *kid)
{
    json_t *jwk = json_object();
    if (EVP_PKEY_is_a(k, "RSA")) {
        json_object_set_new(jwk, "kty", json_string("RSA"));
        bn_member(jwk, "n", k, OSSL_PKEY_PARAM_RSA_N, 0);
        bn_member(jwk, "e", k, OSSL_PKEY_PARAM_RSA_E, 0);
    } else if (EVP_PKEY_is_a(k, "EC")) {
        int p384 = EVP_PKEY_get_bits(k) == 384;
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string(p384 ? "P-384" : "P-256"));
        bn_member(jwk, "x", k, OSSL_PKEY_PARAM_EC_PUB_X, p384 ? 48 : 32);
        bn_member(jwk, "y", k, OSSL_PKEY_PARAM_EC_PUB_Y, p384 ? 48 : 32);
    } else {
        unsigned char raw[32];
        size_t len = sizeof(raw);
        char b64[64];
        EVP_PKEY_get_raw_public_key(k, raw, &len);
        b64url(raw, len, b64);
        json_object_set_new(jwk, "kty", json_string("OKP"));
        json_object_set_new(jwk, "crv", json_string("Ed25519"));
        json_object_set_new(jwk, "x", json_string(b64));
    }
    if (kid != NULL)
        json_object_set_new(jwk, "kid", json_string(kid));
    return jwk;
}

static json_t *oct_jwk(const void *secret, size_t len, const char *kid)
{
    char b64[128];
    b64url(secret, len, b64);
    return json_pack("{s:s, s:s, s:s}", "kty", "oct", "k", b64, "kid", kid);
}

static int parse_json(bff_jwk_set_t *set, json_t *doc, char *err, size_t errsize)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    int r = bff_jwk_set_parse(set, text, strlen(text), err, errsize);
    free(text);
    return r;
}

static void test_jwks_document(void)
{
    json_t *rsa = jwk_of(fx.rsa, "r");
    json_object_set_new(rsa, "alg", json_string("RS256"));
    json_object_set_new(rsa, "use", json_string("sig"));
    json_object_set_new(rsa, "d", json_string("AAAA")); /* a private member: ignored */
    json_t *enc = jwk_of(fx.rsa_other, "enc");
    json_object_set_new(enc, "use", json_string("enc"));
    json_t *keys =
        json_pack("[o, o, o, o, o, o]", rsa, jwk_of(fx.p256, "e256"), jwk_of(fx.p384, "e384"),
                  jwk_of(fx.ed, "o"), oct_jwk(hs_secret, sizeof(hs_secret) - 1, "s"), enc);
    json_array_append_new(
        keys, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-521", "x", "AA", "y", "AA"));
    json_array_append_new(keys,
                          json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "X25519", "x", "AA"));
    json_array_append_new(keys, json_pack("{s:s}", "kty", "RSA-ish"));
    json_t *doc = json_pack("{s:o}", "keys", keys);
    bff_jwk_set_t set = {0};
    char err[256] = "";
    ASSERT_INT_EQ(parse_json(&set, doc, err, sizeof(err)), 0);
    ASSERT_STR_EQ(err, "");
    ASSERT_INT_EQ(set.nkeys, 5);
    static const struct {
        const char *kid, *alg;
        bff_jwk_kty_t kty;
        int nid;
    } want[] = {{"r", "RS256", BFF_JWK_RSA, 0},
                {"e256", "", BFF_JWK_EC, NID_X9_62_prime256v1},
                {"e384", "", BFF_JWK_EC, NID_secp384r1},
                {"o", "", BFF_JWK_OKP, NID_ED25519},
                {"s", "", BFF_JWK_OCT, 0}};
    for (size_t i = 0; i != set.nkeys && i != 5; ++i) {
        const bff_jwk_key_t *k = set.keys + i;
        if (strcmp(k->kid, want[i].kid) != 0 || strcmp(k->alg, want[i].alg) != 0 ||
            k->kty != want[i].kty || k->curve_nid != want[i].nid)
            TAP_FAIL("key %zu: kid '%s' alg '%s' kty %d nid %d", i, k->kid, k->alg, k->kty,
                     k->curve_nid);
    }
    ASSERT_TRUE(set.keys[4].secret_len == sizeof(hs_secret) - 1 &&
                memcmp(set.keys[4].secret, hs_secret, sizeof(hs_secret) - 1) == 0);
    const struct {
        const char *alg, *kid;
        bff_jwt_result_t want;
    } tokens[] = {
        {"RS256", "r", BFF_JWT_OK},
        {"PS256", "r", BFF_JWT_BAD_SIGNATURE}, /* its alg: RS256 */
        {"ES256", "e256", BFF_JWT_OK},
        {"ES384", "e384", BFF_JWT_OK},
        {"EdDSA", "o", BFF_JWT_OK},
        {"HS512", "s", BFF_JWT_OK},
        {"RS256", "enc", BFF_JWT_UNKNOWN_KID},
    };
    for (size_t i = 0; i != sizeof(tokens) / sizeof(tokens[0]); ++i) {
        char header[96];
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", tokens[i].alg,
                 tokens[i].kid);
        signer_t s = signer(tokens[i].alg);
        char *tok = mint_with(header, CLAIMS, &s);
        bff_jwt_result_t got = check_with(tok, &policy, &set);
        if (got != tokens[i].want)
            TAP_FAIL("%s kid %s: '%s'", tokens[i].alg, tokens[i].kid, bff_jwt_result_reason(got));
        free(tok);
    }
    /* A single JWK is a document too, and parsing appends. */
    json_t *one = jwk_of(fx.ed, "o2");
    ASSERT_INT_EQ(parse_json(&set, one, err, sizeof(err)), 0);
    ASSERT_INT_EQ(set.nkeys, 6);
    ASSERT_STR_EQ(set.keys[5].kid, "o2");
    /* A JWK's alg restricts even an HMAC key. */
    json_t *oct = oct_jwk(hs_secret, sizeof(hs_secret) - 1, "s384");
    json_object_set_new(oct, "alg", json_string("HS384"));
    ASSERT_INT_EQ(parse_json(&set, oct, err, sizeof(err)), 0);
    signer_t hs256 = signer("HS256"), hs384 = signer("HS384");
    char *tok = mint_with("{\"alg\":\"HS256\",\"kid\":\"s384\"}", CLAIMS, &hs256);
    ASSERT_RESULT(check_with(tok, &policy, &set), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    tok = mint_with("{\"alg\":\"HS384\",\"kid\":\"s384\"}", CLAIMS, &hs384);
    ASSERT_RESULT(check_with(tok, &policy, &set), BFF_JWT_OK);
    free(tok);
    json_decref(oct);
    json_decref(one);
    json_decref(doc);
    bff_jwk_set_dispose(&set);
    ASSERT_INT_EQ(set.nkeys, 0);
}

/* A JWK of `base` with one member changed: `value` is JSON text, NULL to delete it, or "~" to
 * change one character in the middle of the member's base64url (breaking the key, not its
 * encoding), or "+TEXT" to append TEXT to it. */
static json_t *jwk_variant(json_t *base, const char *member, const char *value)
{
    json_t *jwk = json_deep_copy(base);
    const char *cur = json_string_value(json_object_get(jwk, member));
    if (value == NULL) {
        json_object_del(jwk, member);
    } else if (value[0] == '~' || value[0] == '+') {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s%s", cur, value[0] == '+' ? value + 1 : "");
        if (value[0] == '~')
            buf[10] = buf[10] == 'A' ? 'B' : 'A';
        json_object_set_new(jwk, member, json_string(buf));
    } else {
        json_object_set_new(jwk, member, json_loads(value, JSON_DECODE_ANY, NULL));
    }
    return jwk;
}

static void test_jwks_refusals(void)
{
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    json_t *rsa = jwk_of(fx.rsa, "r"), *p256 = jwk_of(fx.p256, "e"), *ed = jwk_of(fx.ed, "o"),
           *oct = oct_jwk(hs_secret, 32, "s"), *small = jwk_of(rsa1024, "small");
    char long_kid[140];
    snprintf(long_kid, sizeof(long_kid), "\"%0128d\"", 0);
    const struct {
        const char *name;
        json_t *base;
        const char *member, *value;
    } variants[] = {
        {"RSA n padded", rsa, "n", "+="},
        {"RSA n with a space", rsa, "n", "+ AAAA"},
        {"RSA n standard base64", rsa, "n", "+/"},
        {"RSA n missing", rsa, "n", NULL},
        {"RSA n a number", rsa, "n", "1"},
        {"RSA n empty", rsa, "n", "\"\""},
        {"RSA e = 1", rsa, "e", "\"AQ\""},
        {"RSA e even", rsa, "e", "\"AQAA\""},
        {"RSA of 1024 bits", small, "kid", "\"small\""},
        {"kid of 128 bytes", rsa, "kid", long_kid},
        {"kid a number", rsa, "kid", "7"},
        {"use a number", rsa, "use", "1"},
        {"alg an array", rsa, "alg", "[\"RS256\"]"},
        {"kty missing", rsa, "kty", NULL},
        {"kty a number", rsa, "kty", "3"},
        {"EC x short", p256, "x", "\"AAAA\""},
        {"EC y missing", p256, "y", NULL},
        {"EC point off the curve", p256, "y", "~"},
        {"EC P-256 coordinates as P-384", p256, "crv", "\"P-384\""},
        {"EC crv missing", p256, "crv", NULL},
        {"Ed25519 x short", ed, "x", "\"AAAA\""},
        {"Ed25519 x padded", ed, "x", "+="},
        {"oct k of 16 bytes", oct, "k", "\"MDEyMzQ1Njc4OWFiY2RlZg\""},
        {"oct k missing", oct, "k", NULL},
    };
    bff_jwk_set_t set = {0};
    char err[256];
    ASSERT_INT_EQ(bff_jwk_set_add_secret(&set, hs_secret, 32, "keep", err, sizeof(err)), 0);
    for (size_t i = 0; i != sizeof(variants) / sizeof(variants[0]); ++i) {
        json_t *jwk = jwk_variant(variants[i].base, variants[i].member, variants[i].value);
        err[0] = '\0';
        int r = parse_json(&set, jwk, err, sizeof(err));
        /* Also inside a JWKS after a good key: the good one is rolled back. */
        json_t *doc = json_pack("{s:[O, O]}", "keys", rsa, jwk);
        int r2 = parse_json(&set, doc, err, sizeof(err));
        if (r != -1 || r2 != -1 || err[0] == '\0' || set.nkeys != 1)
            TAP_FAIL("%s: %d %d '%s' (%zu keys)", variants[i].name, r, r2, err, set.nkeys);
        json_decref(jwk);
        json_decref(doc);
    }
    static const char *const docs[] = {
        "",
        "nope",
        "[]",
        "{}",
        "{\"keys\":{}}",
        "{\"keys\":[1]}",
        "{\"keys\":[{\"kty\":\"oct\"}]}",
        "{\"kty\":\"oct\",\"kty\":\"oct\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}",
        "{\"kty\":\"oct\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"} trailing",
    };
    for (size_t i = 0; i != sizeof(docs) / sizeof(docs[0]); ++i) {
        err[0] = '\0';
        if (bff_jwk_set_parse(&set, docs[i], strlen(docs[i]), err, sizeof(err)) != -1 ||
            err[0] == '\0' || set.nkeys != 1)
            TAP_FAIL("'%s' accepted (%zu keys)", docs[i], set.nkeys);
    }
    ASSERT_STR_EQ(set.keys[0].kid, "keep");
    /* Skipped, not refused: an empty key list, and keys for other uses or curves. */
    static const char *const skipped[] = {
        "{\"keys\":[]}",
        "{\"kty\":\"RSA\",\"use\":\"enc\"}",
        "{\"kty\":\"EC\",\"crv\":\"secp256k1\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"AA\"}",
        "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256-and-more\"}",
    };
    for (size_t i = 0; i != sizeof(skipped) / sizeof(skipped[0]); ++i)
        if (bff_jwk_set_parse(&set, skipped[i], strlen(skipped[i]), err, sizeof(err)) != 0 ||
            set.nkeys != 1)
            TAP_FAIL("'%s' not skipped: %s", skipped[i], err);
    json_decref(rsa);
    json_decref(p256);
    json_decref(ed);
    json_decref(oct);
    json_decref(small);
    EVP_PKEY_free(rsa1024);
    bff_jwk_set_dispose(&set);
}

/* A self-signed certificate for `k`, as PEM. */
static char *certificate_of(EVP_PKEY *k, size_t *len)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"id", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, k, EVP_sha256()) == 0)
        abort();
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *copy = bff_strndup(data, (size_t)n);
    *len = (size_t)n;
    BIO_free(b);
    X509_free(x);
    return copy;
}

static void test_pem_and_secrets(void)
{
    static const struct {
        const char *kid;
        bff_jwk_kty_t kty;
        int nid;
    } want[] = {{"rsa", BFF_JWK_RSA, 0},
                {"p256", BFF_JWK_EC, NID_X9_62_prime256v1},
                {"p384", BFF_JWK_EC, NID_secp384r1},
                {"ed", BFF_JWK_OKP, NID_ED25519},
                {"hs", BFF_JWK_OCT, 0}};
    ASSERT_INT_EQ(fx.set.nkeys, 5);
    for (size_t i = 0; i != 5 && i != fx.set.nkeys; ++i)
        if (strcmp(fx.set.keys[i].kid, want[i].kid) != 0 || fx.set.keys[i].kty != want[i].kty ||
            fx.set.keys[i].curve_nid != want[i].nid || fx.set.keys[i].alg[0] != '\0')
            TAP_FAIL("fixture key %zu: %s %d %d", i, fx.set.keys[i].kid, fx.set.keys[i].kty,
                     fx.set.keys[i].curve_nid);
    bff_jwk_set_t set = {0};
    char err[256];
    size_t len;
    /* A certificate's key verifies. */
    char *cert = certificate_of(fx.p256, &len);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, cert, len, "cert", err, sizeof(err)), 0);
    signer_t es256 = signer("ES256");
    char *tok = mint_with("{\"alg\":\"ES256\",\"kid\":\"cert\"}", CLAIMS, &es256);
    ASSERT_RESULT(check_with(tok, &policy, &set), BFF_JWT_OK);
    free(tok);
    free(cert);
    /* Refused: not PEM, a private key alone, RSA 1024, X25519, a kid too long. */
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024),
             *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    char *priv = pem_of(fx.p256, 1, &len);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, priv, len, NULL, err, sizeof(err)), -1);
    free(priv);
    char *small = pem_of(rsa1024, 0, &len);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, small, len, NULL, err, sizeof(err)), -1);
    ASSERT_STR_CONTAINS(err, "2048");
    free(small);
    char *xpem = pem_of(x25519, 0, &len);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, xpem, len, NULL, err, sizeof(err)), -1);
    free(xpem);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, "hello", 5, NULL, err, sizeof(err)), -1);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, "", 0, NULL, err, sizeof(err)), -1);
    char long_kid[129];
    memset(long_kid, 'k', 128);
    long_kid[128] = '\0';
    char *pem = pem_of(fx.ed, 0, &len);
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, pem, len, long_kid, err, sizeof(err)), -1);
    long_kid[127] = '\0';
    ASSERT_INT_EQ(bff_jwk_set_add_pem(&set, pem, len, long_kid, err, sizeof(err)), 0);
    free(pem);
    ASSERT_INT_EQ(set.nkeys, 2);
    ASSERT_TRUE(ERR_peek_error() == 0);
    /* Secrets: 31 bytes are refused, 32 accepted and copied. */
    unsigned char secret[32];
    memset(secret, 's', sizeof(secret));
    ASSERT_INT_EQ(bff_jwk_set_add_secret(&set, secret, 31, "short", err, sizeof(err)), -1);
    ASSERT_STR_CONTAINS(err, "32");
    ASSERT_INT_EQ(bff_jwk_set_add_secret(&set, secret, 32, "s", err, sizeof(err)), 0);
    unsigned char same[32];
    memcpy(same, secret, sizeof(same));
    signer_t s = {.alg = "HS256", .secret = same, .secret_len = sizeof(same)};
    memset(secret, 0, sizeof(secret)); /* the set holds its own copy */
    tok = mint_with("{\"alg\":\"HS256\",\"kid\":\"s\"}", CLAIMS, &s);
    ASSERT_RESULT(check_with(tok, &policy, &set), BFF_JWT_OK);
    free(tok);
    /* The set's cap. */
    memset(secret, 's', sizeof(secret));
    while (set.nkeys < BFF_JWK_MAX_KEYS)
        ASSERT_INT_EQ(bff_jwk_set_add_secret(&set, secret, 32, NULL, err, sizeof(err)), 0);
    ASSERT_INT_EQ(bff_jwk_set_add_secret(&set, secret, 32, NULL, err, sizeof(err)), -1);
    ASSERT_INT_EQ(set.nkeys, BFF_JWK_MAX_KEYS);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(x25519);
    bff_jwk_set_dispose(&set);
}

int main(void)
{
    setup();
    TAP_RUN(test_jwks_document);
    TAP_RUN(test_jwks_refusals);
    TAP_RUN(test_pem_and_secrets);
    teardown();
    TAP_DONE();
}
