/* Stage: rate limits of routes (and the GraphQL endpoint) with `rate_limit:`. The plan is the
 * route's, else the principal's (an API key's plan, or the token's plan claim) when the
 * profile has it, else the default; the key is the principal or the client's address. The
 * verdict comes from Redis (limiter.h), shared by every instance. Every answer carries the
 * limit's headers: RateLimit-Policy and RateLimit (the IETF httpapi draft's structured
 * fields) and X-RateLimit-Limit/-Remaining/-Reset; a refusal is 429 with Retry-After. A plan's
 * quota is a second policy in those fields. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compose/gql/graph.h"
#include "compose/json_scan.h"
#include "server/auth/principal.h"
#include "server/http/client_addr.h"
#include "server/http/respond.h"
#include "server/obs/metrics.h"
#include "server/ratelimit/limiter.h"
#include "server/stage/pipeline.h"

#define RATE_MAGIC 0xb1ff4a7eu

typedef struct st_rate_req_t {
    uint32_t magic;
    bff_req_t *r;
    const bff_rate_plan_t *plan;
    unsigned cost;
    void *op;
} rate_req_t;

static void add_header(h2o_req_t *req, const char *name, size_t namelen, const char *value, int n)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, namelen, 0, NULL,
                          h2o_strdup(&req->pool, value, (size_t)n).base, (size_t)n);
}

/* The quota's window for RateLimit-Policy's w: a day, or the current month's length. */
static uint64_t quota_window_s(const bff_rate_plan_t *plan)
{
    if (plan->quota_window == BFF_QUOTA_DAY)
        return 86400;
    uint64_t now = (uint64_t)time(NULL), end = bff_quota_window_end(now, BFF_QUOTA_MONTH);
    uint64_t len = end - bff_quota_window_end(end - 86400 * 32, BFF_QUOTA_MONTH);
    return len;
}

static void refuse(bff_req_t *r, const bff_rate_plan_t *plan, const bff_rate_verdict_t *v,
                   uint64_t window, unsigned cost)
{
    h2o_req_t *req = r->req;
    char buf[32], msg[300], batch[80] = "";
    if (cost > 1)
        snprintf(batch, sizeof(batch), " (this batch of operations counts as %u requests)", cost);
    uint64_t retry = v->quota_exhausted ? v->quota_reset_s : v->retry_after_s;
    if (retry == 0)
        retry = 1;
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)retry);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                   h2o_strdup(&req->pool, buf, (size_t)n).base, (size_t)n);
    atomic_fetch_add_explicit(&r->site->metrics->rate_limited, 1, memory_order_relaxed);
    if (v->quota_exhausted) {
        snprintf(msg, sizeof(msg),
                 "the %s quota of plan '%s' (%llu requests) is %s%s; it resets in %llu s (%s)",
                 plan->quota_window == BFF_QUOTA_DAY ? "daily" : "monthly", plan->name,
                 (unsigned long long)plan->quota,
                 v->quota_remaining != 0 ? "too nearly used up" : "exhausted", batch,
                 (unsigned long long)retry,
                 plan->quota_window == BFF_QUOTA_DAY ? "midnight UTC" : "the 1st, 00:00 UTC");
        bff_stage_refuse(r, 429, "quota_exceeded", msg, "\"reason\": \"quota\"");
        return;
    }
    snprintf(msg, sizeof(msg),
             "the rate limit of plan '%s' (%llu per %llu s) is used up%s; retry in %llu s",
             plan->name, (unsigned long long)plan->limit, (unsigned long long)window, batch,
             (unsigned long long)retry);
    bff_stage_refuse(r, 429, "too_many_requests", msg, "\"reason\": \"rate\"");
}

/* Applies a verdict: headers, and 429/503 when refused. Returns the stage result. With a quota
 * both policies are listed (the rate's first); X-RateLimit-* describe the tighter of the two,
 * the one with fewer requests left (the rate on a tie). */
static bff_stage_result_t apply(bff_req_t *r, const bff_rate_plan_t *plan,
                                const bff_rate_verdict_t *v, unsigned cost)
{
    h2o_req_t *req = r->req;
    if (v->unavailable) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        bff_stage_refuse(r, 503, "rate_limit_unavailable",
                         "the rate limit cannot be checked right now; try again shortly", NULL);
        return BFF_STAGE_RESPONDED;
    }
    char buf[300];
    uint64_t window = plan->period_ms / 1000 ? plan->period_ms / 1000 : 1;
    int quota = v->quota_known, n;
    if (quota)
        n = snprintf(buf, sizeof(buf), "\"%s\";q=%llu;w=%llu, \"%s-quota\";q=%llu;w=%llu",
                     plan->name, (unsigned long long)plan->limit, (unsigned long long)window,
                     plan->name, (unsigned long long)plan->quota,
                     (unsigned long long)quota_window_s(plan));
    else
        n = snprintf(buf, sizeof(buf), "\"%s\";q=%llu;w=%llu", plan->name,
                     (unsigned long long)plan->limit, (unsigned long long)window);
    add_header(req, H2O_STRLIT("ratelimit-policy"), buf, n);
    if (quota)
        n = snprintf(buf, sizeof(buf), "\"%s\";r=%llu;t=%llu, \"%s-quota\";r=%llu;t=%llu",
                     plan->name, (unsigned long long)v->remaining, (unsigned long long)v->reset_s,
                     plan->name, (unsigned long long)v->quota_remaining,
                     (unsigned long long)v->quota_reset_s);
    else
        n = snprintf(buf, sizeof(buf), "\"%s\";r=%llu;t=%llu", plan->name,
                     (unsigned long long)v->remaining, (unsigned long long)v->reset_s);
    add_header(req, H2O_STRLIT("ratelimit"), buf, n);
    /* the quota refused, or it has less left: its numbers are the ones to act on */
    int by_quota = quota && (v->quota_exhausted || v->quota_remaining < v->remaining);
    n = snprintf(buf, sizeof(buf), "%llu",
                 (unsigned long long)(by_quota ? plan->quota : plan->limit));
    add_header(req, H2O_STRLIT("x-ratelimit-limit"), buf, n);
    n = snprintf(buf, sizeof(buf), "%llu",
                 (unsigned long long)(by_quota ? v->quota_remaining : v->remaining));
    add_header(req, H2O_STRLIT("x-ratelimit-remaining"), buf, n);
    n = snprintf(buf, sizeof(buf), "%llu",
                 (unsigned long long)(by_quota ? v->quota_reset_s : v->reset_s));
    add_header(req, H2O_STRLIT("x-ratelimit-reset"), buf, n);
    if (v->allowed)
        return BFF_STAGE_NEXT;
    refuse(r, plan, v, window, cost);
    return BFF_STAGE_RESPONDED;
}

