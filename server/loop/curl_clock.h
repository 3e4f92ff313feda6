/* libcurl 7.88 reads the monotonic clock about 36 times per transfer (timeouts, progress, timing
 * info), and on this VM each read is a paravirtual clock read: about 3% of bffd's CPU under load.
 * Inside one curl_multi_socket_action curl needs no finer time than the moment the loop handed
 * it the event (h2o itself keeps one time per loop turn), so bffd defines clock_gettime() (libcurl
 * calls it through its PLT) and, only while this thread is inside curl_multi_socket_action,
 * answers CLOCK_MONOTONIC with the time read once when that call began. Every other clock, every
 * other thread and every call outside that window gets the real clock. A timer curl sets from
 * the frozen time fires at most as early as the call took; curl then sees the real time and waits
 * on, so nothing spins. */
#ifndef BFF_SERVER_LOOP_CURL_CLOCK_H
#define BFF_SERVER_LOOP_CURL_CLOCK_H

/** From now until bff_curl_clock_thaw, this thread's CLOCK_MONOTONIC reads return this moment. */
void bff_curl_clock_freeze(void);
void bff_curl_clock_thaw(void);

#endif
