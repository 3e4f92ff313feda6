/* The client's address as every part of bffd sees it (per-IP rate limits, the access log): the
 * socket's peer, or, when that peer is a proxy the profile trusts, the right-most address of
 * X-Forwarded-For that is not a trusted proxy. */
#ifndef BFF_SERVER_HTTP_CLIENT_ADDR_H
#define BFF_SERVER_HTTP_CLIENT_ADDR_H

#include <h2o.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"

typedef struct st_bff_cidr_t {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;
} bff_cidr_t;

/** `trusted_proxies:` of profile.yaml: a list of addresses or CIDRs. Returns 0, or -1 after
 * reporting. */
int bff_cidrs_parse(const bff_yaml_node_t *node, bff_diag_t *diag, bff_cidr_t **out, size_t *n);
/** 1 when the address text `addr` is inside one of `list`. */
int bff_cidrs_contain(const bff_cidr_t *list, size_t n, const char *addr);
/** Writes the client's address (text) into buf (at least 64 bytes); returns its length, 0 when
 * unknown. */
size_t bff_client_address(h2o_req_t *req, const bff_cidr_t *trusted, size_t ntrusted, char *buf,
                          size_t size);
/** 1 when the client is known to have used HTTPS: bffd's own TLS listener, or a trusted proxy's
 * X-Forwarded-Proto (its last value) saying https. */
int bff_request_is_https(h2o_req_t *req, const bff_cidr_t *trusted, size_t ntrusted);

#endif
