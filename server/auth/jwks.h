/* A JWKS fetched from the identity provider's URL, per worker and profile, without blocking:
 * through the worker's curl loop, at start, every `jwks_refresh`, and once more when a token
 * names a kid the set lacks (key rotation), at most once per `jwks_min_interval` so a flood of
 * made-up kids cannot hammer the provider. A fetch that fails keeps the keys there were. */
#ifndef BFF_SERVER_AUTH_JWKS_H
#define BFF_SERVER_AUTH_JWKS_H

#include <h2o.h>
#include <stdint.h>

#include "server/auth/jwk.h"
#include "server/loop/curl_loop.h"
#include "server/loop/timer.h"

typedef struct st_bff_jwks_t bff_jwks_t;

typedef struct st_bff_jwks_waiter_t bff_jwks_waiter_t;
struct st_bff_jwks_waiter_t {
    void (*cb)(bff_jwks_waiter_t *w); /* the fetch ended (keys replaced or not) */
    h2o_linklist_t _link;
};

bff_jwks_t *bff_jwks_create(bff_curl_loop_t *curl, bff_timers_t *timers, const char *url,
                            uint64_t refresh_ms, uint64_t min_interval_ms);
/** Cancels a fetch in flight; waiters are called (the keys stay as they are). */
void bff_jwks_destroy(bff_jwks_t *j);
const char *bff_jwks_url(const bff_jwks_t *j);
/** The keys fetched last (empty before the first fetch succeeds). */
const bff_jwk_set_t *bff_jwks_keys(const bff_jwks_t *j);
/** Fetches again for a waiting request (or joins the fetch in flight). Returns 0: w->cb runs
 * once when it ends; -1: refused by the minimum interval (w->cb never runs). */
int bff_jwks_refresh(bff_jwks_t *j, bff_jwks_waiter_t *w);
/** A waiter that goes away before its callback. */
void bff_jwks_unwait(bff_jwks_waiter_t *w);
/** Counts the key sets fetched: part of the verified-token cache's key, so a token verified with
 * a key that rotated out is verified again. */
uint64_t bff_jwks_version(const bff_jwks_t *j);
/** Fetches made so far (for tests and metrics). */
uint64_t bff_jwks_fetches(const bff_jwks_t *j);

#endif
