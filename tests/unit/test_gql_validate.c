/* Unit tests for compose/gql/validate*.c. Data-driven over tests/cases/gql_validate/<topic>/:
 * each <name>.graphql is parsed and validated against tests/cases/gql_validate/schema.graphql,
 * and its errors must be exactly <name>.err, one per line as
 * "line:column[,line:column...]: message" in the order reported (an empty file: valid). A case
 * whose first line is "# limits: max_depth=N max_aliases=N max_fields=N" is validated with those
 * limits. The expected files of the rules are graphql-js 16's own output (oracle.cjs there
 * prints it), but for the deviation_* cases, which show where bffd differs on purpose. In a rule's
 * folder, valid_* cases must have no error and invalid_* cases some. Then what files cannot
 * hold well: suggestions, the error cap, where names are, and large documents generated here,
 * which must validate in bounded time. With BFF_UPDATE_EXPECTED=1 the .err files are rewritten
 * from the results (review them against oracle.cjs before keeping). */
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "compose/gql/parse.h"
#include "compose/gql/schema.h"
#include "compose/gql/validate.h"
#include "compose/gql/validate_internal.h"
#include "compose/mem.h"

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

static bff_gql_schema_t *schema;

/* ---- a growing string ---- */

typedef struct {
    char *s;
    size_t len, cap;
} out_t;

static void out_add(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_add(out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (o->len + (size_t)n + 1 > o->cap) {
        o->cap = (o->len + (size_t)n + 1) * 2;
        o->s = bff_realloc(o->s, o->cap);
    }
    va_start(ap, fmt);
    vsnprintf(o->s + o->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}

static const char *out_str(out_t *o)
{
    if (o->s == NULL)
        out_add(o, "%s", "");
    return o->s;
}

static void format_errors(out_t *o, const bff_gql_errors_t *errs)
{
    for (size_t i = 0; i != errs->n; ++i) {
        const bff_gql_error_t *e = errs->items + i;
        for (size_t k = 0; k != e->nlocs; ++k)
            out_add(o, "%s%u:%u", k != 0 ? "," : "", e->locs[k].line, e->locs[k].column);
        if (e->nlocs == 0)
            out_add(o, "-");
        out_add(o, ": %s\n", e->message);
    }
}

/* ---- the schema ---- */

static bff_gql_schema_t *load_schema(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/cases/gql_validate/schema.graphql", source_dir());
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL)
        return NULL;
    bff_gql_errors_t errs = {0};
    bff_gql_sdl_t *sdl = bff_gql_parse_sdl(text, len, &errs);
    bff_gql_schema_t *s = NULL;
    if (sdl != NULL) {
        bff_gql_schema_source_t src = {sdl, path};
        bff_diag_t diag = {0};
        s = bff_gql_schema_build(&src, 1, NULL, &diag);
        if (s == NULL)
            printf("# %s\n", diag_text(&diag));
        bff_diag_clear(&diag);
    } else {
        printf("# schema: %s\n", errs.items[0].message);
    }
    bff_gql_sdl_free(sdl);
    bff_gql_errors_dispose(&errs);
    free(text);
    return s;
}

/* Parses and validates `src`; the errors in .err form into *o; the validator's count. */
static size_t run(const char *src, size_t len, const bff_gql_validate_limits_t *limits,
                  const bff_gql_parse_limits_t *plimits, out_t *o)
{
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = bff_gql_parse(src, len, plimits, &errs);
    size_t n = doc != NULL ? bff_gql_validate(schema, doc, limits, &errs) : errs.n;
    format_errors(o, &errs);
    bff_gql_errors_dispose(&errs);
    bff_gql_document_free(doc);
    return n;
}

/* ---- the cases ---- */

static void read_limits(const char *text, bff_gql_validate_limits_t *l)
{
    memset(l, 0, sizeof(*l));
    if (strncmp(text, "# limits:", 9) != 0)
        return;
    const char *end = strchr(text, '\n');
    for (const char *p = text + 9; p != NULL && (end == NULL || p < end);) {
        while (*p == ' ')
            ++p;
        unsigned v;
        if (sscanf(p, "max_depth=%u", &v) == 1)
            l->max_depth = v;
        else if (sscanf(p, "max_aliases=%u", &v) == 1)
            l->max_aliases = v;
        else if (sscanf(p, "max_fields=%u", &v) == 1)
            l->max_fields = v;
        p = strchr(p, ' ');
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in a folder that end with `suffix` (or are folders, when NULL). */
static size_t list_dir(const char *dir, const char *suffix, char ***out)
{
    DIR *d = opendir(dir);
    *out = NULL;
    if (d == NULL)
        return 0;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t len = strlen(de->d_name);
        int want = suffix == NULL ? S_ISDIR(st.st_mode)
                                  : S_ISREG(st.st_mode) && len > strlen(suffix) &&
                                        strcmp(de->d_name + len - strlen(suffix), suffix) == 0;
        if (!want)
            continue;
        if (n == cap) {
            cap = cap != 0 ? cap * 2 : 32;
            *out = bff_realloc(*out, cap * sizeof(**out));
        }
        (*out)[n++] = bff_strdup(de->d_name);
    }
    closedir(d);
    if (n != 0)
        qsort(*out, n, sizeof(**out), name_cmp);
    return n;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        free(names[i]);
    free(names);
}

static size_t ncases, nvalid, ninvalid;

/* One case; returns 1 if it found errors. */
static int run_case(const char *dir, const char *topic, const char *file)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, topic, file);
    size_t len;
    char *src = read_file(path, &len);
    size_t stem = strlen(path) - strlen(".graphql");
    char errpath[2048];
    snprintf(errpath, sizeof(errpath), "%.*s.err", (int)stem, path);
    char *expected = read_file(errpath, NULL);
    bff_gql_validate_limits_t limits;
    read_limits(src != NULL ? src : "", &limits);
    out_t got = {0};
    if (src != NULL)
        run(src, len, &limits, NULL, &got);
    const char *u = getenv("BFF_UPDATE_EXPECTED");
    if (u != NULL && strcmp(u, "1") == 0 && src != NULL) {
        FILE *fp = fopen(errpath, "wb");
        if (fp != NULL) {
            fputs(out_str(&got), fp);
            fclose(fp);
        }
    } else if (src == NULL || expected == NULL) {
        TAP_FAIL("%s/%s: unreadable case or no .err", topic, file);
    } else if (strcmp(out_str(&got), expected) != 0) {
        TAP_FAIL("%s/%s:\n# got:\n%s# expected:\n%s", topic, file, out_str(&got), expected);
    }
    int invalid = got.len != 0;
    ++ncases;
    free(got.s);
    free(src);
    free(expected);
    return invalid;
}

