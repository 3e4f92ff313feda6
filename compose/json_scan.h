/* Validating JSON tokenizer: one pass over a borrowed buffer, a flat pre-order token array with
 * subtree skip links, and lazy accessors (lookup, unescape, number conversion). */
#ifndef BFF_COMPOSE_JSON_SCAN_H
#define BFF_COMPOSE_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

typedef enum en_bff_jtype_t {
    BFF_J_OBJECT = 1,
    BFF_J_ARRAY,
    BFF_J_STRING,
    BFF_J_NUMBER,
    BFF_J_TRUE,
    BFF_J_FALSE,
    BFF_J_NULL
} bff_jtype_t;

/* Returned by the lookups when there is no such token. */
#define BFF_JDOC_NONE UINT32_MAX
/* Nesting limit used when bff_jdoc_scan is given max_depth == 0, and the hard upper bound. */
#define BFF_JDOC_DEFAULT_DEPTH 64
#define BFF_JDOC_MAX_DEPTH 256

/**
 * One JSON value. Tokens are stored in document order (pre-order): an object token is followed
 * by its members as (key STRING, value subtree) pairs, an array token by its elements' subtrees.
 *
 * - `start`, `end`: byte range in the input. Strings EXCLUDE their quotes; objects and arrays run
 *   from the opening bracket to just after the closing one; numbers and literals are exact.
 * - `next`: index of the first token after this token's whole subtree (i + 1 for scalars), so
 *   skipping a value is O(1). The first child of a container is i + 1; the next sibling of a
 *   value is toks[i].next; for an object member whose key is at k, the value is at k + 1 and the
 *   next member's key at toks[k + 1].next.
 * - `size`: members of an object, elements of an array, 0 otherwise.
 * - `type`: a bff_jtype_t.
 * - `escaped`: strings only, 1 if the raw bytes contain backslash escapes (see bff_jdoc_unescape).
 */
typedef struct st_bff_jtok_t {
    uint32_t start, end;
    uint32_t next;
    uint32_t size;
    uint8_t type;
    uint8_t escaped;
} bff_jtok_t;

/**
 * A scanned document. Zero-initialize it before the first scan (`bff_jdoc_t doc = {0};`).
 * `json`/`len` are BORROWED: the input must outlive every use of the tokens. `toks` is owned by
 * the doc and kept across scans, so a per-worker doc reaches zero allocations in steady state.
 * Root is token 0 (when ntoks > 0).
 */
typedef struct st_bff_jdoc_t {
    const char *json;
    size_t len;
    bff_jtok_t *toks;
    uint32_t ntoks, cap;
} bff_jdoc_t;

/**
 * Validates `json[0..len)` strictly as RFC 8259 JSON (one value, optional surrounding whitespace,
 * UTF-8 checked, no NaN/Infinity/comments/trailing commas/BOM) and fills doc->toks.
 *
 * `max_tokens` caps the token count (0 = no cap besides 2^32 - 2); `max_depth` caps container
 * nesting ("[[1]]" has depth 2; 0 = BFF_JDOC_DEFAULT_DEPTH, values above BFF_JDOC_MAX_DEPTH are
 * clamped). The input must be shorter than 4 GiB.
 *
 * Returns 0 on success. On failure returns -1, sets doc->ntoks to 0 (the token storage is kept
 * for reuse), `*err` to a static English message and `*err_offset` to the byte offset of the
 * problem (for "unterminated string", of its opening quote). The messages: "empty body",
 * "unexpected end of input", "unexpected character", "invalid literal", "invalid number",
 * "unterminated string", "control character in string", "invalid escape",
 * "invalid surrogate pair", "invalid UTF-8", "expected string key", "expected ':'",
 * "expected ',' or '}'", "expected ',' or ']'", "trailing comma", "trailing data",
 * "too deeply nested", "too many tokens", "input too large". `json` may be NULL when `len` is 0;
 * `err` and `err_offset` may be NULL. Token storage grows with bff_realloc (aborts on OOM).
 */
int bff_jdoc_scan(bff_jdoc_t *doc, const char *json, size_t len, uint32_t max_tokens,
                  unsigned max_depth, const char **err, size_t *err_offset);

/** Frees the token storage and zeroes the doc; the borrowed input is not touched. */
void bff_jdoc_dispose(bff_jdoc_t *doc);

/**
 * Index of the value of member `key` (UTF-8, `keylen` bytes, compared with the unescaped form of
 * each member name) in object token `obj`; BFF_JDOC_NONE if absent, or if `obj` is out of range
 * or not an object. With duplicate names the FIRST member wins. O(members).
 */
uint32_t bff_jdoc_obj_get(const bff_jdoc_t *doc, uint32_t obj, const char *key, size_t keylen);

/**
 * Index of element `index` of array token `arr` (a negative index counts from the end, -1 being
 * the last); BFF_JDOC_NONE if out of range or `arr` is not an array. O(index).
 */
uint32_t bff_jdoc_arr_get(const bff_jdoc_t *doc, uint32_t arr, int64_t index);

/**
 * Writes the unescaped UTF-8 bytes of string token `str_tok` to `dst` and returns their count.
 * `dst` must have room for toks[str_tok].end - toks[str_tok].start bytes (the unescaped form is
 * never longer); no NUL terminator is added, and the result may contain NUL bytes ("\u0000").
 * Returns 0 (writing nothing) if the token is not a string.
 */
size_t bff_jdoc_unescape(const bff_jdoc_t *doc, uint32_t str_tok, char *dst);

/**
 * Returns 1 if string token `tok` unescapes to exactly `s[0..len)`, 0 otherwise (also when `tok`
 * is not a string). Does not allocate.
 */
int bff_jdoc_equals_str(const bff_jdoc_t *doc, uint32_t tok, const char *s, size_t len);

/**
 * Converts number token `tok` to the nearest double. Returns 0, or -1 if `tok` is not a number or
 * its magnitude overflows a double. Uses strtod for non-trivial numbers, so it assumes the "C"
 * locale (bffd never calls setlocale).
 */
int bff_jdoc_to_double(const bff_jdoc_t *doc, uint32_t tok, double *out);

/**
 * Converts number token `tok` to an int64_t. Accepts an integral value in range whatever its
 * spelling ("3", "3.0", "3e0"); returns -1 for non-numbers, fractions and out-of-range values.
 */
int bff_jdoc_to_int64(const bff_jdoc_t *doc, uint32_t tok, int64_t *out);

/**
 * The JSON text of token `tok`'s whole value (strings WITH their quotes, containers with their
 * brackets), to copy an untouched subtree verbatim. Points into the borrowed input. `tok` must be
 * below doc->ntoks.
 */
static inline const char *bff_jdoc_raw(const bff_jdoc_t *doc, uint32_t tok, size_t *len)
{
    const bff_jtok_t *t = doc->toks + tok;
    uint32_t quote = t->type == BFF_J_STRING;
    *len = t->end - t->start + 2 * quote;
    return doc->json + t->start - quote;
}

#endif
