/* Stage: authentication and authorization of routes (and the GraphQL endpoint) that ask for it.
 * Credentials, in this order: an API key header, a bearer token, the session cookie (with its
 * CSRF rule for state-changing requests). A verified principal goes to r->principal: its claims
 * are the request doc's `auth`, chosen claims become upstream headers (a client's own copies of
 * those headers are dropped here), and its plan picks its rate limit. 401 (with
 * WWW-Authenticate) when credentials are missing or invalid, 403 when they are not enough;
 * error bodies never echo a credential. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compose/mem.h"
#include "server/auth/jwks.h"
#include "server/auth/claims.h"
#include "server/auth/principal.h"
#include "server/cache/l1.h"
#include "server/core/digest.h"
#include "server/http/client_addr.h"
#include "server/http/respond.h"
#include "server/obs/metrics.h"
#include "server/stage/pipeline.h"

const bff_access_t *bff_req_access(const bff_req_t *r)
{
    if (r->route.spec != NULL)
        return &r->route.spec->access;
    return r->profile->graph != NULL ? &r->profile->graph->access : NULL;
}

/* verify_token's reason when the JWKS never came: a 503, not the token's 401. */
static const char keys_unavailable[] = "keys unavailable";

static void respond_401(bff_req_t *r, const char *error, const char *reason)
{
    h2o_req_t *req = r->req;
    atomic_fetch_add_explicit(&r->site->metrics->auth_refused, 1, memory_order_relaxed);
    char challenge[200];
    int n = error != NULL
                ? snprintf(challenge, sizeof(challenge),
                           "Bearer realm=\"bffd\", error=\"%s\", error_description=\"%s\"", error,
                           reason)
                : snprintf(challenge, sizeof(challenge), "Bearer realm=\"bffd\"");
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                   h2o_strdup(&req->pool, challenge, (size_t)n).base, (size_t)n);
    char msg[160];
    snprintf(msg, sizeof(msg),
             error != NULL ? "the credentials were refused: %s" : "this route needs credentials%s",
             error != NULL ? reason : "");
    bff_stage_refuse(r, 401, "unauthorized", msg, NULL);
}

static void respond_403(bff_req_t *r, const char *msg)
{
    atomic_fetch_add_explicit(&r->site->metrics->auth_refused, 1, memory_order_relaxed);
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                   H2O_STRLIT("Bearer realm=\"bffd\", error=\"insufficient_scope\""));
    bff_stage_refuse(r, 403, "forbidden", msg, NULL);
}

static h2o_iovec_t pool_str(h2o_req_t *req, const char *s)
{
    return h2o_strdup(&req->pool, s, strlen(s));
}

/* Who the claims name, for rate-limit keys: `sub` (a number as its text); without one, a digest
 * of the claims but those that change from token to token (keys sorted, so every instance
 * agrees), so tokens without a subject do not all share one bucket, and a client's refreshed
 * token keeps its bucket. */
static h2o_iovec_t principal_id(h2o_req_t *req, json_t *claims)
{
    json_t *sub = json_object_get(claims, "sub");
    char buf[64];
    if (json_is_string(sub))
        return pool_str(req, json_string_value(sub));
    if (json_is_integer(sub)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(sub));
        return pool_str(req, buf);
    }
    static const char *const per_token[] = {"exp", "iat", "nbf", "jti", "auth_time"};
    json_t *lasting = json_copy(claims);
    for (size_t i = 0; lasting != NULL && i != sizeof(per_token) / sizeof(per_token[0]); ++i)
        json_object_del(lasting, per_token[i]);
    char *canon = lasting != NULL ? json_dumps(lasting, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(lasting);
    char hex[65];
    bff_sha256_hex(canon != NULL ? canon : "", canon != NULL ? strlen(canon) : 0, hex);
    free(canon);
    snprintf(buf, sizeof(buf), "claims:%.16s", hex);
    return pool_str(req, buf);
}

