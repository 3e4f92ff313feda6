/* Unit tests for compose/gql/lex.c, parse.c and parse_sdl.c. Data-driven over
 * tests/cases/gql_parse/: valid/ and sdl_valid/ hold <name>.graphql with <name>.out, the dump
 * below of what parsed (every node with its line:column); invalid/ and sdl_invalid/ hold
 * <name>.graphql with <name>.err, "line:column: message" per error. A case file starting with
 * "# limits: max_bytes=N max_tokens=N max_depth=N" is parsed with those limits. Then what files
 * cannot hold well: generated deep nesting, limit boundaries, bytes of every kind, the lexer.
 * BFF_GQL_PARSE_REGEN=1 rewrites the expected files from the output (review before keeping). */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>

#include "compose/gql/lex.h"
#include "compose/gql/parse.h"
#include "compose/mem.h"

#include "tests/unit/tap.h"
#include "tests/unit/test_util.h"

/* ---- a growing output buffer ---- */

typedef struct {
    char *s;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = bff_realloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- the dump ---- */

/* A decoded string, quoted: ASCII as is (\" \\ \n \r \t escaped), everything else as \u{X}, so
 * the exact code points show; malformed UTF-8 (a lexer bug) shows as \x{..}. */
static void put_string(buf_t *b, const char *s, size_t len)
{
    put(b, "\"");
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put(b, "\\%c", c);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            put(b, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        } else if (c >= 0x20 && c < 0x7F) {
            put(b, "%c", c);
        } else if (c < 0x80) {
            put(b, "\\u{%X}", c);
        } else {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            uint32_t cp = n == 4 ? c & 0x07u : n == 3 ? c & 0x0Fu : c & 0x1Fu;
            int ok = n > 1 && i + n <= len;
            for (size_t k = 1; ok && k < n; ++k) {
                ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
                cp = cp << 6 | ((unsigned char)s[i + k] & 0x3Fu);
            }
            if (!ok) {
                put(b, "\\x{%02X}", c);
                ++i;
                continue;
            }
            put(b, "\\u{%X}", (unsigned)cp);
            i += n;
            continue;
        }
        ++i;
    }
    put(b, "\"");
}

static void put_loc(buf_t *b, bff_gql_loc_t loc)
{
    put(b, "<%u:%u>", loc.line, loc.column);
}

static void put_value(buf_t *b, const bff_gql_value_t *v)
{
    switch (v->kind) {
    case BFF_GQL_VARIABLE:
        put(b, "Variable($%s)", v->str);
        break;
    case BFF_GQL_INT:
    case BFF_GQL_FLOAT:
        put(b, "%s(%s)", v->kind == BFF_GQL_INT ? "Int" : "Float", v->str);
        if (v->len != strlen(v->str))
            put(b, "(len %zu!)", v->len);
        break;
    case BFF_GQL_STRING:
        put(b, "String(");
        put_string(b, v->str, v->len);
        put(b, ")");
        break;
    case BFF_GQL_BOOLEAN:
        put(b, "Boolean(%s)", v->boolean ? "true" : "false");
        break;
    case BFF_GQL_NULL:
        put(b, "Null");
        break;
    case BFF_GQL_ENUM:
        put(b, "Enum(%s)", v->str);
        break;
    case BFF_GQL_LIST:
        put(b, "List[");
        for (size_t i = 0; i != v->nitems; ++i) {
            put(b, i ? ", " : "");
            put_value(b, v->items[i]);
        }
        put(b, "]");
        break;
    case BFF_GQL_OBJECT:
        put(b, "Object{");
        for (size_t i = 0; i != v->nfields; ++i) {
            put(b, "%s%s", i ? ", " : "", v->fields[i].name);
            put_loc(b, v->fields[i].loc);
            put(b, ": ");
            put_value(b, v->fields[i].value);
        }
        put(b, "}");
        break;
    }
    put_loc(b, v->loc);
}

