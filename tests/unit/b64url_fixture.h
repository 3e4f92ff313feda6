/* Base64url without padding, written here rather than taken from server/auth: the tests and the
 * JWT fuzzer build tokens with an encoder independent of the code they check. */
#ifndef BFF_TEST_B64URL_H
#define BFF_TEST_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* `out` needs (len * 4 + 2) / 3 + 1 bytes. */
static inline void b64url(const void *data, size_t len, char *out)
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

#endif