/* The principal of verified claims: id, plan, scopes, the doc's `auth`, upstream headers. */
static bff_principal_t *principal_of_claims(bff_req_t *r, const char *kind, json_t *claims)
{
    h2o_req_t *req = r->req;
    const bff_auth_conf_t *ac = &r->profile->auth;
    bff_principal_t *p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    char buf[1024];
    p->id = principal_id(req, claims);
    json_t *plan = json_object_get(claims, ac->plan_claim ? ac->plan_claim : "plan");
    if (json_is_string(plan))
        p->plan = pool_str(req, json_string_value(plan));
    const char *scopes = bff_claims_scopes(claims, ac->scope_claim, buf, sizeof(buf));
    if (scopes != NULL)
        p->scopes = pool_str(req, scopes);
    char *json = json_dumps(claims, JSON_COMPACT);
    p->claims_json = json != NULL ? pool_str(req, json) : h2o_iovec_init(H2O_STRLIT("{}"));
    free(json);
    p->upstream_headers =
        h2o_mem_alloc_pool(&req->pool, sizeof(const char *) * (ac->nclaim_headers + 1));
    for (size_t i = 0; i != ac->nclaim_headers; ++i) {
        char value[900];
        int n = bff_claim_text(json_object_get(claims, ac->claim_headers[i].claim), value,
                               sizeof(value));
        if (n <= 0 || strpbrk(value, "\r\n") != NULL)
            continue;
        snprintf(buf, sizeof(buf), "%s: %s", ac->claim_headers[i].header, value);
        p->upstream_headers[p->nupstream_headers++] = pool_str(req, buf).base;
    }
    return p;
}

static int has_scopes(const bff_principal_t *p, const bff_access_t *a, const char **missing)
{
    for (size_t i = 0; i != a->nscopes; ++i) {
        size_t n = strlen(a->scopes[i]);
        const char *s = p->scopes.base, *end = s + p->scopes.len;
        int found = 0;
        while (s < end && !found) {
            const char *sp = memchr(s, ' ', (size_t)(end - s));
            size_t len = (size_t)((sp != NULL ? sp : end) - s);
            found = len == n && memcmp(s, a->scopes[i], n) == 0;
            s += len + 1;
        }
        if (!found) {
            *missing = a->scopes[i];
            return 0;
        }
    }
    return 1;
}

/* Verified tokens per worker and profile, by the token's hash and the configuration's
 * generation (a reload's new keys never meet an old verdict), never past `exp`. The blob is
 * the claims' JSON. */
/* A principal as the token cache keeps it: its strings, each ended by a NUL, in the order
 * id, plan, scopes, claims JSON, then the upstream header lines. */
static char *principal_blob(const bff_principal_t *p, size_t *len)
{
    size_t n = p->id.len + p->plan.len + p->scopes.len + p->claims_json.len + 4;
    for (size_t i = 0; i != p->nupstream_headers; ++i)
        n += strlen(p->upstream_headers[i]) + 1;
    char *blob = bff_malloc(n), *w = blob;
    const h2o_iovec_t parts[] = {p->id, p->plan, p->scopes, p->claims_json};
    for (size_t i = 0; i != 4; ++i) {
        if (parts[i].len != 0) /* an empty part may have no base */
            memcpy(w, parts[i].base, parts[i].len);
        w += parts[i].len;
        *w++ = '\0';
    }
    for (size_t i = 0; i != p->nupstream_headers; ++i) {
        size_t l = strlen(p->upstream_headers[i]) + 1;
        memcpy(w, p->upstream_headers[i], l);
        w += l;
    }
    *len = n;
    return blob;
}

