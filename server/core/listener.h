/* Listening sockets and TLS contexts for profiles. Sockets use SO_REUSEPORT so that each worker
 * has its own and the kernel spreads connections across them. */
#ifndef BFF_SERVER_LISTENER_H
#define BFF_SERVER_LISTENER_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/socket.h>

/** Resolves host:port. Returns 0, or -1 after printing why. */
int bff_listener_resolve(const char *host, unsigned short port, struct sockaddr_storage *addr,
                         socklen_t *addrlen);
/** Opens a non-blocking SO_REUSEPORT listening socket. Returns the fd, or -1 with errno set. */
int bff_listener_open(const struct sockaddr_storage *addr, socklen_t addrlen);
/** The port a socket is bound to (to learn what port 0 became). */
unsigned short bff_listener_port(int fd);
/** Creates a TLS context with ALPN h2 / http/1.1. Returns NULL with the reason in `err`. */
SSL_CTX *bff_listener_ssl_ctx(const char *certificate, const char *key, char *err, size_t errsize);

#endif
