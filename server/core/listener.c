/* Socket and TLS set-up for listeners; accepting connections is the worker's job. */
#include "server/core/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int bff_listener_resolve(const char *host, unsigned short port, struct sockaddr_storage *addr,
                         socklen_t *addrlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    int err = getaddrinfo(host, portstr, &hints, &res);
    if (err != 0 || res == NULL) {
        fprintf(stderr, "bffd: cannot resolve listen address %s: %s\n", host, gai_strerror(err));
        return -1;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int bff_listener_open(const struct sockaddr_storage *addr, socklen_t addrlen)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    /* Accepted sockets inherit a fixed receive buffer. libh2o reads until the kernel has nothing
     * more, doubling its input buffer as it goes: with autotuning (up to tcp_rmem's 32 MiB) a
     * client that sends without pause grew one connection's buffer by 16 MiB. Requests are small
     * (bodies 1 MiB by default); 256 KiB (the kernel doubles it) keeps uploads at line rate on a
     * LAN and caps that buffer near 1 MiB. */
    int rcvbuf = 256 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(fd, (const struct sockaddr *)addr, addrlen) != 0 || listen(fd, 1024) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

unsigned short bff_listener_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

SSL_CTX *bff_listener_ssl_ctx(const char *certificate, const char *key, char *err, size_t errsize)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* TLS 1.2: forward-secret AEAD suites only (Mozilla's "intermediate" set); TLS 1.3 keeps
     * OpenSSL's defaults, which are all AEAD. No renegotiation (a client-driven CPU cost and a
     * history of attacks), no compression (CRIME). */
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                 "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                                 "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384");
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate) != 1) {
        snprintf(err, errsize, "%s: cannot load TLS certificate: %s", certificate,
                 ERR_reason_error_string(ERR_get_error()));
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errsize, "%s: cannot load TLS key (or it does not match the certificate): %s",
                 key, ERR_reason_error_string(ERR_get_error()));
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    return ctx;
}
