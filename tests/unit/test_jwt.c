/* JWT verification (server/auth/jwt.c): tokens signed by the fixture's keys (jwt_fixture.h);
 * most tests are tables whose rows change one thing of a valid token and name the verdict it
 * must get. The keys themselves (jwk.c) are tested in test_jwk.c. */
#include "server/auth/jwk.c"
#include "server/auth/jwt.c"

#include "tests/unit/tap.h"
#include "tests/unit/jwt_fixture.h"

static const char *const alg_names[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                                        "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"};
#define NALGS (sizeof(alg_names) / sizeof(alg_names[0]))

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
    TAP_RUN(test_reasons);
    teardown();
    TAP_DONE();
}