static bff_principal_t *principal_from_blob(bff_req_t *r, const char *kind, const char *blob,
                                            size_t len)
{
    h2o_req_t *req = r->req;
    char *copy = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(copy, blob, len);
    bff_principal_t *p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    h2o_iovec_t *parts[] = {&p->id, &p->plan, &p->scopes, &p->claims_json};
    const char *c = copy, *end = copy + len;
    for (size_t i = 0; i != 4; ++i) {
        size_t l = strnlen(c, (size_t)(end - c));
        *parts[i] = h2o_iovec_init(c, l);
        c += l + 1;
    }
    p->upstream_headers =
        h2o_mem_alloc_pool(&req->pool, sizeof(const char *) * BFF_MAX_CLAIM_HEADERS);
    while (c < end && p->nupstream_headers != BFF_MAX_CLAIM_HEADERS) {
        p->upstream_headers[p->nupstream_headers++] = c;
        c += strnlen(c, (size_t)(end - c)) + 1;
    }
    return p;
}

/* Verifies a token into its principal; NULL with *reason set. Verified tokens are kept per
 * worker and profile, by the token's hash and the configuration's generation (a reload's new
 * keys never meet an old verdict), never past `exp`. */
static bff_principal_t *verify_token(bff_req_t *r, const char *kind, const char *token, size_t len,
                                     const char **reason)
{
    const bff_auth_conf_t *ac = &r->profile->auth;
    unsigned char key[32];
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, &r->view->config->generation, sizeof(r->view->config->generation));
    uint64_t keys_version = r->site->jwks != NULL ? bff_jwks_version(r->site->jwks) : 0;
    bff_sha256_add(&h, &keys_version, sizeof(keys_version));
    bff_sha256_add(&h, token, len);
    bff_sha256_end(&h, key);
    bff_l1_t *tc = r->site->token_cache;
    const char *blob;
    size_t blen;
    if (tc != NULL && bff_l1_get(tc, key, (uint64_t)time(NULL) * 1000, &blob, &blen) == 0)
        return principal_from_blob(r, kind, blob, blen);
    json_t *claims;
    bff_jwt_result_t res =
        bff_jwt_verify(token, len, &ac->policy, &ac->keys, (int64_t)time(NULL), &claims, NULL);
    bff_jwks_t *jwks = r->site->jwks;
    bff_jwt_result_t configured = res;       /* what the profile's own keys said */
    if (res != BFF_JWT_OK && jwks != NULL) { /* the identity provider's keys, as fetched */
        const bff_jwk_set_t *fetched = bff_jwks_keys(jwks);
        res = bff_jwt_verify(token, len, &ac->policy, fetched, (int64_t)time(NULL), &claims, NULL);
        if ((res == BFF_JWT_UNKNOWN_KID || fetched->nkeys == 0) && !r->auth_retried) {
            *reason = NULL; /* rotated keys, maybe: fetch them once, then decide */
            return NULL;
        }
        if (res != BFF_JWT_OK && fetched->nkeys == 0 &&
            (ac->keys.nkeys == 0 || configured == BFF_JWT_UNKNOWN_KID)) {
            *reason = keys_unavailable; /* the provider's keys never came: not the token's fault */
            return NULL;
        }
    }
    if (res != BFF_JWT_OK) {
        *reason = bff_jwt_result_reason(res);
        return NULL;
    }
    bff_principal_t *p = principal_of_claims(r, kind, claims);
    json_t *exp = json_object_get(claims, "exp");
    if (ac->token_cache_bytes != 0 && json_is_number(exp)) {
        if (tc == NULL)
            tc = r->site->token_cache = bff_l1_create((size_t)ac->token_cache_bytes);
        char *b = principal_blob(p, &blen);
        bff_l1_put(tc, key, b, blen, (uint64_t)json_number_value(exp) * 1000);
        free(b);
    }
    json_decref(claims);
    return p;
}

/* The named cookie's value among the request's Cookie headers. */
/* A field value without the spaces and tabs around it, which are not part of it (RFC 9110
 * 5.5); HTTP/1.1 as libh2o 2.2.5 parses it keeps those after the value. */
