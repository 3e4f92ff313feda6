/* SHA-256 digests (digest.h). */
#include "server/core/digest.h"

#include <openssl/evp.h>
#include <stdlib.h>

void bff_hex32(const unsigned char in[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i != 32; ++i) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[64] = '\0';
}

void bff_sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        abort(); /* only an OpenSSL without SHA-256 fails here */
    bff_hex32(md, out);
}

void bff_sha256_begin(bff_sha256_t *h)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        abort();
    h->ctx = ctx;
}

void bff_sha256_add(bff_sha256_t *h, const void *data, size_t len)
{
    if (EVP_DigestUpdate(h->ctx, data, len) != 1)
        abort();
}

void bff_sha256_end(bff_sha256_t *h, unsigned char out[32])
{
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(h->ctx, out, &mdlen) != 1 || mdlen != 32)
        abort();
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int bff_unhex32(const char *in, unsigned char out[32])
{
    for (unsigned i = 0; i != 32; ++i) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
