/* Spec test cases (`bffd test`): the model of a case file, PROFILE/tests/NAME.yaml, and its
 * loader. A file holds `cases:`, each a request, the upstream calls it should make with their
 * recorded answers (or failures), and the answer expected. Strings are borrowed from the
 * file's YAML tree, which the suite keeps. */
#ifndef BFF_SERVER_SPECTEST_CASE_H
#define BFF_SERVER_SPECTEST_CASE_H

#include <stddef.h>

#include "compose/diag.h"
#include "compose/yaml_tree.h"
#include "server/core/profile.h"

typedef struct st_bff_st_header_t {
    const char *name;
    const char *value; /* NULL: the header must be absent (expect only) */
} bff_st_header_t;

/** One recorded upstream call: matched by upstream, method and path (with query) exactly. */
typedef struct st_bff_st_record_t {
    const bff_yaml_node_t *at;
    size_t upstream; /* index into the profile's upstreams */
    const char *upstream_name, *method, *path;
    char *request_body; /* JSON the call must send (NULL = not checked) */
    const char *error;  /* bff_err_* for a failure (timeout, connect, transfer), or NULL */
    long status;
    bff_st_header_t *headers;
    size_t nheaders;
    char *body; /* JSON of a YAML value, or the raw string; NULL = empty */
    size_t body_len;
    unsigned used; /* calls it answered in the current run */
} bff_st_record_t;

typedef struct st_bff_st_case_t {
    const bff_yaml_node_t *at;
    const char *name;
    const char *method, *path; /* path with query, as a client sends it */
    bff_st_header_t *headers;
    size_t nheaders;
    char *body;   /* the client's body (JSON of a YAML value, or the raw string); NULL = none */
    char *claims; /* JSON object: the principal's claims (request.claims); NULL = anonymous */
    bff_st_record_t *records;
    size_t nrecords;
    int expect_status; /* 0 = not checked */
    bff_st_header_t *expect_headers;
    size_t nexpect_headers;
    char *expect_body; /* JSON; NULL = not checked */
    int expect_subset; /* expect.body_subset: members the answer has beyond it are fine */
    const bff_yaml_node_t *expect_body_at;
} bff_st_case_t;

typedef struct st_bff_st_file_t {
    char *path;    /* as opened */
    char *relpath; /* inside the profile folder, for reports: tests/x.yaml */
    bff_yaml_doc_t *doc;
    bff_st_case_t *cases;
    size_t ncases;
} bff_st_file_t;

typedef struct st_bff_st_suite_t {
    bff_st_file_t *files;
    size_t nfiles;
} bff_st_suite_t;

/** Loads every DIR/tests/NAME.yaml (sorted by name; none is fine) against `profile`. Returns 0,
 * or -1 after adding file:line:column errors to `diag`. The suite is filled either way; free
 * it with bff_st_suite_free. */
int bff_st_suite_load(const char *dir, const bff_profile_t *profile, bff_st_suite_t *suite,
                      bff_diag_t *diag);
void bff_st_suite_free(bff_st_suite_t *suite);

#endif