static h2o_iovec_t trim_ows(h2o_iovec_t v)
{
    while (v.len != 0 && (v.base[0] == ' ' || v.base[0] == '\t'))
        ++v.base, --v.len;
    while (v.len != 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t'))
        --v.len;
    return v;
}

static h2o_iovec_t cookie_value(h2o_req_t *req, const char *name)
{
    size_t nlen = strlen(name);
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        size_t p = 0;
        while (p < v.len) {
            while (p < v.len && (v.base[p] == ' ' || v.base[p] == ';'))
                ++p;
            size_t start = p;
            while (p < v.len && v.base[p] != ';')
                ++p;
            if (p - start > nlen && memcmp(v.base + start, name, nlen) == 0 &&
                v.base[start + nlen] == '=')
                return trim_ows(h2o_iovec_init(v.base + start + nlen + 1, p - start - nlen - 1));
        }
    }
    return h2o_iovec_init(NULL, 0);
}

static int is_safe_method(h2o_iovec_t m)
{
    return h2o_memis(m.base, m.len, H2O_STRLIT("GET")) ||
           h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")) ||
           h2o_memis(m.base, m.len, H2O_STRLIT("OPTIONS"));
}

/* A cookie-authenticated write needs proof it comes from the site itself: the CSRF header equal
 * to the CSRF cookie (double submit), or an Origin naming this host, over https when the request
 * is known to have come over https (a page on http://this-host, which a network attacker can
 * write, is another origin, though browsers send it the site's cookies). Where bffd cannot tell
 * (a TLS proxy in front that sends no X-Forwarded-Proto), either scheme is taken. */
static int csrf_ok(bff_req_t *r)
{
    h2o_req_t *req = r->req;
    const bff_auth_conf_t *ac = &r->profile->auth;
    if (is_safe_method(req->method))
        return 1;
    ssize_t h = h2o_find_header_by_str(&req->headers, ac->csrf_header, strlen(ac->csrf_header), -1);
    h2o_iovec_t c = cookie_value(req, ac->csrf_cookie);
    h2o_iovec_t hv = h >= 0 ? trim_ows(req->headers.entries[h].value) : h2o_iovec_init(NULL, 0);
    if (h >= 0 && c.len >= 16 && hv.len == c.len && CRYPTO_memcmp(hv.base, c.base, c.len) == 0)
        return 1;
    ssize_t o = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    if (o < 0)
        return 0;
    h2o_iovec_t origin = req->headers.entries[o].value;
    const char *host = NULL;
    for (size_t i = 0; i + 3 <= origin.len && host == NULL; ++i)
        if (memcmp(origin.base + i, "://", 3) == 0)
            host = origin.base + i + 3;
    if (host == NULL)
        return 0;
    size_t slen = (size_t)(host - 3 - origin.base);
    int https = h2o_lcstris(origin.base, slen, H2O_STRLIT("https"));
    if (!https && !h2o_lcstris(origin.base, slen, H2O_STRLIT("http")))
        return 0;
    if (!https &&
        bff_request_is_https(req, r->profile->trusted_proxies, r->profile->ntrusted_proxies))
        return 0;
    size_t hlen = origin.len - (size_t)(host - origin.base);
    return hlen == req->authority.len && h2o_lcstris(host, hlen, req->authority.base, hlen);
}

/* An API key: its SHA-256 against every configured hash, in constant time, all compared. */
static const bff_api_key_t *find_api_key(const bff_auth_conf_t *ac, h2o_iovec_t key)
{
    unsigned char hash[32];
    bff_sha256_t h;
    bff_sha256_begin(&h);
    bff_sha256_add(&h, key.base, key.len);
    bff_sha256_end(&h, hash);
    const bff_api_key_t *found = NULL;
    for (size_t i = 0; i != ac->napi_keys; ++i)
        if (CRYPTO_memcmp(hash, ac->api_keys[i].hash, 32) == 0)
            found = ac->api_keys + i;
    return found;
}

