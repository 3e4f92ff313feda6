/* Async Redis client bound to one worker's h2o evloop: hiredis 0.14.1 driven by the loop, with
 * per-command timeouts and automatic reconnection. One client per worker; never shared across
 * threads. */
#ifndef BFF_SERVER_REDIS_LOOP_H
#define BFF_SERVER_REDIS_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "h2o/socket.h"

typedef struct st_bff_redis_t bff_redis_t;
typedef struct st_bff_redis_command_t bff_redis_command_t;

/**
 * Completion callback of a command. `err` is NULL on success: `reply` is then the server's answer,
 * **borrowed** and valid only during the callback (an error reply such as "-ERR unknown command"
 * is a success here, with reply->type == REDIS_REPLY_ERROR). Otherwise `err` is one of the
 * bff_redis_err_* constants below (compare by pointer) and `reply` is NULL.
 */
typedef void (*bff_redis_cb)(void *cbdata, const char *err, const redisReply *reply);

/** Not passed to callbacks by this module (start returns NULL instead); callers may use it to
 * report a start that returned NULL, e.g. as the reason of a cache miss. */
extern const char bff_redis_err_not_connected[];
/** The command got no reply within the client's command timeout. The connection is then closed
 * (hiredis cannot abandon one command) and reopened with backoff. */
extern const char bff_redis_err_timeout[];
/** The connection went away (server closed it, I/O or protocol error, or another command's
 * timeout) before the reply arrived. The command may or may not have been executed. */
extern const char bff_redis_err_disconnected[];

/** Reconnection backoff: first retry after this delay, doubling per failure up to the max. */
#define BFF_REDIS_BACKOFF_MIN_MS 100
#define BFF_REDIS_BACKOFF_MAX_MS 5000

/**
 * Creates a client on `loop` and starts connecting to host:port without blocking. The client
 * reconnects by itself after any disconnect or failed attempt, waiting BFF_REDIS_BACKOFF_MIN_MS
 * doubling up to BFF_REDIS_BACKOFF_MAX_MS between attempts (reset once the server answers a
 * command).
 *
 * `host` is copied. An IP literal is used as is. A name is resolved here, once, with a blocking
 * getaddrinfo (call this at worker start, not on the request path); reconnects reuse the address.
 * If the name does not resolve yet, each attempt retries the (blocking) lookup until it does.
 *
 * `command_timeout_ms` bounds each command (0 = no limit, not recommended);
 * `connect_timeout_ms` bounds each connection attempt (0 = the kernel's limit).
 * Timers count from the loop's cached clock (h2o_now), refreshed on each loop iteration.
 *
 * Returns the client, owned by the caller until bff_redis_destroy. Aborts on out of memory.
 */
bff_redis_t *bff_redis_create(h2o_evloop_t *loop, const char *host, uint16_t port,
                              uint64_t command_timeout_ms, uint64_t connect_timeout_ms);

/**
 * Closes the connection and frees the client. Commands still pending are cancelled: their
 * callbacks never run, and their handles become invalid. Safe while connecting or waiting to
 * reconnect. Must not be called from inside a callback of this client (asserted in debug builds).
 * The loop must still exist; destroy the client before the loop.
 */
void bff_redis_destroy(bff_redis_t *r);

/** Every new connection first sends AUTH `password` (NULL = none) and SELECT `db` (0 = none);
 * a refused one is closed and retried with backoff. Call right after create. */
void bff_redis_set_setup(bff_redis_t *r, const char *password, unsigned db);
/** Makes the client a subscriber of `channel` (it then starts no commands): SUBSCRIBE is sent
 * on every connection; `on_subscribed` runs each time the server confirms it (after a
 * reconnect too: messages sent meanwhile were missed), `on_message` per message (borrowed).
 * No timeout applies: a silent server is noticed by TCP keepalive. */
typedef void (*bff_redis_message_cb)(void *data, const char *msg, size_t len);
typedef void (*bff_redis_subscribed_cb)(void *data);
void bff_redis_subscribe(bff_redis_t *r, const char *channel, bff_redis_message_cb on_message,
                         bff_redis_subscribed_cb on_subscribed, void *data);
/** 1 while one of this client's callbacks runs (it must not be destroyed then). */
int bff_redis_in_callback(const bff_redis_t *r);

/** Returns 1 if commands can be started now, else 0 (connecting, waiting to reconnect, or
 * tearing the connection down). */
int bff_redis_is_connected(bff_redis_t *r);

/**
 * Sends one command (argv[0] is the command name; `argvlen` may be NULL for NUL-terminated
 * arguments, else it gives each length, so values may be binary). Arguments are copied before
 * returning. Commands on one client are pipelined and answered in the order started.
 *
 * Async contract: if this returns NULL, `cb` never runs. That happens when the client is not
 * connected (fail fast: treat it as a cache miss, nothing is queued), when argc < 1, or for
 * commands that break the one-reply-per-command rule (SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE,
 * PUNSUBSCRIBE, MONITOR). Otherwise `cb` runs exactly once, later, from the loop (never from
 * inside this call), unless bff_redis_command_cancel was called first, after which it never runs.
 * It gets bff_redis_err_timeout after the command timeout and bff_redis_err_disconnected if the
 * connection drops first.
 *
 * The returned handle is owned by the client and stays valid until `cb` returns or the command
 * is cancelled; do not use it after that. `cb` may start new commands and cancel others.
 *
 * Connection state set by commands (SELECT, AUTH, CLIENT SETNAME, ...) is not replayed after a
 * reconnect, and commands that change the reply protocol (CLIENT REPLY, HELLO 3) are unsupported.
 */
bff_redis_command_t *bff_redis_command_start(bff_redis_t *r, bff_redis_cb cb, void *cbdata,
                                             int argc, const char **argv, const size_t *argvlen);

/**
 * Detaches the callback of a started command: it will never run. The command itself may still
 * execute on the server (it may already be in flight); its reply is dropped. Cheap: it does not
 * touch the connection. Calling it from inside the command's own callback is a harmless no-op.
 */
void bff_redis_command_cancel(bff_redis_command_t *cmd);

#endif
