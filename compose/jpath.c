/* Parses and evaluates path expressions over scanned JSON tokens. It does not resolve the
 * root segment nor allocate during evaluation. */
#include "compose/jpath.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compose/diag.h"

#define MAX_STEPS 32

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '$' || c == '@';
}

static int parse_int(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    int neg = 0;
    if (s < end && *s == '-')
        neg = 1, ++s;
    if (s == end || !isdigit((unsigned char)*s))
        return -1;
    int64_t v = 0;
    for (; s < end && isdigit((unsigned char)*s); ++s) {
        if (v > 100000000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    *p = s;
    return 0;
}

static bff_jpath_step_t *add_step(bff_jpath_t *out, bff_jpath_step_kind_t kind)
{
    out->steps = bff_realloc(out->steps, (out->nsteps + 1) * sizeof(*out->steps));
    bff_jpath_step_t *st = out->steps + out->nsteps++;
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    return st;
}

static int parse_bracket(const char **pp, const char *end, bff_jpath_t *out, const char **err)
{
    const char *p = *pp + 1;
    if (p < end && *p == '*') {
        if (++p == end || *p != ']')
            return *err = "expected ] after *", -1;
        add_step(out, BFF_JPATH_EACH);
        out->multi = 1;
    } else if (p < end && (*p == '"' || *p == '\'')) {
        char q = *p++;
        const char *s = p;
        while (p < end && *p != q)
            ++p;
        if (p == end || p + 1 >= end || p[1] != ']')
            return *err = "unterminated quoted field name", -1;
        bff_jpath_step_t *st = add_step(out, BFF_JPATH_FIELD);
        st->name = bff_strndup(s, (size_t)(p - s));
        st->name_len = (size_t)(p - s);
        ++p;
    } else {
        int64_t a = 0, b = 0;
        int has_a = parse_int(&p, end, &a) == 0, has_b = 0;
        if (p < end && *p == ':') {
            ++p;
            has_b = parse_int(&p, end, &b) == 0;
            bff_jpath_step_t *st = add_step(out, BFF_JPATH_SLICE);
            st->index = a, st->end = b, st->has_start = has_a, st->has_end = has_b;
            out->multi = 1;
        } else if (has_a) {
            add_step(out, BFF_JPATH_INDEX)->index = a;
        } else {
            return *err = "expected an index, a slice or * inside []", -1;
        }
        if (p == end || *p != ']')
            return *err = "expected ]", -1;
    }
    *pp = p + 1;
    return 0;
}

int bff_jpath_parse(const char *s, size_t len, bff_jpath_t *out, const char **err)
{
    memset(out, 0, sizeof(*out));
    const char *p = s, *end = s + len;
    while (p < end && is_name_char(*p))
        ++p;
    if (p == s) {
        *err = "a path must start with a name";
        return -1;
    }
    out->text = bff_strndup(s, len);
    out->root = bff_strndup(s, (size_t)(p - s));
    while (p < end) {
        if (out->nsteps >= MAX_STEPS) {
            *err = "path has too many steps";
            goto Error;
        }
        if (*p == '.') {
            const char *n = ++p;
            while (p < end && is_name_char(*p))
                ++p;
            if (p == n) {
                *err = "expected a field name after '.'";
                goto Error;
            }
            bff_jpath_step_t *st = add_step(out, BFF_JPATH_FIELD);
            st->name = bff_strndup(n, (size_t)(p - n));
            st->name_len = (size_t)(p - n);
        } else if (*p == '[') {
            if (parse_bracket(&p, end, out, err) != 0)
                goto Error;
        } else {
            *err = "unexpected character in path";
            goto Error;
        }
    }
    return 0;
Error:
    bff_jpath_dispose(out);
    return -1;
}

void bff_jpath_dispose(bff_jpath_t *path)
{
    for (size_t i = 0; i != path->nsteps; ++i)
        free(path->steps[i].name);
    free(path->steps);
    free(path->root);
    free(path->text);
    memset(path, 0, sizeof(*path));
}

static void slice_bounds(const bff_jpath_step_t *st, int64_t size, int64_t *from, int64_t *to)
{
    int64_t a = st->has_start ? st->index : 0, b = st->has_end ? st->end : size;
    if (a < 0)
        a += size;
    if (b < 0)
        b += size;
    *from = a < 0 ? 0 : (a > size ? size : a);
    *to = b < 0 ? 0 : (b > size ? size : b);
}

static size_t eval_from(const bff_jpath_t *path, size_t i, const bff_jdoc_t *doc, uint32_t tok,
                        uint32_t *out, size_t max)
{
    for (; i != path->nsteps; ++i) {
        const bff_jpath_step_t *st = path->steps + i;
        const bff_jtok_t *t = doc->toks + tok;
        if (st->kind == BFF_JPATH_FIELD) {
            tok = bff_jdoc_obj_get(doc, tok, st->name, st->name_len);
        } else if (st->kind == BFF_JPATH_INDEX) {
            tok = bff_jdoc_arr_get(doc, tok, st->index);
        } else {
            /* Fan out over elements; each continues with the remaining steps. */
            if (t->type != BFF_J_ARRAY)
                return 0;
            int64_t from = 0, to = t->size;
            if (st->kind == BFF_JPATH_SLICE)
                slice_bounds(st, t->size, &from, &to);
            size_t n = 0;
            uint32_t el = tok + 1;
            for (int64_t k = 0; k < to && n < max; ++k, el = doc->toks[el].next)
                if (k >= from)
                    n += eval_from(path, i + 1, doc, el, out + n, max - n);
            return n;
        }
        if (tok == UINT32_MAX)
            return 0;
    }
    if (max == 0)
        return 0;
    out[0] = tok;
    return 1;
}

size_t bff_jpath_eval(const bff_jpath_t *path, size_t first, const bff_jdoc_t *doc, uint32_t tok,
                      uint32_t *out, size_t max)
{
    if (tok == UINT32_MAX || tok >= doc->ntoks)
        return 0;
    return eval_from(path, first, doc, tok, out, max);
}
