/* Validating single-pass JSON tokenizer: a goto-driven state machine over the bytes, an explicit
 * container stack instead of recursion, and tokens written straight into a reusable array.
 * It deliberately builds no tree, converts no numbers and unescapes no strings while scanning;
 * the accessors below do that lazily, only for the tokens a caller actually looks at. */
#include "compose/json_scan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "compose/diag.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Bytes that stop the plain-string fast path: 1 = '"', 2 = '\\', 3 = control, 4 = non-ASCII. */
enum { SC_PLAIN, SC_QUOTE, SC_BACKSLASH, SC_CONTROL, SC_UTF8 };
/* clang-format off */
static const uint8_t str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};
/* clang-format on */

/* JSON whitespace (space, \t, \n, \r) as a bit set over byte values 0..32. */
#define WS_MASK ((1ull << ' ') | (1ull << '\t') | (1ull << '\n') | (1ull << '\r'))

static inline int is_ws(unsigned c)
{
    return c <= ' ' && ((WS_MASK >> c) & 1);
}

static inline int is_digit(unsigned c)
{
    return c - '0' < 10;
}

/*
 * Nonzero iff one of the 8 bytes in `x` is '"', '\\', < 0x20 or >= 0x80. The lowest set bit marks
 * the first such byte in memory order on little-endian machines: a subtraction only borrows out
 * of a byte that is itself special, so no false positive precedes the first real one.
 */
static inline uint64_t special8(uint64_t x)
{
    uint64_t lt = x - 0x20 * ONES;
    uint64_t q = (x ^ ('"' * ONES)) - ONES;
    uint64_t b = (x ^ ('\\' * ONES)) - ONES;
    return (((lt | q | b) & ~x) | x) & HIGHS;
}

static inline int hexval(unsigned c)
{
    if (c - '0' < 10)
        return (int)(c - '0');
    c |= 0x20;
    if (c - 'a' < 6)
        return (int)(c - 'a' + 10);
    return -1;
}

/* Four hex digits at p (caller checked they are in bounds) as a code unit, or -1. */
static inline long hex4(const unsigned char *p)
{
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return ((long)a << 12) | (b << 8) | (c << 4) | d;
}

struct scan_err {
    const char *msg;
    const unsigned char *at;
};

static const unsigned char *fail_at(struct scan_err *e, const unsigned char *at, const char *msg)
{
    e->msg = msg;
    e->at = at;
    return NULL;
}

/* Validates one multi-byte UTF-8 sequence at p (p[0] >= 0x80); returns the byte after it. */
static const unsigned char *scan_utf8(struct scan_err *e, const unsigned char *p,
                                      const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the first continuation byte */
    if (c < 0xc2) {
        return fail_at(e, p, "invalid UTF-8"); /* stray continuation or overlong 2-byte lead */
    } else if (c < 0xe0) {
        n = 2;
    } else if (c < 0xf0) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* UTF-16 surrogates */
    } else if (c < 0xf5) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return fail_at(e, p, "invalid UTF-8");
    }
    if ((size_t)(end - p) < n)
        return fail_at(e, p, "invalid UTF-8");
    if (p[1] < lo || p[1] > hi)
        return fail_at(e, p, "invalid UTF-8");
    for (size_t i = 2; i < n; ++i) {
        if ((p[i] & 0xc0) != 0x80)
            return fail_at(e, p, "invalid UTF-8");
    }
    return p + n;
}

/* Validates the escape sequence at p (p[0] == '\\'); returns the byte after it. */
static const unsigned char *scan_escape(struct scan_err *e, const unsigned char *p,
                                        const unsigned char *end)
{
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u':
        break;
    default:
        return fail_at(e, p, "invalid escape");
    }
    long cu;
    if (end - p < 6 || (cu = hex4(p + 2)) < 0)
        return fail_at(e, p, "invalid escape");
    if (cu < 0xd800 || cu > 0xdfff)
        return p + 6;
    /* A high surrogate must be followed by an escaped low one; anything else is lone. */
    if (cu >= 0xdc00 || end - p < 12 || p[6] != '\\' || p[7] != 'u')
        return fail_at(e, p, "invalid surrogate pair");
    long lo = hex4(p + 8);
    if (lo < 0xdc00 || lo > 0xdfff)
        return fail_at(e, p, "invalid surrogate pair");
    return p + 12;
}

