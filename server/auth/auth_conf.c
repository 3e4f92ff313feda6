/* The profile's `auth:` block (auth_conf.h). */
#include "compose/file.h"
#include "server/auth/auth_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"
#include "server/core/digest.h"

char *bff_auth_path_in(const char *dir, const char *file)
{
    if (file[0] == '/')
        return bff_strdup(file);
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = bff_malloc(n);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

char *bff_auth_read_file(const char *path, size_t *len)
{
    FILE *f = bff_fopen_regular(path, NULL);
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = bff_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) != 0) {
        n += got;
        if (n == cap && cap < (4u << 20))
            buf = bff_realloc(buf, cap *= 2);
        else if (n == cap)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int parse_algorithms(const bff_yaml_node_t *node, bff_diag_t *diag, unsigned *out)
{
    *out = 0;
    if (node == NULL) {
        bff_yaml_error(diag, node, "jwt needs 'algorithms', e.g. [RS256, ES256]");
        return -1;
    }
    if (node->kind != BFF_YAML_SEQ || node->size == 0) {
        bff_yaml_error(diag, node, "'algorithms' is a list such as [RS256, ES256, EdDSA]");
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *a = node->items[i];
        unsigned bit = a->kind == BFF_YAML_SCALAR ? bff_jwt_alg_bit(a->str) : 0;
        if (bit == 0) {
            bff_yaml_error(diag, a,
                           "unknown algorithm '%s' (HS256/384/512, RS256/384/512, PS256/384/512, "
                           "ES256, ES384 or EdDSA; 'none' is never accepted)",
                           a->kind == BFF_YAML_SCALAR ? a->str : "");
            ret = -1;
        }
        *out |= bit;
    }
    return ret;
}

static int parse_keys(const bff_yaml_node_t *node, const char *dir, bff_diag_t *diag,
                      bff_jwk_set_t *set)
{
    if (node == NULL || node->kind != BFF_YAML_SEQ || node->size == 0) {
        bff_yaml_error(diag, node,
                       "jwt needs 'keys': a list of { pem: FILE }, { jwks_file: FILE } "
                       "or { secret: TEXT }, each with an optional kid");
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *k = node->items[i];
        static const char *const keys[] = {"pem", "jwks_file", "secret", "kid", NULL};
        const char *pem = NULL, *jwks = NULL, *secret = NULL, *kid = NULL;
        if (bff_yaml_check_map(diag, k, "a key", keys) != 0 ||
            bff_yaml_get_str(diag, k, "pem", 0, &pem) != 0 ||
            bff_yaml_get_str(diag, k, "jwks_file", 0, &jwks) != 0 ||
            bff_yaml_get_str(diag, k, "secret", 0, &secret) != 0 ||
            bff_yaml_get_str(diag, k, "kid", 0, &kid) != 0) {
            ret = -1;
            continue;
        }
        if ((pem != NULL) + (jwks != NULL) + (secret != NULL) != 1) {
            bff_yaml_error(diag, k, "a key is exactly one of pem, jwks_file or secret");
            ret = -1;
            continue;
        }
        char err[256] = "";
        if (secret != NULL) {
            if (bff_jwk_set_add_secret(set, (const unsigned char *)secret, strlen(secret), kid, err,
                                       sizeof(err)) != 0) {
                bff_yaml_error(diag, bff_yaml_get(k, "secret"), "%s", err);
                ret = -1;
            }
            continue;
        }
        char *path = bff_auth_path_in(dir, pem != NULL ? pem : jwks);
        size_t len;
        char *text = bff_auth_read_file(path, &len);
        const bff_yaml_node_t *at = bff_yaml_get(k, pem != NULL ? "pem" : "jwks_file");
        if (text == NULL) {
            bff_yaml_error(diag, at, "cannot read '%s'", path);
            ret = -1;
        } else if ((pem != NULL ? bff_jwk_set_add_pem(set, text, len, kid, err, sizeof(err))
                                : bff_jwk_set_parse(set, text, len, err, sizeof(err))) != 0) {
            bff_yaml_error(diag, at, "%s: %s", path, err);
            ret = -1;
        }
        free(text);
        free(path);
    }
    return ret;
}

static int parse_jwt(const bff_yaml_node_t *jwt, const char *dir, bff_diag_t *diag,
                     bff_auth_conf_t *c)
{
    static const char *const keys[] = {"algorithms",
                                       "issuer",
                                       "audience",
                                       "leeway",
                                       "max_bytes",
                                       "keys",
                                       "cookie",
                                       "csrf_header",
                                       "csrf_cookie",
                                       "scope_claim",
                                       "plan_claim",
                                       "jwks_url",
                                       "jwks_refresh",
                                       "jwks_min_interval",
                                       NULL};
    if (bff_yaml_check_map(diag, jwt, "jwt", keys) != 0)
        return -1;
    c->jwt = 1;
    int ret = parse_algorithms(bff_yaml_get(jwt, "algorithms"), diag, &c->policy.algs);
    const char *jwks_url = NULL;
    ret |= bff_yaml_get_str(diag, jwt, "jwks_url", 0, &jwks_url);
    if (jwks_url != NULL && strncmp(jwks_url, "http://", 7) != 0 &&
        strncmp(jwks_url, "https://", 8) != 0) {
        bff_yaml_error(diag, bff_yaml_get(jwt, "jwks_url"), "jwks_url is an http(s):// URL");
        ret = -1;
    }
    c->jwks_url = jwks_url != NULL ? bff_strdup(jwks_url) : NULL;
    c->jwks_refresh_ms = 600000;
    c->jwks_min_interval_ms = 30000;
    ret |= bff_yaml_get_duration_ms(diag, jwt, "jwks_refresh", &c->jwks_refresh_ms);
    ret |= bff_yaml_get_duration_ms(diag, jwt, "jwks_min_interval", &c->jwks_min_interval_ms);
    if (jwks_url == NULL || bff_yaml_get(jwt, "keys") != NULL)
        ret |= parse_keys(bff_yaml_get(jwt, "keys"), dir, diag, &c->keys);
    const char *issuer = NULL, *cookie = NULL, *csrf_header = NULL, *csrf_cookie = NULL,
               *scope = NULL, *plan = NULL;
    ret |= bff_yaml_get_str(diag, jwt, "issuer", 0, &issuer);
    ret |= bff_yaml_get_str(diag, jwt, "cookie", 0, &cookie);
    ret |= bff_yaml_get_str(diag, jwt, "csrf_header", 0, &csrf_header);
    ret |= bff_yaml_get_str(diag, jwt, "csrf_cookie", 0, &csrf_cookie);
    ret |= bff_yaml_get_str(diag, jwt, "scope_claim", 0, &scope);
    ret |= bff_yaml_get_str(diag, jwt, "plan_claim", 0, &plan);
    uint64_t leeway = 30000, max_bytes = 8192;
    ret |= bff_yaml_get_duration_ms(diag, jwt, "leeway", &leeway);
    ret |= bff_yaml_get_size(diag, jwt, "max_bytes", &max_bytes);
    c->issuer = issuer != NULL ? bff_strdup(issuer) : NULL;
    c->cookie = cookie != NULL ? bff_strdup(cookie) : NULL;
    c->csrf_header = bff_strdup(csrf_header != NULL ? csrf_header : "x-csrf-token");
    c->csrf_cookie = bff_strdup(csrf_cookie != NULL ? csrf_cookie : "csrf");
    c->scope_claim = bff_strdup(scope != NULL ? scope : "scope");
    c->plan_claim = bff_strdup(plan != NULL ? plan : "plan");
    for (char *p = c->csrf_header; *p; ++p)
        *p = (char)tolower((unsigned char)*p);
    const bff_yaml_node_t *aud = bff_yaml_get(jwt, "audience");
    if (aud != NULL) {
        size_t n = aud->kind == BFF_YAML_SEQ ? aud->size : 1;
        const bff_yaml_node_t *const *items =
            aud->kind == BFF_YAML_SEQ ? (const bff_yaml_node_t *const *)aud->items : &aud;
        c->audiences = bff_calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i != n; ++i) {
            if (items[i]->kind != BFF_YAML_SCALAR) {
                bff_yaml_error(diag, items[i], "an audience is a string");
                ret = -1;
                continue;
            }
            c->audiences[c->naudiences++] = bff_strdup(items[i]->str);
        }
    }
    c->policy.issuer = c->issuer;
    c->policy.audiences = (const char *const *)c->audiences;
    c->policy.naudiences = c->naudiences;
    c->policy.leeway_s = (int64_t)(leeway / 1000);
    c->policy.max_bytes = (size_t)max_bytes;
    return ret;
}

