/* TLS for the demo upstream (--tls-cert/--tls-key): HTTP/2 and HTTP/1.1 by ALPN, so benchmarks
 * can measure bffd's `http2: true` against the HTTP/1.1 it uses by default. */
#ifndef DEMO_TLS_H
#define DEMO_TLS_H

#include <openssl/ssl.h>

/** A server context for certificate and key (PEM files), or NULL after a message on stderr. */
SSL_CTX *demo_tls_ctx(const char *certificate, const char *key);

#endif
