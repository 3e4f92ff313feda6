/* curl 7.88 asks poll() about a socket it already gave to the loop, twice per upstream exchange
 * on a reused connection: is the pooled connection still alive (readable would mean the peer
 * closed it), and, right after sending the request, is the answer readable yet. The loop
 * watches every connected curl socket with level-triggered epoll, including idle pooled ones,
 * so both answers are known without a system call: "not readable" is always a safe answer
 * while the transfer waits for the loop's event, and an idle connection the peer spoke on
 * (closed) is marked when the loop sees it, and then asked for real. bffd defines poll() (libcurl
 * calls it through its PLT) and short-cuts only zero-timeout, read-only, one-socket polls of
 * such sockets, only while curl runs inside this thread's curl_multi_socket_action. */
#ifndef BFF_SERVER_LOOP_CURL_POLL_H
#define BFF_SERVER_LOOP_CURL_POLL_H

#include "server/loop/curl_loop.h"

/** Inside curl_multi_socket_action on this thread: polls of `cl`'s quiet sockets are answered
 * from the loop's knowledge. NULL ends it. */
void bff_curl_poll_scope(bff_curl_loop_t *cl);
/** 1 when the loop knows `fd` (a connected socket of `cl`) has nothing unexpected to read. */
int bff_curl_loop_fd_quiet(bff_curl_loop_t *cl, int fd);

#endif
