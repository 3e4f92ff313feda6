/* Loads spec test case files (case.h): every problem is reported as file:line:column, like the
 * profile loader's, and `bffd check` runs this same loader. */
#include "server/spectest/case.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/mem.h"
#include "compose/shape.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};

static int check_method(bff_diag_t *diag, const bff_yaml_node_t *map, const char **out)
{
    *out = "GET";
    if (bff_yaml_get_str(diag, map, "method", 0, out) != 0)
        return -1;
    for (size_t i = 0; methods[i] != NULL; ++i)
        if (strcmp(methods[i], *out) == 0)
            return 0;
    bff_yaml_error(diag, bff_yaml_get(map, "method"),
                   "method must be GET, HEAD, POST, PUT, PATCH or DELETE, not '%s'", *out);
    return -1;
}

/* A body: a mapping or sequence is written as JSON; a scalar is the raw text (so a case can send
 * or record something that is not JSON). */
static char *body_text(const bff_yaml_node_t *node, size_t *len)
{
    char *s = node->kind == BFF_YAML_SCALAR ? bff_strndup(node->str, node->len)
                                            : bff_shape_yaml_to_json(node);
    *len = strlen(s);
    return s;
}

/* headers: {name: value}; `allow_null` lets `~` say "must be absent" (expectations). */
static int load_headers(bff_diag_t *diag, const bff_yaml_node_t *node, int allow_null,
                        bff_st_header_t **out, size_t *n)
{
    if (node == NULL)
        return 0;
    if (node->kind != BFF_YAML_MAP) {
        bff_yaml_error(diag, node, "headers must be a mapping of name: value");
        return -1;
    }
    int ret = 0;
    *out = bff_calloc(node->size ? node->size : 1, sizeof(**out));
    for (size_t i = 0; i != node->size; ++i) {
        const bff_yaml_node_t *v = node->items[i];
        (*out)[*n].name = node->keys[i]->str;
        if (v->kind != BFF_YAML_SCALAR) {
            bff_yaml_error(diag, v, "header '%s' must be a string", node->keys[i]->str);
            ret = -1;
            continue;
        }
        int null = !v->quoted && (v->len == 0 || strcmp(v->str, "~") == 0);
        if (null && !allow_null) {
            bff_yaml_error(diag, v, "header '%s' needs a value", node->keys[i]->str);
            ret = -1;
            continue;
        }
        (*out)[(*n)++].value = null ? NULL : v->str;
    }
    return ret;
}

static int find_upstream(const bff_profile_t *profile, const char *name, size_t *out)
{
    for (size_t u = 0; u != profile->nupstreams; ++u)
        if (strcmp(profile->upstreams[u].name, name) == 0) {
            *out = u;
            return 0;
        }
    return -1;
}