/*
 * The general string loop: resumes at p inside the string whose opening quote is at `quote`
 * and handles escapes, UTF-8 and the last few bytes of the input. Returns the closing quote.
 */
static const unsigned char *scan_string_slow(struct scan_err *e, const unsigned char *quote,
                                             const unsigned char *p, const unsigned char *end,
                                             uint8_t *escaped)
{
    for (;;) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (special8(x) != 0)
                break;
            p += 8;
        }
        while (p < end && str_class[*p] == SC_PLAIN)
            ++p;
        if (UNLIKELY(p == end))
            return fail_at(e, quote, "unterminated string");
        switch (str_class[*p]) {
        case SC_QUOTE:
            return p;
        case SC_BACKSLASH:
            *escaped = 1;
            if (end - p < 2)
                return fail_at(e, quote, "unterminated string");
            p = scan_escape(e, p, end);
            break;
        case SC_CONTROL:
            return fail_at(e, p, "control character in string");
        default:
            p = scan_utf8(e, p, end);
            break;
        }
        if (p == NULL)
            return NULL;
    }
}

/*
 * Scans the string whose opening quote is at `quote`; returns a pointer to the closing quote.
 * Sets *escaped if a backslash was seen. Inlined: plain ASCII strings, by far the most common,
 * finish here 16 bytes at a time (SSE2, part of every x86-64) or 8 (elsewhere); anything else
 * continues in scan_string_slow.
 */
static inline const unsigned char *scan_string(struct scan_err *e, const unsigned char *quote,
                                               const unsigned char *end, uint8_t *escaped)
{
    const unsigned char *p = quote + 1;
#if defined(__SSE2__)
    /* One signed compare finds both control bytes (0..0x1f) and non-ASCII ones (negative). */
    const __m128i dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(' ');
    while (LIKELY(end - p >= 16)) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i s = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, dq), _mm_cmpeq_epi8(x, bs)),
                                 _mm_cmplt_epi8(x, sp));
        unsigned m = (unsigned)_mm_movemask_epi8(s);
        if (m != 0) {
            p += __builtin_ctz(m);
            if (LIKELY(*p == '"'))
                return p;
            return scan_string_slow(e, quote, p, end, escaped);
        }
        p += 16;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (LIKELY(end - p >= 8)) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t m = special8(x);
        if (m != 0) {
            p += __builtin_ctzll(m) >> 3;
            if (LIKELY(*p == '"'))
                return p;
            break;
        }
        p += 8;
    }
#endif
    return scan_string_slow(e, quote, p, end, escaped);
}

/* Scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p; returns the byte after it. */
static inline const unsigned char *scan_number(struct scan_err *e, const unsigned char *p,
                                               const unsigned char *end)
{
    if (*p == '-')
        ++p;
    if (p == end)
        return fail_at(e, p, "invalid number");
    if (*p == '0') {
        ++p;
        if (p < end && is_digit(*p))
            return fail_at(e, p, "invalid number"); /* leading zero */
    } else if (is_digit(*p)) {
        do
            ++p;
        while (p < end && is_digit(*p));
    } else {
        return fail_at(e, p, "invalid number");
    }
    if (p < end && *p == '.') {
        ++p;
        if (p == end || !is_digit(*p))
            return fail_at(e, p, "invalid number");
        do
            ++p;
        while (p < end && is_digit(*p));
    }
    if (p < end && (*p | 0x20) == 'e') {
        ++p;
        if (p < end && (*p == '+' || *p == '-'))
            ++p;
        if (p == end || !is_digit(*p))
            return fail_at(e, p, "invalid number");
        do
            ++p;
        while (p < end && is_digit(*p));
    }
    return p;
}

