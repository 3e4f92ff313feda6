/* SHA-256 as lower-case hex (OpenSSL's EVP): the key of GraphQL documents for persisted queries,
 * trusted documents and the per-worker document cache. */
#ifndef BFF_SERVER_CORE_DIGEST_H
#define BFF_SERVER_CORE_DIGEST_H

#include <stddef.h>

/** Writes the 64 hex digits and a NUL into out. */
void bff_sha256_hex(const char *data, size_t len, char out[65]);

/** An incremental SHA-256 (cache keys are hashed from several parts). */
typedef struct st_bff_sha256_t {
    void *ctx; /* OpenSSL's EVP_MD_CTX */
} bff_sha256_t;
void bff_sha256_begin(bff_sha256_t *h);
void bff_sha256_add(bff_sha256_t *h, const void *data, size_t len);
/** Writes the digest and frees the context. */
void bff_sha256_end(bff_sha256_t *h, unsigned char out[32]);
/** 32 bytes as 64 lower-case hex digits and a NUL. */
void bff_hex32(const unsigned char in[32], char out[65]);
/** 64 hex digits (either case) back into 32 bytes. Returns 0, or -1 on a non-hex digit. */
int bff_unhex32(const char *in, unsigned char out[32]);

#endif