static int route_allowed(const bff_api_key_t *k, h2o_iovec_t path)
{
    if (k->nroutes == 0)
        return 1;
    for (size_t i = 0; i != k->nroutes; ++i) {
        /* A prefix of whole segments: /v2 lets in /v2 and /v2/..., not /v2x or /v2-internal. */
        size_t n = strlen(k->routes[i]);
        if (path.len >= n && memcmp(path.base, k->routes[i], n) == 0 &&
            (path.len == n || n == 0 || k->routes[i][n - 1] == '/' || path.base[n] == '/' ||
             path.base[n] == '?'))
            return 1;
    }
    return 0;
}

/* Headers the principal's claims fill upstream: a client may not send its own. */
static void strip_claim_headers(bff_req_t *r)
{
    const bff_auth_conf_t *ac = &r->profile->auth;
    for (size_t i = 0; i != ac->nclaim_headers; ++i) {
        const char *name = ac->claim_headers[i].header;
        ssize_t at;
        while ((at = h2o_find_header_by_str(&r->req->headers, name, strlen(name), -1)) != -1)
            h2o_delete_header(&r->req->headers, at);
    }
}

/* A request waiting for the JWKS to be fetched again, at most as long as the request may take. */
typedef struct st_jwks_wait_t {
    bff_jwks_waiter_t w;
    bff_req_t *r;
    int waiting;
    bff_timer_t deadline;
} jwks_wait_t;

static void respond_keys_unavailable(bff_req_t *r)
{
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                   H2O_STRLIT("1"));
    bff_stage_refuse(r, 503, "auth_unavailable",
                     "the identity provider's keys could not be fetched; try again shortly", NULL);
}

static void on_wait_deadline(bff_timer_t *t)
{
    jwks_wait_t *jw = H2O_STRUCT_FROM_MEMBER(jwks_wait_t, deadline, t);
    jw->waiting = 0;
    bff_jwks_unwait(&jw->w);
    respond_keys_unavailable(jw->r);
    bff_req_sent(jw->r);
}

static void on_keys(bff_jwks_waiter_t *w)
{
    jwks_wait_t *jw = H2O_STRUCT_FROM_MEMBER(jwks_wait_t, w, w);
    jw->waiting = 0;
    bff_timer_cancel(&jw->deadline);
    bff_req_t *r = jw->r;
    r->auth_retried = 1; /* decide with the keys there are now */
    if (bff_stage_auth(r) == BFF_STAGE_NEXT)
        bff_pipeline_resume(r);
    else
        bff_req_sent(r);
}

static void on_wait_dispose(void *p)
{
    jwks_wait_t *jw = p;
    bff_timer_cancel(&jw->deadline);
    if (jw->waiting)
        bff_jwks_unwait(&jw->w);
}

/* Fetches the JWKS again for this request (or joins the fetch in flight). Returns 0 when the
 * request waits, -1 when the minimum interval refuses it. */
static int wait_for_keys(bff_req_t *r)
{
    jwks_wait_t *jw = h2o_mem_alloc_shared(&r->req->pool, sizeof(*jw), on_wait_dispose);
    memset(jw, 0, sizeof(*jw));
    jw->r = r;
    jw->w.cb = on_keys;
    if (bff_jwks_refresh(r->site->jwks, &jw->w) != 0)
        return -1;
    jw->waiting = 1;
    const bff_spec_t *spec = r->route.spec;
    uint64_t limit =
        spec != NULL && spec->timeout_ms != 0 ? spec->timeout_ms : r->profile->request_timeout_ms;
    bff_timer_start(&r->site->worker->timers, &jw->deadline, limit, on_wait_deadline);
    return 0;
}

/* The worker's JWKS of the profile: made on first use, made again when the URL changed. */
static void ensure_jwks(bff_req_t *r)
{
    const bff_auth_conf_t *ac = &r->profile->auth;
    bff_site_ctx_t *sc = r->site;
    if (ac->jwks_url == NULL) {
        return;
    }
    if (sc->jwks != NULL && strcmp(bff_jwks_url(sc->jwks), ac->jwks_url) == 0)
        return;
    bff_jwks_t *old = sc->jwks;
    sc->jwks = bff_jwks_create(sc->worker->curl, &sc->worker->timers, ac->jwks_url,
                               ac->jwks_refresh_ms, ac->jwks_min_interval_ms);
    bff_jwks_destroy(old); /* its waiters decide again, with the new one */
}