static int load_record(bff_diag_t *diag, const bff_profile_t *profile, const bff_yaml_node_t *node,
                       bff_st_record_t *rec)
{
    static const char *const keys[] = {
        "upstream", "method", "path", "request_body", "status", "headers", "body", "error", NULL};
    rec->at = node;
    if (bff_yaml_check_map(diag, node, "a recorded call", keys) != 0)
        return -1;
    int ret = 0;
    int64_t status = 200;
    const char *error = NULL;
    ret |= bff_yaml_get_str(diag, node, "upstream", 1, &rec->upstream_name);
    ret |= check_method(diag, node, &rec->method);
    ret |= bff_yaml_get_str(diag, node, "path", 1, &rec->path);
    ret |= bff_yaml_get_int(diag, node, "status", 0, 100, 599, &status);
    ret |= bff_yaml_get_str(diag, node, "error", 0, &error);
    ret |= load_headers(diag, bff_yaml_get(node, "headers"), 0, &rec->headers, &rec->nheaders);
    rec->status = status;
    if (rec->upstream_name != NULL && find_upstream(profile, rec->upstream_name, &rec->upstream)) {
        bff_yaml_error(diag, bff_yaml_get(node, "upstream"), "the profile has no upstream '%s'",
                       rec->upstream_name);
        ret = -1;
    }
    if (rec->path != NULL && rec->path[0] != '/') {
        bff_yaml_error(diag, bff_yaml_get(node, "path"), "path must start with '/'");
        ret = -1;
    }
    if (error != NULL) {
        if (strcmp(error, "timeout") == 0)
            rec->error = bff_err_upstream_timeout;
        else if (strcmp(error, "connect") == 0)
            rec->error = bff_err_upstream_connect;
        else if (strcmp(error, "transfer") == 0)
            rec->error = bff_err_upstream_transport;
        else {
            bff_yaml_error(diag, bff_yaml_get(node, "error"),
                           "error must be timeout, connect or transfer, not '%s'", error);
            ret = -1;
        }
        if (bff_yaml_get(node, "body") != NULL || bff_yaml_get(node, "status") != NULL) {
            bff_yaml_error(diag, node, "a failed call (error) has no status or body");
            ret = -1;
        }
    }
    const bff_yaml_node_t *b = bff_yaml_get(node, "body");
    if (b != NULL)
        rec->body = body_text(b, &rec->body_len);
    if ((b = bff_yaml_get(node, "request_body")) != NULL)
        rec->request_body = bff_shape_yaml_to_json(b);
    return ret;
}

static int load_request(bff_diag_t *diag, const bff_yaml_node_t *node, bff_st_case_t *c)
{
    static const char *const keys[] = {"method", "path", "headers", "body", "claims", NULL};
    if (bff_yaml_check_map(diag, node, "request", keys) != 0)
        return -1;
    int ret = check_method(diag, node, &c->method);
    ret |= bff_yaml_get_str(diag, node, "path", 1, &c->path);
    if (c->path != NULL && c->path[0] != '/') {
        bff_yaml_error(diag, bff_yaml_get(node, "path"), "path must start with '/'");
        ret = -1;
    }
    ret |= load_headers(diag, bff_yaml_get(node, "headers"), 0, &c->headers, &c->nheaders);
    const bff_yaml_node_t *b = bff_yaml_get(node, "body");
    size_t len;
    if (b != NULL)
        c->body = body_text(b, &len);
    if ((b = bff_yaml_get(node, "claims")) != NULL) {
        if (b->kind != BFF_YAML_MAP) {
            bff_yaml_error(diag, b, "claims must be a mapping (the token's claims)");
            ret = -1;
        } else {
            c->claims = bff_shape_yaml_to_json(b);
        }
    }
    return ret;
}

static int load_expect(bff_diag_t *diag, const bff_yaml_node_t *node, bff_st_case_t *c)
{
    static const char *const keys[] = {"status", "headers", "body", "body_subset", NULL};
    if (bff_yaml_check_map(diag, node, "expect", keys) != 0)
        return -1;
    int64_t status = 0;
    int ret = bff_yaml_get_int(diag, node, "status", 0, 100, 599, &status);
    c->expect_status = (int)status;
    ret |= load_headers(diag, bff_yaml_get(node, "headers"), 1, &c->expect_headers,
                        &c->nexpect_headers);
    ret |= bff_yaml_get_bool(diag, node, "body_subset", &c->expect_subset);
    if ((c->expect_body_at = bff_yaml_get(node, "body")) != NULL)
        c->expect_body = bff_shape_yaml_to_json(c->expect_body_at);
    return ret;
}