/* Doubles the token array (bounded by max_tokens), keeping its contents. */
static bff_jtok_t *grow_toks(bff_jdoc_t *doc, uint32_t max_tokens)
{
    uint64_t cap = doc->cap < 16 ? 32 : (uint64_t)doc->cap * 2;
    if (cap > max_tokens)
        cap = max_tokens;
    doc->toks = bff_realloc(doc->toks, cap * sizeof(doc->toks[0]));
    doc->cap = (uint32_t)cap;
    return doc->toks;
}

int bff_jdoc_scan(bff_jdoc_t *doc, const char *json, size_t len, uint32_t max_tokens,
                  unsigned max_depth, const char **err, size_t *err_offset)
{
    if (json == NULL) /* an empty body may come as (NULL, 0) */
        json = "";
    const unsigned char *const base = (const unsigned char *)json, *const end = base + len;
    const unsigned char *p = base;
    struct scan_err e = {NULL, NULL};

    doc->json = json;
    doc->len = len;
    doc->ntoks = 0;
    /* Offsets are uint32_t and UINT32_MAX is BFF_JDOC_NONE. */
    if (len >= UINT32_MAX) {
        fail_at(&e, base, "input too large");
        goto fail;
    }
    if (max_tokens == 0 || max_tokens > UINT32_MAX - 1)
        max_tokens = UINT32_MAX - 1;
    if (max_depth == 0)
        max_depth = BFF_JDOC_DEFAULT_DEPTH;
    if (max_depth > BFF_JDOC_MAX_DEPTH)
        max_depth = BFF_JDOC_MAX_DEPTH;

    /* Minified JSON averages roughly one token per 6-10 bytes: reserving for 6 spares the common
     * case a grow that copies (a list of small records runs about 7.5); a reused doc keeps its
     * array. The cap keeps a huge body that is mostly one long string from reserving 3x its size.
     */
    uint64_t estimate = len / 6 + 16;
    if (estimate > 65536)
        estimate = 65536;
    if (estimate > max_tokens)
        estimate = max_tokens;
    if (doc->cap < estimate) {
        free(doc->toks); /* contents are dead: no need for realloc to copy them */
        doc->toks = bff_malloc(estimate * sizeof(doc->toks[0]));
        doc->cap = (uint32_t)estimate;
    }

    bff_jtok_t *toks = doc->toks;
    /* A reused doc may hold more slots than this scan may use. */
    uint32_t ntoks = 0, cap = doc->cap < max_tokens ? doc->cap : max_tokens;
    uint32_t stack[BFF_JDOC_MAX_DEPTH]; /* indices of the open containers */
    unsigned depth = 0;
    uint32_t cur = 0; /* innermost open container, valid when depth > 0 */
    int in_obj = 0;
    unsigned c;

/* Reserves the next token slot; jumps to fail on the token limit. */
#define NEW_TOKEN(t)                                                                               \
    do {                                                                                           \
        if (UNLIKELY(ntoks == cap)) {                                                              \
            if (ntoks >= max_tokens) {                                                             \
                fail_at(&e, p, "too many tokens");                                                 \
                goto fail;                                                                         \
            }                                                                                      \
            toks = grow_toks(doc, max_tokens);                                                     \
            cap = doc->cap;                                                                        \
        }                                                                                          \
        (t) = toks + ntoks++;                                                                      \
    } while (0)
#define SKIP_WS()                                                                                  \
    while (p < end && is_ws(*p))                                                                   \
    ++p

value:
    SKIP_WS();
    if (UNLIKELY(p == end)) {
        fail_at(&e, p, depth == 0 ? "empty body" : "unexpected end of input");
        goto fail;
    }
    c = *p;
    switch (c) {
    case '"': {
        uint8_t escaped = 0;
        const unsigned char *q = scan_string(&e, p, end, &escaped);
        if (q == NULL)
            goto fail;
        bff_jtok_t *t;
        NEW_TOKEN(t);
        *t = (bff_jtok_t){
            (uint32_t)(p + 1 - base), (uint32_t)(q - base), ntoks, 0, BFF_J_STRING, escaped};
        p = q + 1;
        goto after_value;
    }
    case '{':
    case '[': {
        if (UNLIKELY(depth == max_depth)) {
            fail_at(&e, p, "too deeply nested");
            goto fail;
        }
        bff_jtok_t *t;
        NEW_TOKEN(t);
        in_obj = c == '{';
        /* end and next are filled in when the container closes. */
        *t = (bff_jtok_t){(uint32_t)(p - base), 0, 0, 0, in_obj ? BFF_J_OBJECT : BFF_J_ARRAY, 0};
        cur = ntoks - 1;
        stack[depth++] = cur;
        ++p;
        SKIP_WS();
        if (p < end && *p == (in_obj ? '}' : ']'))
            goto close;
        if (in_obj)
            goto key;
        t->size = 1;
        goto value;
    }
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        const unsigned char *q = scan_number(&e, p, end);
        if (q == NULL)
            goto fail;
        bff_jtok_t *t;
        NEW_TOKEN(t);
        *t = (bff_jtok_t){(uint32_t)(p - base), (uint32_t)(q - base), ntoks, 0, BFF_J_NUMBER, 0};
        p = q;
        goto after_value;
    }
    case 't':
    case 'f':
    case 'n': {
        /* Compare the 4 bytes after the first letter in one load ("rue", "alse", "ull"). */
        uint8_t type = c == 't' ? BFF_J_TRUE : c == 'f' ? BFF_J_FALSE : BFF_J_NULL;
        size_t wlen = type == BFF_J_FALSE ? 5 : 4;
        const char *word = type == BFF_J_TRUE ? "true" : type == BFF_J_FALSE ? "false" : "null";
        uint32_t got, want;
        if ((size_t)(end - p) < wlen) {
            fail_at(&e, p, "invalid literal");
            goto fail;
        }
        memcpy(&got, p + wlen - 4, 4);
        memcpy(&want, word + wlen - 4, 4);
        if (got != want) {
            fail_at(&e, p, "invalid literal");
            goto fail;
        }
        bff_jtok_t *t;
        NEW_TOKEN(t);
        *t = (bff_jtok_t){(uint32_t)(p - base), (uint32_t)(p + wlen - base), ntoks, 0, type, 0};
        p += wlen;
        goto after_value;
    }
    default:
        /* In an array, "value" is only reached after a ',' (an empty array closes earlier). */
        fail_at(&e, p,
                c == ']' && depth > 0 && !in_obj ? "trailing comma" : "unexpected character");
        goto fail;
    }

