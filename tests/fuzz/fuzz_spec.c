/* libFuzzer harness for the spec loader: arbitrary bytes as a YAML endpoint spec through
 * bff_yaml_load_string and bff_spec_parse (upstreams users, orders, catalog, notifications,
 * shipping). A failure must come with a message; a success must satisfy the model's invariants
 * (topological order, dependency masks, routes matching their own paths, JSON literals that
 * scan). Everything is freed, so leaks show under ASan. Aborts on violation. */
#include "compose/diag.c"
#include "compose/json_scan.c"
#include "compose/json_write.c"
#include "compose/jpath.c"
#include "compose/template.c"
/* yaml_tree.c and shape_parse.c both have a file-local parse_scalar. */
#define parse_scalar yaml_parse_scalar
#include "compose/yaml_tree.c"
#undef parse_scalar
#include "compose/shape_parse.c"
#include "compose/spec.c"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(const char *json)
{
    if (json == NULL)
        return;
    bff_jdoc_t doc = {0};
    const char *err = NULL;
    if (bff_jdoc_scan(&doc, json, strlen(json), 0, BFF_JDOC_MAX_DEPTH, &err, NULL) != 0) {
        fprintf(stderr, "invalid JSON literal (%s): %s\n", err, json);
        abort();
    }
    bff_jdoc_dispose(&doc);
}

static void check_shape(const bff_shape_t *s, unsigned depth)
{
    if (s == NULL)
        return;
    CHECK(depth < 200);
    check_json(s->literal_json);
    check_json(s->default_json);
    check_json(s->filter.value_json);
    CHECK(s->kind != BFF_SHAPE_LITERAL || s->literal_json != NULL);
    CHECK(s->kind != BFF_SHAPE_PATH || s->path.root != NULL);
    CHECK((s->policy == BFF_MERGE_KEYED) == (s->merge_key != NULL) || s->kind != BFF_SHAPE_MERGE);
    for (size_t i = 0; i != s->nfields; ++i)
        check_shape(s->fields[i], depth + 1);
    for (size_t i = 0; i != s->nparts; ++i)
        check_shape(s->parts[i], depth + 1);
    check_shape(s->select, depth + 1);
}

static void check_spec(const bff_spec_t *spec)
{
    CHECK(spec->method != NULL && spec->route != NULL && spec->route[0] == '/');
    CHECK(spec->plan.nsources <= BFF_SPEC_MAX_SOURCES);
    CHECK(spec->response != NULL ||
          spec->graphql != NULL); /* a stored operation answers its data */
    if (spec->response != NULL)
        check_shape(spec->response, 0);

    /* Sources: known upstreams, dependencies on other sources only, a topological order. */
    uint64_t placed = 0, all = spec->plan.nsources == 64 ? UINT64_MAX
                                                         : ((uint64_t)1 << spec->plan.nsources) - 1;
    for (size_t i = 0; i != spec->plan.nsources; ++i) {
        const bff_source_t *src = spec->plan.sources + i;
        CHECK(src->index == i && src->upstream < 5);
        CHECK((src->deps & ~all) == 0 && (src->deps & ((uint64_t)1 << i)) == 0);
        CHECK(src->path.text != NULL && src->path.text[0] == '/');
        CHECK(src->fallback_json == NULL || src->optional);
        check_json(src->fallback_json);
        check_shape(src->body, 0);
        unsigned s = spec->plan.order[i];
        CHECK(s < spec->plan.nsources && !(placed & ((uint64_t)1 << s)));
        CHECK((spec->plan.sources[s].deps & ~placed) == 0);
        placed |= (uint64_t)1 << s;
    }
    for (size_t i = 0; i != spec->nrequest_headers; ++i) {
        for (const char *c = spec->request_headers[i]; *c; ++c)
            CHECK(!isupper((unsigned char)*c));
        for (size_t j = 0; j != i; ++j)
            CHECK(strcmp(spec->request_headers[i], spec->request_headers[j]) != 0);
    }

    /* The route matches a path built from it, with each parameter's value where it belongs. */
    size_t nparams_in_path = 0;
    for (size_t i = 0; i != spec->nparams; ++i)
        nparams_in_path += spec->params[i].in_path;
    CHECK(nparams_in_path <= 64);
    char path[8192];
    size_t len = 0, np = 0;
    size_t expect[64][2];
    for (size_t i = 0; i != spec->nsegments && len < sizeof(path) - 64; ++i) {
        const bff_path_segment_t *seg = spec->segments + i;
        path[len++] = '/';
        if (seg->literal != NULL) {
            size_t l = strlen(seg->literal);
            if (l > sizeof(path) - 64 - len)
                return;
            memcpy(path + len, seg->literal, l);
            len += l;
        } else {
            CHECK(seg->param == np && spec->params[seg->param].in_path);
            expect[np][0] = len;
            len += (size_t)snprintf(path + len, sizeof(path) - len, "v%zu", np);
            expect[np][1] = len - expect[np][0];
            ++np;
        }
    }
    if (spec->nsegments == 0)
        path[len++] = '/';
    CHECK(np == nparams_in_path);
    size_t values[64][2];
    CHECK(bff_spec_match(spec, path, len, values));
    for (size_t i = 0; i != np; ++i)
        CHECK(values[i][0] == expect[i][0] && values[i][1] == expect[i][1]);
    /* One more segment never matches. */
    memcpy(path + len, "/zz", 3);
    CHECK(!bff_spec_match(spec, path, len + 3, values));
    CHECK(bff_spec_same_route(spec, spec));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const upstreams[] = {"users", "orders", "catalog", "notifications",
                                            "shipping"};
    static const bff_spec_env_t env = {upstreams, 5};
    bff_diag_t diag = {0};
    bff_yaml_doc_t *doc = bff_yaml_load_string("fuzz.yaml", (const char *)data, size, &diag);
    if (doc == NULL) {
        CHECK(diag.size > 0);
        bff_diag_clear(&diag);
        return 0;
    }
    CHECK(bff_yaml_root(doc) != NULL);
    bff_spec_t *spec = bff_spec_parse(bff_yaml_root(doc), &env, &diag);
    if (spec == NULL) {
        CHECK(diag.size > 0);
        char buf[1400];
        for (size_t i = 0; i != diag.size; ++i)
            bff_diag_format(&diag, i, buf, sizeof(buf));
    } else {
        /* A spec may compile around a scalar the loader already refused (an unset environment
         * variable): the loader's failure is what refuses the file then. */
        CHECK(diag.size == 0 || bff_yaml_doc_failed(doc));
        check_spec(spec);
    }
    bff_spec_free(spec);
    bff_yaml_free(doc);
    bff_diag_clear(&diag);
    return 0;
}
