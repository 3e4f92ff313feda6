/* Splits template strings into literal and reference parts at load time, and renders them
 * against a request's bindings. */
#include "compose/template.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose/diag.h"

static bff_template_part_t *add_part(bff_template_t *t)
{
    t->parts = bff_realloc(t->parts, (t->nparts + 1) * sizeof(*t->parts));
    bff_template_part_t *p = t->parts + t->nparts++;
    memset(p, 0, sizeof(*p));
    p->binding = -1;
    return p;
}

static void add_literal(bff_template_t *t, const char *s, size_t len)
{
    if (len == 0)
        return;
    if (t->nparts != 0 && t->parts[t->nparts - 1].literal != NULL) {
        bff_template_part_t *p = t->parts + t->nparts - 1;
        p->literal = bff_realloc(p->literal, p->literal_len + len + 1);
        memcpy(p->literal + p->literal_len, s, len);
        p->literal_len += len;
        p->literal[p->literal_len] = '\0';
        return;
    }
    bff_template_part_t *p = add_part(t);
    p->literal = bff_strndup(s, len);
    p->literal_len = len;
}

int bff_template_parse(const char *s, bff_template_t *out, const char **err, size_t *err_offset)
{
    memset(out, 0, sizeof(*out));
    out->text = bff_strdup(s);
    const char *p = s, *lit = s;
    unsigned qgroups = 0;
    while (*p != '\0') {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            add_literal(out, lit, (size_t)(p - lit) + 1);
            p += 2;
            lit = p;
            continue;
        }
        if (*p == '}') {
            *err = "unmatched '}' (write }} for a literal brace)";
            goto Error;
        }
        if (*p != '{') {
            ++p;
            continue;
        }
        add_literal(out, lit, (size_t)(p - lit));
        const char *close = strchr(p, '}');
        if (close == NULL) {
            *err = "unterminated '{' (write {{ for a literal brace)";
            goto Error;
        }
        const char *ref = p + 1;
        char qexp = 0;
        if (*ref == '?' || *ref == '&')
            qexp = *ref++;
        ++qgroups;
        /* `{?a,b}` is a list; a plain `{a}` is one reference. */
        for (;;) {
            const char *end = qexp ? memchr(ref, ',', (size_t)(close - ref)) : NULL;
            if (end == NULL)
                end = close;
            size_t reflen = (size_t)(end - ref);
            while (reflen && ref[0] == ' ')
                ++ref, --reflen;
            while (reflen && ref[reflen - 1] == ' ')
                --reflen;
            bff_template_part_t *part = add_part(out);
            if (bff_jpath_parse(ref, reflen, &part->ref, err) != 0) {
                --out->nparts;
                goto Error;
            }
            if (qexp) {
                const bff_jpath_t *path = &part->ref;
                const char *name = path->root;
                for (size_t i = 0; i != path->nsteps; ++i)
                    if (path->steps[i].kind == BFF_JPATH_FIELD)
                        name = path->steps[i].name;
                    else
                        return *err = "a query expansion takes names and fields, not indexes",
                               *err_offset = (size_t)(ref - s), bff_template_dispose(out), -1;
                part->qexp = qexp;
                part->qgroup = qgroups;
                part->qname = bff_strdup(name);
            }
            if (end == close)
                break;
            ref = end + 1;
        }
        p = close + 1;
        lit = p;
    }
    add_literal(out, lit, (size_t)(p - lit));
    return 0;
Error:
    *err_offset = (size_t)(p - s);
    bff_template_dispose(out);
    return -1;
}

void bff_template_dispose(bff_template_t *t)
{
    for (size_t i = 0; i != t->nparts; ++i) {
        free(t->parts[i].literal);
        free(t->parts[i].qname);
        if (t->parts[i].literal == NULL)
            bff_jpath_dispose(&t->parts[i].ref);
    }
    free(t->parts);
    free(t->text);
    memset(t, 0, sizeof(*t));
}

int bff_template_is_single_ref(const bff_template_t *t)
{
    return t->nparts == 1 && t->parts[0].literal == NULL && t->parts[0].qexp == 0;
}

/* Appends a scalar's text for templates: strings unescaped, numbers/bools raw, null empty. */
/* RFC 3986's unreserved characters: written as they are; every other byte as %XX. */
static int unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

size_t bff_template_url_len(const bff_jdoc_t *doc, uint32_t tok, int *dot)
{
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type == BFF_J_STRING && t->escaped) { /* rare: unescape by writing it out */
        bff_jwrite_t v;
        bff_jwrite_init(&v, 64, 16384);
        bff_template_append_scalar(&v, doc, tok, 1);
        size_t n = v.overflow ? 16384 : v.len;
        *dot = n != 0 && n <= 2 && memcmp(v.buf, "..", n) == 0;
        bff_jwrite_dispose(&v);
        return n;
    }
    const unsigned char *s = (const unsigned char *)doc->json + t->start;
    size_t raw = t->end - t->start, n = 0;
    for (size_t i = 0; i != raw; ++i)
        n += unreserved(s[i]) ? 1 : 3;
    *dot = raw != 0 && raw <= 2 && n == raw && memcmp(s, "..", raw) == 0;
    return n;
}

