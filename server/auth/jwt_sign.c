/* JWT signing (jwt_sign.h). The key's type must fit the algorithm, as for verification; ECDSA
 * signatures are turned from OpenSSL's DER into JOSE's raw R||S. */
#include "server/auth/jwt_sign.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

size_t bff_b64url_encode(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18], out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63], out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = tab[v >> 18], out[o++] = tab[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = tab[v >> 18], out[o++] = tab[(v >> 12) & 63], out[o++] = tab[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static const char *md_of(const char *alg)
{
    if (strcmp(alg, "EdDSA") == 0)
        return NULL;
    const char *bits = alg + 2;
    return strcmp(bits, "256") == 0 ? "SHA256" : strcmp(bits, "384") == 0 ? "SHA384" : "SHA512";
}

static int key_fits(const char *alg, EVP_PKEY *pkey, char *err, size_t errsize)
{
    int id = EVP_PKEY_get_base_id(pkey);
    char group[32] = "";
    size_t glen = 0;
    if (alg[0] == 'R' || alg[0] == 'P') {
        if (id != EVP_PKEY_RSA) {
            snprintf(err, errsize, "%s needs an RSA private key", alg);
            return 0;
        }
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            snprintf(err, errsize, "the RSA key has fewer than 2048 bits");
            return 0;
        }
        return 1;
    }
    if (strcmp(alg, "EdDSA") == 0) {
        if (id != EVP_PKEY_ED25519)
            snprintf(err, errsize, "EdDSA needs an Ed25519 private key");
        return id == EVP_PKEY_ED25519;
    }
    const char *want = strcmp(alg, "ES256") == 0 ? "prime256v1" : "secp384r1";
    if (id != EVP_PKEY_EC || EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1 ||
        strcmp(group, want) != 0) {
        snprintf(err, errsize, "%s needs an EC private key on %s", alg,
                 strcmp(alg, "ES256") == 0 ? "P-256" : "P-384");
        return 0;
    }
    return 1;
}

int bff_jwt_signer_set_key(bff_jwt_signer_t *s, const char *alg, const char *pem, size_t pem_len,
                           const unsigned char *secret, size_t secret_len, char *err,
                           size_t errsize)
{
    static const char *const algs[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                                       "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"};
    size_t i = 0;
    while (i != sizeof(algs) / sizeof(algs[0]) && strcmp(algs[i], alg) != 0)
        ++i;
    if (i == sizeof(algs) / sizeof(algs[0])) {
        snprintf(err, errsize,
                 "unknown algorithm '%s' (HS256/384/512, RS256/384/512, "
                 "PS256/384/512, ES256, ES384, EdDSA)",
                 alg);
        return -1;
    }
    snprintf(s->alg, sizeof(s->alg), "%s", alg);
    if (alg[0] == 'H') {
        if (secret == NULL || secret_len < 32) {
            snprintf(err, errsize, "%s needs a secret of 32 bytes or more", alg);
            return -1;
        }
        s->secret = bff_malloc(secret_len);
        memcpy(s->secret, secret, secret_len);
        s->secret_len = secret_len;
        return 0;
    }
    if (pem == NULL) {
        snprintf(err, errsize, "%s needs a private key (key: FILE.pem)", alg);
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (pkey == NULL) {
        snprintf(err, errsize, "not a PEM private key");
        return -1;
    }
    if (!key_fits(alg, pkey, err, errsize)) {
        EVP_PKEY_free(pkey);
        return -1;
    }
    s->pkey = pkey;
    return 0;
}

void bff_jwt_signer_dispose(bff_jwt_signer_t *s)
{
    EVP_PKEY_free(s->pkey);
    if (s->secret != NULL)
        OPENSSL_cleanse(s->secret, s->secret_len);
    free(s->secret);
    free(s->kid);
    free(s->issuer);
    free(s->audience);
    for (size_t i = 0; i != s->nclaims; ++i)
        free(s->claims[i]);
    free(s->claims);
    memset(s, 0, sizeof(*s));
}

/* DER ECDSA-Sig-Value into R||S of `half` bytes each. */
static int ecdsa_raw(const unsigned char *der, size_t derlen, size_t half, unsigned char *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (es == NULL)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    int ok = BN_bn2binpad(r, out, (int)half) == (int)half &&
             BN_bn2binpad(s, out + half, (int)half) == (int)half;
    ECDSA_SIG_free(es);
    return ok ? 0 : -1;
}

/* The signature of `input` into sig (at least 1024 bytes); its length, or 0. */
static size_t sign(const bff_jwt_signer_t *s, const char *input, size_t len, unsigned char *sig)
{
    const char *md = md_of(s->alg);
    if (s->alg[0] == 'H') {
        size_t n = 0;
        return EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, s->secret, s->secret_len,
                         (const unsigned char *)input, len, sig, 64, &n) != NULL
                   ? n
                   : 0;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der[160];
    int ec = s->alg[0] == 'E' && s->alg[1] == 'S';
    size_t n = ec ? sizeof(der) : 1024;
    int ok = ctx != NULL && EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, s->pkey, NULL) == 1;
    if (ok && s->alg[0] == 'P') /* RFC 7518 3.5 */
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    ok = ok && EVP_DigestSign(ctx, ec ? der : sig, &n, (const unsigned char *)input, len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return 0;
    if (!ec)
        return n;
    size_t half = strcmp(s->alg, "ES256") == 0 ? 32 : 48;
    return ecdsa_raw(der, n, half, sig) == 0 ? 2 * half : 0;
}

static char *b64_json(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    if (text == NULL)
        return NULL;
    size_t len = strlen(text);
    char *out = bff_malloc(4 * ((len + 2) / 3) + 1);
    bff_b64url_encode((const unsigned char *)text, len, out);
    free(text);
    return out;
}

char *bff_jwt_sign(const bff_jwt_signer_t *s, const char *claims_json, size_t len, int64_t now)
{
    json_t *in = json_loadb(claims_json, len, 0, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        return NULL;
    }
    json_t *header = json_pack("{s:s, s:s}", "alg", s->alg, "typ", "JWT");
    if (s->kid != NULL)
        json_object_set_new(header, "kid", json_string(s->kid));
    json_t *payload = json_object();
    for (size_t i = 0; i != s->nclaims; ++i) {
        json_t *v = json_object_get(in, s->claims[i]);
        if (v != NULL)
            json_object_set(payload, s->claims[i], v);
    }
    json_decref(in);
    json_object_set_new(payload, "iss", json_string(s->issuer));
    json_object_set_new(payload, "aud", json_string(s->audience));
    json_object_set_new(payload, "iat", json_integer(now));
    json_object_set_new(payload, "exp", json_integer(now + (int64_t)s->ttl_s));
    char *h = b64_json(header), *p = b64_json(payload);
    json_decref(header);
    json_decref(payload);
    char *token = NULL;
    if (h != NULL && p != NULL) {
        size_t hl = strlen(h), pl = strlen(p);
        unsigned char sig[1024];
        token = bff_malloc(hl + pl + 2 + 4 * ((sizeof(sig) + 2) / 3) + 1);
        memcpy(token, h, hl);
        token[hl] = '.';
        memcpy(token + hl + 1, p, pl);
        size_t n = sign(s, token, hl + 1 + pl, sig);
        if (n == 0) {
            free(token);
            token = NULL;
        } else {
            token[hl + 1 + pl] = '.';
            bff_b64url_encode(sig, n, token + hl + pl + 2);
        }
    }
    free(h);
    free(p);
    return token;
}