static void test_cases(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/gql_validate", source_dir());
    char **topics;
    size_t ntopics = list_dir(dir, NULL, &topics);
    ASSERT_TRUE(ntopics >= 25);
    for (size_t t = 0; t != ntopics; ++t) {
        char sub[2048];
        snprintf(sub, sizeof(sub), "%s/%s", dir, topics[t]);
        char **files;
        size_t nfiles = list_dir(sub, ".graphql", &files);
        size_t topic_valid = 0, topic_invalid = 0;
        for (size_t f = 0; f != nfiles; ++f) {
            int invalid = run_case(dir, topics[t], files[f]);
            /* A case's name says what it must be: a test that cannot fail is no test. */
            if (strncmp(files[f], "valid_", 6) == 0) {
                ++topic_valid;
                if (invalid)
                    TAP_FAIL("%s/%s: named valid but has errors", topics[t], files[f]);
            } else if (strncmp(files[f], "invalid_", 8) == 0) {
                ++topic_invalid;
                if (!invalid)
                    TAP_FAIL("%s/%s: named invalid but has none", topics[t], files[f]);
            }
        }
        /* Every rule has documents it accepts and documents it refuses. */
        if (strcmp(topics[t], "order") != 0 && (topic_valid == 0 || topic_invalid == 0))
            TAP_FAIL("%s: needs valid_ and invalid_ cases (%zu, %zu)", topics[t], topic_valid,
                     topic_invalid);
        nvalid += topic_valid;
        ninvalid += topic_invalid;
        free_names(files, nfiles);
    }
    free_names(topics, ntopics);
    printf("# %zu cases (%zu valid, %zu invalid)\n", ncases, nvalid, ninvalid);
    ASSERT_TRUE(ncases >= 120);
}

/* ---- suggestions ---- */

static void suggest(out_t *o, const char *input, const char *const *options, size_t n)
{
    vd_buf_t b = {0};
    vd_suggest(&b, NULL, input, options, n);
    out_add(o, "%s", vd_buf_str(&b));
    vd_buf_dispose(&b);
}

