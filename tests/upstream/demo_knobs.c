/* The per-request knobs in the query (delay_ms, status, hang, size, fail_first, ...): parsing them
 * and the outcome they choose, with the number parsing and %XX decoding the other parts use too. */
#include "demo_upstream.h"

#include <stdint.h>
#include <string.h>

#include "h2o.h"

#define MAX_SIZE (64u << 20) /* size=N cap */

/* decimal digits only, no sign, no overflow (value must be <= max) */
int parse_u64(h2o_iovec_t s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 19)
        return -1;
    for (size_t i = 0; i != s.len; ++i) {
        if (s.base[i] < '0' || s.base[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s.base[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_flag(h2o_iovec_t v)
{
    return !(h2o_memis(v.base, v.len, H2O_STRLIT("0")) ||
             h2o_memis(v.base, v.len, H2O_STRLIT("false")));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX-decodes into the pool (zero-copy when there is nothing to decode); '+' is kept as is */
h2o_iovec_t url_decode(h2o_mem_pool_t *pool, h2o_iovec_t s)
{
    char *dst;
    size_t n = 0;
    if (s.len == 0 || memchr(s.base, '%', s.len) == NULL)
        return s;
    dst = h2o_mem_alloc_pool(pool, s.len);
    for (size_t i = 0; i != s.len; ++i) {
        int hi, lo;
        if (s.base[i] == '%' && i + 2 < s.len && (hi = hexval(s.base[i + 1])) >= 0 &&
            (lo = hexval(s.base[i + 2])) >= 0) {
            dst[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[n++] = s.base[i];
        }
    }
    return h2o_iovec_init(dst, n);
}

/* like parse_u64 but values above max are clamped to max */
int parse_clamped(h2o_iovec_t s, uint64_t max, uint64_t *out)
{
    if (parse_u64(s, UINT64_MAX, out) != 0)
        return -1;
    if (*out > max)
        *out = max;
    return 0;
}

static void apply_knob(struct knobs *k, h2o_iovec_t name, h2o_iovec_t val)
{
    uint64_t v;
#define IS(lit) h2o_memis(name.base, name.len, H2O_STRLIT(lit))
    if (IS("delay_ms")) {
        if (parse_clamped(val, MAX_DELAY_MS, &k->delay_ms) == 0)
            k->has_delay = 1;
    } else if (IS("status")) {
        if (parse_u64(val, 599, &v) == 0 && v >= 200)
            k->status = (int)v;
    } else if (IS("malformed")) {
        k->malformed = parse_flag(val);
    } else if (IS("notjson")) {
        k->notjson = parse_flag(val);
    } else if (IS("hang")) {
        k->hang = parse_flag(val);
    } else if (IS("size")) {
        if (parse_clamped(val, MAX_SIZE, &k->size) == 0)
            k->has_size = 1;
    } else if (IS("fail_first")) {
        k->fail_first = val;
    } else if (IS("fail_every")) {
        if (parse_clamped(val, UINT32_MAX, &v) == 0)
            k->fail_every = v;
    } else if (IS("limit")) {
        if (parse_clamped(val, MAX_LIMIT, &k->limit) == 0)
            k->has_limit = 1;
    } else if (IS("code")) {
        if (parse_u64(val, 599, &v) == 0 && v >= 200)
            k->code = (int)v;
    } else if (IS("location")) {
        k->location = val;
    } else if (IS("retry_after")) {
        k->retry_after = val;
    } else if (IS("cache_control")) {
        k->cache_control = val;
    } else if (IS("etag")) {
        k->etag = val;
    } else if (IS("last_modified")) {
        k->last_modified = parse_flag(val);
    } else if (IS("ctype")) {
        k->ctype = val;
    } else if (IS("empty")) {
        k->empty = parse_flag(val);
    } else if (IS("userId")) {
        k->user_id = val;
    } else if (IS("ids")) {
        k->ids = val;
    }
#undef IS
}

void parse_knobs(h2o_req_t *req, struct knobs *k)
{
    const char *p, *end = req->path.base + req->path.len;
    memset(k, 0, sizeof(*k));
    if (req->query_at == SIZE_MAX)
        return;
    for (p = req->path.base + req->query_at + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
        if (amp == NULL)
            amp = end;
        if ((eq = memchr(p, '=', (size_t)(amp - p))) != NULL)
            apply_knob(k, h2o_iovec_init(p, (size_t)(eq - p)),
                       h2o_iovec_init(eq + 1, (size_t)(amp - eq - 1)));
        else
            apply_knob(k, h2o_iovec_init(p, (size_t)(amp - p)), h2o_iovec_init("", 0));
        p = amp + 1;
    }
}

enum outcome decide_outcome(struct worker *w, const struct knobs *k)
{
    if (k->status != 0)
        return OUT_STATUS;
    if (k->fail_first.len != 0 && seen_first_time(k->fail_first))
        return OUT_TRANSIENT;
    if (k->fail_every != 0 && ++w->stats.fail_every_seen % k->fail_every == 0)
        return OUT_FAIL_EVERY;
    if (k->malformed)
        return OUT_MALFORMED;
    if (k->notjson)
        return OUT_NOTJSON;
    if (k->has_size)
        return OUT_SIZE;
    return OUT_NORMAL;
}
