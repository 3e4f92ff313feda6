/* The client's address (client_addr.h). */
#include "server/http/client_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "compose/mem.h"

static int parse_one(const char *s, bff_cidr_t *c)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, buf, c->addr) == 1)
        c->family = AF_INET, c->prefix = 32;
    else if (inet_pton(AF_INET6, buf, c->addr) == 1)
        c->family = AF_INET6, c->prefix = 128;
    else
        return -1;
    if (slash != NULL) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || p < 0 || (unsigned long)p > c->prefix)
            return -1;
        c->prefix = (unsigned)p;
    }
    return 0;
}

int bff_cidrs_parse(const bff_yaml_node_t *node, bff_diag_t *diag, bff_cidr_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (node == NULL)
        return 0;
    if (node->kind != BFF_YAML_SEQ) {
        bff_yaml_error(diag, node, "trusted_proxies is a list such as [10.0.0.0/8, 127.0.0.1]");
        return -1;
    }
    int ret = 0;
    *out = bff_calloc(node->size ? node->size : 1, sizeof(**out));
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *v = node->items[i];
        if (v->kind != BFF_YAML_SCALAR || parse_one(v->str, *out + *n) != 0) {
            bff_yaml_error(diag, v, "not an address or CIDR: '%s'",
                           v->kind == BFF_YAML_SCALAR ? v->str : "");
            ret = -1;
            continue;
        }
        ++*n;
    }
    return ret;
}

static int in_cidr(const bff_cidr_t *c, int family, const unsigned char *addr)
{
    if (c->family != family)
        return 0;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, addr, full) != 0)
        return 0;
    return rest == 0 || ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static int trusted(const bff_cidr_t *t, size_t n, int family, const unsigned char *addr)
{
    for (size_t i = 0; i != n; ++i)
        if (in_cidr(t + i, family, addr))
            return 1;
    return 0;
}

int bff_cidrs_contain(const bff_cidr_t *list, size_t n, const char *addr)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, addr, a) == 1)
        return trusted(list, n, AF_INET, a);
    if (inet_pton(AF_INET6, addr, a) == 1)
        return trusted(list, n, AF_INET6, a);
    return 0;
}

/* An address of X-Forwarded-For (spaces trimmed): 0 and its bytes, or -1. */
static int parse_addr(const char *s, size_t len, int *family, unsigned char addr[16])
{
    while (len != 0 && (*s == ' ' || *s == '\t'))
        ++s, --len;
    while (len != 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        --len;
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, buf, addr) == 1)
        *family = AF_INET6;
    else
        return -1;
    return 0;
}

/* An IPv4 address mapped into IPv6 (::ffff:1.2.3.4, a dual-stack listener's view of an IPv4
 * client or proxy) is that IPv4 address: for trusted_proxies and ip_allow/deny lists, one
 * rate-limit key per client, one spelling in the log. */
static void unmap(int *family, unsigned char addr[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (*family == AF_INET6 && memcmp(addr, mapped, 12) == 0) {
        memmove(addr, addr + 12, 4);
        *family = AF_INET;
    }
}

/* The socket's peer: 0 and its family and bytes (IPv4-mapped unmapped), or -1 when unknown. */
static int peer_address(h2o_req_t *req, int *family, unsigned char addr[16])
{
    struct sockaddr_storage ss;
    if (req->conn->callbacks->get_peername == NULL ||
        req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) == 0)
        return -1;
    *family = ss.ss_family;
    if (*family == AF_INET6)
        memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    else
        memcpy(addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    unmap(family, addr);
    return 0;
}

int bff_request_is_https(h2o_req_t *req, const bff_cidr_t *t, size_t nt)
{
    if (req->scheme == &H2O_URL_SCHEME_HTTPS)
        return 1;
    int family;
    unsigned char addr[16];
    if (nt == 0 || peer_address(req, &family, addr) != 0 || !trusted(t, nt, family, addr))
        return 0;
    /* The nearest proxy's word: the last value of the last line. */
    ssize_t h = -1;
    for (ssize_t next = -1; (next = h2o_find_header_by_str(
                                 &req->headers, H2O_STRLIT("x-forwarded-proto"), next)) != -1;)
        h = next;
    if (h < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[h].value;
    size_t end = v.len, start;
    while (end != 0 && (v.base[end - 1] == ' ' || v.base[end - 1] == '\t'))
        --end;
    for (start = end; start != 0 && v.base[start - 1] != ','; --start)
        ;
    while (start < end && (v.base[start] == ' ' || v.base[start] == '\t'))
        ++start;
    return h2o_lcstris(v.base + start, end - start, H2O_STRLIT("https"));
}

size_t bff_client_address(h2o_req_t *req, const bff_cidr_t *t, size_t nt, char *buf, size_t size)
{
    int family;
    unsigned char addr[16];
    if (peer_address(req, &family, addr) != 0)
        return 0;
    /* Through trusted proxies only: the right-most address that is not one of them. */
    ssize_t h = nt != 0 && trusted(t, nt, family, addr)
                    ? h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-for"), -1)
                    : -1;
    if (h >= 0) {
        /* The last X-Forwarded-For line holds the nearest hops. */
        for (ssize_t next = h; (next = h2o_find_header_by_str(
                                    &req->headers, H2O_STRLIT("x-forwarded-for"), next)) != -1;)
            h = next;
        h2o_iovec_t v = req->headers.entries[h].value;
        size_t end = v.len;
        while (end != 0) {
            size_t start = end;
            while (start != 0 && v.base[start - 1] != ',')
                --start;
            int f;
            unsigned char a[16];
            if (parse_addr(v.base + start, end - start, &f, a) != 0)
                break; /* a malformed hop: stop at the last good one */
            family = f;
            memcpy(addr, a, 16);
            unmap(&family, addr);
            if (!trusted(t, nt, family, addr))
                break;
            end = start != 0 ? start - 1 : 0;
        }
    }
    if (inet_ntop(family, addr, buf, (socklen_t)size) == NULL)
        return 0;
    return strlen(buf);
}
