/* Capped JSON output buffer that inserts commas itself and refuses malformed structure. */
#ifndef BFF_COMPOSE_JSON_WRITE_H
#define BFF_COMPOSE_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Deepest container nesting the writer tracks. */
#define BFF_JWRITE_MAX_DEPTH 64

/**
 * A growing output buffer. `buf[0..len)` is the output (not NUL-terminated); the writer owns
 * `buf`. `max` caps `len`: a write that would pass it sets `overflow` and is dropped, and so is
 * every later write until bff_jwrite_reset (curl dynbuf "toobig"). Members starting with `_` are
 * private.
 *
 * Structure contract (the "value" functions are str, int, double, bool, null, raw and open):
 * - Top level: exactly one value.
 * - Array (after bff_jwrite_open(w, '[')): any number of values; commas are inserted for you.
 * - Object (after bff_jwrite_open(w, '{')): bff_jwrite_key, then exactly one value, repeated;
 *   commas are inserted for you.
 * - bff_jwrite_close must name the innermost open container's bracket and may not follow a key.
 * Breaking the contract (a value without a key in an object, two keys in a row, a second top-level
 * value, a mismatched or extra close, nesting deeper than BFF_JWRITE_MAX_DEPTH, a bracket other
 * than '{' '[' '}' ']') marks the writer failed: later writes are dropped and bff_jwrite_done
 * returns -1. bff_jwrite_bytes and bff_jwrite_char bypass the tracking entirely.
 */
typedef struct st_bff_jwrite_t {
    char *buf;
    size_t len, cap, max;
    int overflow;
    int _misuse;
    size_t _lim;     /* == cap while writable; == len once failed, so every write misses */
    uint64_t _obj;   /* bit d: open container at depth d + 1 is an object */
    uint64_t _more;  /* bit d: container at depth d + 1 holds an element (the next needs ',') */
    unsigned _depth; /* open containers */
    int _after_key;  /* a key was written; its value is due */
    int _root;       /* the top-level value has been started */
} bff_jwrite_t;

/**
 * Initializes `w` with a heap buffer of `initial` bytes (clamped to `max`) and the output cap
 * `max`. Aborts on out of memory. Release with bff_jwrite_dispose.
 */
void bff_jwrite_init(bff_jwrite_t *w, size_t initial, size_t max);
/** Frees the buffer and zeroes `w`. */
void bff_jwrite_dispose(bff_jwrite_t *w);
/** Empties the output and clears overflow, misuse and nesting state; keeps the buffer. */
void bff_jwrite_reset(bff_jwrite_t *w);
/**
 * Returns 0 if the output is one complete JSON value (something written, every container closed,
 * no overflow, no contract breach), -1 otherwise; on -1 discard `buf` (`overflow` says whether
 * the cap was the reason).
 */
int bff_jwrite_done(const bff_jwrite_t *w);

/**
 * Makes room for `n` more bytes. Returns 0, or -1 if the writer has failed or `len + n` would
 * exceed `max` (then `overflow` is set and the writer is failed).
 */
int bff_jwrite_reserve(bff_jwrite_t *w, size_t n);

/** Opens a container: `c` is '{' or '['. A value: in an object, a key must precede it. */
void bff_jwrite_open(bff_jwrite_t *w, char c);
/** Closes the innermost container: `c` is '}' or ']' and must match it. */
void bff_jwrite_close(bff_jwrite_t *w, char c);
/**
 * Writes an object member name: `s[0..n)` as a JSON string (escaped as bff_jwrite_str) and ':'.
 * Only valid directly inside an object when no key is pending.
 */
void bff_jwrite_key(bff_jwrite_t *w, const char *s, size_t n);
/**
 * Writes `s[0..n)` as a quoted JSON string: '"' '\\' and bytes < 0x20 are escaped (\n \t \r \b \f
 * or \u00XX), all other bytes pass through unchanged (the caller supplies valid UTF-8).
 */
void bff_jwrite_str(bff_jwrite_t *w, const char *s, size_t n);
/**
 * Writes `p[0..n)`, which the caller guarantees is exactly one valid JSON value (e.g. a subtree
 * copied from an upstream body with bff_jdoc_raw), verbatim as a value.
 */
void bff_jwrite_raw(bff_jwrite_t *w, const char *p, size_t n);
/** 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points past
 * U+10FFFF): what a JSON string may hold. */
int bff_utf8_valid(const char *s, size_t n);
/** The length of the valid UTF-8 sequence at s (1 for ASCII), 0 when it is not one (avail: the
 * bytes there are, at least 1). */
size_t bff_utf8_seq_len(const char *s, size_t avail);
/** Writes an integer value. */
void bff_jwrite_int(bff_jwrite_t *w, int64_t v);
/**
 * Writes a number value: integral values below 2^53 as integers, others with the fewest of 15, 16
 * or 17 significant digits that round-trip; NaN and infinities as null.
 */
void bff_jwrite_double(bff_jwrite_t *w, double d);
/** Writes true or false. */
void bff_jwrite_bool(bff_jwrite_t *w, int b);
/** Writes null. */
void bff_jwrite_null(bff_jwrite_t *w);

/** A position to come back to: the output and the structure state before a value. */
typedef struct st_bff_jwrite_mark_t {
    size_t len;
    uint64_t obj, more;
    unsigned depth;
    int after_key, root;
} bff_jwrite_mark_t;

/** Remembers where the next value starts (call it right before writing that value). */
static inline bff_jwrite_mark_t bff_jwrite_mark(const bff_jwrite_t *w)
{
    bff_jwrite_mark_t m = {w->len, w->_obj, w->_more, w->_depth, w->_after_key, w->_root};
    return m;
}

/** Drops everything written since `m` (GraphQL's null propagation replaces a half-written
 * object by null). A writer that has failed since stays failed. */
void bff_jwrite_rewind(bff_jwrite_t *w, const bff_jwrite_mark_t *m);

/**
 * Appends `p[0..n)` verbatim, OUTSIDE the structure tracking: no commas, no checks. For callers
 * that lay out a stretch of output by hand.
 */
static inline void bff_jwrite_bytes(bff_jwrite_t *w, const char *p, size_t n)
{
    if (n > w->_lim - w->len && bff_jwrite_reserve(w, n) != 0)
        return;
    if (n != 0) /* p may be NULL then */
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/** Appends one byte verbatim, outside the structure tracking (see bff_jwrite_bytes). */
static inline void bff_jwrite_char(bff_jwrite_t *w, char c)
{
    if (w->len == w->_lim && bff_jwrite_reserve(w, 1) != 0)
        return;
    w->buf[w->len++] = c;
}

#endif