after_value:
    if (depth == 0)
        goto done;
    SKIP_WS();
    if (UNLIKELY(p == end)) {
        fail_at(&e, p, "unexpected end of input");
        goto fail;
    }
    c = *p;
    if (c == ',') {
        ++p;
        if (in_obj)
            goto key;
        ++toks[cur].size;
        goto value;
    }
    if (c == (in_obj ? '}' : ']'))
        goto close;
    fail_at(&e, p, in_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    goto fail;

key:
    SKIP_WS();
    if (UNLIKELY(p == end || *p != '"')) {
        if (p == end)
            fail_at(&e, p, "unexpected end of input");
        else
            fail_at(&e, p, *p == '}' ? "trailing comma" : "expected string key");
        goto fail;
    }
    {
        uint8_t escaped = 0;
        const unsigned char *q = scan_string(&e, p, end, &escaped);
        if (q == NULL)
            goto fail;
        bff_jtok_t *t;
        NEW_TOKEN(t);
        *t = (bff_jtok_t){
            (uint32_t)(p + 1 - base), (uint32_t)(q - base), ntoks, 0, BFF_J_STRING, escaped};
        ++toks[cur].size;
        p = q + 1;
    }
    SKIP_WS();
    if (UNLIKELY(p == end || *p != ':')) {
        fail_at(&e, p, p == end ? "unexpected end of input" : "expected ':'");
        goto fail;
    }
    ++p;
    goto value;

close:
    /* p is at the bracket that closes `cur`. */
    toks[cur].end = (uint32_t)(p + 1 - base);
    toks[cur].next = ntoks;
    ++p;
    if (--depth == 0)
        goto done;
    cur = stack[depth - 1];
    in_obj = toks[cur].type == BFF_J_OBJECT;
    goto after_value;

done:
    SKIP_WS();
    if (p != end) {
        fail_at(&e, p, "trailing data");
        goto fail;
    }
    doc->ntoks = ntoks;
    return 0;

#undef NEW_TOKEN
#undef SKIP_WS

fail:
    doc->ntoks = 0;
    if (err != NULL)
        *err = e.msg;
    if (err_offset != NULL)
        *err_offset = (size_t)(e.at - base);
    return -1;
}

