/* Unit tests for compose/shape_schema.c: tests/cases/shape_schema/<name>/ folders hold an
 * endpoint spec (spec.yaml) and the schemas derived from it: response.json (always),
 * params.json ({name: schema}) and body.json (the request body's, or null) when present. */
#include "compose/shape_schema.h"

#include <dirent.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

static const char *const upstream_names[] = {"users", "orders", "catalog", "notifications",
                                             "shipping"};
static const bff_spec_env_t spec_env = {upstream_names, 5};

/* Compares `got` with the JSON file `path` (absent file: nothing to compare, but every case has
 * a response.json). BFF_WRITE_EXPECTED=1 writes the files instead, for review in the diff. */
static void expect_file(const char *name, const char *what, json_t *got, const char *path)
{
    json_error_t err;
    if (getenv("BFF_WRITE_EXPECTED") != NULL) {
        json_t *g = got != NULL ? got : json_null();
        json_dump_file(g, path, JSON_INDENT(2) | JSON_ENCODE_ANY);
        json_decref(g);
        return;
    }
    json_t *want = json_load_file(path, JSON_DECODE_ANY, &err);
    if (want == NULL && access(path, F_OK) != 0) {
        if (strcmp(what, "response") == 0)
            TAP_FAIL("case %s has no %s", name, path);
        json_decref(got);
        return;
    }
    if (want == NULL) {
        TAP_FAIL("%s: %s: %s", path, err.text, "unreadable");
        json_decref(got);
        return;
    }
    json_t *g = got != NULL ? got : json_null();
    if (!json_equal(g, want)) {
        char *a = json_dumps(g, JSON_SORT_KEYS | JSON_ENCODE_ANY),
             *b = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        TAP_FAIL("case %s, %s:\n#     got:      %s\n#     expected: %s", name, what, a, b);
        free(a);
        free(b);
    }
    json_decref(g);
    json_decref(want);
}

static void run_case(const char *dir, const char *name)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s/spec.yaml", dir, name);
    bff_diag_t diag = {0};
    bff_yaml_doc_t *doc = bff_yaml_load_file(path, &diag);
    bff_spec_t *spec = doc ? bff_spec_parse(bff_yaml_root(doc), &spec_env, &diag) : NULL;
    if (spec == NULL) {
        TAP_FAIL("case %s does not load: %s", name, diag_text(&diag));
    } else {
        snprintf(path, sizeof(path), "%s/%s/response.json", dir, name);
        expect_file(name, "response", bff_spec_response_schema(spec), path);
        json_t *params = json_object();
        for (size_t i = 0; i != spec->nparams; ++i)
            json_object_set_new(params, spec->params[i].name, bff_param_schema(spec->params + i));
        snprintf(path, sizeof(path), "%s/%s/params.json", dir, name);
        expect_file(name, "params", params, path);
        snprintf(path, sizeof(path), "%s/%s/body.json", dir, name);
        expect_file(name, "body", bff_spec_body_schema(spec), path);
    }
    bff_spec_free(spec);
    bff_yaml_free(doc);
    bff_diag_clear(&diag);
}

static void test_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/shape_schema", source_dir());
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    if (d == NULL)
        return;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        run_case(dir, de->d_name);
        ++n;
    }
    closedir(d);
    ASSERT_TRUE(n >= 5);
}

/* Unions: {} absorbs everything, plain types merge, anything else becomes anyOf. */
static void test_nullable(void)
{
    json_t *s = bff_schema_nullable(json_pack("{s:s}", "type", "integer"));
    char *t = json_dumps(s, JSON_SORT_KEYS);
    ASSERT_STR_EQ(t, "{\"type\": [\"integer\", \"null\"]}");
    free(t);
    json_decref(s);
    s = bff_schema_nullable(json_object());
    ASSERT_INT_EQ(json_object_size(s), 0);
    json_decref(s);
    s = bff_schema_nullable(json_pack("{s:s, s:s}", "type", "string", "const", "web"));
    t = json_dumps(s, JSON_SORT_KEYS);
    ASSERT_STR_EQ(
        t, "{\"anyOf\": [{\"const\": \"web\", \"type\": \"string\"}, {\"type\": \"null\"}]}");
    free(t);
    json_decref(s);
}

int main(void)
{
    TAP_RUN(test_cases);
    TAP_RUN(test_nullable);
    TAP_DONE();
}
