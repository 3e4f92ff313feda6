/* A stored GraphQL operation's REST answer (graphql_rest.h). */
#include "server/stage/graphql_rest.h"

#include <h2o.h>
#include <string.h>

#include "compose/errors.h"
#include "compose/gql/values.h"
#include "compose/json_scan.h"
#include "server/http/respond.h"

#define MAX_RESPONSE ((size_t)64 << 20)

int bff_graphql_rest_variables(const bff_gql_graph_t *g, const bff_spec_t *spec, const char *doc,
                               size_t len, bff_jwrite_t *vars, bff_answer_t *a)
{
    bff_jdoc_t in = {0};
    bff_gql_errors_t errs = {0};
    int bad = bff_jdoc_scan(&in, doc, len, 0, 0, NULL, NULL) != 0 ||
              bff_gql_coerce_variables(g->schema, spec->graphql_op, &in, 0, vars, &errs) != 0 ||
              bff_jwrite_done(vars) != 0;
    bff_jdoc_dispose(&in);
    if (bad)
        bff_answer_error(a, 400, bff_code_bad_parameter,
                         errs.n != 0 ? errs.items[0].message
                                     : "the parameters do not fit the operation's variables",
                         NULL);
    bff_gql_errors_dispose(&errs);
    return bad ? -1 : 0;
}

void bff_graphql_rest_answer(const char *result, size_t len, bff_answer_t *a)
{
    bff_jdoc_t d = {0};
    uint32_t data = BFF_JDOC_NONE, errors = BFF_JDOC_NONE;
    if (bff_jdoc_scan(&d, result, len, 0, BFF_JDOC_MAX_DEPTH, NULL, NULL) == 0) {
        data = bff_jdoc_obj_get(&d, 0, "data", 4);
        errors = bff_jdoc_obj_get(&d, 0, "errors", 6);
    }
    if (data == BFF_JDOC_NONE || d.toks[data].type != BFF_J_OBJECT) {
        char msg[300] = "the operation produced no data";
        uint32_t m = errors != BFF_JDOC_NONE
                         ? bff_jdoc_obj_get(&d, bff_jdoc_arr_get(&d, errors, 0), "message", 7)
                         : BFF_JDOC_NONE;
        if (m != BFF_JDOC_NONE && d.toks[m].end - d.toks[m].start < sizeof(msg)) {
            size_t n = bff_jdoc_unescape(&d, m, msg);
            msg[n] = '\0';
        }
        bff_answer_error(a, 502, bff_code_upstream_failed, msg, NULL);
        bff_jdoc_dispose(&d);
        return;
    }
    bff_jwrite_t w;
    bff_jwrite_init(&w, len + 64, MAX_RESPONSE);
    bff_jwrite_open(&w, '{');
    for (uint32_t k = data + 1, n = 0; n != d.toks[data].size; ++n, k = d.toks[k + 1].next) {
        char key[256];
        size_t klen =
            d.toks[k].end - d.toks[k].start < sizeof(key) ? bff_jdoc_unescape(&d, k, key) : 0;
        size_t vlen;
        const char *raw = bff_jdoc_raw(&d, k + 1, &vlen);
        bff_jwrite_key(&w, key, klen);
        bff_jwrite_raw(&w, raw, vlen);
    }
    if (errors != BFF_JDOC_NONE) {
        size_t elen;
        const char *raw = bff_jdoc_raw(&d, errors, &elen);
        bff_jwrite_key(&w, H2O_STRLIT("errors"));
        bff_jwrite_raw(&w, raw, elen);
        bff_answer_add_header(a, H2O_STRLIT("bff-partial"), H2O_STRLIT("true"));
    }
    bff_jwrite_close(&w, '}');
    a->status = 200;
    bff_answer_set_body(a, w.buf, w.len);
    bff_jwrite_dispose(&w);
    bff_jdoc_dispose(&d);
}