static int hex32(const char *s, unsigned char out[32])
{
    return strlen(s) == 64 ? bff_unhex32(s, out) : -1;
}

/* keys file: a list of { name, sha256, plan, routes } */
static int parse_api_keys(const bff_yaml_node_t *node, const char *dir, bff_diag_t *diag,
                          bff_auth_conf_t *c)
{
    static const char *const keys[] = {"header", "file", NULL};
    if (bff_yaml_check_map(diag, node, "api_keys", keys) != 0)
        return -1;
    const char *header = NULL, *file = NULL;
    int ret = bff_yaml_get_str(diag, node, "header", 0, &header);
    ret |= bff_yaml_get_str(diag, node, "file", 1, &file);
    c->api_key_header = bff_strdup(header != NULL ? header : "x-api-key");
    for (char *p = c->api_key_header; *p; ++p)
        *p = (char)tolower((unsigned char)*p);
    if (file == NULL)
        return -1;
    char *path = bff_auth_path_in(dir, file);
    bff_yaml_doc_t *doc = bff_yaml_load_file(path, diag);
    free(path);
    if (doc == NULL)
        return -1;
    const bff_yaml_node_t *list = bff_yaml_root(doc);
    if (list->kind != BFF_YAML_SEQ) {
        bff_yaml_error(diag, list, "an API keys file is a list of { name, sha256, plan, routes }");
        bff_yaml_free(doc);
        return -1;
    }
    c->api_keys = bff_calloc(list->size ? list->size : 1, sizeof(*c->api_keys));
    for (size_t i = 0; i != list->size; ++i) {
        const bff_yaml_node_t *k = list->items[i];
        static const char *const kkeys[] = {"name", "sha256", "plan", "routes", NULL};
        const char *name = NULL, *hash = NULL, *plan = NULL;
        if (bff_yaml_check_map(diag, k, "an API key", kkeys) != 0 ||
            bff_yaml_get_str(diag, k, "name", 1, &name) != 0 ||
            bff_yaml_get_str(diag, k, "sha256", 1, &hash) != 0 ||
            bff_yaml_get_str(diag, k, "plan", 0, &plan) != 0) {
            ret = -1;
            continue;
        }
        bff_api_key_t *ak = c->api_keys + c->napi_keys;
        if (hex32(hash, ak->hash) != 0) {
            bff_yaml_error(diag, bff_yaml_get(k, "sha256"),
                           "sha256 is the key's SHA-256 in 64 hex digits "
                           "(printf %%s KEY | sha256sum)");
            ret = -1;
            continue;
        }
        ak->name = bff_strdup(name);
        ak->plan = plan != NULL ? bff_strdup(plan) : NULL;
        const bff_yaml_node_t *routes = bff_yaml_get(k, "routes");
        if (routes != NULL && routes->kind == BFF_YAML_SEQ) {
            ak->routes = bff_calloc(routes->size ? routes->size : 1, sizeof(char *));
            for (size_t r = 0; r != routes->size; ++r)
                if (routes->items[r]->kind == BFF_YAML_SCALAR)
                    ak->routes[ak->nroutes++] = bff_strdup(routes->items[r]->str);
        } else if (routes != NULL) {
            bff_yaml_error(diag, routes, "routes is a list of path prefixes such as [/v2/]");
            ret = -1;
        }
        ++c->napi_keys;
    }
    ret |= bff_yaml_doc_failed(doc) ? -1 : 0;
    bff_yaml_free(doc);
    return ret;
}

