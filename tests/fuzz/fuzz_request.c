/* Fuzzes what a client controls of a composed request: a path value, a query string and a JSON
 * body, decoded and typed by the parameter parser for a write spec with typed parameters, then
 * handed to the executor as the request doc, whose URL templates are checked and rendered (with
 * a fetcher that records and never answers). Input: PATH-VALUE \n QUERY \n BODY. Any crash,
 * leak, or a request doc that is not valid JSON is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/exec.h"
#include "compose/spec.h"
#include "server/http/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bff_spec_t *spec;
static bff_yaml_doc_t *yaml;

static const char SPEC[] =
    "endpoint: POST /orders/{id}\n"
    "params: { id: { max_length: 200 } }\n"
    "query:\n"
    "  n: { type: int, min: -5, max: 5000 }\n"
    "  x: { type: number }\n"
    "  b: { type: bool, default: false }\n"
    "  s: { enum: [a, b, c] }\n"
    "  q: {}\n"
    "sources:\n"
    "  one: { upstream: u, method: POST, path: \"/a/{id}?n={n}&q={q}{&s}\", body: body }\n"
    "  two: { upstream: u, path: \"/b/{body.items[0].sku}{?x,b}\", optional: true }\n"
    "  three: { upstream: u, path: \"/c/{header.x-t}/{body.who}\", optional: true,\n"
    "       body: { keep: body.items, n: n, t: \"{q}-{id}\" } }\n"
    "response: { one: one, two: two }\n";

static void *fake_start(void *host, const bff_fetch_req_t *req, bff_fetch_cb cb, void *data,
                        const char **err)
{
    (void)cb, (void)data;
    if (req->path[0] != '/' || strchr(req->path, '\r') || strchr(req->path, '\n') ||
        strchr(req->path, ' '))
        abort(); /* a rendered URL is always an encoded path */
    ++*(int *)host;
    *err = "circuit open"; /* fail fast: nothing stays in flight */
    return NULL;
}
static void fake_cancel(void *host, void *call)
{
    (void)host, (void)call;
}
static uint64_t fake_now(void *host)
{
    (void)host;
    return 0;
}
static void on_done(void *data, bff_exec_t *exec)
{
    (void)data, (void)exec;
}

static size_t take_line(const uint8_t **p, const uint8_t *end, const char **out)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    *out = (const char *)*p;
    size_t n = (size_t)((nl ? nl : end) - *p);
    *p = nl ? nl + 1 : end;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (spec == NULL) {
        bff_diag_t diag = {0};
        static const char *const ups[] = {"u"};
        bff_spec_env_t env = {ups, 1};
        yaml = bff_yaml_load_string("fuzz.yaml", SPEC, sizeof(SPEC) - 1, &diag);
        spec = yaml ? bff_spec_parse(bff_yaml_root(yaml), &env, &diag) : NULL;
        if (spec == NULL)
            abort();
    }
    const uint8_t *p = data, *end = data + size;
    const char *value, *query;
    size_t vlen = take_line(&p, end, &value), qlen = take_line(&p, end, &query);
    h2o_iovec_t body = h2o_iovec_init((const char *)p, (size_t)(end - p));
    bff_jdoc_t probe = {0};
    if (body.len == 0 || bff_jdoc_scan(&probe, body.base, body.len, 1u << 16, 0, NULL, NULL) != 0)
        body = h2o_iovec_init(NULL, 0); /* the stage answers 400 before this point */
    bff_jdoc_dispose(&probe);

    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_headers_t headers = {NULL, 0, 0};
    h2o_add_header_by_str(&pool, &headers, H2O_STRLIT("x-t"), 0, NULL, value, vlen);
    h2o_iovec_t path_value = h2o_iovec_init(value, vlen);
    bff_jwrite_t doc;
    bff_jwrite_init(&doc, 256, 64 * 1024 + body.len);
    char msg[256];
    const char *bad;
    if (bff_params_build(spec, &path_value, h2o_iovec_init(query, qlen), &headers, body, &pool,
                         &doc, msg, sizeof(msg), &bad) == 0) {
        int calls = 0;
        static const bff_fetch_ops_t ops = {fake_start, fake_cancel, fake_now, NULL};
        const char *lines[] = {"X-Request-ID: f"};
        bff_exec_conf_t conf = {.plan = &spec->plan,
                                .request_doc = doc.buf,
                                .request_doc_len = doc.len,
                                .headers = lines,
                                .nheaders = 1,
                                .ops = &ops,
                                .host = &calls,
                                .on_done = on_done};
        bff_exec_t *exec = bff_exec_create(&conf);
        if (exec == NULL)
            abort(); /* the parameter parser wrote something that is not a JSON object */
        if (bff_exec_missing_input(exec, NULL) == NULL)
            bff_exec_start(exec);
        bff_exec_destroy(exec);
    }
    bff_jwrite_dispose(&doc);
    h2o_mem_clear_pool(&pool);
    return 0;
}