bff_stage_result_t bff_stage_auth(bff_req_t *r)
{
    const bff_access_t *a = bff_req_access(r);
    const bff_auth_conf_t *ac = &r->profile->auth;
    if (ac->present)
        strip_claim_headers(r);
    if (a == NULL || a->auth == BFF_AUTH_NONE)
        return BFF_STAGE_NEXT;
    ensure_jwks(r);
    h2o_req_t *req = r->req;
    bff_principal_t *p = NULL;
    const char *reason = NULL;
    ssize_t at;
    if (ac->napi_keys != 0 && (at = h2o_find_header_by_str(&req->headers, ac->api_key_header,
                                                           strlen(ac->api_key_header), -1)) != -1) {
        const bff_api_key_t *k = find_api_key(ac, trim_ows(req->headers.entries[at].value));
        if (k == NULL) {
            respond_401(r, "invalid_token", "unknown API key");
            return BFF_STAGE_RESPONDED;
        }
        if (!route_allowed(k, r->route_path)) {
            respond_403(r, "this API key may not call this route");
            return BFF_STAGE_RESPONDED;
        }
        json_t *claims = json_pack("{s:s,s:s,s:s}", "sub", k->name, "plan",
                                   k->plan != NULL ? k->plan : "", "kind", "api_key");
        p = principal_of_claims(r, "api_key", claims);
        json_decref(claims);
    } else if (ac->jwt) {
        h2o_iovec_t token = h2o_iovec_init(NULL, 0);
        const char *kind = "jwt";
        if ((at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) != -1) {
            /* credentials = auth-scheme 1*SP token68 (RFC 9110 11.4) */
            h2o_iovec_t v = trim_ows(req->headers.entries[at].value);
            if (v.len <= 7 || !h2o_lcstris(v.base, 6, H2O_STRLIT("bearer")) || v.base[6] != ' ') {
                respond_401(r, "invalid_request", "use the Bearer scheme");
                return BFF_STAGE_RESPONDED;
            }
            token = trim_ows(h2o_iovec_init(v.base + 7, v.len - 7));
        } else if (ac->cookie != NULL && (token = cookie_value(req, ac->cookie)).base != NULL) {
            kind = "cookie";
            if (!csrf_ok(r)) {
                bff_stage_refuse(r, 403, "forbidden",
                                 "a state-changing request with a session cookie needs the CSRF "
                                 "header or a same-origin Origin",
                                 NULL);
                return BFF_STAGE_RESPONDED;
            }
        }
        if (token.base != NULL &&
            (p = verify_token(r, kind, token.base, token.len, &reason)) == NULL) {
            if (reason == NULL && wait_for_keys(r) == 0)
                return BFF_STAGE_PENDING;
            if (reason == keys_unavailable)
                respond_keys_unavailable(r);
            else
                respond_401(r, "invalid_token", reason != NULL ? reason : "unknown key");
            return BFF_STAGE_RESPONDED;
        }
        if (p != NULL)
            p->token = token; /* relayed to upstreams that ask for it (upstream_auth.h) */
    }
    if (p == NULL) {
        if (a->auth == BFF_AUTH_OPTIONAL)
            return BFF_STAGE_NEXT;
        respond_401(r, NULL, "");
        return BFF_STAGE_RESPONDED;
    }
    const char *missing;
    if (!has_scopes(p, a, &missing)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "this route needs the scope '%s'", missing);
        respond_403(r, msg);
        return BFF_STAGE_RESPONDED;
    }
    r->principal = p;
    return BFF_STAGE_NEXT;
}
