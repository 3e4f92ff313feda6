/* The lexer of lex.h. Positions are tracked lazily: the lexer keeps the line and column of
 * `pos` and walks forward from there when a token or an error needs a location, so each byte
 * is counted once however long the lines are. */
#include "compose/gql/lex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void bff_gql_lexer_init(bff_gql_lexer_t *lx, const char *src, size_t len, bff_gql_arena_t *arena)
{
    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->line = lx->column = 1;
    lx->arena = arena;
}

/* ---- characters ---- */

/* The byte at p, or -1 past the end. */
static int at(const bff_gql_lexer_t *lx, size_t p)
{
    return p < lx->len ? (unsigned char)lx->src[p] : -1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_name_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_continue(int c)
{
    return is_name_start(c) || is_digit(c);
}

/* Control characters other than tab and the line terminators are not source characters. */
static int is_invalid_control(uint32_t c)
{
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

static int is_scalar(uint32_t c)
{
    return c <= 0xD7FF || (c >= 0xE000 && c <= 0x10FFFF);
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The length (1-4) of the well-formed UTF-8 sequence at p, with its code point; 0 if it is
 * malformed (overlong, a surrogate, beyond U+10FFFF, truncated) or p is the end. */
static size_t utf8_decode(const bff_gql_lexer_t *lx, size_t p, uint32_t *cp)
{
    if (p >= lx->len)
        return 0;
    const unsigned char *s = (const unsigned char *)lx->src + p;
    size_t avail = lx->len - p, need;
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (avail <= need)
        return 0;
    for (size_t i = 1; i <= need; ++i) {
        unsigned b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return need + 1;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- positions and errors ---- */

/* The location of byte p (at or after lx->pos). A \n right after a \r ends the same line. */
static bff_gql_loc_t loc_at(const bff_gql_lexer_t *lx, size_t p)
{
    bff_gql_loc_t loc = {lx->line, lx->column};
    for (size_t i = lx->pos; i < p; ++i) {
        unsigned char b = (unsigned char)lx->src[i];
        if (b == '\n' || b == '\r') {
            if (!(b == '\n' && i > 0 && lx->src[i - 1] == '\r'))
                ++loc.line;
            loc.column = 1;
        } else if ((b & 0xC0) != 0x80) {
            ++loc.column; /* code points: continuation bytes do not count */
        }
    }
    return loc;
}

static void move_to(bff_gql_lexer_t *lx, size_t p)
{
    bff_gql_loc_t loc = loc_at(lx, p);
    lx->line = loc.line;
    lx->column = loc.column;
    lx->pos = p;
}

static int fail(const bff_gql_lexer_t *lx, size_t p, bff_gql_errors_t *errs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(const bff_gql_lexer_t *lx, size_t p, bff_gql_errors_t *errs, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bff_gql_loc_t loc = loc_at(lx, p);
    bff_gql_error_add(errs, &loc, 1, "Syntax Error: %s", msg);
    return -1;
}

static int fail_utf8(const bff_gql_lexer_t *lx, size_t p, bff_gql_errors_t *errs)
{
    return fail(lx, p, errs, "Invalid UTF-8 byte: 0x%02X.", (unsigned char)lx->src[p]);
}

/* How graphql-js shows the character at p: "a", '"', U+00E9 or <EOF>. -1 if p starts malformed
 * UTF-8, which is reported as such instead. */
static int char_desc(const bff_gql_lexer_t *lx, size_t p, char *buf, size_t size)
{
    uint32_t cp;
    if (p >= lx->len)
        snprintf(buf, size, "<EOF>");
    else if (utf8_decode(lx, p, &cp) == 0)
        return -1;
    else if (cp == '"')
        snprintf(buf, size, "'\"'");
    else if (cp >= 0x20 && cp <= 0x7E)
        snprintf(buf, size, "\"%c\"", (char)cp);
    else
        snprintf(buf, size, "U+%04X", (unsigned)cp);
    return 0;
}

/* "<what>: <the character at p>." */
static int fail_char(const bff_gql_lexer_t *lx, size_t p, bff_gql_errors_t *errs, const char *what)
{
    char desc[16];
    if (char_desc(lx, p, desc, sizeof(desc)) != 0)
        return fail_utf8(lx, p, errs);
    return fail(lx, p, errs, "%s: %s.", what, desc);
}

/* The byte length of up to n code points from p (less at the end or at malformed UTF-8): the
 * slice of source graphql-js quotes in escape sequence errors. */
static size_t slice_len(const bff_gql_lexer_t *lx, size_t p, size_t n)
{
    size_t q = p;
    uint32_t cp;
    for (size_t k = 0, step; k != n && (step = utf8_decode(lx, q, &cp)) != 0; ++k)
        q += step;
    return q - p;
}

/* ---- strings ---- */

/* A growing buffer in the arena for decoded string values (outgrown copies stay in the arena,
 * at most as much again as the final value). */
typedef struct {
    bff_gql_arena_t *arena;
    char *buf;
    size_t len, cap;
} sbuf_t;

static void sb_put(sbuf_t *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap != 0 ? sb->cap : 32;
        while (cap < sb->len + n + 1)
            cap *= 2;
        sb->buf = bff_gql_arena_grow(sb->arena, sb->buf, sb->len, cap, 1);
        sb->cap = cap;
    }
    if (n != 0)
        memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void sb_put_cp(sbuf_t *sb, uint32_t cp)
{
    char u[4];
    sb_put(sb, u, utf8_encode(cp, u));
}

/* Four hex digits at p as a number, -1 if any is not one. */
static long hex4(const bff_gql_lexer_t *lx, size_t p)
{
    long v = 0;
    for (size_t i = 0; i != 4; ++i) {
        int h = hex_digit(at(lx, p + i));
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* \u{X...}: graphql-js reads at most 12 characters and computes in 32-bit signed arithmetic,
 * so a code point that turns negative ends the escape; the error quotes what was read. */
static size_t escape_braced(const bff_gql_lexer_t *lx, size_t p, sbuf_t *sb, bff_gql_errors_t *errs)
{
    uint32_t point = 0;
    size_t size = 3;
    while (size < 12) {
        int c = at(lx, p + size++);
        if (c == '}') {
            if (size < 5 || !is_scalar(point))
                break;
            sb_put_cp(sb, point);
            return size;
        }
        int h = hex_digit(c);
        if (h < 0)
            break;
        point = point << 4 | (uint32_t)h;
        if (point & 0x80000000u)
            break;
    }
    fail(lx, p, errs, "Invalid Unicode escape sequence: \"%.*s\".", (int)slice_len(lx, p, size),
         lx->src + p);
    return 0;
}

/* The escape sequence at p (a backslash) decoded into sb: its length, 0 after an error. */
static size_t escape(const bff_gql_lexer_t *lx, size_t p, sbuf_t *sb, bff_gql_errors_t *errs)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = at(lx, p + 1);
    if (c == 'u' && at(lx, p + 2) == '{')
        return escape_braced(lx, p, sb, errs);
    if (c == 'u') {
        long code = hex4(lx, p + 2);
        if (code >= 0 && is_scalar((uint32_t)code)) {
            sb_put_cp(sb, (uint32_t)code);
            return 6;
        }
        /* A surrogate is only allowed as the first half of an escaped pair. */
        if (code >= 0xD800 && code <= 0xDBFF && at(lx, p + 6) == '\\' && at(lx, p + 7) == 'u') {
            long low = hex4(lx, p + 8);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                sb_put_cp(sb, 0x10000 + (uint32_t)((code - 0xD800) << 10 | (low - 0xDC00)));
                return 12;
            }
        }
        fail(lx, p, errs, "Invalid Unicode escape sequence: \"%.*s\".", (int)slice_len(lx, p, 6),
             lx->src + p);
        return 0;
    }
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    if (hit != NULL) {
        sb_put(sb, to + (hit - from), 1);
        return 2;
    }
    fail(lx, p, errs, "Invalid character escape sequence: \"%.*s\".", (int)slice_len(lx, p, 2),
         lx->src + p);
    return 0;
}

static int lex_string(bff_gql_lexer_t *lx, bff_gql_token_t *tok, bff_gql_errors_t *errs)
{
    size_t p = lx->pos + 1, chunk = p;
    sbuf_t sb = {.arena = lx->arena};
    for (;;) {
        int c = at(lx, p);
        if (c < 0 || c == '\n' || c == '\r')
            return fail(lx, p, errs, "Unterminated string.");
        if (c == '"')
            break;
        if (c == '\\') {
            sb_put(&sb, lx->src + chunk, p - chunk);
            size_t n = escape(lx, p, &sb, errs);
            if (n == 0)
                return -1;
            p += n;
            chunk = p;
        } else if (c < 0x80) {
            if (is_invalid_control((uint32_t)c))
                return fail(lx, p, errs, "Invalid character within String: U+%04X.", c);
            ++p;
        } else {
            uint32_t cp;
            size_t n = utf8_decode(lx, p, &cp);
            if (n == 0)
                return fail_utf8(lx, p, errs);
            p += n;
        }
    }
    sb_put(&sb, lx->src + chunk, p - chunk);
    tok->kind = BFF_GQL_TOK_STRING;
    tok->str = sb.buf;
    tok->len = sb.len;
    tok->end = p + 1;
    return 0;
}

/* The line at *p within [*p, end) as [*ls, *le); moves *p past its terminator (\n, \r\n, \r).
 * Returns whether a terminator followed (else it was the last line). */
static int next_line(const char *s, size_t end, size_t *p, size_t *ls, size_t *le)
{
    size_t i = *p;
    *ls = i;
    while (i < end && s[i] != '\n' && s[i] != '\r')
        ++i;
    *le = i;
    if (i == end)
        return 0;
    *p = i + (s[i] == '\r' && i + 1 < end && s[i + 1] == '\n' ? 2 : 1);
    return 1;
}

static size_t leading_ws(const char *s, size_t ls, size_t le)
{
    size_t i = ls;
    while (i < le && (s[i] == ' ' || s[i] == '\t'))
        ++i;
    return i - ls;
}

/* The spec's BlockStringValue over the raw content [a, end): the common indentation of all
 * lines but the first is removed, then leading and trailing blank lines; lines are joined with
 * \n and \""" becomes """. The value is never longer than the raw content. */
static void block_value(const bff_gql_lexer_t *lx, size_t a, size_t end, bff_gql_token_t *tok)
{
    const char *s = lx->src;
    size_t common = SIZE_MAX, first = SIZE_MAX, last = 0, ls, le, p = a, i = 0;
    for (int more = 1; more; ++i) {
        more = next_line(s, end, &p, &ls, &le);
        size_t ws = leading_ws(s, ls, le);
        if (ws == le - ls)
            continue; /* blank lines set no indentation */
        if (first == SIZE_MAX)
            first = i;
        last = i;
        if (i != 0 && ws < common)
            common = ws;
    }
    char *out = bff_gql_arena_alloc(lx->arena, end - a + 1);
    size_t n = 0;
    p = a;
    for (i = 0; first != SIZE_MAX && i <= last; ++i) {
        next_line(s, end, &p, &ls, &le);
        if (i < first)
            continue;
        if (i > first)
            out[n++] = '\n';
        if (i != 0)
            ls += common < le - ls ? common : le - ls;
        for (size_t k = ls; k < le; ++k) {
            if (s[k] == '\\' && k + 3 < le && s[k + 1] == '"' && s[k + 2] == '"' && s[k + 3] == '"')
                ++k; /* \""" : drop the backslash, keep the quotes */
            out[n++] = s[k];
        }
    }
    out[n] = '\0';
    tok->str = out;
    tok->len = n;
}

static int lex_block_string(bff_gql_lexer_t *lx, bff_gql_token_t *tok, bff_gql_errors_t *errs)
{
    size_t a = lx->pos + 3, p = a;
    for (;;) {
        int c = at(lx, p);
        if (c < 0)
            return fail(lx, p, errs, "Unterminated string.");
        if (c == '"' && at(lx, p + 1) == '"' && at(lx, p + 2) == '"')
            break;
        if (c == '\\' && at(lx, p + 1) == '"' && at(lx, p + 2) == '"' && at(lx, p + 3) == '"') {
            p += 4;
        } else if (c < 0x80) {
            if (is_invalid_control((uint32_t)c))
                return fail(lx, p, errs, "Invalid character within String: U+%04X.", c);
            ++p;
        } else {
            uint32_t cp;
            size_t n = utf8_decode(lx, p, &cp);
            if (n == 0)
                return fail_utf8(lx, p, errs);
            p += n;
        }
    }
    block_value(lx, a, p, tok);
    tok->kind = BFF_GQL_TOK_BLOCK_STRING;
    tok->end = p + 3;
    return 0;
}

/* ---- numbers ---- */

/* Digit+ at p: the position after them, 0 after an error. */
static size_t read_digits(const bff_gql_lexer_t *lx, size_t p, bff_gql_errors_t *errs)
{
    if (!is_digit(at(lx, p))) {
        fail_char(lx, p, errs, "Invalid number, expected digit but got");
        return 0;
    }
    while (is_digit(at(lx, p)))
        ++p;
    return p;
}

/* IntValue or FloatValue; neither may be followed by a digit, '.' or a name start. */
static int lex_number(bff_gql_lexer_t *lx, bff_gql_token_t *tok, bff_gql_errors_t *errs)
{
    size_t p = lx->pos;
    int is_float = 0;
    if (at(lx, p) == '-')
        ++p;
    if (at(lx, p) == '0') {
        if (is_digit(at(lx, ++p)))
            return fail_char(lx, p, errs, "Invalid number, unexpected digit after 0");
    } else if ((p = read_digits(lx, p, errs)) == 0) {
        return -1;
    }
    if (at(lx, p) == '.') {
        is_float = 1;
        if ((p = read_digits(lx, p + 1, errs)) == 0)
            return -1;
    }
    if (at(lx, p) == 'e' || at(lx, p) == 'E') {
        is_float = 1;
        if (at(lx, ++p) == '+' || at(lx, p) == '-')
            ++p;
        if ((p = read_digits(lx, p, errs)) == 0)
            return -1;
    }
    if (at(lx, p) == '.' || is_name_start(at(lx, p)))
        return fail_char(lx, p, errs, "Invalid number, expected digit but got");
    tok->kind = is_float ? BFF_GQL_TOK_FLOAT : BFF_GQL_TOK_INT;
    tok->end = p;
    return 0;
}

/* ---- tokens ---- */

/* Skips ignored tokens from lx->pos: the position of the next token, or (size_t)-1 after an
 * error in a comment. */
static size_t skip_ignored(const bff_gql_lexer_t *lx, bff_gql_errors_t *errs)
{
    size_t p = lx->pos;
    for (;;) {
        int c = at(lx, p);
        if (c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r') {
            ++p;
        } else if (c == 0xEF && at(lx, p + 1) == 0xBB && at(lx, p + 2) == 0xBF) {
            p += 3; /* U+FEFF, the byte order mark */
        } else if (c == '#') {
            for (++p; (c = at(lx, p)) >= 0 && c != '\n' && c != '\r';) {
                uint32_t cp;
                size_t n = utf8_decode(lx, p, &cp);
                if (n == 0) {
                    fail_utf8(lx, p, errs);
                    return (size_t)-1;
                }
                if (is_invalid_control(cp)) {
                    fail(lx, p, errs, "Invalid character: U+%04X.", (unsigned)cp);
                    return (size_t)-1;
                }
                p += n;
            }
        } else {
            return p;
        }
    }
}

/* A character no token starts with. */
static int fail_start(const bff_gql_lexer_t *lx, size_t p, bff_gql_errors_t *errs)
{
    uint32_t cp;
    if (utf8_decode(lx, p, &cp) == 0)
        return fail_utf8(lx, p, errs);
    if (cp == '\'')
        return fail(lx, p, errs,
                    "Unexpected single quote character ('), did you mean to use a double quote "
                    "(\")?");
    if (is_invalid_control(cp))
        return fail(lx, p, errs, "Invalid character: U+%04X.", (unsigned)cp);
    return fail_char(lx, p, errs, "Unexpected character");
}

int bff_gql_lex(bff_gql_lexer_t *lx, bff_gql_token_t *tok, bff_gql_errors_t *errs)
{
    static const char punct[] = "!$&():=@[]{|}";
    static const bff_gql_token_kind_t punct_kinds[] = {
        BFF_GQL_TOK_BANG,      BFF_GQL_TOK_DOLLAR,    BFF_GQL_TOK_AMP,     BFF_GQL_TOK_PAREN_L,
        BFF_GQL_TOK_PAREN_R,   BFF_GQL_TOK_COLON,     BFF_GQL_TOK_EQUALS,  BFF_GQL_TOK_AT,
        BFF_GQL_TOK_BRACKET_L, BFF_GQL_TOK_BRACKET_R, BFF_GQL_TOK_BRACE_L, BFF_GQL_TOK_PIPE,
        BFF_GQL_TOK_BRACE_R};
    size_t p = skip_ignored(lx, errs);
    if (p == (size_t)-1)
        return -1;
    move_to(lx, p);
    memset(tok, 0, sizeof(*tok));
    tok->loc.line = lx->line;
    tok->loc.column = lx->column;
    tok->start = tok->end = p;
    int c = at(lx, p), ret = 0;
    const char *hit = c > 0 ? strchr(punct, c) : NULL;
    if (c < 0) {
        tok->kind = BFF_GQL_TOK_EOF;
    } else if (hit != NULL) {
        tok->kind = punct_kinds[hit - punct];
        tok->end = p + 1;
    } else if (c == '.' && at(lx, p + 1) == '.' && at(lx, p + 2) == '.') {
        tok->kind = BFF_GQL_TOK_SPREAD;
        tok->end = p + 3;
    } else if (c == '"') {
        ret = at(lx, p + 1) == '"' && at(lx, p + 2) == '"' ? lex_block_string(lx, tok, errs)
                                                           : lex_string(lx, tok, errs);
    } else if (is_digit(c) || c == '-') {
        ret = lex_number(lx, tok, errs);
    } else if (is_name_start(c)) {
        tok->kind = BFF_GQL_TOK_NAME;
        for (tok->end = p + 1; is_name_continue(at(lx, tok->end));)
            ++tok->end;
    } else {
        return fail_start(lx, p, errs);
    }
    if (ret != 0)
        return -1;
    move_to(lx, tok->end);
    return 0;
}

const char *bff_gql_token_kind_desc(bff_gql_token_kind_t kind)
{
    static const char *const names[] = {"<EOF>", "\"!\"",   "\"$\"", "\"&\"",  "\"(\"",
                                        "\")\"", "\"...\"", "\":\"", "\"=\"",  "\"@\"",
                                        "\"[\"", "\"]\"",   "\"{\"", "\"|\"",  "\"}\"",
                                        "Name",  "Int",     "Float", "String", "BlockString"};
    return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

const char *bff_gql_token_value(const bff_gql_lexer_t *lx, const bff_gql_token_t *tok, size_t *len)
{
    switch (tok->kind) {
    case BFF_GQL_TOK_NAME:
    case BFF_GQL_TOK_INT:
    case BFF_GQL_TOK_FLOAT:
        *len = tok->end - tok->start;
        return lx->src + tok->start;
    case BFF_GQL_TOK_STRING:
    case BFF_GQL_TOK_BLOCK_STRING:
        *len = tok->len;
        return tok->str;
    default:
        *len = 0;
        return NULL;
    }
}
