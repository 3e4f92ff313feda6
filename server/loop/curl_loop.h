/* libcurl's multi socket API driven by one worker's h2o evloop. A connected curl socket has one
 * h2o wrapper for the rest of its life (closed in CLOSESOCKETFUNCTION), so pooled connections
 * cost no epoll changes; until it is connected, the wrapper watches a dup of the fd, because
 * curl 7.88 may close a socket that never connected without calling CLOSESOCKETFUNCTION.
 * curl's timer becomes the loop's wait bound. Nothing here blocks. */
#ifndef BFF_SERVER_CURL_LOOP_H
#define BFF_SERVER_CURL_LOOP_H

#include <curl/curl.h>
#include <h2o.h>

typedef struct st_bff_curl_loop_t bff_curl_loop_t;

/** Multi handles one loop drives at most: lane 0 and one per key (bff_curl_loop_lane). */
#define BFF_CURL_LANES_MAX 32

/** Called once per finished transfer, after the easy handle was removed from the multi handle.
 * The callee owns `easy` again (reuse or cleanup). */
typedef void (*bff_curl_done_cb)(CURL *easy, CURLcode result, void *data);

/** Creates lane 0's multi handle for `loop` with the limits of bff_curl_loop_set_limits. Returns
 * NULL when libcurl cannot create a multi handle (out of memory). */
bff_curl_loop_t *bff_curl_loop_create(h2o_evloop_t *loop, long max_host_connections,
                                      long max_idle_connections);
/** `max_host_connections` caps connections per host; `max_idle_connections` sizes curl's
 * connection cache. Without the latter, curl 7.88 keeps only 4 idle connections per easy handle
 * currently added, so a burst that ends closes most of its connections and the next opens
 * them again. May be called again (on reload). */
void bff_curl_loop_set_limits(bff_curl_loop_t *cl, long max_host_connections,
                              long max_idle_connections);
/** Frees everything; every transfer must have been completed or cancelled by its owner. */
void bff_curl_loop_destroy(bff_curl_loop_t *cl);

/** Holds the lane for `key` (an upstream's name), created on first use: a multi handle of its
 * own, so the connections a key's transfers keep are the only ones curl walks when it looks for
 * one to reuse and when a transfer ends (both walks cost per connection held, in use or not).
 * The same key gets the same lane while anyone holds it, so a reloaded upstream, held before its
 * old copy lets go, keeps its connections. Past BFF_CURL_LANES_MAX keys, keys share lanes. */
unsigned bff_curl_loop_lane(bff_curl_loop_t *cl, const char *key);
/** Lets go of a lane bff_curl_loop_lane returned, after its last transfer ended. The last holder
 * closes it and its idle connections (curl would otherwise keep them while other lanes work). */
void bff_curl_loop_lane_release(bff_curl_loop_t *cl, unsigned lane);
/** Starts a configured easy handle in lane 0. Returns 0, or -1 (the callback never runs).
 * Otherwise `cb` runs exactly once, unless bff_curl_loop_cancel was called first. */
int bff_curl_loop_start(bff_curl_loop_t *cl, CURL *easy, bff_curl_done_cb cb, void *data);
/** bff_curl_loop_start in the lane bff_curl_loop_lane returned. */
int bff_curl_loop_start_in(bff_curl_loop_t *cl, unsigned lane, CURL *easy, bff_curl_done_cb cb,
                           void *data);
/** Removes a running transfer; its callback never runs. The caller owns `easy` again. */
void bff_curl_loop_cancel(bff_curl_loop_t *cl, CURL *easy);

/** Milliseconds the loop may sleep before curl needs a timeout processed (at most `cap`). */
int32_t bff_curl_loop_wait_ms(bff_curl_loop_t *cl, int32_t cap);
/** Runs curl's timeout processing when its deadline has passed; completes finished transfers.
 * Returns 1 if it did (callbacks may have run), 0 if nothing was due. */
int bff_curl_loop_on_tick(bff_curl_loop_t *cl);
/** Number of transfers in progress. */
size_t bff_curl_loop_active(bff_curl_loop_t *cl);

#endif