static void put_type(buf_t *b, const bff_gql_type_ref_t *t, int outer)
{
    if (t->kind == BFF_GQL_NAMED) {
        put(b, "%s", t->name);
    } else if (t->kind == BFF_GQL_LIST_OF) {
        put(b, "[");
        put_type(b, t->of, 0);
        put(b, "]");
    } else {
        put_type(b, t->of, 0);
        put(b, "!");
        if (t->of->loc.line != t->loc.line || t->of->loc.column != t->loc.column)
            put(b, "(loc differs from its type!)");
    }
    if (outer)
        put_loc(b, t->loc);
}

/* One line made of pieces: the text so far is kept in `b` and ended by end_line. */
static void start_line(buf_t *b, int depth)
{
    put(b, "%*s", depth * 2, "");
}

static void put_directives(buf_t *b, int depth, const bff_gql_directive_t *ds, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        start_line(b, depth);
        put(b, "directive @%s ", ds[i].name);
        put_loc(b, ds[i].loc);
        put(b, "\n");
        for (size_t k = 0; k != ds[i].nargs; ++k) {
            start_line(b, depth + 1);
            put(b, "arg %s ", ds[i].args[k].name);
            put_loc(b, ds[i].args[k].loc);
            put(b, " = ");
            put_value(b, ds[i].args[k].value);
            put(b, "\n");
        }
    }
}

static void put_selections(buf_t *b, int depth, const bff_gql_selection_set_t *set)
{
    start_line(b, depth);
    put(b, "selections ");
    put_loc(b, set->loc);
    put(b, "\n");
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *s = set->items + i;
        start_line(b, depth + 1);
        if (s->kind == BFF_GQL_FIELD)
            put(b, "field %s%s%s ", s->alias ? s->alias : "", s->alias ? ": " : "", s->name);
        else if (s->kind == BFF_GQL_FRAGMENT_SPREAD)
            put(b, "spread %s ", s->name);
        else if (s->type_condition != NULL)
            put(b, "inline on %s", s->type_condition);
        else
            put(b, "inline ");
        if (s->kind == BFF_GQL_INLINE_FRAGMENT && s->type_condition != NULL) {
            put_loc(b, s->type_condition_loc);
            put(b, " ");
        }
        put_loc(b, s->loc);
        put(b, "\n");
        for (size_t k = 0; k != s->nargs; ++k) {
            start_line(b, depth + 2);
            put(b, "arg %s ", s->args[k].name);
            put_loc(b, s->args[k].loc);
            put(b, " = ");
            put_value(b, s->args[k].value);
            put(b, "\n");
        }
        put_directives(b, depth + 2, s->directives, s->ndirectives);
        if (s->selection_set != NULL)
            put_selections(b, depth + 2, s->selection_set);
    }
}

static void dump_document(buf_t *b, const bff_gql_document_t *doc)
{
    static const char *const kinds[] = {"query", "mutation", "subscription"};
    for (size_t i = 0; i != doc->noperations; ++i) {
        const bff_gql_operation_t *op = doc->operations + i;
        put(b, "%s %s%s", kinds[op->kind], op->name ? op->name : "", op->name ? " " : "");
        put_loc(b, op->loc);
        put(b, "\n");
        for (size_t k = 0; k != op->nvars; ++k) {
            const bff_gql_variable_def_t *v = op->vars + k;
            put(b, "  var $%s ", v->name);
            put_loc(b, v->loc);
            put(b, " : ");
            put_type(b, v->type, 1);
            if (v->default_value != NULL) {
                put(b, " = ");
                put_value(b, v->default_value);
            }
            put(b, "\n");
            put_directives(b, 2, v->directives, v->ndirectives);
        }
        put_directives(b, 1, op->directives, op->ndirectives);
        put_selections(b, 1, op->selection_set);
    }
    for (size_t i = 0; i != doc->nfragments; ++i) {
        const bff_gql_fragment_t *f = doc->fragments + i;
        put(b, "fragment %s on %s", f->name, f->type_condition);
        put_loc(b, f->type_condition_loc);
        put(b, " ");
        put_loc(b, f->loc);
        put(b, "\n");
        put_directives(b, 1, f->directives, f->ndirectives);
        put_selections(b, 1, f->selection_set);
    }
}

