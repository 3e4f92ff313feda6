/* An answer as data: status, headers and body, decided without an h2o request. The stages
 * decide what to answer into one (route, request doc, compose), then respond.c sends it; `bffd
 * test` (server/spectest) takes the same answers and compares them with a case's expectation, so
 * the server and the spec tests can never answer differently. */
#ifndef BFF_SERVER_HTTP_ANSWER_H
#define BFF_SERVER_HTTP_ANSWER_H

#include <stddef.h>

typedef struct st_bff_answer_header_t {
    char *name; /* lower case */
    char *value;
} bff_answer_header_t;

typedef struct st_bff_answer_t {
    int status;
    bff_answer_header_t *headers; /* in the order they are sent (before Content-Type) */
    size_t nheaders;
    char *body; /* JSON; NULL = none */
    size_t body_len;
    int composed; /* the shaped answer of a run that did not fail (what a cache may store) */
} bff_answer_t;

/** Empty answer: status 0, no headers, no body. */
void bff_answer_init(bff_answer_t *a);
void bff_answer_dispose(bff_answer_t *a);
/** Appends a header (both copied; the name is lower-cased). */
void bff_answer_add_header(bff_answer_t *a, const char *name, size_t name_len, const char *value,
                           size_t value_len);
/** Sets the body (copied). */
void bff_answer_set_body(bff_answer_t *a, const char *body, size_t len);
/** bffd's error body, {"error":{"code":...,"message":...,<extra_json>}}, with `status`.
 * `message` is escaped; `extra_json` (may be NULL) is raw members appended inside "error". */
void bff_answer_error(bff_answer_t *a, int status, const char *code, const char *message,
                      const char *extra_json);
/** The value of header `name` (lower case), or NULL. */
const char *bff_answer_header(const bff_answer_t *a, const char *name);

#endif