static int parse_claim_headers(const bff_yaml_node_t *node, bff_diag_t *diag, bff_auth_conf_t *c)
{
    if (node->kind != BFF_YAML_MAP) {
        bff_yaml_error(diag, node,
                       "claims_to_headers maps a claim to a header: { sub: X-User-ID }");
        return -1;
    }
    int ret = 0;
    if (node->size > 16) {
        bff_yaml_error(diag, node, "at most 16 claims_to_headers");
        return -1;
    }
    c->claim_headers = bff_calloc(node->size ? node->size : 1, sizeof(*c->claim_headers));
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *v = node->items[i];
        int ok = v->kind == BFF_YAML_SCALAR && v->len != 0;
        for (size_t k = 0; ok && k != v->len; ++k)
            ok = isalnum((unsigned char)v->str[k]) || v->str[k] == '-' || v->str[k] == '_';
        if (!ok) {
            bff_yaml_error(diag, v, "a header name such as X-User-ID");
            ret = -1;
            continue;
        }
        bff_claim_header_t *ch = c->claim_headers + c->nclaim_headers++;
        ch->claim = bff_strdup(node->keys[i]->str);
        ch->header = bff_strdup(v->str);
    }
    return ret;
}

int bff_auth_conf_parse(const bff_yaml_node_t *node, const char *dir, bff_diag_t *diag,
                        bff_auth_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->token_cache_bytes = 8u << 20;
    if (node == NULL)
        return 0;
    static const char *const keys[] = {"jwt", "api_keys", "claims_to_headers", "token_cache", NULL};
    if (bff_yaml_check_map(diag, node, "auth", keys) != 0)
        return -1;
    c->present = 1;
    int ret = 0;
    const bff_yaml_node_t *jwt = bff_yaml_get(node, "jwt"), *ak = bff_yaml_get(node, "api_keys"),
                          *ch = bff_yaml_get(node, "claims_to_headers");
    if (jwt == NULL && ak == NULL) {
        bff_yaml_error(diag, node, "auth needs 'jwt' or 'api_keys' (or both)");
        ret = -1;
    }
    if (jwt != NULL)
        ret |= parse_jwt(jwt, dir, diag, c);
    if (ak != NULL)
        ret |= parse_api_keys(ak, dir, diag, c);
    if (ch != NULL)
        ret |= parse_claim_headers(ch, diag, c);
    ret |= bff_yaml_get_size(diag, node, "token_cache", &c->token_cache_bytes);
    return ret;
}

void bff_auth_conf_dispose(bff_auth_conf_t *c)
{
    free(c->issuer);
    for (size_t i = 0; i != c->naudiences; ++i)
        free(c->audiences[i]);
    free(c->audiences);
    bff_jwk_set_dispose(&c->keys);
    free(c->jwks_url);
    free(c->cookie);
    free(c->csrf_header);
    free(c->csrf_cookie);
    free(c->scope_claim);
    free(c->plan_claim);
    free(c->api_key_header);
    for (size_t i = 0; i != c->napi_keys; ++i) {
        free(c->api_keys[i].name);
        free(c->api_keys[i].plan);
        for (size_t r = 0; r != c->api_keys[i].nroutes; ++r)
            free(c->api_keys[i].routes[r]);
        free(c->api_keys[i].routes);
    }
    free(c->api_keys);
    for (size_t i = 0; i != c->nclaim_headers; ++i) {
        free(c->claim_headers[i].claim);
        free(c->claim_headers[i].header);
    }
    free(c->claim_headers);
    memset(c, 0, sizeof(*c));
}