static void test_suggestions(void)
{
    static const char *const opts[] = {"name", "nmae",  "Name", "names",
                                       "game", "frame", "nam",  "x"};
    out_t o = {0};
    suggest(&o, "name", opts, 8);
    /* Exact first, then distance 1 (case, transposition, deletion, insertion, substitution)
     * in natural order; at most five. */
    ASSERT_STR_EQ(out_str(&o),
                  " Did you mean \"name\", \"Name\", \"game\", \"nam\", or \"names\"?");
    free(o.s);

    o = (out_t){0};
    static const char *const two[] = {"barks", "bark"};
    suggest(&o, "brak", two, 2);
    ASSERT_STR_EQ(out_str(&o), " Did you mean \"bark\" or \"barks\"?");
    free(o.s);

    o = (out_t){0};
    static const char *const one[] = {"loud", "quiet"};
    suggest(&o, "lod", one, 2);
    ASSERT_STR_EQ(out_str(&o), " Did you mean \"loud\"?");
    free(o.s);

    o = (out_t){0};
    suggest(&o, "zzzzzz", one, 2);
    ASSERT_STR_EQ(out_str(&o), "");
    free(o.s);

    /* naturalCompare: digit runs as numbers. */
    ASSERT_TRUE(vd_natural_compare("field2", "field10") < 0);
    ASSERT_TRUE(vd_natural_compare("field10", "field9") > 0);
    ASSERT_TRUE(vd_natural_compare("a", "a") == 0);
    ASSERT_TRUE(vd_natural_compare("a", "ab") < 0);
    ASSERT_TRUE(vd_natural_compare("B", "a") < 0);

    /* didYouMean with a sub-message and more than five names. */
    static const char *const six[] = {"A", "B", "C", "D", "E", "F"};
    vd_buf_t b = {0};
    vd_did_you_mean(&b, "to use an inline fragment on", six, 6);
    ASSERT_STR_EQ(vd_buf_str(&b),
                  " Did you mean to use an inline fragment on \"A\", \"B\", \"C\", \"D\", or "
                  "\"E\"?");
    vd_buf_dispose(&b);
}

/* ---- the error list, limits given or not ---- */

static void test_error_cap(void)
{
    /* Ten unknown fields: the list stops at its cap, the count says there were more. */
    const char *doc = "{ a b c d e f g h i j }";
    bff_gql_errors_t errs = {.max = 3};
    bff_gql_document_t *d = bff_gql_parse(doc, strlen(doc), NULL, &errs);
    ASSERT_TRUE(d != NULL);
    size_t n = bff_gql_validate(schema, d, NULL, &errs);
    ASSERT_INT_EQ(errs.n, 3);
    ASSERT_TRUE(n >= 3);
    bff_gql_errors_dispose(&errs);
    bff_gql_document_free(d);

    /* Errors already in the list are kept and not counted. */
    bff_gql_errors_t before = {0};
    bff_gql_error_add(&before, NULL, 0, "earlier");
    d = bff_gql_parse("{ dog { name } }", 16, NULL, &before);
    ASSERT_INT_EQ(bff_gql_validate(schema, d, NULL, &before), 0);
    ASSERT_INT_EQ(before.n, 1);
    bff_gql_errors_dispose(&before);
    bff_gql_document_free(d);

    /* Limits of 0 check nothing. */
    bff_gql_validate_limits_t none = {0, 0, 0};
    out_t o = {0};
    const char *deep = "{ a: dog { b: keeper { c: bestFriend { d: bestFriend { name } } } } }";
    ASSERT_INT_EQ(run(deep, strlen(deep), &none, NULL, &o), 0);
    ASSERT_STR_EQ(out_str(&o), "");
    free(o.s);

    ASSERT_INT_EQ(bff_gql_validate(NULL, NULL, NULL, &errs), 0);
}

