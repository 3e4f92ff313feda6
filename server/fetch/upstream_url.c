/* The URL curl gets for an upstream call, handed over parsed. */
#include "server/fetch/upstream_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/mem.h"

size_t bff_url_authority_len(const char *url)
{
    const char *host = strstr(url, "://") + 3;
    return (size_t)(host - url) + strcspn(host, "/?#");
}

size_t bff_url_host_key(const char *url, char *out, size_t size)
{
    size_t authority = bff_url_authority_len(url);
    const char *host = strstr(url, "://") + 3, *at = NULL;
    for (const char *p = host; p < url + authority; ++p)
        if (*p == '@')
            at = p; /* the last '@' ends the userinfo */
    const char *from = at != NULL ? at + 1 : host;
    int n = snprintf(out, size, "%.*s%.*s", (int)(host - url), url, (int)(url + authority - from),
                     from);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

void bff_url_redacted(const char *url, size_t len, char *out, size_t size)
{
    const char *scheme_end = strstr(url, "://");
    size_t authority = bff_url_authority_len(url);
    const char *host = scheme_end ? scheme_end + 3 : url, *at = NULL;
    for (const char *p = host; p < url + authority; ++p)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
    if (colon == NULL) { /* no password */
        snprintf(out, size, "%.*s", (int)len, url);
        return;
    }
    snprintf(out, size, "%.*s:***%.*s", (int)(colon - url), url, (int)(len - (size_t)(at - url)),
             at);
}

CURLU *bff_url_parse_base(const char *url)
{
    char *authority = bff_strndup(url, bff_url_authority_len(url));
    CURLU *u = curl_url();
    if (u != NULL && curl_url_set(u, CURLUPART_URL, authority, CURLU_NON_SUPPORT_SCHEME) != 0) {
        curl_url_cleanup(u);
        u = NULL;
    }
    free(authority);
    return u;
}

int bff_url_host_is_address(CURLU *base)
{
    char *host = NULL;
    if (base == NULL || curl_url_get(base, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        return 0;
    unsigned char addr[16];
    size_t len = strlen(host);
    int is = inet_pton(AF_INET, host, addr) == 1;
    if (!is && len > 2 && host[0] == '[' && host[len - 1] == ']') {
        host[len - 1] = '\0';
        is = inet_pton(AF_INET6, host + 1, addr) == 1;
    }
    curl_free(host);
    return is;
}

CURLU *bff_url_with_target(CURLU *base, const char *target)
{
    const char *query = NULL;
    if (base == NULL || target[0] != '/')
        return NULL;
    for (const char *p = target; *p != '\0'; ++p) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || c == '#')
            return NULL;
        if (c == '%' && p[1] != '\0' &&
            ((p[1] >= 'A' && p[1] <= 'Z') || (p[2] >= 'A' && p[2] <= 'Z')))
            return NULL;
        if (c == '?' && query == NULL)
            query = p;
    }
    if (query != NULL && query[1] == '\0')
        return NULL;
    /* The query stays in the path part: curl 7.88 writes a path into the request line with a
     * copy, but a query through its byte-at-a-time printf ("?%s"), and with a query it also
     * prints path and query together for the authentication code, which bffd does not use
     * (about 4,300 instructions per call with a query). Reading the path back URL-encoded, as
     * curl does, escapes only bytes the loop above refused, so the request line is the same. */
    CURLU *u = curl_url_dup(base);
    if (u == NULL || curl_url_set(u, CURLUPART_PATH, target, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        u = NULL;
    }
    return u;
}