void bff_jdoc_dispose(bff_jdoc_t *doc)
{
    free(doc->toks);
    *doc = (bff_jdoc_t){0};
}

/* Appends code point cp as UTF-8 to out; returns the byte count. */
static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Decodes the escape at p (p[0] == '\\') of an already validated string into out (up to 4
 * bytes); sets *outlen and returns the number of input bytes consumed.
 */
static size_t decode_escape(const unsigned char *p, char *out, size_t *outlen)
{
    *outlen = 1;
    switch (p[1]) {
    case 'b':
        out[0] = '\b';
        return 2;
    case 'f':
        out[0] = '\f';
        return 2;
    case 'n':
        out[0] = '\n';
        return 2;
    case 'r':
        out[0] = '\r';
        return 2;
    case 't':
        out[0] = '\t';
        return 2;
    case 'u':
        break;
    default: /* '"', '\\', '/' */
        out[0] = (char)p[1];
        return 2;
    }
    uint32_t cp = (uint32_t)hex4(p + 2);
    size_t used = 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        uint32_t lo = (uint32_t)hex4(p + 8);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        used = 12;
    }
    *outlen = utf8_put(cp, out);
    return used;
}

/* Compares the unescaped form of raw[0..rawlen) with s[0..len). */
static int equals_escaped(const char *raw, size_t rawlen, const char *s, size_t len)
{
    const char *p = raw, *end = raw + rawlen;
    /* Every escape shrinks the text but yields at least one byte. */
    if (len > rawlen || len == 0)
        return 0;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs != NULL ? bs : end) - p);
        if (run > len || (run != 0 && memcmp(p, s, run) != 0))
            return 0;
        s += run;
        len -= run;
        if (bs == NULL)
            break;
        char buf[4];
        size_t n;
        p = bs + decode_escape((const unsigned char *)bs, buf, &n);
        if (n > len || memcmp(buf, s, n) != 0)
            return 0;
        s += n;
        len -= n;
    }
    return len == 0;
}

static inline int key_equals(const bff_jdoc_t *doc, const bff_jtok_t *k, const char *s, size_t len)
{
    const char *raw = doc->json + k->start;
    size_t rawlen = k->end - k->start;
    if (LIKELY(!k->escaped))
        return rawlen == len && (len == 0 || memcmp(raw, s, len) == 0);
    return equals_escaped(raw, rawlen, s, len);
}

uint32_t bff_jdoc_obj_get(const bff_jdoc_t *doc, uint32_t obj, const char *key, size_t keylen)
{
    if (obj >= doc->ntoks || doc->toks[obj].type != BFF_J_OBJECT)
        return BFF_JDOC_NONE;
    const bff_jtok_t *toks = doc->toks;
    uint32_t k = obj + 1;
    for (uint32_t n = toks[obj].size; n != 0; --n) {
        if (key_equals(doc, toks + k, key, keylen))
            return k + 1;
        k = toks[k + 1].next;
    }
    return BFF_JDOC_NONE;
}