static void put_description(buf_t *b, int depth, const char *d)
{
    if (d == NULL)
        return;
    start_line(b, depth);
    put(b, "description ");
    put_string(b, d, strlen(d));
    put(b, "\n");
}

static void put_input_values(buf_t *b, int depth, const char *what,
                             const bff_gql_input_value_def_t *vs, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        start_line(b, depth);
        put(b, "%s %s ", what, vs[i].name);
        put_loc(b, vs[i].loc);
        put(b, " : ");
        put_type(b, vs[i].type, 1);
        if (vs[i].default_value != NULL) {
            put(b, " = ");
            put_value(b, vs[i].default_value);
        }
        put(b, "\n");
        put_description(b, depth + 1, vs[i].description);
        put_directives(b, depth + 1, vs[i].directives, vs[i].ndirectives);
    }
}

static void put_names(buf_t *b, int depth, const char *what, const bff_gql_name_t *ns, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        start_line(b, depth);
        put(b, "%s %s", what, ns[i].name);
        put_loc(b, ns[i].loc);
        put(b, "\n");
    }
}

static void dump_type(buf_t *b, const bff_gql_type_def_t *t)
{
    static const char *const kinds[] = {"scalar", "type", "interface", "union", "enum", "input"};
    put(b, "%s%s %s ", t->is_extension ? "extend " : "", kinds[t->kind], t->name);
    put_loc(b, t->loc);
    put(b, "\n");
    put_description(b, 1, t->description);
    put_names(b, 1, "implements", t->interfaces, t->ninterfaces);
    put_directives(b, 1, t->directives, t->ndirectives);
    for (size_t i = 0; i != t->nfields; ++i) {
        const bff_gql_field_def_t *f = t->fields + i;
        put(b, "  field %s ", f->name);
        put_loc(b, f->loc);
        put(b, " : ");
        put_type(b, f->type, 1);
        put(b, "\n");
        put_description(b, 2, f->description);
        put_input_values(b, 2, "argdef", f->args, f->nargs);
        put_directives(b, 2, f->directives, f->ndirectives);
    }
    put_names(b, 1, "member", t->members, t->nmembers);
    for (size_t i = 0; i != t->nvalues; ++i) {
        put(b, "  value %s ", t->values[i].name);
        put_loc(b, t->values[i].loc);
        put(b, "\n");
        put_description(b, 2, t->values[i].description);
        put_directives(b, 2, t->values[i].directives, t->values[i].ndirectives);
    }
    put_input_values(b, 1, "inputfield", t->input_fields, t->ninput_fields);
}

static void dump_sdl(buf_t *b, const bff_gql_sdl_t *sdl)
{
    for (size_t i = 0; i != sdl->ntypes; ++i)
        dump_type(b, sdl->types + i);
    for (size_t i = 0; i != sdl->ndirectives; ++i) {
        const bff_gql_directive_def_t *d = sdl->directives + i;
        put(b, "directive @%s ", d->name);
        put_loc(b, d->loc);
        put(b, "%s\n", d->repeatable ? " repeatable" : "");
        put_description(b, 1, d->description);
        put_input_values(b, 1, "argdef", d->args, d->nargs);
        put_names(b, 1, "location", d->locations, d->nlocations);
    }
    for (size_t i = 0; i != sdl->nschemas; ++i) {
        const bff_gql_schema_def_t *s = sdl->schemas + i;
        put(b, "%sschema ", s->is_extension ? "extend " : "");
        put_loc(b, s->loc);
        put(b, "\n");
        put_description(b, 1, s->description);
        put_directives(b, 1, s->directives, s->ndirectives);
        const bff_gql_name_t *ops[] = {&s->query, &s->mutation, &s->subscription};
        static const char *const names[] = {"query", "mutation", "subscription"};
        for (size_t k = 0; k != 3; ++k)
            if (ops[k]->name != NULL)
                put_names(b, 1, names[k], ops[k], 1);
    }
}

