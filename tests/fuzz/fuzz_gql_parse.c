/* libFuzzer harness for compose/gql/lex.c, parse.c and parse_sdl.c: parses arbitrary bytes as
 * an executable document (with small limits) and as SDL. Checks the error contract (NULL if and
 * only if errors, locations in range), that decoded strings are well-formed UTF-8, and that a
 * parsed document printed back as GraphQL parses to the same print. Aborts on violation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/parse.h"
#include "compose/mem.h"
#include "compose/text.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_ok(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (n == 0 || i + n > len)
            return 0;
        for (size_t k = 1; k < n; ++k)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += n;
    }
    return 1;
}

static void check_name(const char *name)
{
    CHECK(name != NULL && name[0] != '\0');
    CHECK((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
          name[0] == '_');
}

static void check_string(const char *s, size_t len)
{
    CHECK(s != NULL && s[len] == '\0' && utf8_ok(s, len));
}

/* ---- printing an executable document back as GraphQL ---- */

static void pr_string(bff_text_t *o, const char *s, size_t len)
{
    check_string(s, len);
    bff_text_puts(o, "\"");
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            bff_text_put(o, esc, 2);
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof(esc), "\\u%04X", c);
            bff_text_puts(o, esc);
        } else {
            bff_text_put(o, s + i, 1);
        }
    }
    bff_text_puts(o, "\"");
}

static void pr_value(bff_text_t *o, const bff_gql_value_t *v)
{
    switch (v->kind) {
    case BFF_GQL_VARIABLE:
        check_name(v->str);
        bff_text_puts(o, "$");
        bff_text_puts(o, v->str);
        break;
    case BFF_GQL_INT:
    case BFF_GQL_FLOAT:
    case BFF_GQL_ENUM:
        CHECK(v->str != NULL && strlen(v->str) == v->len);
        bff_text_puts(o, v->str);
        break;
    case BFF_GQL_STRING:
        pr_string(o, v->str, v->len);
        break;
    case BFF_GQL_BOOLEAN:
        bff_text_puts(o, v->boolean ? "true" : "false");
        break;
    case BFF_GQL_NULL:
        bff_text_puts(o, "null");
        break;
    case BFF_GQL_LIST:
        bff_text_puts(o, "[");
        for (size_t i = 0; i != v->nitems; ++i) {
            bff_text_puts(o, i ? " " : "");
            pr_value(o, v->items[i]);
        }
        bff_text_puts(o, "]");
        break;
    case BFF_GQL_OBJECT:
        bff_text_puts(o, "{");
        for (size_t i = 0; i != v->nfields; ++i) {
            check_name(v->fields[i].name);
            bff_text_puts(o, i ? " " : "");
            bff_text_puts(o, v->fields[i].name);
            bff_text_puts(o, ": ");
            pr_value(o, v->fields[i].value);
        }
        bff_text_puts(o, "}");
        break;
    }
}

static void pr_type(bff_text_t *o, const bff_gql_type_ref_t *t)
{
    if (t->kind == BFF_GQL_NAMED) {
        check_name(t->name);
        bff_text_puts(o, t->name);
    } else if (t->kind == BFF_GQL_LIST_OF) {
        bff_text_puts(o, "[");
        pr_type(o, t->of);
        bff_text_puts(o, "]");
    } else {
        CHECK(t->of->kind != BFF_GQL_NON_NULL);
        pr_type(o, t->of);
        bff_text_puts(o, "!");
    }
}

static void pr_args(bff_text_t *o, const bff_gql_argument_t *args, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        check_name(args[i].name);
        bff_text_puts(o, i ? " " : "(");
        bff_text_puts(o, args[i].name);
        bff_text_puts(o, ": ");
        pr_value(o, args[i].value);
    }
    bff_text_puts(o, n ? ")" : "");
}

static void pr_directives(bff_text_t *o, const bff_gql_directive_t *ds, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        check_name(ds[i].name);
        bff_text_puts(o, " @");
        bff_text_puts(o, ds[i].name);
        pr_args(o, ds[i].args, ds[i].nargs);
    }
}

static void pr_selections(bff_text_t *o, const bff_gql_selection_set_t *set)
{
    CHECK(set != NULL && set->nitems != 0);
    bff_text_puts(o, " {");
    for (size_t i = 0; i != set->nitems; ++i) {
        const bff_gql_selection_t *s = set->items + i;
        bff_text_puts(o, " ");
        if (s->kind == BFF_GQL_FIELD) {
            if (s->alias != NULL) {
                check_name(s->alias);
                bff_text_puts(o, s->alias);
                bff_text_puts(o, ": ");
            }
            check_name(s->name);
            bff_text_puts(o, s->name);
            pr_args(o, s->args, s->nargs);
        } else if (s->kind == BFF_GQL_FRAGMENT_SPREAD) {
            check_name(s->name);
            CHECK(strcmp(s->name, "on") != 0);
            bff_text_puts(o, "...");
            bff_text_puts(o, s->name);
        } else {
            bff_text_puts(o, "...");
            if (s->type_condition != NULL) {
                bff_text_puts(o, " on ");
                bff_text_puts(o, s->type_condition);
            }
        }
        pr_directives(o, s->directives, s->ndirectives);
        CHECK(s->kind != BFF_GQL_FRAGMENT_SPREAD || s->selection_set == NULL);
        CHECK(s->kind != BFF_GQL_INLINE_FRAGMENT || s->selection_set != NULL);
        if (s->selection_set != NULL)
            pr_selections(o, s->selection_set);
    }
    bff_text_puts(o, " }");
}

