/* Printing for the schema: wrapped types ("[User!]!"), literals as graphql-js's print writes
 * them (introspection's defaultValue, messages), and graphql-js's "Did you mean" suggestions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/gql/schema_internal.h"
#include "compose/mem.h"
#include "compose/text.h"

const char *bff_gql_type_print(const bff_gql_wrapped_t *t, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    /* One pass to measure, one to write: '[' and the name from the front, ']' and '!' from the
     * back (the suffix is the wrappers in reverse). */
    size_t lists = 0, nonnulls = 0;
    const char *name = "?";
    for (const bff_gql_wrapped_t *w = t; w != NULL; w = w->of) {
        if (w->kind == BFF_GQL_LIST_OF)
            ++lists;
        else if (w->kind == BFF_GQL_NON_NULL)
            ++nonnulls;
        else {
            if (w->named != NULL)
                name = w->named->name;
            break;
        }
    }
    size_t namelen = strlen(name), total = 2 * lists + nonnulls + namelen;
    size_t front = 0, back = total;
#define PUT(pos, c)                                                                                \
    do {                                                                                           \
        if ((pos) < size - 1)                                                                      \
            buf[pos] = (c);                                                                        \
    } while (0)
    for (const bff_gql_wrapped_t *w = t; w != NULL; w = w->of) {
        if (w->kind == BFF_GQL_LIST_OF) {
            PUT(front, '[');
            ++front;
            --back;
            PUT(back, ']');
        } else if (w->kind == BFF_GQL_NON_NULL) {
            --back;
            PUT(back, '!');
        } else {
            break;
        }
    }
    for (size_t i = 0; i != namelen; ++i)
        PUT(front + i, name[i]);
#undef PUT
    buf[total < size - 1 ? total : size - 1] = '\0';
    return buf;
}

/* ---- literals ---- */

static void print_string(bff_text_t *sb, const char *s, size_t len)
{
    static const char short_escapes[] = {
        ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
    bff_text_put(sb, "\"", 1);
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c < 0x20 && c < sizeof(short_escapes) && short_escapes[c] != 0) {
            esc[0] = '\\';
            esc[1] = short_escapes[c];
            bff_text_put(sb, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04X", c);
            bff_text_put(sb, esc, 6);
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            snprintf(esc, sizeof(esc), "\\u%04X", (unsigned char)s[i + 1]);
            bff_text_put(sb, esc, 6);
            ++i;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            bff_text_put(sb, esc, 2);
        } else {
            bff_text_put(sb, s + i, 1);
        }
    }
    bff_text_put(sb, "\"", 1);
}

static void print_value(bff_text_t *sb, const bff_gql_value_t *v, unsigned depth)
{
    if (depth > SB_MAX_VALUE_DEPTH) {
        bff_text_puts(sb, "...");
        return;
    }
    switch (v->kind) {
    case BFF_GQL_VARIABLE:
        bff_text_puts(sb, "$");
        bff_text_puts(sb, v->str);
        break;
    case BFF_GQL_INT:
    case BFF_GQL_FLOAT:
    case BFF_GQL_ENUM:
        bff_text_puts(sb, v->str);
        break;
    case BFF_GQL_STRING:
        print_string(sb, v->str, v->len);
        break;
    case BFF_GQL_BOOLEAN:
        bff_text_puts(sb, v->boolean ? "true" : "false");
        break;
    case BFF_GQL_NULL:
        bff_text_puts(sb, "null");
        break;
    case BFF_GQL_LIST:
        bff_text_puts(sb, "[");
        for (size_t i = 0; i != v->nitems; ++i) {
            if (i != 0)
                bff_text_puts(sb, ", ");
            print_value(sb, v->items[i], depth + 1);
        }
        bff_text_puts(sb, "]");
        break;
    case BFF_GQL_OBJECT:
        bff_text_puts(sb, "{");
        for (size_t i = 0; i != v->nfields; ++i) {
            if (i != 0)
                bff_text_puts(sb, ", ");
            bff_text_puts(sb, v->fields[i].name);
            bff_text_puts(sb, ": ");
            print_value(sb, v->fields[i].value, depth + 1);
        }
        bff_text_puts(sb, "}");
        break;
    }
}

char *bff_gql_sb_print_value(const bff_gql_value_t *v)
{
    bff_text_t sb = {0};
    print_value(&sb, v, 0);
    if (sb.buf == NULL)
        bff_text_put(&sb, "", 0);
    return sb.buf;
}

/* ---- suggestions ---- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* graphql-js's LexicalDistance: Damerau-Levenshtein on lower-cased text, a case-only difference
 * counting one; SIZE_MAX when over the threshold. `rows` holds 3 * (strlen(input) + 1). */