static void dump_errors(buf_t *b, const bff_gql_errors_t *errs)
{
    for (size_t i = 0; i != errs->n; ++i) {
        for (size_t k = 0; k != errs->items[i].nlocs; ++k)
            put(b, "%s%u:%u", k ? "," : "", errs->items[i].locs[k].line,
                errs->items[i].locs[k].column);
        put(b, "%s: %s\n", errs->items[i].nlocs ? "" : "-", errs->items[i].message);
    }
}

/* ---- data-driven cases ---- */

/* "# limits: max_bytes=N max_tokens=N max_depth=N" on the first line. */
static bff_gql_parse_limits_t case_limits(const char *src)
{
    bff_gql_parse_limits_t lim = {0};
    if (strncmp(src, "# limits:", 9) != 0)
        return lim;
    const char *end = strchr(src, '\n');
    for (const char *s = src + 9; s != NULL && (end == NULL || s < end); s = strchr(s + 1, ' ')) {
        unsigned long v;
        if (sscanf(s, " max_bytes=%lu", &v) == 1)
            lim.max_bytes = v;
        else if (sscanf(s, " max_tokens=%lu", &v) == 1)
            lim.max_tokens = v;
        else if (sscanf(s, " max_depth=%lu", &v) == 1)
            lim.max_depth = (unsigned)v;
    }
    return lim;
}

/* Parses src as the folder says and returns the dump, or the errors. */
static char *parse_to_text(const char *src, size_t len, int sdl_case, int *ok)
{
    buf_t b = {0};
    bff_gql_errors_t errs = {0};
    put(&b, "%s", "");
    if (sdl_case) {
        bff_gql_sdl_t *sdl = bff_gql_parse_sdl(src, len, &errs);
        *ok = sdl != NULL;
        if (sdl != NULL)
            dump_sdl(&b, sdl);
        bff_gql_sdl_free(sdl);
    } else {
        bff_gql_parse_limits_t lim = case_limits(src);
        bff_gql_document_t *doc = bff_gql_parse(src, len, &lim, &errs);
        *ok = doc != NULL;
        if (doc != NULL)
            dump_document(&b, doc);
        bff_gql_document_free(doc);
    }
    if ((*ok && errs.n != 0) || (!*ok && errs.n == 0))
        put(&b, "(parse result and error count disagree: %zu errors)\n", errs.n);
    dump_errors(&b, &errs);
    bff_gql_errors_dispose(&errs);
    return b.s;
}

static int case_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every <name>.graphql in tests/cases/gql_parse/<folder>: the number of cases run. */
static size_t run_folder(const char *folder, int sdl_case, int expect_ok)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/cases/gql_parse/%s", source_dir(), folder);
    DIR *d = opendir(dir);
    if (d == NULL) {
        TAP_FAIL("cannot open %s", dir);
        return 0;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 512) {
        size_t len = strlen(de->d_name);
        if (len > 8 && strcmp(de->d_name + len - 8, ".graphql") == 0)
            names[n++] = bff_strndup(de->d_name, len - 8);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), case_cmp);
    int regen = getenv("BFF_GQL_PARSE_REGEN") != NULL;
    for (size_t i = 0; i != n; ++i) {
        char path[1200], expected_path[1200];
        snprintf(path, sizeof(path), "%s/%s.graphql", dir, names[i]);
        snprintf(expected_path, sizeof(expected_path), "%s/%s.%s", dir, names[i],
                 expect_ok ? "out" : "err");
        size_t len;
        char *src = read_file(path, &len);
        int ok = 0;
        char *got = src != NULL ? parse_to_text(src, len, sdl_case, &ok) : NULL;
        char *expected = read_file(expected_path, NULL);
        if (got == NULL) {
            TAP_FAIL("%s/%s: unreadable", folder, names[i]);
        } else if (ok != expect_ok) {
            TAP_FAIL("%s/%s: %s:\n%s", folder, names[i], ok ? "parsed" : "refused", got);
        } else if (regen && (expected == NULL || strcmp(got, expected) != 0)) {
            FILE *fp = fopen(expected_path, "wb");
            if (fp != NULL) {
                fputs(got, fp);
                fclose(fp);
            }
            printf("# rewrote %s\n", expected_path);
        } else if (expected == NULL) {
            TAP_FAIL("%s/%s: no %s", folder, names[i], expected_path);
        } else if (strcmp(got, expected) != 0) {
            TAP_FAIL("%s/%s:\n# got:\n%s# expected:\n%s", folder, names[i], got, expected);
        }
        free(src);
        free(got);
        free(expected);
        free(names[i]);
    }
    return n;
}

