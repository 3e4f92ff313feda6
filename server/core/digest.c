/* SHA-256 digests (digest.h). */
#include "server/core/digest.h"

#include <openssl/evp.h>
#include <stdlib.h>

void bff_sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        abort(); /* only an OpenSSL without SHA-256 fails here */
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i != 32; ++i) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