int bff_template_append_scalar(bff_jwrite_t *out, const bff_jdoc_t *doc, uint32_t tok,
                               int urlencode)
{
    const bff_jtok_t *t = doc->toks + tok;
    if (t->type == BFF_J_OBJECT || t->type == BFF_J_ARRAY)
        return -1;
    if (t->type == BFF_J_NULL)
        return urlencode ? -1 : 0;
    const char *s = doc->json + t->start;
    size_t n = t->end - t->start;
    char stackbuf[256], *buf = NULL;
    if (t->type == BFF_J_STRING && t->escaped) {
        buf = n < sizeof(stackbuf) ? stackbuf : bff_malloc(n + 1);
        n = bff_jdoc_unescape(doc, tok, buf);
        s = buf;
    }
    if (!urlencode) {
        bff_jwrite_bytes(out, s, n);
    } else {
        static const char hex[] = "0123456789ABCDEF";
        for (size_t i = 0; i != n; ++i) {
            unsigned char c = (unsigned char)s[i];
            if (unreserved(c)) {
                bff_jwrite_bytes(out, (const char *)&c, 1);
            } else {
                char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
                bff_jwrite_bytes(out, esc, 3);
            }
        }
    }
    if (buf != NULL && buf != stackbuf)
        free(buf);
    return 0;
}

#define DROPPED '\x01' /* stands for an absent optional value until its pair is cut out */

/* "." or ".." written right after a '/' (it ends there or at the next '/' or '?'): checked
 * when the value is written, so its end is the end of what was rendered so far. */
static int is_dot_segment(const char *s, size_t n, char before)
{
    return before == '/' && ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'));
}

/* A request value the client may leave out: a query parameter or a header, not the body. */
static int optional_input(const bff_template_part_t *part)
{
    return part->binding == BFF_BIND_REQUEST && strcmp(part->ref.root, "body") != 0;
}

/* Removes every `name=value` pair of the query in out[start..] that holds a DROPPED mark (values
 * are percent-encoded, so '&' and the mark come from the template alone). */
static void drop_marked_pairs(bff_jwrite_t *out, size_t start)
{
    char *q = memchr(out->buf + start, '?', out->len - start);
    if (q == NULL)
        return;
    char *end = out->buf + out->len, *w = q + 1, *p = q + 1;
    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p));
        char *stop = amp ? amp : end;
        if (memchr(p, DROPPED, (size_t)(stop - p)) == NULL) {
            if (w != q + 1)
                *w++ = '&';
            memmove(w, p, (size_t)(stop - p));
            w += stop - p;
        }
        p = stop + 1;
    }
    if (w == q + 1)
        w = q; /* nothing left: no '?' either */
    out->len = (size_t)(w - out->buf);
}

int bff_template_whole_segment(const bff_template_t *t, size_t i)
{
    const bff_template_part_t *prev = i > 0 ? t->parts + i - 1 : NULL;
    if (prev != NULL && (prev->literal == NULL || prev->literal[prev->literal_len - 1] != '/'))
        return 0;
    if (i + 1 == t->nparts)
        return 1;
    const char *next = t->parts[i + 1].literal;
    return next != NULL && (next[0] == '/' || next[0] == '?' || next[0] == '#');
}

int bff_template_render_in(const bff_template_t *t, const bff_shape_env_t *env,
                           const bff_jdoc_t *elem_doc, uint32_t elem_tok, int urlencode,
                           bff_jwrite_t *out, bff_template_miss_t *missing)
{
    size_t start = out->len;
    int in_query = 0, dropped = 0;
    for (size_t i = 0; i != t->nparts; ++i) {
        const bff_template_part_t *part = t->parts + i;
        if (part->literal != NULL) {
            bff_jwrite_bytes(out, part->literal, part->literal_len);
            in_query |= memchr(part->literal, '?', part->literal_len) != NULL;
            continue;
        }
        const bff_jdoc_t *doc = NULL;
        uint32_t tok;
        int encode = urlencode && !(part->binding == BFF_BIND_ITEM && env->item_preencoded);
        int found = bff_binding_eval(&part->ref, part->binding, env, elem_doc, elem_tok, &doc, &tok,
                                     1) != 0;
        if (part->qexp) { /* only present scalars are written, with their key */
            int type = found ? doc->toks[tok].type : 0;
            if (!found || type == BFF_J_NULL || type == BFF_J_OBJECT || type == BFF_J_ARRAY)
                continue;
            bff_jwrite_char(out, in_query ? '&' : '?');
            in_query = 1;
            bff_jwrite_bytes(out, part->qname, strlen(part->qname));
            bff_jwrite_char(out, '=');
            bff_template_append_scalar(out, doc, tok, encode);
            continue;
        }
        size_t before = out->len;
        int bad_segment = 0;
        if (found && bff_template_append_scalar(out, doc, tok, encode) == 0) {
            /* A value that is a dot-segment would climb the upstream's path; an empty one that
             * is a whole segment would make `//`, which many servers read as `/`. */
            size_t n = out->len - before;
            char prev = before == 0 ? '/' : out->buf[before - 1];
            bad_segment = urlencode && !in_query &&
                          (is_dot_segment(out->buf + before, n, prev) ||
                           (n == 0 && bff_template_whole_segment(t, i)));
            if (!bad_segment)
                continue;
            out->len = before;
        }
        if (urlencode && in_query && optional_input(part)) {
            bff_jwrite_char(out, DROPPED);
            dropped = 1;
            continue;
        }
        if (missing)
            *missing = (bff_template_miss_t){part->ref.text, bad_segment};
        if (urlencode)
            return -1;
    }
    if (dropped && !out->overflow)
        drop_marked_pairs(out, start);
    return 0;
}

int bff_template_render(const bff_template_t *t, const bff_shape_env_t *env, int urlencode,
                        bff_jwrite_t *out, bff_template_miss_t *missing)
{
    return bff_template_render_in(t, env, NULL, 0, urlencode, out, missing);
}