uint32_t bff_jdoc_arr_get(const bff_jdoc_t *doc, uint32_t arr, int64_t index)
{
    if (arr >= doc->ntoks || doc->toks[arr].type != BFF_J_ARRAY)
        return BFF_JDOC_NONE;
    int64_t size = doc->toks[arr].size;
    if (index < 0)
        index += size;
    if (index < 0 || index >= size)
        return BFF_JDOC_NONE;
    uint32_t i = arr + 1;
    for (; index != 0; --index)
        i = doc->toks[i].next;
    return i;
}

size_t bff_jdoc_unescape(const bff_jdoc_t *doc, uint32_t str_tok, char *dst)
{
    if (str_tok >= doc->ntoks || doc->toks[str_tok].type != BFF_J_STRING)
        return 0;
    const bff_jtok_t *t = doc->toks + str_tok;
    const char *p = doc->json + t->start, *end = doc->json + t->end;
    if (!t->escaped) {
        memcpy(dst, p, (size_t)(end - p));
        return (size_t)(end - p);
    }
    char *o = dst;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        const char *stop = bs != NULL ? bs : end;
        memcpy(o, p, (size_t)(stop - p));
        o += stop - p;
        if (bs == NULL)
            break;
        size_t n;
        p = bs + decode_escape((const unsigned char *)bs, o, &n);
        o += n;
    }
    return (size_t)(o - dst);
}

int bff_jdoc_equals_str(const bff_jdoc_t *doc, uint32_t tok, const char *s, size_t len)
{
    if (tok >= doc->ntoks || doc->toks[tok].type != BFF_J_STRING)
        return 0;
    return key_equals(doc, doc->toks + tok, s, len);
}

int bff_jdoc_to_double(const bff_jdoc_t *doc, uint32_t tok, double *out)
{
    if (tok >= doc->ntoks || doc->toks[tok].type != BFF_J_NUMBER)
        return -1;
    const bff_jtok_t *t = doc->toks + tok;
    const char *p = doc->json + t->start;
    size_t len = t->end - t->start;

    /* Plain integers of up to 15 digits are exact in a double: skip strtod. */
    size_t neg = p[0] == '-';
    if (len - neg <= 15) {
        uint64_t v = 0;
        size_t i = neg;
        while (i < len && is_digit((unsigned char)p[i]))
            v = v * 10 + (uint64_t)(p[i++] - '0');
        if (i == len) {
            *out = neg ? -(double)v : (double)v;
            return 0;
        }
    }

    /* strtod needs a terminator; the borrowed input has none. */
    char small[64], *buf = len < sizeof(small) ? small : bff_malloc(len + 1);
    memcpy(buf, p, len);
    buf[len] = '\0';
    errno = 0;
    double d = strtod(buf, NULL);
    int overflow = errno == ERANGE && isinf(d);
    if (buf != small)
        free(buf);
    if (overflow)
        return -1;
    *out = d;
    return 0;
}

int bff_jdoc_to_int64(const bff_jdoc_t *doc, uint32_t tok, int64_t *out)
{
    if (tok >= doc->ntoks || doc->toks[tok].type != BFF_J_NUMBER)
        return -1;
    const bff_jtok_t *t = doc->toks + tok;
    const char *p = doc->json + t->start;
    size_t len = t->end - t->start, neg = p[0] == '-', i = neg;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len && is_digit((unsigned char)p[i]); ++i) {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == len) {
        *out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
    }
    /* "3.0", "3e2": accept if the value is integral and in range. 2^63 is exact in a double;
     * the range check comes first so that the cast is defined (and no libm is needed). */
    double d;
    if (bff_jdoc_to_double(doc, tok, &d) != 0 || !(d >= -9223372036854775808.0) ||
        d >= 9223372036854775808.0 || (double)(int64_t)d != d)
        return -1;
    *out = (int64_t)d;
    return 0;
}