static void test_valid_cases(void)
{
    ASSERT_TRUE(run_folder("valid", 0, 1) >= 20);
}

static void test_invalid_cases(void)
{
    ASSERT_TRUE(run_folder("invalid", 0, 0) >= 40);
}

static void test_sdl_valid_cases(void)
{
    ASSERT_TRUE(run_folder("sdl_valid", 1, 1) >= 8);
}

static void test_sdl_invalid_cases(void)
{
    ASSERT_TRUE(run_folder("sdl_invalid", 1, 0) >= 15);
}

/* ---- generated documents ---- */

/* The errors of parsing src (an executable document, or SDL), as dump_errors writes them. */
static char *errors_of(const char *src, size_t len, const bff_gql_parse_limits_t *lim, int sdl)
{
    buf_t b = {0};
    bff_gql_errors_t errs = {0};
    put(&b, "%s", "");
    if (sdl) {
        bff_gql_sdl_t *s = bff_gql_parse_sdl(src, len, &errs);
        if (s != NULL)
            put(&b, "parsed\n");
        bff_gql_sdl_free(s);
    } else {
        bff_gql_document_t *d = bff_gql_parse(src, len, lim, &errs);
        if (d != NULL)
            put(&b, "parsed %zu tokens\n", d->ntokens);
        bff_gql_document_free(d);
    }
    dump_errors(&b, &errs);
    bff_gql_errors_dispose(&errs);
    return b.s;
}

#define ASSERT_ERRORS(src, len, lim, sdl, expected)                                                \
    do {                                                                                           \
        char *got_ = errors_of((src), (len), (lim), (sdl));                                        \
        ASSERT_STR_EQ(got_, (expected));                                                           \
        free(got_);                                                                                \
    } while (0)

/* prefix + unit * n + suffix. */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix, size_t *len)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = bff_malloc(pl + ul * n + sl + 1);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i != n; ++i)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * n, suffix, sl + 1);
    *len = pl + ul * n + sl;
    return s;
}

/* 100000 levels of each nesting kind stop at level 65 (default limit 64), at the opening
 * token of that level, without exhausting the stack. */