static size_t lexical_distance(const char *input, const char *option, size_t threshold,
                               size_t *rows)
{
    if (strcmp(input, option) == 0)
        return 0;
    size_t la = strlen(option), lb = strlen(input);
    if (la == lb) {
        size_t i = 0;
        while (i != la && lower((unsigned char)input[i]) == lower((unsigned char)option[i]))
            ++i;
        if (i == la)
            return 1;
    }
    const char *a = option, *b = input;
    if (la < lb) {
        const char *t = a;
        a = b;
        b = t;
        size_t tl = la;
        la = lb;
        lb = tl;
    }
    if (la - lb > threshold)
        return SIZE_MAX;
    size_t w = lb + 1;
    for (size_t j = 0; j <= lb; ++j)
        rows[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        size_t *up = rows + ((i - 1) % 3) * w, *cur = rows + (i % 3) * w;
        size_t smallest = cur[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            int ca = lower((unsigned char)a[i - 1]), cb = lower((unsigned char)b[j - 1]);
            size_t cell = min3(up[j] + 1, cur[j - 1] + 1, up[j - 1] + (ca == cb ? 0 : 1));
            if (i > 1 && j > 1 && ca == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == cb) {
                size_t dd = rows[((i - 2) % 3) * w + j - 2] + 1;
                if (dd < cell)
                    cell = dd;
            }
            if (cell < smallest)
                smallest = cell;
            cur[j] = cell;
        }
        if (smallest > threshold)
            return SIZE_MAX;
    }
    size_t d = rows[(la % 3) * w + lb];
    return d <= threshold ? d : SIZE_MAX;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* graphql-js's naturalCompare: digit runs compare as numbers. */
static int natural_compare(const char *a, const char *b)
{
    size_t ia = 0, ib = 0, la = strlen(a), lb = strlen(b);
    while (ia < la && ib < lb) {
        int ca = (unsigned char)a[ia], cb = (unsigned char)b[ib];
        if (is_digit(ca) && is_digit(cb)) {
            unsigned long long na = 0, nb = 0;
            do {
                ++ia;
                na = na * 10 + (unsigned)(ca - '0');
                ca = ia < la ? (unsigned char)a[ia] : 0;
            } while (is_digit(ca) && na > 0 && na < 100000000000000000ull);
            do {
                ++ib;
                nb = nb * 10 + (unsigned)(cb - '0');
                cb = ib < lb ? (unsigned char)b[ib] : 0;
            } while (is_digit(cb) && nb > 0 && nb < 100000000000000000ull);
            if (na != nb)
                return na < nb ? -1 : 1;
        } else {
            if (ca != cb)
                return ca < cb ? -1 : 1;
            ++ia;
            ++ib;
        }
    }
    return la < lb ? -1 : la > lb;
}

typedef struct {
    const char *name;
    size_t distance;
} suggestion_t;

#define MAX_SUGGESTIONS 5

const char *bff_gql_sb_did_you_mean(char *buf, size_t size, const char *what, const char *input,
                                    const char *const *options, size_t n)
{
    if (size != 0)
        buf[0] = '\0';
    size_t threshold = strlen(input) * 2 / 5 + 1; /* floor(length * 0.4) + 1 */
    size_t *rows = bff_malloc(3 * (strlen(input) + 1) * sizeof(*rows));
    suggestion_t *found = bff_malloc((n ? n : 1) * sizeof(*found));
    size_t nfound = 0;
    for (size_t i = 0; i != n; ++i) {
        size_t d = lexical_distance(input, options[i], threshold, rows);
        if (d != SIZE_MAX) {
            found[nfound].name = options[i];
            found[nfound++].distance = d;
        }
    }
    for (size_t i = 1; i < nfound; ++i) /* insertion sort: few candidates */
        for (size_t j = i; j > 0; --j) {
            suggestion_t *x = found + j - 1, *y = found + j;
            if (x->distance < y->distance ||
                (x->distance == y->distance && natural_compare(x->name, y->name) <= 0))
                break;
            suggestion_t t = *x;
            *x = *y;
            *y = t;
        }
    if (nfound > MAX_SUGGESTIONS)
        nfound = MAX_SUGGESTIONS;
    size_t len = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (len < size)                                                                            \
            len += (size_t)snprintf(buf + len, size - len, __VA_ARGS__);                           \
    } while (0)
    if (nfound != 0)
        ADD(" Did you mean %s%s", what != NULL ? what : "", what != NULL ? " " : "");
    for (size_t i = 0; i != nfound; ++i) {
        if (i != 0)
            ADD(nfound == 2 ? " or " : i + 1 == nfound ? ", or " : ", ");
        ADD("\"%s\"", found[i].name);
    }
    if (nfound != 0)
        ADD("?");
#undef ADD
    free(rows);
    free(found);
    return buf;
}