/* Where a name was written: exact when the parser records it, else its usual spelling. */
static void test_name_locations(void)
{
    const char *src = "query  Dup { dog { ...  Missing } }\nquery\n  Dup($a: Int, $  a: Int) "
                      "{ echo { int(value: $a) } }\n";
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = bff_gql_parse(src, strlen(src), NULL, &errs);
    ASSERT_TRUE(doc != NULL);
    if (doc == NULL)
        return;
    int recorded = doc->operations[0].name_loc.line != 0;
    bff_gql_validate(schema, doc, NULL, &errs);
    out_t o = {0};
    format_errors(&o, &errs);
    if (recorded) {
        ASSERT_STR_EQ(out_str(&o), "1:25: Unknown fragment \"Missing\".\n"
                                   "1:8,3:3: There can be only one operation named \"Dup\".\n"
                                   "3:8,3:19: There can be only one variable named \"$a\".\n");
    } else {
        printf("# the parser leaves name_loc unset: the usual spelling is assumed\n");
        ASSERT_STR_EQ(out_str(&o), "1:23: Unknown fragment \"Missing\".\n"
                                   "1:7,2:7: There can be only one operation named \"Dup\".\n"
                                   "3:8,3:17: There can be only one variable named \"$a\".\n");
    }
    free(o.s);
    bff_gql_errors_dispose(&errs);
    bff_gql_document_free(doc);
}

/* ---- large documents ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Validates a generated document: its errors into *o, the seconds it took (the bounds below
 * are generous, for sanitizers and a busy machine: what they catch is work growing with the
 * square of the document, or worse). */
static double timed(const char *src, const bff_gql_validate_limits_t *limits, out_t *o)
{
    bff_gql_parse_limits_t pl = {0, 0, 1000};
    double t0 = now();
    run(src, strlen(src), limits, &pl, o);
    return now() - t0;
}

