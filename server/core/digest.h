/* SHA-256 as lower-case hex (OpenSSL's EVP): the key of GraphQL documents for persisted queries,
 * trusted documents and the per-worker document cache. */
#ifndef BFF_SERVER_CORE_DIGEST_H
#define BFF_SERVER_CORE_DIGEST_H

#include <stddef.h>

/** Writes the 64 hex digits and a NUL into out. */
void bff_sha256_hex(const char *data, size_t len, char out[65]);

#endif