static void test_deep_nesting(void)
{
    static const struct {
        const char *prefix, *unit;
        int sdl;
        const char *expected;
    } cases[] = {
        {"{", "a{", 0,
         "1:129: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"{f(a:", "[", 0,
         "1:69: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"{f(a:", "{a:", 0,
         "1:195: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"query($v:", "[", 0,
         "1:74: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"query($v:Int=", "[", 0,
         "1:78: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"{...", "{...", 0,
         "1:257: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"type T{f:", "[", 1,
         "1:74: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
        {"type T{f(a:I=", "{a:", 1,
         "1:206: Syntax Error: Document is nested too deeply: more than 64 levels.\n"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        size_t len;
        char *src = repeat(cases[i].prefix, cases[i].unit, 100000, "", &len);
        ASSERT_ERRORS(src, len, NULL, cases[i].sdl, cases[i].expected);
        free(src);
    }
}

/* Exactly max_depth levels parse; one more does not. */
static void test_depth_boundary(void)
{
    size_t len;
    char *src = repeat("", "{a", 64, "", &len), *full = bff_malloc(len + 65);
    memcpy(full, src, len);
    memset(full + len, '}', 64);
    full[len + 64] = '\0';
    ASSERT_ERRORS(full, len + 64, NULL, 0, "parsed 192 tokens\n");
    bff_gql_parse_limits_t lim = {.max_depth = 63};
    ASSERT_ERRORS(full, len + 64, &lim, 0,
                  "1:127: Syntax Error: Document is nested too deeply: more than 63 levels.\n");
    free(src);
    free(full);
    /* Lists in an argument add to the selection depth: 1 + 3 levels. */
    lim.max_depth = 4;
    ASSERT_ERRORS("{f(a:[[[1]]])}", 14, &lim, 0, "parsed 14 tokens\n");
    lim.max_depth = 3;
    ASSERT_ERRORS("{f(a:[[[1]]])}", 14, &lim, 0,
                  "1:8: Syntax Error: Document is nested too deeply: more than 3 levels.\n");
    /* Leaving a level gives it back: siblings do not add up. */
    ASSERT_ERRORS("{a{b} c{d} e{f{g}}}", 19, &lim, 0, "parsed 17 tokens\n");
    ASSERT_ERRORS("type T{f:[[[[[[X]]]]]]}", 23, NULL, 1, "parsed\n");
}

static void test_token_limit(void)
{
    const char *src = "# comments and commas are not tokens\n{ a, b, c }";
    size_t len = strlen(src);
    bff_gql_parse_limits_t lim = {.max_tokens = 5};
    ASSERT_ERRORS(src, len, &lim, 0, "parsed 5 tokens\n");
    ASSERT_ERRORS(src, len, NULL, 0, "parsed 5 tokens\n");
    lim.max_tokens = 4;
    ASSERT_ERRORS(src, len, &lim, 0,
                  "2:11: Syntax Error: Document contains more than 4 tokens. Parsing aborted.\n");
    lim.max_tokens = 1;
    ASSERT_ERRORS(src, len, &lim, 0,
                  "2:3: Syntax Error: Document contains more than 1 tokens. Parsing aborted.\n");
    /* A huge flat document stops at the limit. */
    char *big = repeat("{", "a ", 200000, "}", &len);
    lim.max_tokens = 10000;
    ASSERT_ERRORS(big, len, &lim, 0,
                  "1:20000: Syntax Error: Document contains more than 10000 tokens. Parsing "
                  "aborted.\n");
    free(big);
}

static void test_byte_limit(void)
{
    const char *src = "{ abc }";
    bff_gql_parse_limits_t lim = {.max_bytes = 7};
    ASSERT_ERRORS(src, 7, &lim, 0, "parsed 3 tokens\n");
    lim.max_bytes = 6;
    ASSERT_ERRORS(src, 7, &lim, 0, "-: Document too large: more than 6 bytes.\n");
    /* The limit applies before anything is read, even to garbage. */
    ASSERT_ERRORS("\xff\xff\xff\xff\xff\xff\xff\xff", 8, &lim, 0,
                  "-: Document too large: more than 6 bytes.\n");
}

#define LIT(s) s, sizeof(s) - 1

/* Sources a text file cannot carry well: NUL and malformed UTF-8 of every kind. */
static void test_raw_bytes(void)
{
    static const struct {
        const char *src;
        size_t len;
        const char *expected;
    } cases[] = {
        {LIT("{ a\0 }"), "1:4: Syntax Error: Invalid character: U+0000.\n"},
        {LIT("{ a(s: \"x\0\") }"),
         "1:10: Syntax Error: Invalid character within String: U+0000.\n"},
        {LIT("{ a } # \0"), "1:9: Syntax Error: Invalid character: U+0000.\n"},
        {LIT("{ \xc3 }"), "1:3: Syntax Error: Invalid UTF-8 byte: 0xC3.\n"},
        {LIT("{ a } # \xc3\xa9\xc3"), "1:10: Syntax Error: Invalid UTF-8 byte: 0xC3.\n"},
        {LIT("{ a(s: \"\xc0\x80\") }"), "1:9: Syntax Error: Invalid UTF-8 byte: 0xC0.\n"},
        {LIT("{ a(s: \"\xed\xa0\x80\") }"), "1:9: Syntax Error: Invalid UTF-8 byte: 0xED.\n"},
        {LIT("{ a(s: \"\xf4\x90\x80\x80\") }"), "1:9: Syntax Error: Invalid UTF-8 byte: 0xF4.\n"},
        {LIT("{ a(s: \"\x80\") }"), "1:9: Syntax Error: Invalid UTF-8 byte: 0x80.\n"},
        {LIT("{ a(s: \"\"\"\xe2\x82\"\"\") }"), "1:11: Syntax Error: Invalid UTF-8 byte: 0xE2.\n"},
        {LIT("{ a(s: \"\xe2\x82"), "1:9: Syntax Error: Invalid UTF-8 byte: 0xE2.\n"},
        {LIT("{ a(n: 1.\xff) }"), "1:10: Syntax Error: Invalid UTF-8 byte: 0xFF.\n"},
        {LIT("{ a(s: \"\\\xff\") }"),
         "1:9: Syntax Error: Invalid character escape sequence: \"\\\".\n"},
        /* Well-formed 2, 3 and 4 byte characters each count as one column. */
        {LIT("{ a(s: \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\") ? }"),
         "1:15: Syntax Error: Unexpected character: \"?\".\n"},
        {LIT("\xef\xbb\xbf{ a } \xef\xbb\xbf ?"),
         "1:10: Syntax Error: Unexpected character: \"?\".\n"},
        {LIT("{ \xc2\xa0 }"), "1:3: Syntax Error: Unexpected character: U+00A0.\n"},
        {LIT("{ \xf0\x9f\x98\x80 }"), "1:3: Syntax Error: Unexpected character: U+1F600.\n"},
        {LIT("{ \x7f }"), "1:3: Syntax Error: Unexpected character: U+007F.\n"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i)
        ASSERT_ERRORS(cases[i].src, cases[i].len, NULL, 0, cases[i].expected);
    /* \u0000 decodes to a NUL inside the value: the length says where it ends. */
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = bff_gql_parse("{a(s:\"x\\u0000y\")}", 17, NULL, &errs);
    ASSERT_TRUE(doc != NULL);
    if (doc != NULL) {
        const bff_gql_value_t *v = doc->operations[0].selection_set->items[0].args[0].value;
        ASSERT_INT_EQ(v->len, 3);
        ASSERT_TRUE(memcmp(v->str, "x\0y", 4) == 0);
    }
    bff_gql_document_free(doc);
    bff_gql_errors_dispose(&errs);
}

/* The lexer alone: kinds, offsets, positions, values, and EOF again after the end. */
static void test_lexer_tokens(void)
{
    static const char src[] = "\xef\xbb\xbf!$&()...:=@[]{|}\r\nname -0 1.5e+3 0E-2 \"\xc3\xa9\\t\""
                              "\r\"\"\"\n  a\r\n\n    b\n  \"\"\" _x9";
    static const struct {
        bff_gql_token_kind_t kind;
        unsigned line, column;
        const char *text;
    } want[] = {
        {BFF_GQL_TOK_BANG, 1, 2, NULL},
        {BFF_GQL_TOK_DOLLAR, 1, 3, NULL},
        {BFF_GQL_TOK_AMP, 1, 4, NULL},
        {BFF_GQL_TOK_PAREN_L, 1, 5, NULL},
        {BFF_GQL_TOK_PAREN_R, 1, 6, NULL},
        {BFF_GQL_TOK_SPREAD, 1, 7, NULL},
        {BFF_GQL_TOK_COLON, 1, 10, NULL},
        {BFF_GQL_TOK_EQUALS, 1, 11, NULL},
        {BFF_GQL_TOK_AT, 1, 12, NULL},
        {BFF_GQL_TOK_BRACKET_L, 1, 13, NULL},
        {BFF_GQL_TOK_BRACKET_R, 1, 14, NULL},
        {BFF_GQL_TOK_BRACE_L, 1, 15, NULL},
        {BFF_GQL_TOK_PIPE, 1, 16, NULL},
        {BFF_GQL_TOK_BRACE_R, 1, 17, NULL},
        {BFF_GQL_TOK_NAME, 2, 1, "name"},
        {BFF_GQL_TOK_INT, 2, 6, "-0"},
        {BFF_GQL_TOK_FLOAT, 2, 9, "1.5e+3"},
        {BFF_GQL_TOK_FLOAT, 2, 16, "0E-2"},
        {BFF_GQL_TOK_STRING, 2, 21, "\xc3\xa9\t"},
        {BFF_GQL_TOK_BLOCK_STRING, 3, 1, "a\n\n  b"},
        {BFF_GQL_TOK_NAME, 7, 7, "_x9"},
        {BFF_GQL_TOK_EOF, 7, 10, NULL},
        {BFF_GQL_TOK_EOF, 7, 10, NULL},
    };
    bff_gql_arena_t arena;
    bff_gql_arena_init(&arena);
    bff_gql_lexer_t lx;
    bff_gql_lexer_init(&lx, src, sizeof(src) - 1, &arena);
    bff_gql_errors_t errs = {0};
    for (size_t i = 0; i != sizeof(want) / sizeof(want[0]); ++i) {
        bff_gql_token_t tok;
        ASSERT_INT_EQ(bff_gql_lex(&lx, &tok, &errs), 0);
        ASSERT_INT_EQ(tok.kind, want[i].kind);
        ASSERT_INT_EQ(tok.loc.line, want[i].line);
        ASSERT_INT_EQ(tok.loc.column, want[i].column);
        size_t len;
        const char *text = bff_gql_token_value(&lx, &tok, &len);
        if (want[i].text == NULL) {
            ASSERT_TRUE(text == NULL);
        } else {
            ASSERT_INT_EQ(len, strlen(want[i].text));
            ASSERT_TRUE(text != NULL && memcmp(text, want[i].text, len) == 0);
        }
    }
    ASSERT_INT_EQ(errs.n, 0);
    ASSERT_STR_EQ(bff_gql_token_kind_desc(BFF_GQL_TOK_SPREAD), "\"...\"");
    ASSERT_STR_EQ(bff_gql_token_kind_desc(BFF_GQL_TOK_BLOCK_STRING), "BlockString");
    bff_gql_arena_dispose(&arena);
}

/* Errors are appended after those already there; NULL frees are no-ops. */
static void test_api_edges(void)
{
    bff_gql_errors_t errs = {0};
    bff_gql_error_add(&errs, NULL, 0, "earlier");
    ASSERT_TRUE(bff_gql_parse("{", 1, NULL, &errs) == NULL);
    ASSERT_INT_EQ(errs.n, 2);
    if (errs.n == 2)
        ASSERT_STR_EQ(errs.items[1].message, "Syntax Error: Expected Name, found <EOF>.");
    bff_gql_errors_dispose(&errs);
    ASSERT_TRUE(bff_gql_parse_sdl("", 0, &errs) == NULL);
    ASSERT_INT_EQ(errs.n, 1);
    bff_gql_errors_dispose(&errs);
    bff_gql_document_t *doc = bff_gql_parse(NULL, 0, NULL, &errs);
    ASSERT_TRUE(doc == NULL);
    bff_gql_errors_dispose(&errs);
    bff_gql_document_free(NULL);
    bff_gql_sdl_free(NULL);
    /* The source need not be NUL-terminated: only len bytes are read. */
    doc = bff_gql_parse("{ab}garbage", 4, NULL, &errs);
    ASSERT_TRUE(doc != NULL);
    if (doc != NULL)
        ASSERT_STR_EQ(doc->operations[0].selection_set->items[0].name, "ab");
    bff_gql_document_free(doc);
    bff_gql_errors_dispose(&errs);
}

int main(void)
{
    TAP_RUN(test_valid_cases);
    TAP_RUN(test_invalid_cases);
    TAP_RUN(test_sdl_valid_cases);
    TAP_RUN(test_sdl_invalid_cases);
    TAP_RUN(test_deep_nesting);
    TAP_RUN(test_depth_boundary);
    TAP_RUN(test_token_limit);
    TAP_RUN(test_byte_limit);
    TAP_RUN(test_raw_bytes);
    TAP_RUN(test_lexer_tokens);
    TAP_RUN(test_api_edges);
    TAP_DONE();
}