static void on_verdict(void *data, const bff_rate_verdict_t *v)
{
    rate_req_t *rr = data;
    rr->op = NULL;
    bff_req_t *r = rr->r;
    if (apply(r, rr->plan, v, rr->cost) == BFF_STAGE_NEXT)
        bff_pipeline_resume(r);
    else
        bff_req_sent(r);
}

static void on_dispose(void *p)
{
    rate_req_t *rr = p;
    if (rr->op != NULL)
        bff_limiter_cancel(rr->op);
    rr->magic = 0;
}

/* What the request counts as: 1, or for a batch of GraphQL operations (a JSON array POSTed to
 * the graph's path) one per operation, at most the plan's burst (more could never pass). A batch
 * longer than the graph's batching.max counts 1, like anything that does not scan: the GraphQL
 * stage refuses it with 400, and a request refused as invalid spends what any other does. */
static unsigned request_cost(bff_req_t *r, const bff_rate_plan_t *plan)
{
    const bff_gql_graph_t *g = r->profile->graph;
    h2o_req_t *req = r->req;
    if (g == NULL || g->batch_max == 0 || req->entity.base == NULL ||
        !h2o_memis(r->route_path.base, r->route_path.len, g->path, strlen(g->path)) ||
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
        return 1;
    const char *p = req->entity.base, *end = p + req->entity.len;
    while (p != end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        ++p;
    if (p == end || *p != '[')
        return 1;
    bff_jdoc_t d = {0};
    const char *err;
    size_t off;
    unsigned cost = 1;
    if (bff_jdoc_scan(&d, req->entity.base, req->entity.len, 0, 0, &err, &off) == 0 &&
        d.toks[0].type == BFF_J_ARRAY && d.toks[0].size > 1) {
        uint64_t n = d.toks[0].size;
        if (n > g->batch_max)
            n = 1;
        if (n > plan->burst)
            n = plan->burst;
        cost = (unsigned)n;
    }
    bff_jdoc_dispose(&d);
    return cost;
}

bff_stage_result_t bff_stage_ratelimit(bff_req_t *r)
{
    const bff_access_t *a = bff_req_access(r);
    if (a == NULL || !a->rate_limited)
        return BFF_STAGE_NEXT;
    const bff_rate_conf_t *rc = &r->profile->rate;
    bff_limiter_t *l = r->view->limiters[r->site->index];
    if (l == NULL)
        return BFF_STAGE_NEXT;
    const bff_principal_t *p = r->principal;
    const bff_rate_plan_t *plan = NULL;
    if (a->rate_plan != NULL)
        plan = bff_rate_conf_plan(rc, a->rate_plan);
    if (plan == NULL && p != NULL && p->plan.len != 0) {
        char name[80];
        snprintf(name, sizeof(name), "%.*s", (int)p->plan.len, p->plan.base);
        plan = bff_rate_conf_plan(rc, name);
    }
    if (plan == NULL)
        plan = rc->plans + rc->default_plan;
    char key[300], ip[64] = "";
    int n;
    if (p != NULL && rc->key != BFF_RATE_KEY_IP)
        n = snprintf(key, sizeof(key), "%s%s:%s:%.*s", rc->prefix, plan->name, p->kind,
                     (int)(p->id.len < 200 ? p->id.len : 200), p->id.base);
    else if (rc->key == BFF_RATE_KEY_PRINCIPAL)
        n = snprintf(key, sizeof(key), "%s%s:anonymous", rc->prefix, plan->name);
    else {
        bff_client_address(r->req, r->profile->trusted_proxies, r->profile->ntrusted_proxies, ip,
                           sizeof(ip));
        n = snprintf(key, sizeof(key), "%s%s:ip:%s", rc->prefix, plan->name, ip);
    }
    size_t keylen = n > 0 && (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1;
    rate_req_t *rr = h2o_mem_alloc_shared(&r->req->pool, sizeof(*rr), on_dispose);
    unsigned cost = request_cost(r, plan);
    *rr = (rate_req_t){.magic = RATE_MAGIC, .r = r, .plan = plan, .cost = cost};
    bff_rate_verdict_t now;
    if ((rr->op = bff_limiter_check(l, plan, key, keylen, cost, on_verdict, rr, &now)) != NULL)
        return BFF_STAGE_PENDING;
    return apply(r, plan, &now, cost);
}
