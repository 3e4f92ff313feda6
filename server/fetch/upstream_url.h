/* The URL of an upstream call, handed to curl already parsed. Given only a URL string, curl 7.88
 * parses it on every transfer, prints it back together and takes it apart again (about 11,000
 * instructions of a call's 120,000, bench/callgrind.sh). Given a CURLU too, it copies the parts. */
#ifndef BFF_SERVER_FETCH_UPSTREAM_URL_H
#define BFF_SERVER_FETCH_UPSTREAM_URL_H

#include <curl/curl.h>
#include <stddef.h>

/** Where an instance URL's scheme://authority ends and its path prefix, if any, begins. The URL
 * has "://" (profile.c checks). */
size_t bff_url_authority_len(const char *url);
/** Writes `url`'s scheme://host:port, without the user and password its authority may carry, to
 * `out` (NUL-terminated, cut to `size`); returns its length. Connections are per host and port:
 * two upstreams at one address with and without credentials share the host's connections. */
size_t bff_url_host_key(const char *url, char *out, size_t size);
/** `url` (its first `len` bytes) for a log or a console: a password in its userinfo
 * (`http://user:secret@host`) becomes `***`. */
void bff_url_redacted(const char *url, size_t len, char *out, size_t size);
/** An instance URL's scheme://authority parsed once, for bff_url_with_target; NULL if curl
 * refuses it (its calls then leave the parse to curl, which reports why). */
CURLU *bff_url_parse_base(const char *url);
/** Whether the host of a URL parse_base gave is an IP address (no name to resolve); 0 for NULL. */
int bff_url_host_is_address(CURLU *base);
/** A copy of `base` with `target` (path prefix, path and query) set as its path part; NULL where
 * that could put other bytes on the wire than curl's own parse of base + target: curl_url_set
 * keeps a '#', spaces and control bytes that the parse cuts off or refuses, and lowercases
 * percent-escapes the parse leaves alone. */
CURLU *bff_url_with_target(CURLU *base, const char *target);

#endif