static int load_case(bff_diag_t *diag, const bff_profile_t *profile, const bff_yaml_node_t *node,
                     bff_st_case_t *c)
{
    static const char *const keys[] = {"name", "request", "upstreams", "expect", NULL};
    c->at = node;
    if (bff_yaml_check_map(diag, node, "a case", keys) != 0)
        return -1;
    int ret = bff_yaml_get_str(diag, node, "name", 1, &c->name);
    const bff_yaml_node_t *req = bff_yaml_get(node, "request"), *ups, *exp;
    if (req == NULL) {
        bff_yaml_error(diag, node, "a case needs a request");
        ret = -1;
    } else {
        ret |= load_request(diag, req, c);
    }
    if ((exp = bff_yaml_get(node, "expect")) == NULL) {
        bff_yaml_error(diag, node, "a case needs expect (status, headers, body)");
        ret = -1;
    } else {
        ret |= load_expect(diag, exp, c);
    }
    if ((ups = bff_yaml_get(node, "upstreams")) != NULL) {
        if (ups->kind != BFF_YAML_SEQ) {
            bff_yaml_error(diag, ups, "upstreams must be a list of recorded calls");
            return -1;
        }
        c->records = bff_calloc(ups->size ? ups->size : 1, sizeof(*c->records));
        for (size_t i = 0; i != ups->size; ++i)
            ret |= load_record(diag, profile, ups->items[i], c->records + c->nrecords++);
    }
    return ret;
}

static int load_file(bff_diag_t *diag, const bff_profile_t *profile, bff_st_file_t *f)
{
    if ((f->doc = bff_yaml_load_file(f->path, diag)) == NULL)
        return -1;
    const bff_yaml_node_t *root = bff_yaml_root(f->doc);
    static const char *const keys[] = {"cases", NULL};
    if (bff_yaml_check_map(diag, root, "a spec test file", keys) != 0)
        return -1;
    const bff_yaml_node_t *cases = bff_yaml_get(root, "cases");
    if (cases == NULL || cases->kind != BFF_YAML_SEQ || cases->size == 0) {
        bff_yaml_error(diag, cases ? cases : root, "cases must be a list of one or more cases");
        return -1;
    }
    int ret = bff_yaml_doc_failed(f->doc) ? -1 : 0;
    f->cases = bff_calloc(cases->size, sizeof(*f->cases));
    for (size_t i = 0; i != cases->size; ++i)
        ret |= load_case(diag, profile, cases->items[i], f->cases + f->ncases++);
    return ret;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bff_st_suite_load(const char *dir, const bff_profile_t *profile, bff_st_suite_t *suite,
                      bff_diag_t *diag)
{
    memset(suite, 0, sizeof(*suite));
    char tests[4096];
    snprintf(tests, sizeof(tests), "%s/tests", dir);
    DIR *d = opendir(tests);
    if (d == NULL)
        return 0; /* no cases: nothing to run */
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        names = bff_realloc(names, (n + 1) * sizeof(*names));
        names[n++] = bff_strndup(e->d_name, len);
    }
    closedir(d);
    if (n != 0)
        qsort(names, n, sizeof(*names), by_name);
    int ret = 0;
    suite->files = bff_calloc(n ? n : 1, sizeof(*suite->files));
    for (size_t i = 0; i != n; ++i) {
        bff_st_file_t *f = suite->files + suite->nfiles++;
        char path[4096 + 256];
        snprintf(path, sizeof(path), "%s/%s", tests, names[i]);
        f->path = bff_strndup(path, strlen(path));
        snprintf(path, sizeof(path), "tests/%s", names[i]);
        f->relpath = bff_strndup(path, strlen(path));
        ret |= load_file(diag, profile, f);
        free(names[i]);
    }
    free(names);
    return ret;
}

void bff_st_suite_free(bff_st_suite_t *suite)
{
    for (size_t i = 0; i != suite->nfiles; ++i) {
        bff_st_file_t *f = suite->files + i;
        for (size_t k = 0; k != f->ncases; ++k) {
            bff_st_case_t *c = f->cases + k;
            for (size_t r = 0; r != c->nrecords; ++r) {
                free(c->records[r].headers);
                free(c->records[r].body);
                free(c->records[r].request_body);
            }
            free(c->records);
            free(c->headers);
            free(c->expect_headers);
            free(c->body);
            free(c->claims);
            free(c->expect_body);
        }
        free(f->cases);
        if (f->doc != NULL)
            bff_yaml_free(f->doc);
        free(f->path);
        free(f->relpath);
    }
    free(suite->files);
    memset(suite, 0, sizeof(*suite));
}
