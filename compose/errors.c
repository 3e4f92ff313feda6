/* The reason strings of errors.h. */
#include "compose/errors.h"

#include <stdio.h>

const char bff_err_upstream_timeout[] = "timeout";
const char bff_err_upstream_connect[] = "connection failed";
const char bff_err_upstream_status[] = "bad status";
const char bff_err_upstream_too_large[] = "response too large";
const char bff_err_upstream_transport[] = "transfer failed";
const char bff_err_circuit_open[] = "circuit open";
const char bff_err_bulkhead_full[] = "too many concurrent calls";
const char bff_err_overloaded[] = "overloaded";
const char bff_err_upstream_rate_limited[] = "upstream rate limit";

const char bff_err_invalid_json[] = "invalid JSON";
const char bff_err_input_failed[] = "input failed";
const char bff_err_bad_request[] = "bad request";
const char bff_err_partial[] = "partial";

const char *bff_err_safe_code(const char *reason)
{
    if (reason == bff_err_upstream_timeout)
        return "timeout";
    if (reason == bff_err_upstream_status)
        return "bad_status";
    if (reason == bff_err_invalid_json || reason == bff_err_upstream_too_large)
        return "invalid_body";
    if (reason == bff_err_bad_request)
        return "bad_request";
    if (reason == bff_err_partial)
        return "partial";
    return "unavailable"; /* connect, transport, breaker, bulkhead, failed input */
}

void bff_err_describe(const char *err, long status, char *buf, size_t size)
{
    if (err == bff_err_upstream_timeout)
        snprintf(buf, size, "no response within the time allowed");
    else if (err == bff_err_upstream_connect)
        snprintf(buf, size, "cannot connect to the upstream");
    else if (err == bff_err_upstream_status)
        snprintf(buf, size, "upstream answered %ld", status);
    else if (err == bff_err_upstream_rate_limited)
        snprintf(buf, size, "the upstream's call rate limit was reached");
    else
        snprintf(buf, size, "the transfer failed");
}
