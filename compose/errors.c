/* The reason strings of errors.h. */
#include "compose/errors.h"

const char bff_err_upstream_timeout[] = "timeout";
const char bff_err_upstream_connect[] = "connection failed";
const char bff_err_upstream_status[] = "bad status";
const char bff_err_upstream_too_large[] = "response too large";
const char bff_err_upstream_transport[] = "transfer failed";
const char bff_err_circuit_open[] = "circuit open";
const char bff_err_bulkhead_full[] = "too many concurrent calls";

const char bff_err_invalid_json[] = "invalid JSON";
const char bff_err_input_failed[] = "input failed";
const char bff_err_bad_request[] = "bad request";
const char bff_err_partial[] = "partial";