static void test_large_documents(void)
{
    out_t doc = {0}, o = {0};

    /* 20000 copies of one leaf field: alike fields are compared once. */
    out_add(&doc, "{ dog {");
    for (int i = 0; i != 20000; ++i)
        out_add(&doc, " name");
    out_add(&doc, " } }");
    double t = timed(out_str(&doc), NULL, &o);
    ASSERT_STR_EQ(out_str(&o), "");
    ASSERT_TRUE(t < 5.0);
    printf("# 20000 alike fields: %.3f s\n", t);
    free(doc.s);
    free(o.s);

    /* 600 distinct fragments in one selection set, all compared pairwise. */
    doc = (out_t){0};
    o = (out_t){0};
    out_add(&doc, "{ dog {");
    for (int i = 0; i != 600; ++i)
        out_add(&doc, " ...F%d", i);
    out_add(&doc, " } }\n");
    for (int i = 0; i != 600; ++i)
        out_add(&doc, "fragment F%d on Dog { name f%d: barks }\n", i, i);
    t = timed(out_str(&doc), NULL, &o);
    printf("# 600 fragments spread together: %.3f s\n", t);
    ASSERT_STR_EQ(out_str(&o), "");
    ASSERT_TRUE(t < 5.0);
    free(doc.s);
    free(o.s);

    /* 3000 of them: graphql-js would compare 4.5 million pairs; the work bound refuses it. */
    doc = (out_t){0};
    o = (out_t){0};
    out_add(&doc, "{ dog {");
    for (int i = 0; i != 3000; ++i)
        out_add(&doc, " ...F%d", i);
    out_add(&doc, " } }\n");
    for (int i = 0; i != 3000; ++i)
        out_add(&doc, "fragment F%d on Dog { name f%d: barks }\n", i, i);
    t = timed(out_str(&doc), NULL, &o);
    printf("# 3000 fragments spread together: %.3f s\n", t);
    ASSERT_STR_EQ(out_str(&o), "1:7: The document's fields are too complex to check for "
                               "conflicts: it is refused.\n");
    ASSERT_TRUE(t < 5.0);
    free(doc.s);
    free(o.s);

    /* Each fragment spreads the previous one twice: 2^60 fields once expanded, validated in
     * linear time, the count saturating. */
    doc = (out_t){0};
    o = (out_t){0};
    out_add(&doc, "query Q { dog { ...F60 } }\nfragment F0 on Dog { name }\n");
    for (int i = 1; i <= 60; ++i)
        out_add(&doc, "fragment F%d on Dog { name ...F%d littermates { ...F%d } }\n", i, i - 1,
                i - 1);
    bff_gql_validate_limits_t limits = {0, 0, 1000};
    t = timed(out_str(&doc), &limits, &o);
    ASSERT_STR_EQ(out_str(&o), "1:1: The operation \"Q\" selects more than 999999999999999 "
                               "fields; the limit is 1000.\n");
    ASSERT_TRUE(t < 5.0);
    free(doc.s);
    free(o.s);

    /* A chain of 600 fragments closed into a cycle: no recursion follows it; measuring stops
     * where the cycle closes. */
    doc = (out_t){0};
    o = (out_t){0};
    out_add(&doc, "{ dog { ...C0 } }\n");
    for (int i = 0; i != 600; ++i)
        out_add(&doc, "fragment C%d on Dog { name ...C%d }\n", i, (i + 1) % 600);
    limits = (bff_gql_validate_limits_t){10, 0, 100};
    t = timed(out_str(&doc), &limits, &o);
    printf("# a cycle of 600 fragments: %.3f s\n", t);
    const char *cycle = "2:27,3:27,4:27,5:27: Cannot spread fragment \"C0\" within itself via "
                        "\"C1\", \"C2\",";
    ASSERT_TRUE(strncmp(out_str(&o), cycle, strlen(cycle)) == 0);
    ASSERT_STR_CONTAINS(out_str(&o), ", \"C599\".\n1:1: The operation selects 601 fields; the "
                                     "limit is 100.\n");
    ASSERT_TRUE(t < 5.0);
    free(doc.s);
    free(o.s);

    /* The same non-leaf field many times: compared pairwise as graphql-js does, until the
     * work bound refuses the document. */
    doc = (out_t){0};
    o = (out_t){0};
    out_add(&doc, "{");
    for (int i = 0; i != 4000; ++i)
        out_add(&doc, " dog { keeper { name } }");
    out_add(&doc, " }");
    t = timed(out_str(&doc), NULL, &o);
    printf("# 4000 alike fields with selections: %.3f s\n", t);
    ASSERT_STR_EQ(out_str(&o), "1:1: The document's fields are too complex to check for "
                               "conflicts: it is refused.\n");
    ASSERT_TRUE(t < 5.0);
    free(doc.s);
    free(o.s);

    /* Two chains of fragments compared level by level: the comparison recurses once a level,
     * and a chain longer than its bound is refused rather than followed. */
    for (int n = 100; n <= 1100; n += 1000) {
        doc = (out_t){0};
        o = (out_t){0};
        out_add(&doc, "{ dog { ...A0 ...B0 } }\n");
        for (int i = 0; i != n; ++i)
            out_add(&doc,
                    "fragment A%d on Dog { littermates { ...A%d } }\n"
                    "fragment B%d on Dog { littermates { ...B%d } }\n",
                    i, i + 1, i, i + 1);
        out_add(&doc, "fragment A%d on Dog { name }\nfragment B%d on Dog { name: nickname }\n", n,
                n);
        t = timed(out_str(&doc), NULL, &o);
        printf("# two chains of %d fragments compared: %.3f s\n", n, t);
        if (n == 100) /* as graphql-js reports it */
            ASSERT_STR_CONTAINS(out_str(&o), "2:22,4:22,6:22,8:22: Fields \"littermates\" conflict "
                                             "because subfields \"littermates\" conflict because");
        else
            ASSERT_STR_EQ(out_str(&o), "1:7: The document's fields are too complex to check for "
                                       "conflicts: it is refused.\n");
        ASSERT_TRUE(t < 5.0);
        free(doc.s);
        free(o.s);
    }

    /* Nesting deeper than the walks follow (the parser allowed it here). */
    doc = (out_t){0};
    o = (out_t){0};
    out_add(&doc, "{ dog {");
    for (int i = 0; i != VD_MAX_NESTING + 10; ++i)
        out_add(&doc, " ... {");
    out_add(&doc, " name");
    for (int i = 0; i != VD_MAX_NESTING + 10; ++i)
        out_add(&doc, " }");
    out_add(&doc, " } }");
    t = timed(out_str(&doc), NULL, &o);
    ASSERT_STR_CONTAINS(out_str(&o), "The document is nested too deeply to validate");
    free(doc.s);
    free(o.s);
}

int main(void)
{
    schema = load_schema();
    ASSERT_TRUE(schema != NULL);
    if (schema == NULL) {
        printf("not ok 1 - schema\n1..1\n");
        return 1;
    }
    TAP_RUN(test_cases);
    TAP_RUN(test_suggestions);
    TAP_RUN(test_error_cap);
    TAP_RUN(test_name_locations);
    TAP_RUN(test_large_documents);
    bff_gql_schema_free(schema);
    TAP_DONE();
}
