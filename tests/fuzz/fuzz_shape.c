/* libFuzzer harness for response shaping: the input is "shape YAML \0 source JSON". The shape is
 * compiled (roots: `s` and `t` are sources, `id` and `header` the request, `item` the for-each
 * item), the JSON scanned, and the shape evaluated with every source present, then with `t`
 * unavailable. Whenever the writer reports a complete document, it must be valid JSON; bindings
 * must be ones the resolver gave. Everything is freed, so leaks show under ASan. */
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
#include "compose/shape_eval.c"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve_root(void *ctx, const char *root)
{
    (void)ctx;
    if (strcmp(root, "s") == 0)
        return 0;
    if (strcmp(root, "t") == 0)
        return 1;
    if (strcmp(root, "id") == 0 || strcmp(root, "header") == 0)
        return BFF_BIND_REQUEST;
    if (strcmp(root, "item") == 0)
        return BFF_BIND_ITEM;
    return -1;
}

static void on_binding(void *ctx, int binding)
{
    (void)ctx;
    CHECK(binding == 0 || binding == 1 || binding == BFF_BIND_REQUEST || binding == BFF_BIND_ITEM);
}

static void eval_and_check(const bff_shape_t *shape, const bff_shape_env_t *env, size_t max)
{
    bff_jwrite_t w;
    bff_jwrite_init(&w, 64, max);
    bff_shape_eval(shape, env, &w);
    if (bff_jwrite_done(&w) == 0) {
        static bff_jdoc_t check;
        const char *err = NULL;
        if (bff_jdoc_scan(&check, w.buf, w.len, 0, BFF_JDOC_MAX_DEPTH, &err, NULL) != 0) {
            fprintf(stderr, "shape output is not JSON (%s): %.*s\n", err, (int)w.len, w.buf);
            abort();
        }
    } else {
        CHECK(w.overflow); /* the shape evaluator never breaks the writer's structure */
    }
    if (shape->kind == BFF_SHAPE_TEMPLATE) {
        bff_template_miss_t missing = {NULL, 0};
        bff_jwrite_reset(&w);
        bff_template_render(&shape->tmpl, env, 1, &w, &missing);
        bff_jwrite_reset(&w);
        bff_template_render(&shape->tmpl, env, 0, &w, &missing);
    }
    bff_jwrite_dispose(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nul = memchr(in, '\0', size);
    size_t ylen = nul ? (size_t)(nul - in) : size;
    const char *json = nul ? nul + 1 : "{}";
    size_t jlen = nul ? size - ylen - 1 : 2;

    bff_diag_t diag = {0};
    bff_yaml_doc_t *ydoc = bff_yaml_load_string("fuzz.yaml", in, ylen, &diag);
    bff_shape_t *shape =
        ydoc ? bff_shape_parse(bff_yaml_root(ydoc), resolve_root, NULL, &diag) : NULL;
    CHECK(shape != NULL || diag.size > 0);
    static bff_jdoc_t doc, req;
    static const char reqjson[] = "{\"id\":\"a b/\\u00e9\",\"header\":{\"x\":\"v\",\"y\":\"1\"}}";
    if (shape != NULL && bff_jdoc_scan(&doc, json, jlen, 1u << 16, 64, NULL, NULL) == 0 &&
        bff_jdoc_scan(&req, reqjson, sizeof(reqjson) - 1, 0, 0, NULL, NULL) == 0) {
        bff_shape_foreach_binding(shape, on_binding, NULL);
        /* `t` is the first member's value when the JSON is a non-empty object, else the root. */
        uint32_t t_root = doc.toks[0].type == BFF_J_OBJECT && doc.toks[0].size > 0 ? 2 : 0;
        const bff_jdoc_t *docs[2] = {&doc, &doc};
        uint32_t roots[2] = {0, t_root};
        bff_shape_env_t env = {.source_docs = docs,
                               .source_roots = roots,
                               .nsources = 2,
                               .request_doc = &req,
                               .item_doc = &doc,
                               .item_tok = t_root};
        eval_and_check(shape, &env, (size_t)1 << 22);
        docs[1] = NULL;
        env.item_doc = NULL;
        eval_and_check(shape, &env, (size_t)1 << 22);
        eval_and_check(shape, &env, 40); /* a cap the output will often hit */
    }
    bff_shape_free(shape);
    bff_yaml_free(ydoc);
    bff_diag_clear(&diag);
    return 0;
}
