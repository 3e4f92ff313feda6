/* JWT verification (server/auth/jwt.c) and its keys (jwk.c). Keys are generated here with
 * OpenSSL and tokens signed by a small test-only signer; most tests are tables whose rows change
 * one thing of a valid token and name the verdict it must get. Every verification also checks
 * that claims come back on OK only and that OpenSSL's error queue is left empty. */
#include "server/auth/jwk.c"
#include "server/auth/jwt.c"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/unit/tap.h"

#define NOW 1700000000
#define ISS "https://id.example"
#define BASE "\"iss\":\"" ISS "\",\"aud\":\"api\""
#define CLAIMS "{" BASE ",\"exp\":1700000060,\"sub\":\"alice\"}"

static const unsigned char hs_secret[] = "0123456789abcdef0123456789abcdef-hs";
static const char *const auds[] = {"api", "web"};
static const bff_jwt_policy_t policy = {
    .algs = 0xfff, .issuer = ISS, .audiences = auds, .naudiences = 2, .max_bytes = 8192};
static const char *const alg_names[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                                        "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"};
#define NALGS (sizeof(alg_names) / sizeof(alg_names[0]))

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

static void b64url(const void *data, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i != len; ++i) {
        acc = acc << 8 | in[i];
        for (bits += 8; bits >= 6; bits -= 6)
            out[o++] = abc[(acc >> (bits - 6)) & 63];
    }
    if (bits != 0)
        out[o++] = abc[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* OpenSSL's DER ECDSA signature, in place, as the raw R||S a JWS carries. */
static size_t der_to_raw(unsigned char *sig, size_t len, size_t size)
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

static size_t sign_input(const signer_t *s, const char *input, unsigned char sig[1024])
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
static char *mint_with(const char *header, const char *payload, const signer_t *s)
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
static char *assemble(const char *header, const char *payload, const void *sig, size_t siglen)
{
    char *tok = bff_malloc(2 * (strlen(header) + strlen(payload) + siglen) + 8);
    b64url(header, strlen(header), tok);
    strncat(tok, ".", 2);
    b64url(payload, strlen(payload), tok + strlen(tok));
    strncat(tok, ".", 2);
    b64url(sig, siglen, tok + strlen(tok));
    return tok;
}

static signer_t signer(const char *alg)
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

static const char *kid_of(const char *alg)
{
    return alg[0] == 'H'                    ? "hs"
           : alg[0] == 'R' || alg[0] == 'P' ? "rsa"
           : strcmp(alg, "ES256") == 0      ? "p256"
           : strcmp(alg, "ES384") == 0      ? "p384"
                                            : "ed";
}

/* A token by the test's key for `alg`, naming its kid when `with_kid`. */
static char *mint(const char *alg, int with_kid, const char *payload)
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
static bff_jwt_result_t verify_full(const char *token, size_t len, const bff_jwt_policy_t *p,
                                    const bff_jwk_set_t *keys, char kid[128], char sub[32])
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

static bff_jwt_result_t check_with(const char *token, const bff_jwt_policy_t *p,
                                   const bff_jwk_set_t *keys)
{
    return verify_full(token, strlen(token), p, keys, NULL, NULL);
}

static bff_jwt_result_t check(const char *token)
{
    return check_with(token, &policy, &fx.set);
}

static char *pem_of(EVP_PKEY *k, int private_key, size_t *len)
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

static void add_pem_or_fail(bff_jwk_set_t *set, EVP_PKEY *k, const char *kid)
{
    size_t len;
    char *pem = pem_of(k, 0, &len), err[256] = "";
    if (bff_jwk_set_add_pem(set, pem, len, kid, err, sizeof(err)) != 0)
        TAP_FAIL("add_pem %s: %s", kid, err);
    free(pem);
}

static void setup(void)
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

static void test_b64url_strict(void)
{
    static const struct {
        const char *in;
        long want;
        const char *bytes;
    } cases[] = {
        {"", 0, ""},
        {"QQ", 1, "A"},
        {"QUI", 2, "AB"},
        {"QUJD", 3, "ABC"},
        {"-_-_", 3, "\xfb\xff\xbf"},
        {"QQ==", -1, NULL},
        {"QUI=", -1, NULL},
        {"Q", -1, NULL},
        {"QR", -1, NULL},
        {"QUJ", -1, NULL},
        {"QU I", -1, NULL},
        {"QUI\n", -1, NULL},
        {"+/+/", -1, NULL},
        {"QU.I", -1, NULL},
        {"QU\xc3\xa9", -1, NULL},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        unsigned char out[16];
        long n = bff_b64url_decode(cases[i].in, strlen(cases[i].in), out);
        if (n != cases[i].want || (n > 0 && memcmp(out, cases[i].bytes, (size_t)n) != 0))
            TAP_FAIL("'%s': %ld, expected %ld", cases[i].in, n, cases[i].want);
    }
    /* A NUL inside is just another character outside the alphabet. */
    unsigned char out[4];
    ASSERT_INT_EQ(bff_b64url_decode("QU\0I", 4, out), -1);
}

static void test_every_algorithm_verifies(void)
{
    for (size_t i = 0; i != NALGS; ++i) {
        const char *alg = alg_names[i];
        ASSERT_INT_EQ(bff_jwt_alg_bit(alg), 1u << i);
        for (int with_kid = 0; with_kid != 2; ++with_kid) {
            char *tok = mint(alg, with_kid, CLAIMS), kid[128], sub[32];
            bff_jwt_result_t r = verify_full(tok, strlen(tok), &policy, &fx.set, kid, sub);
            if (r != BFF_JWT_OK || strcmp(sub, "alice") != 0)
                TAP_FAIL("%s (kid %d): '%s', sub '%s'", alg, with_kid, bff_jwt_result_reason(r),
                         sub);
            if (strcmp(kid, with_kid ? kid_of(alg) : "") != 0)
                TAP_FAIL("%s: kid_out '%s'", alg, kid);
            /* Only the policy's algorithms: this one alone, then all but this one. */
            bff_jwt_policy_t only = policy;
            only.algs = 1u << i;
            ASSERT_RESULT(check_with(tok, &only, &fx.set), BFF_JWT_OK);
            only.algs = 0xfffu & ~(1u << i);
            ASSERT_RESULT(check_with(tok, &only, &fx.set), BFF_JWT_BAD_ALG);
            free(tok);
        }
    }
}

static void test_claims(void)
{
    static const struct {
        const char *name, *payload;
        int64_t leeway;
        bff_jwt_result_t want;
    } cases[] = {
        {"valid", CLAIMS, 0, BFF_JWT_OK},
        {"exp now", "{" BASE ",\"exp\":1700000000}", 0, BFF_JWT_EXPIRED},
        {"exp past", "{" BASE ",\"exp\":1699999980}", 0, BFF_JWT_EXPIRED},
        {"exp past, within leeway", "{" BASE ",\"exp\":1699999980}", 30, BFF_JWT_OK},
        {"exp past, beyond leeway", "{" BASE ",\"exp\":1699999960}", 30, BFF_JWT_EXPIRED},
        {"exp real", "{" BASE ",\"exp\":1700000060.5}", 0, BFF_JWT_OK},
        {"exp real, just past", "{" BASE ",\"exp\":1700000000.9}", 0, BFF_JWT_EXPIRED},
        {"negative leeway is none", "{" BASE ",\"exp\":1700000001}", -100, BFF_JWT_OK},
        {"nbf future", "{" BASE ",\"exp\":1700000060,\"nbf\":1700000020}", 0,
         BFF_JWT_NOT_YET_VALID},
        {"nbf future, within leeway", "{" BASE ",\"exp\":1700000060,\"nbf\":1700000020}", 30,
         BFF_JWT_OK},
        {"nbf past", "{" BASE ",\"exp\":1700000060,\"nbf\":1699999000}", 0, BFF_JWT_OK},
        {"nbf now", "{" BASE ",\"exp\":1700000060,\"nbf\":1700000000}", 0, BFF_JWT_OK},
        {"iat future", "{" BASE ",\"exp\":1700000060,\"iat\":1700000020}", 0,
         BFF_JWT_ISSUED_IN_FUTURE},
        {"iat future, within leeway", "{" BASE ",\"exp\":1700000060,\"iat\":1700000020}", 30,
         BFF_JWT_OK},
        {"iat a fraction ahead", "{" BASE ",\"exp\":1700000060,\"iat\":1700000000.5}", 0,
         BFF_JWT_ISSUED_IN_FUTURE},
        {"iat past", "{" BASE ",\"exp\":1700000060,\"iat\":1699999990}", 0, BFF_JWT_OK},
        {"missing exp", "{" BASE ",\"sub\":\"alice\"}", 0, BFF_JWT_MISSING_EXP},
        {"exp a string", "{" BASE ",\"exp\":\"1700000060\"}", 0, BFF_JWT_MALFORMED},
        {"exp null", "{" BASE ",\"exp\":null}", 0, BFF_JWT_MALFORMED},
        {"exp true", "{" BASE ",\"exp\":true}", 0, BFF_JWT_MALFORMED},
        {"exp 1e30", "{" BASE ",\"exp\":1e30}", 0, BFF_JWT_MALFORMED},
        {"exp -1e30", "{" BASE ",\"exp\":-1e30}", 0, BFF_JWT_MALFORMED},
        {"exp beyond int64", "{" BASE ",\"exp\":99999999999999999999}", 0, BFF_JWT_MALFORMED},
        {"exp at int64 max", "{" BASE ",\"exp\":9223372036854775807}", 0, BFF_JWT_OK},
        {"nbf a string", "{" BASE ",\"exp\":1700000060,\"nbf\":\"0\"}", 0, BFF_JWT_MALFORMED},
        {"iat an object", "{" BASE ",\"exp\":1700000060,\"iat\":{}}", 0, BFF_JWT_MALFORMED},
        {"wrong iss", "{\"iss\":\"https://evil.example\",\"aud\":\"api\",\"exp\":1700000060}", 0,
         BFF_JWT_BAD_ISSUER},
        {"iss extended", "{\"iss\":\"" ISS ".evil\",\"aud\":\"api\",\"exp\":1700000060}", 0,
         BFF_JWT_BAD_ISSUER},
        {"no iss", "{\"aud\":\"api\",\"exp\":1700000060}", 0, BFF_JWT_BAD_ISSUER},
        {"iss a number", "{\"iss\":1,\"aud\":\"api\",\"exp\":1700000060}", 0, BFF_JWT_BAD_ISSUER},
        {"aud second of policy", "{\"iss\":\"" ISS "\",\"aud\":\"web\",\"exp\":1700000060}", 0,
         BFF_JWT_OK},
        {"aud array", "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"web\"],\"exp\":1700000060}", 0,
         BFF_JWT_OK},
        {"aud wrong", "{\"iss\":\"" ISS "\",\"aud\":\"apis\",\"exp\":1700000060}", 0,
         BFF_JWT_BAD_AUDIENCE},
        {"aud array wrong", "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"y\"],\"exp\":1700000060}", 0,
         BFF_JWT_BAD_AUDIENCE},
        {"aud empty array", "{\"iss\":\"" ISS "\",\"aud\":[],\"exp\":1700000060}", 0,
         BFF_JWT_BAD_AUDIENCE},
        {"aud nested", "{\"iss\":\"" ISS "\",\"aud\":[[\"api\"]],\"exp\":1700000060}", 0,
         BFF_JWT_BAD_AUDIENCE},
        {"aud missing", "{\"iss\":\"" ISS "\",\"exp\":1700000060}", 0, BFF_JWT_BAD_AUDIENCE},
        {"payload an array", "[1]", 0, BFF_JWT_MALFORMED},
        {"payload not JSON", "exp=1700000060", 0, BFF_JWT_MALFORMED},
        {"duplicate claim", "{" BASE ",\"exp\":1700000060,\"exp\":1800000000}", 0,
         BFF_JWT_MALFORMED},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        bff_jwt_policy_t p = policy;
        p.leeway_s = cases[i].leeway;
        char *tok = mint("HS256", 1, cases[i].payload);
        bff_jwt_result_t got = check_with(tok, &p, &fx.set);
        if (got != cases[i].want)
            TAP_FAIL("%s: '%s', expected '%s'", cases[i].name, bff_jwt_result_reason(got),
                     bff_jwt_result_reason(cases[i].want));
        free(tok);
    }
    /* Without issuer and audiences in the policy, neither claim is looked at. */
    bff_jwt_policy_t open = policy;
    open.issuer = NULL;
    open.naudiences = 0;
    char *tok = mint("ES256", 1, "{\"exp\":1700000060,\"iss\":7,\"aud\":{}}");
    ASSERT_RESULT(check_with(tok, &open, &fx.set), BFF_JWT_OK);
    free(tok);
}

static void test_alg_none_is_never_accepted(void)
{
    static const char *const nones[] = {"none", "NONE", "None", "nOnE"};
    bff_jwt_policy_t all = policy;
    all.algs = ~0u;
    for (size_t i = 0; i != sizeof(nones) / sizeof(nones[0]); ++i) {
        char header[64];
        snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", nones[i]);
        char *unsigned_tok = assemble(header, CLAIMS, "", 0);
        signer_t hs = signer("HS256");
        char *signed_tok = mint_with(header, CLAIMS, &hs);
        ASSERT_RESULT(check_with(unsigned_tok, &all, &fx.set), BFF_JWT_BAD_ALG);
        ASSERT_RESULT(check_with(signed_tok, &all, &fx.set), BFF_JWT_BAD_ALG);
        ASSERT_INT_EQ(bff_jwt_alg_bit(nones[i]), 0);
        free(unsigned_tok);
        free(signed_tok);
    }
    ASSERT_INT_EQ(bff_jwt_alg_bit("rs256"), 0);
    ASSERT_INT_EQ(bff_jwt_alg_bit(""), 0);
    ASSERT_INT_EQ(bff_jwt_alg_bit("EdDSA"), BFF_JWT_EDDSA);
}

static void test_header_rules(void)
{
    char long_kid[160];
    snprintf(long_kid, sizeof(long_kid), "{\"alg\":\"HS256\",\"kid\":\"%0128d\"}", 0);
    static const char attacker_jwk[] =
        "{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
        "\"jku\":\"https://evil.example/jwks\",\"x5u\":\"https://evil.example/c\","
        "\"x5c\":[\"MIIB\"]}";
    const struct {
        const char *name, *header;
        EVP_PKEY *foreign; /* signs instead of the test's key of the header's family */
        bff_jwt_result_t want;
    } cases[] = {
        {"plain", "{\"alg\":\"HS256\",\"kid\":\"hs\"}", NULL, BFF_JWT_OK},
        {"typ ignored", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", NULL, BFF_JWT_OK},
        {"typ not a string, ignored", "{\"alg\":\"HS256\",\"typ\":5}", NULL, BFF_JWT_OK},
        {"jku/jwk/x5u/x5c ignored", attacker_jwk, NULL, BFF_JWT_OK},
        {"jwk in the header does not verify", attacker_jwk, fx.rsa_other, BFF_JWT_BAD_SIGNATURE},
        {"duplicate alg", "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", NULL, BFF_JWT_MALFORMED},
        {"duplicate kid", "{\"alg\":\"HS256\",\"kid\":\"hs\",\"kid\":\"hs\"}", NULL,
         BFF_JWT_MALFORMED},
        {"alg missing", "{\"typ\":\"JWT\"}", NULL, BFF_JWT_MALFORMED},
        {"alg a number", "{\"alg\":256}", NULL, BFF_JWT_MALFORMED},
        {"alg unknown", "{\"alg\":\"HS257\"}", NULL, BFF_JWT_BAD_ALG},
        {"kid a number", "{\"alg\":\"HS256\",\"kid\":7}", NULL, BFF_JWT_MALFORMED},
        {"kid null", "{\"alg\":\"HS256\",\"kid\":null}", NULL, BFF_JWT_MALFORMED},
        {"kid of 128 bytes", long_kid, NULL, BFF_JWT_MALFORMED},
        {"crit", "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", NULL,
         BFF_JWT_UNSUPPORTED_CRIT},
        {"crit empty", "{\"alg\":\"HS256\",\"crit\":[]}", NULL, BFF_JWT_UNSUPPORTED_CRIT},
        {"b64 false", "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", NULL,
         BFF_JWT_UNSUPPORTED_CRIT},
        {"header an array", "[\"HS256\"]", NULL, BFF_JWT_MALFORMED},
        {"header not JSON", "alg=HS256", NULL, BFF_JWT_MALFORMED},
        {"header empty", "", NULL, BFF_JWT_MALFORMED},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        json_t *h = json_loads(cases[i].header, JSON_DECODE_ANY, NULL);
        const char *alg = json_string_value(json_object_get(h, "alg"));
        signer_t s = signer(alg != NULL && bff_jwt_alg_bit(alg) != 0 ? alg : "HS256");
        if (cases[i].foreign != NULL)
            s.pkey = cases[i].foreign;
        char *tok = mint_with(cases[i].header, CLAIMS, &s);
        bff_jwt_result_t got = check(tok);
        if (got != cases[i].want)
            TAP_FAIL("%s: '%s', expected '%s'", cases[i].name, bff_jwt_result_reason(got),
                     bff_jwt_result_reason(cases[i].want));
        json_decref(h);
        free(tok);
    }
}

/* Replaces the signature's decoded byte `at` (negative: from the end) with its complement. */
static void flip_signature_byte(char *tok, long at)
{
    char *sig = strrchr(tok, '.') + 1;
    unsigned char raw[1024];
    long n = bff_b64url_decode(sig, strlen(sig), raw);
    raw[at < 0 ? n + at : at] ^= 0xff;
    b64url(raw, (size_t)n, sig);
}

static void test_token_form(void)
{
    char *tok = mint("RS256", 1, CLAIMS);
    size_t len = strlen(tok), hlen = (size_t)(strchr(tok, '.') - tok);
    size_t slen = len - (size_t)(strrchr(tok, '.') + 1 - tok);
    ASSERT_RESULT(check(tok), BFF_JWT_OK);
    char *buf = bff_malloc(len + 16);
    enum { AT_START, AT_FIRST_DOT, AT_END };
    const struct {
        const char *name, *text; /* inserted into the valid token */
        int at;
    } cases[] = {
        {"four segments", ".x", AT_END},
        {"empty fourth segment", ".", AT_END},
        {"signature padded", "==", AT_END},
        {"trailing newline", "\n", AT_END},
        {"leading space", " ", AT_START},
        {"header padded", "=", AT_FIRST_DOT},
        {"space before the first dot", " ", AT_FIRST_DOT},
        {"fifth segment", "..", AT_FIRST_DOT},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        size_t at = cases[i].at == AT_START ? 0 : cases[i].at == AT_FIRST_DOT ? hlen : len;
        snprintf(buf, len + 16, "%.*s%s%s", (int)at, tok, cases[i].text, tok + at);
        bff_jwt_result_t got = check(buf);
        if (got != BFF_JWT_MALFORMED)
            TAP_FAIL("%s: '%s'", cases[i].name, bff_jwt_result_reason(got));
    }
    static const char *const shapes[] = {"", ".", "..", "...", "a.b", "a..c", ".b.c", "abc"};
    for (size_t i = 0; i != sizeof(shapes) / sizeof(shapes[0]); ++i)
        if (check(shapes[i]) != BFF_JWT_MALFORMED)
            TAP_FAIL("'%s' is not malformed", shapes[i]);
    /* Two segments; a NUL inside; standard base64's '+' in the signature. */
    ASSERT_RESULT(verify_full(tok, len - slen - 1, &policy, &fx.set, NULL, NULL),
                  BFF_JWT_MALFORMED);
    memcpy(buf, tok, len + 1);
    buf[len - 3] = '\0';
    ASSERT_RESULT(verify_full(buf, len, &policy, &fx.set, NULL, NULL), BFF_JWT_MALFORMED);
    buf[len - 3] = '+';
    ASSERT_RESULT(check(buf), BFF_JWT_MALFORMED);
    /* Stripped signature: nothing to verify. */
    ASSERT_RESULT(verify_full(tok, len - slen, &policy, &fx.set, NULL, NULL),
                  BFF_JWT_BAD_SIGNATURE);
    /* The size cap comes before any parsing (kid_out stays empty). */
    bff_jwt_policy_t small = policy;
    small.max_bytes = len;
    ASSERT_RESULT(check_with(tok, &small, &fx.set), BFF_JWT_OK);
    small.max_bytes = len - 1;
    char kid[128] = "x";
    ASSERT_RESULT(verify_full(tok, len, &small, &fx.set, kid, NULL), BFF_JWT_TOO_LARGE);
    ASSERT_STR_EQ(kid, "");
    small.max_bytes = 0; /* the default cap */
    char *huge = bff_malloc(BFF_JWT_DEFAULT_MAX_BYTES + 2);
    memset(huge, 'A', BFF_JWT_DEFAULT_MAX_BYTES + 1);
    huge[BFF_JWT_DEFAULT_MAX_BYTES + 1] = '\0';
    ASSERT_RESULT(check_with(huge, &small, &fx.set), BFF_JWT_TOO_LARGE);
    free(huge);
    free(buf);
    free(tok);
}

static void test_tampering(void)
{
    for (size_t i = 0; i != NALGS; ++i) {
        char *tok = mint(alg_names[i], 1, CLAIMS);
        flip_signature_byte(tok, 0);
        if (check(tok) != BFF_JWT_BAD_SIGNATURE)
            TAP_FAIL("%s: first signature byte flipped: '%s'", alg_names[i],
                     bff_jwt_result_reason(check(tok)));
        flip_signature_byte(tok, 0);
        flip_signature_byte(tok, -1);
        if (check(tok) != BFF_JWT_BAD_SIGNATURE)
            TAP_FAIL("%s: last signature byte flipped", alg_names[i]);
        free(tok);
        /* Another payload under the first one's signature. */
        char *a = mint(alg_names[i], 1, CLAIMS);
        char *b = mint(alg_names[i], 1, "{" BASE ",\"exp\":1700000060,\"sub\":\"admin\"}");
        char *spliced = bff_malloc(strlen(a) + strlen(b));
        snprintf(spliced, strlen(a) + strlen(b), "%.*s%s", (int)(strrchr(b, '.') - b), b,
                 strrchr(a, '.'));
        if (check(spliced) != BFF_JWT_BAD_SIGNATURE)
            TAP_FAIL("%s: spliced payload accepted", alg_names[i]);
        free(a);
        free(b);
        free(spliced);
    }
    /* Non-canonical trailing bits in the signature: refused like any non-base64url. */
    char *tok = mint("HS256", 1, CLAIMS);
    char *last = tok + strlen(tok) - 1; /* 32 bytes: the last character carries 2 spare bits */
    *last = *last == 'A' ? 'B' : *last == 'Q' ? 'R' : *last == 'g' ? 'h' : 'x';
    ASSERT_RESULT(check(tok), BFF_JWT_MALFORMED);
    free(tok);
}

static void test_key_selection(void)
{
    bff_jwk_set_t set = {0};
    char err[256];
    static const unsigned char secrets[3][33] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                                 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                                 "cccccccccccccccccccccccccccccccc"};
    static const char *const kids[] = {"a", "b", "c"};
    for (int i = 0; i != 3; ++i)
        ASSERT_INT_EQ(bff_jwk_set_add_secret(&set, secrets[i], 32, kids[i], err, sizeof(err)), 0);
    add_pem_or_fail(&set, fx.rsa, "r1");
    add_pem_or_fail(&set, fx.rsa_other, "r2");
    signer_t a = {.alg = "HS256", .secret = secrets[0], .secret_len = 32};
    signer_t b = a, c = a, rogue = a;
    b.secret = secrets[1];
    c.secret = secrets[2];
    rogue.secret = "dddddddddddddddddddddddddddddddd";
    signer_t r2 = {.alg = "RS256", .pkey = fx.rsa_other};
    const struct {
        const char *name, *header;
        const signer_t *by;
        bff_jwt_result_t want;
        const char *kid_out;
    } cases[] = {
        {"kid b by b", "{\"alg\":\"HS256\",\"kid\":\"b\"}", &b, BFF_JWT_OK, "b"},
        {"kid b by a", "{\"alg\":\"HS256\",\"kid\":\"b\"}", &a, BFF_JWT_BAD_SIGNATURE, "b"},
        {"kid unknown", "{\"alg\":\"HS256\",\"kid\":\"zzz\"}", &b, BFF_JWT_UNKNOWN_KID, "zzz"},
        {"kid empty", "{\"alg\":\"HS256\",\"kid\":\"\"}", &b, BFF_JWT_UNKNOWN_KID, ""},
        {"no kid, every HS key tried", "{\"alg\":\"HS256\"}", &c, BFF_JWT_OK, ""},
        {"no kid, no key verifies", "{\"alg\":\"HS256\"}", &rogue, BFF_JWT_BAD_SIGNATURE, ""},
        {"kid r2 by r2", "{\"alg\":\"RS256\",\"kid\":\"r2\"}", &r2, BFF_JWT_OK, "r2"},
        {"kid r1 by r2", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", &r2, BFF_JWT_BAD_SIGNATURE, "r1"},
        {"no kid, RSA by r2", "{\"alg\":\"RS256\"}", &r2, BFF_JWT_OK, ""},
        {"HS kid of an RSA key", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", &a, BFF_JWT_BAD_SIGNATURE,
         "r1"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char *tok = mint_with(cases[i].header, CLAIMS, cases[i].by), kid[128] = "?";
        bff_jwt_result_t got = verify_full(tok, strlen(tok), &policy, &set, kid, NULL);
        if (got != cases[i].want || strcmp(kid, cases[i].kid_out) != 0)
            TAP_FAIL("%s: '%s' kid '%s', expected '%s' kid '%s'", cases[i].name,
                     bff_jwt_result_reason(got), kid, bff_jwt_result_reason(cases[i].want),
                     cases[i].kid_out);
        free(tok);
    }
    /* kid_out is filled whenever the header parsed, whatever came after. */
    bff_jwt_policy_t es_only = policy;
    es_only.algs = BFF_JWT_ES256;
    char *tok = mint("HS256", 1, CLAIMS), kid[128];
    ASSERT_RESULT(verify_full(tok, strlen(tok), &es_only, &fx.set, kid, NULL), BFF_JWT_BAD_ALG);
    ASSERT_STR_EQ(kid, "hs");
    free(tok);
    /* An empty set knows no kid, and verifies nothing. */
    bff_jwk_set_t none = {0};
    tok = mint("EdDSA", 1, CLAIMS);
    ASSERT_RESULT(check_with(tok, &policy, &none), BFF_JWT_UNKNOWN_KID);
    free(tok);
    tok = mint("EdDSA", 0, CLAIMS);
    ASSERT_RESULT(check_with(tok, &policy, &none), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    bff_jwk_set_dispose(&set);
}

static void test_key_families_never_cross(void)
{
    /* Key confusion: HS256 keyed with the RSA public key's PEM, which an attacker knows. */
    size_t pemlen;
    char *pem = pem_of(fx.rsa, 0, &pemlen);
    signer_t confused = {.alg = "HS256", .secret = pem, .secret_len = pemlen};
    char *with_kid = mint_with("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", CLAIMS, &confused);
    char *without = mint_with("{\"alg\":\"HS256\"}", CLAIMS, &confused);
    ASSERT_RESULT(check(with_kid), BFF_JWT_BAD_SIGNATURE);
    ASSERT_RESULT(check(without), BFF_JWT_BAD_SIGNATURE);
    bff_jwk_set_t rsa_only = {0};
    add_pem_or_fail(&rsa_only, fx.rsa, NULL);
    ASSERT_RESULT(check_with(without, &policy, &rsa_only), BFF_JWT_BAD_SIGNATURE);
    bff_jwk_set_dispose(&rsa_only);
    free(with_kid);
    free(without);
    free(pem);
    /* HMAC with an empty secret, which is all an asymmetric key would offer as one. */
    signer_t empty = {.alg = "HS256", .secret = "", .secret_len = 0};
    with_kid = mint_with("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", CLAIMS, &empty);
    without = mint_with("{\"alg\":\"HS256\"}", CLAIMS, &empty);
    ASSERT_RESULT(check(with_kid), BFF_JWT_BAD_SIGNATURE);
    ASSERT_RESULT(check(without), BFF_JWT_BAD_SIGNATURE);
    free(with_kid);
    free(without);
    /* ECDSA on the wrong curve (a P-256 key signing ES384's SHA-384 in its 96-byte form is
     * valid ECDSA, but not ES384), and EdDSA against an RSA key. */
    signer_t es256 = signer("ES256"), ed = signer("EdDSA");
    signer_t es384_by_p256 = {.alg = "ES384", .pkey = fx.p256};
    const struct {
        const char *name, *header;
        const signer_t *by;
    } cases[] = {
        {"ES256 with kid of the P-384 key", "{\"alg\":\"ES256\",\"kid\":\"p384\"}", &es256},
        {"ES384 header, ES256 signature", "{\"alg\":\"ES384\",\"kid\":\"p256\"}", &es256},
        {"ES384 by the P-256 key", "{\"alg\":\"ES384\",\"kid\":\"p256\"}", &es384_by_p256},
        {"ES384 by the P-256 key, no kid", "{\"alg\":\"ES384\"}", &es384_by_p256},
        {"EdDSA with kid of the RSA key", "{\"alg\":\"EdDSA\",\"kid\":\"rsa\"}", &ed},
        {"RS256 with kid of the Ed25519 key", "{\"alg\":\"RS256\",\"kid\":\"ed\"}", &ed},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char *tok = mint_with(cases[i].header, CLAIMS, cases[i].by);
        bff_jwt_result_t got = check(tok);
        if (got != BFF_JWT_BAD_SIGNATURE)
            TAP_FAIL("%s: '%s'", cases[i].name, bff_jwt_result_reason(got));
        free(tok);
    }
    bff_jwk_set_t p384_only = {0};
    add_pem_or_fail(&p384_only, fx.p384, NULL);
    char *tok = mint("ES256", 0, CLAIMS);
    ASSERT_RESULT(check_with(tok, &policy, &p384_only), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    bff_jwk_set_dispose(&p384_only);
}

static void test_pss_parameters(void)
{
    /* RFC 7518 3.5: salt of the digest's length, MGF1 with the same digest; no other. */
    const struct {
        const char *name;
        signer_t by;
        bff_jwt_result_t want;
    } cases[] = {
        {"as specified", {.alg = "PS256", .pkey = fx.rsa}, BFF_JWT_OK},
        {"salt 20 bytes", {.alg = "PS256", .pkey = fx.rsa, .pss_salt = 20}, BFF_JWT_BAD_SIGNATURE},
        {"salt as long as possible",
         {.alg = "PS384", .pkey = fx.rsa, .pss_salt = RSA_PSS_SALTLEN_MAX},
         BFF_JWT_BAD_SIGNATURE},
        {"MGF1 with SHA-1",
         {.alg = "PS256", .pkey = fx.rsa, .mgf1 = "SHA1"},
         BFF_JWT_BAD_SIGNATURE},
        {"PKCS#1 v1.5 under PS256", {.alg = "RS256", .pkey = fx.rsa}, BFF_JWT_BAD_SIGNATURE},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        const char *alg = cases[i].by.alg[0] == 'R' ? "PS256" : cases[i].by.alg;
        char header[64];
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"rsa\"}", alg);
        char *tok = mint_with(header, CLAIMS, &cases[i].by);
        bff_jwt_result_t got = check(tok);
        if (got != cases[i].want)
            TAP_FAIL("%s: '%s'", cases[i].name, bff_jwt_result_reason(got));
        free(tok);
    }
}

static void test_ecdsa_signature_forms(void)
{
    static const char h256[] = "{\"alg\":\"ES256\",\"kid\":\"p256\"}",
                      h384[] = "{\"alg\":\"ES384\",\"kid\":\"p384\"}";
    /* DER, as OpenSSL makes it, is not the JWS form. */
    signer_t der256 = signer("ES256"), der384 = signer("ES384");
    der256.der = der384.der = 1;
    char *tok = mint_with(h256, CLAIMS, &der256);
    ASSERT_RESULT(check(tok), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    tok = mint_with(h384, CLAIMS, &der384);
    ASSERT_RESULT(check(tok), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    /* All-zero signatures, and a zero R or S beside a real other half. */
    unsigned char zeros[96] = {0}, sig[1024];
    tok = assemble(h256, CLAIMS, zeros, 64);
    ASSERT_RESULT(check(tok), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    tok = assemble(h384, CLAIMS, zeros, 96);
    ASSERT_RESULT(check(tok), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    tok = mint("ES256", 1, CLAIMS);
    char *s64 = strrchr(tok, '.') + 1;
    ASSERT_INT_EQ(bff_b64url_decode(s64, strlen(s64), sig), 64);
    unsigned char half_zero[64];
    memcpy(half_zero, sig, 64);
    memset(half_zero, 0, 32);
    char *zero_r = assemble(h256, CLAIMS, half_zero, 64);
    memcpy(half_zero, sig, 64);
    memset(half_zero + 32, 0, 32);
    char *zero_s = assemble(h256, CLAIMS, half_zero, 64);
    ASSERT_RESULT(check(zero_r), BFF_JWT_BAD_SIGNATURE);
    ASSERT_RESULT(check(zero_s), BFF_JWT_BAD_SIGNATURE);
    size_t derlen;
    ASSERT_TRUE(ecdsa_der(zeros, 64, &derlen) == NULL);
    /* One byte short or long. */
    char *shorter = assemble(h256, CLAIMS, sig, 63), *longer;
    sig[64] = 1;
    longer = assemble(h256, CLAIMS, sig, 65);
    ASSERT_RESULT(check(shorter), BFF_JWT_BAD_SIGNATURE);
    ASSERT_RESULT(check(longer), BFF_JWT_BAD_SIGNATURE);
    free(tok);
    free(zero_r);
    free(zero_s);
    free(shorter);
    free(longer);
}

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

static void test_reasons(void)
{
    for (int r = BFF_JWT_OK; r <= BFF_JWT_UNSUPPORTED_CRIT; ++r) {
        const char *s = bff_jwt_result_reason((bff_jwt_result_t)r);
        ASSERT_TRUE(s != NULL && s[0] != '\0');
        for (int o = BFF_JWT_OK; o < r; ++o)
            if (strcmp(s, bff_jwt_result_reason((bff_jwt_result_t)o)) == 0)
                TAP_FAIL("results %d and %d share the reason '%s'", o, r, s);
    }
    ASSERT_STR_EQ(bff_jwt_result_reason(BFF_JWT_EXPIRED), "expired");
    ASSERT_STR_EQ(bff_jwt_result_reason(BFF_JWT_BAD_SIGNATURE), "bad signature");
}

int main(void)
{
    setup();
    TAP_RUN(test_b64url_strict);
    TAP_RUN(test_every_algorithm_verifies);
    TAP_RUN(test_claims);
    TAP_RUN(test_alg_none_is_never_accepted);
    TAP_RUN(test_header_rules);
    TAP_RUN(test_token_form);
    TAP_RUN(test_tampering);
    TAP_RUN(test_key_selection);
    TAP_RUN(test_key_families_never_cross);
    TAP_RUN(test_pss_parameters);
    TAP_RUN(test_ecdsa_signature_forms);
    TAP_RUN(test_jwks_document);
    TAP_RUN(test_jwks_refusals);
    TAP_RUN(test_pem_and_secrets);
    TAP_RUN(test_reasons);
    bff_jwk_set_dispose(&fx.set);
    EVP_PKEY_free(fx.rsa);
    EVP_PKEY_free(fx.rsa_other);
    EVP_PKEY_free(fx.p256);
    EVP_PKEY_free(fx.p384);
    EVP_PKEY_free(fx.ed);
    TAP_DONE();
}