static char *print_document(const bff_gql_document_t *doc)
{
    static const char *const kinds[] = {"query", "mutation", "subscription"};
    bff_text_t o = {0};
    bff_text_puts(&o, "");
    for (size_t i = 0; i != doc->noperations; ++i) {
        const bff_gql_operation_t *op = doc->operations + i;
        bff_text_puts(&o, kinds[op->kind]);
        if (op->name != NULL) {
            bff_text_puts(&o, " ");
            bff_text_puts(&o, op->name);
        }
        for (size_t k = 0; k != op->nvars; ++k) {
            bff_text_puts(&o, k ? " $" : "($");
            bff_text_puts(&o, op->vars[k].name);
            bff_text_puts(&o, ": ");
            pr_type(&o, op->vars[k].type);
            if (op->vars[k].default_value != NULL) {
                bff_text_puts(&o, " = ");
                pr_value(&o, op->vars[k].default_value);
            }
            pr_directives(&o, op->vars[k].directives, op->vars[k].ndirectives);
        }
        bff_text_puts(&o, op->nvars ? ")" : "");
        pr_directives(&o, op->directives, op->ndirectives);
        pr_selections(&o, op->selection_set);
        bff_text_puts(&o, "\n");
    }
    for (size_t i = 0; i != doc->nfragments; ++i) {
        const bff_gql_fragment_t *f = doc->fragments + i;
        check_name(f->name);
        bff_text_puts(&o, "fragment ");
        bff_text_puts(&o, f->name);
        bff_text_puts(&o, " on ");
        bff_text_puts(&o, f->type_condition);
        pr_directives(&o, f->directives, f->ndirectives);
        pr_selections(&o, f->selection_set);
        bff_text_puts(&o, "\n");
    }
    return o.buf;
}

/* ---- checks ---- */

/* NULL if and only if errors were added; every location lies within the source. */
static void check_errors(const void *result, const bff_gql_errors_t *errs, const uint8_t *data,
                         size_t size)
{
    CHECK((result == NULL) == (errs->n != 0));
    size_t lines = 1;
    for (size_t i = 0; i != size; ++i)
        lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
    for (size_t i = 0; i != errs->n; ++i) {
        CHECK(errs->items[i].message != NULL && errs->items[i].message[0] != '\0');
        for (size_t k = 0; k != errs->items[i].nlocs; ++k) {
            CHECK(errs->items[i].locs[k].line >= 1 && errs->items[i].locs[k].line <= lines);
            CHECK(errs->items[i].locs[k].column >= 1 && errs->items[i].locs[k].column <= size + 1);
        }
    }
}

static void check_sdl(const bff_gql_sdl_t *sdl)
{
    for (size_t i = 0; i != sdl->ntypes; ++i) {
        const bff_gql_type_def_t *t = sdl->types + i;
        check_name(t->name);
        if (t->description != NULL)
            check_string(t->description, strlen(t->description));
        for (size_t k = 0; k != t->nfields; ++k) {
            check_name(t->fields[k].name);
            CHECK(t->fields[k].type != NULL);
        }
        for (size_t k = 0; k != t->nvalues; ++k) {
            check_name(t->values[k].name);
            CHECK(strcmp(t->values[k].name, "true") != 0 && strcmp(t->values[k].name, "null") != 0);
        }
        for (size_t k = 0; k != t->nmembers; ++k)
            check_name(t->members[k].name);
    }
    for (size_t i = 0; i != sdl->ndirectives; ++i)
        CHECK(sdl->directives[i].nlocations != 0);
    for (size_t i = 0; i != sdl->nschemas; ++i)
        CHECK(sdl->schemas[i].is_extension || sdl->schemas[i].query.name != NULL ||
              sdl->schemas[i].mutation.name != NULL || sdl->schemas[i].subscription.name != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    bff_gql_parse_limits_t limits = {.max_bytes = 8192, .max_tokens = 2000, .max_depth = 16};
    bff_gql_errors_t errs = {0};
    bff_gql_document_t *doc = bff_gql_parse(src, size, &limits, &errs);
    check_errors(doc, &errs, data, size);
    bff_gql_errors_dispose(&errs);
    if (doc != NULL) {
        CHECK(doc->ntokens <= limits.max_tokens);
        CHECK(doc->noperations + doc->nfragments != 0);
        char *printed = print_document(doc);
        bff_gql_parse_limits_t again_limits = {.max_depth = limits.max_depth};
        bff_gql_document_t *again = bff_gql_parse(printed, strlen(printed), &again_limits, &errs);
        if (again == NULL)
            fprintf(stderr, "reparse failed: %s\n%s\n", errs.items[0].message, printed);
        CHECK(again != NULL);
        char *reprinted = print_document(again);
        CHECK(strcmp(printed, reprinted) == 0);
        free(printed);
        free(reprinted);
        bff_gql_document_free(again);
        bff_gql_errors_dispose(&errs);
    }
    bff_gql_document_free(doc);

    bff_gql_sdl_t *sdl = bff_gql_parse_sdl(src, size, &errs);
    check_errors(sdl, &errs, data, size);
    CHECK(sdl == NULL || errs.n == 0);
    if (sdl != NULL)
        check_sdl(sdl);
    bff_gql_errors_dispose(&errs);
    bff_gql_sdl_free(sdl);
    return 0;
}
