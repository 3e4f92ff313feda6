#!/usr/bin/env python3
"""Quotas of rate-limit plans (per UTC day or month, counted in Redis by the same script as the
rate) and per-upstream call limits, against real bffd, redis-server and the demo upstream.

Run from the repository root: python3 tests/integration/test_limits.py
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

LIMITED = {
    "limited.yaml": """
endpoint: GET /limited
rate_limit: on
sources:
  user: { upstream: users, path: "/users/7" }
response: { id: user.id }
""",
}


def rate_limits(redis_url, plans, extra=""):
    return "rate_limits:\n  plans:\n%s  default_plan: free\n  key: ip\n  redis: %s\n%s" % (
        "".join("    %s\n" % p for p in plans), redis_url, extra)


def serve(redis, plans, threads=1, extra=""):
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=rate_limits(redis.url, plans, extra))
    return harness.Bffd({"t": {"profile": prof, "endpoints": LIMITED}}, threads=threads)


def graph_with_batches(extra):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(repo, "bff", "web", "graph.yaml")) as f:
        text = f.read().replace("../../schemas/shop.graphql", os.path.join(repo, "schemas", "shop.graphql"))
    return text + extra


def post_batch(b, n):
    body = json.dumps([{"query": "{ __typename }"}] * n).encode()
    st, hdrs, data = harness.request(b.port, "POST", "/graphql", body=body,
                                     headers={"Content-Type": "application/json"})
    return st, hdrs, json.loads(data)


def test_a_graphql_batch_counts_each_operation():
    # Counted once, a batch of max operations would stretch a plan by max.
    redis = harness.Redis()
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=rate_limits(
        redis.url, ["free: { rate: 6/min, burst: 6, quota: 9/day }"]))
    b = harness.Bffd({"t": {"profile": prof, "files": {
        "graph.yaml": graph_with_batches("batching: { max: 4 }\nrate_limit: on\n")}}})
    st, hdrs, doc = post_batch(b, 4)
    eq((st, len(doc)), (200, 4), doc)
    eq(hdrs.get("ratelimit"), '"free";r=2;t=40, "free-quota";r=5;t=%s' % hdrs["ratelimit"].rsplit("=", 1)[1],
       "4 of the rate's 6 and of the quota's 9 taken")
    st, hdrs, doc = post_batch(b, 3)
    eq(st, 429, doc)
    check("this batch of operations counts as 3 requests" in doc["error"]["message"], doc)
    eq(hdrs.get("x-ratelimit-remaining"), "2", "a refused batch takes nothing")
    st, hdrs, doc = post_batch(b, 2)
    eq(st, 200, "two operations still fit")
    # The rate is spent; the quota has 3 left. One request at a time: a single operation is 1.
    st, _, doc = harness.request(b.port, "POST", "/graphql", body=b'{"query": "{ __typename }"}',
                                 headers={"Content-Type": "application/json"})
    eq(st, 429, "the rate, after 6")
    eq(redis.cmd("GET", redis_quota_key(redis)), b"6", "the quota counted every operation")


def test_a_batch_over_the_max_counts_one_and_is_a_400():
    # Refused as invalid by the GraphQL stage, it spends what any invalid request does, not max.
    redis = harness.Redis()
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=rate_limits(redis.url, ["free: { rate: 6/min, burst: 6 }"]))
    b = harness.Bffd({"t": {"profile": prof, "files": {
        "graph.yaml": graph_with_batches("batching: { max: 4 }\nrate_limit: on\n")}}})
    st, hdrs, doc = post_batch(b, 5)
    eq(st, 400, doc)
    eq(hdrs.get("x-ratelimit-remaining"), "5", "counted as one request")
    for _ in range(5):
        post_batch(b, 1)
    st, hdrs, doc = post_batch(b, 5)
    eq(st, 429, "with nothing left it is refused like any request: %r" % doc)


def test_graphql_clients_get_refusals_as_graphql_errors():
    # A client that negotiated application/graphql-response+json reads only GraphQL responses:
    # on the graph's endpoint a refusal is {"errors": [...]} of that type; others keep bffd's
    # JSON error, and REST routes are untouched.
    redis = harness.Redis()
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=rate_limits(redis.url, ["free: { rate: 1/min, burst: 1 }"]))
    b = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": graph_with_batches("rate_limit: on\n")}}})
    body = json.dumps({"query": "{ __typename }"}).encode()
    gql = {"Content-Type": "application/json", "Accept": "application/graphql-response+json"}
    eq(harness.request(b.port, "POST", "/graphql", body=body, headers=gql)[0], 200)
    st, hdrs, data = harness.request(b.port, "POST", "/graphql", body=body, headers=gql)
    eq((st, hdrs.get("content-type")), (429, "application/graphql-response+json"), data)
    doc = json.loads(data)
    eq(list(doc), ["errors"], doc)
    eq(doc["errors"][0]["extensions"], {"code": "TOO_MANY_REQUESTS", "reason": "rate"}, doc)
    check("rate limit" in doc["errors"][0]["message"], doc)
    check(hdrs.get("retry-after"), hdrs)
    st, hdrs, data = harness.request(b.port, "POST", "/graphql", body=body,
                                     headers={"Content-Type": "application/json"})
    eq((st, json.loads(data)["error"]["code"]), (429, "too_many_requests"), "application/json: as before")
    eq(b.stop(), 0)


def redis_quota_key(redis):
    keys = [k for k in redis.keys("*") if k.endswith(b":quota:d")]
    eq(len(keys), 1, keys)
    return keys[0]


def seconds_to_utc_midnight():
    now = time.time()
    return 86400 - int(now) % 86400


def test_daily_quota_exact_count_headers_and_retry_after():
    redis = harness.Redis()
    b = serve(redis, ["free: { rate: 100/s, burst: 100, quota: 5/day }"])
    time.sleep(0.3)
    got = []
    for i in range(7):
        st, h, body = harness.request(b.port, "GET", "/limited")
        got.append((st, h, body))
    eq([g[0] for g in got], [200] * 5 + [429] * 2, "quota 5/day: exactly five admitted")
    st, h, _ = got[0]
    eq(h.get("ratelimit-policy"), '"free";q=100;w=1, "free-quota";q=5;w=86400')
    check(h.get("ratelimit", "").startswith('"free";r=99;t=1, "free-quota";r=4;t='), h)
    eq((h.get("x-ratelimit-limit"), h.get("x-ratelimit-remaining")), ("5", "4"),
       "X-RateLimit-* follow the tighter policy, the quota")
    t = int(h["x-ratelimit-reset"])
    check(abs(t - seconds_to_utc_midnight()) <= 2, (t, seconds_to_utc_midnight()))
    eq(got[4][1].get("x-ratelimit-remaining"), "0")
    st, h, body = got[5]
    retry = int(h["retry-after"])
    check(abs(retry - seconds_to_utc_midnight()) <= 2, "Retry-After is the time to midnight UTC: %d vs %d"
          % (retry, seconds_to_utc_midnight()))
    doc = json.loads(body)
    eq((doc["error"]["code"], doc["error"]["reason"]), ("quota_exceeded", "quota"))
    check("daily quota of plan 'free' (5 requests) is exhausted" in doc["error"]["message"], doc)
    check(h.get("ratelimit", "").endswith('"free-quota";r=0;t=%d' % retry), h)
    rate_left = int(h.get("ratelimit", "").split('"free";r=')[1].split(";")[0])
    check(rate_left >= 90, "a quota refusal spends no rate and says what the rate has left: %r" % h)
    eq((h.get("x-ratelimit-limit"), h.get("x-ratelimit-remaining")), ("5", "0"),
       "the refusal's X-RateLimit-* describe the quota that refused")
    check(abs(int(h["x-ratelimit-reset"]) - seconds_to_utc_midnight()) <= 2, h)
    keys = [k for k in redis.keys() if k.endswith(b":quota:d")]
    eq(len(keys), 1, redis.keys())
    eq(redis.cmd("GET", keys[0]), b"5", "refusals do not count")
    ttl = redis.cmd("PTTL", keys[0])
    check(abs(ttl / 1000 - seconds_to_utc_midnight()) <= 2, "the count expires at midnight UTC: %r" % ttl)


def test_allowances_that_lapse_are_given_back():
    # A key asked about seldom takes no allowance; a busy key's unused allowance, lapsed, goes
    # back with its next round trip: the quota counts exactly the requests admitted.
    redis = harness.Redis()
    b = serve(redis, ["free: { rate: 6000/min, burst: 600, quota: 2000/day }"])

    def counted():
        keys = [k for k in redis.keys() if k.endswith(b":quota:d")]
        return int(redis.cmd("GET", keys[0])) if keys else 0

    for _ in range(6):  # spaced past an allowance's life (250 ms)
        eq(harness.request(b.port, "GET", "/limited")[0], 200)
        time.sleep(0.3)
    eq(counted(), 6, "a quiet key is charged request by request")
    for _ in range(20):  # busy: an allowance (29 here: 5% of the rate's 599 left)
        eq(harness.request(b.port, "GET", "/limited")[0], 200)
    check(counted() > 26, "a busy key took an allowance: %d" % counted())
    time.sleep(0.3)
    st, h, _ = harness.request(b.port, "GET", "/limited")
    eq(st, 200)
    eq(counted(), 27, "the lapsed allowance went back with the next round trip")
    check(h.get("ratelimit", "").split(", ")[1].startswith('"free-quota";r=1973;'), h)


def test_rate_refusal_is_distinct_and_does_not_spend_the_quota():
    redis = harness.Redis()
    b = serve(redis, ["free: { rate: 2/min, burst: 2, quota: 100/month }"])
    time.sleep(0.3)
    sts = [harness.request(b.port, "GET", "/limited") for _ in range(4)]
    eq([s[0] for s in sts], [200, 200, 429, 429])
    doc = json.loads(sts[2][2])
    eq((doc["error"]["code"], doc["error"]["reason"]), ("too_many_requests", "rate"))
    check(int(sts[2][1]["retry-after"]) <= 30, sts[2][1])
    check(sts[2][1]["ratelimit"].endswith(", \"free-quota\";r=98;t=%s" % sts[2][1]["ratelimit"].rsplit("t=", 1)[1]),
          sts[2][1])
    q = [k for k in redis.keys() if k.endswith(b":quota:m")][0]
    eq(redis.cmd("GET", q), b"2", "only admitted requests count against the quota")
    pol = sts[0][1]["ratelimit-policy"]
    w = int(pol.rsplit("w=", 1)[1])
    check(w in (28 * 86400, 29 * 86400, 30 * 86400, 31 * 86400), pol)
    eq((sts[0][1]["x-ratelimit-limit"], sts[0][1]["x-ratelimit-remaining"]), ("2", "1"), "the rate is tighter")


def test_two_instances_share_the_quota():
    redis = harness.Redis()
    bs = [serve(redis, ["free: { rate: 1000/s, burst: 1000, quota: 5/day }"], threads=2) for _ in range(2)]
    time.sleep(0.3)
    res = []
    for i in range(5):
        for b in bs:
            res.append(harness.request(b.port, "GET", "/limited")[0])
    eq(res.count(200), 5, "one quota for both instances: %r" % res)
    eq(res.count(429), 5)


def evalsha_calls(redis):
    stats = redis.cmd("INFO", "commandstats").decode()
    return sum(int(l.split("calls=")[1].split(",")[0]) for l in stats.splitlines()
               if l.startswith("cmdstat_eval"))


def test_allowances_save_round_trips_and_never_overshoot():
    redis = harness.Redis()
    # Far from its limit, a key is asked about once for up to 5% of what it has left.
    b = serve(redis, ["free: { rate: 100000/min, burst: 2000 }"])
    time.sleep(0.3)
    before = evalsha_calls(redis)
    remaining = []
    for i in range(200):
        st, h, _ = harness.request(b.port, "GET", "/limited")
        eq(st, 200)
        remaining.append(int(h["x-ratelimit-remaining"]))
    calls = evalsha_calls(redis) - before
    print("# 200 requests, %d round trips to Redis" % calls)
    check(calls <= 40, "200 requests, %d round trips to Redis" % calls)
    check(remaining[-1] < remaining[0], remaining)
    eq(b.stop(), 0)
    # Near it, every request is asked about, and two instances together never admit more than
    # the burst (allowances are charged in Redis when taken): at most 5% fewer.
    redis2 = harness.Redis()
    pair = [serve(redis2, ["free: { rate: 1/h, burst: 400 }"], threads=2) for _ in range(2)]
    time.sleep(0.3)
    codes = [harness.request(pair[i % 2].port, "GET", "/limited")[0] for i in range(480)]
    admitted = codes.count(200)
    print("# two instances admitted %d of a burst of 400" % admitted)
    check(380 <= admitted <= 400, "admitted %d of a burst of 400" % admitted)
    eq(codes.count(200) + codes.count(429), 480)


def test_fail_open_applies_the_rate_only():
    redis = harness.Redis()
    b = serve(redis, ["free: { rate: 3/min, burst: 3, quota: 1/day }"],
              extra="  command_timeout: 100ms\n  on_redis_failure: open\n")
    time.sleep(0.3)
    eq(harness.request(b.port, "GET", "/limited")[0], 200)
    eq(harness.request(b.port, "GET", "/limited")[0], 429, "the quota, through Redis")
    redis.stop()
    got = [harness.request(b.port, "GET", "/limited") for _ in range(4)]
    eq([g[0] for g in got], [200, 200, 200, 429], "Redis down: the local limiter applies the rate alone")
    eq(got[0][1].get("ratelimit-policy"), '"free";q=3;w=60', "no quota policy while it is not counted")


def bffd_check(profile):
    """`bffd check` on a profile folder holding `profile` alone: (exit status, its output)."""
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"), profile)
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def test_check_reports_a_bad_quota():
    rc, out = bffd_check(harness.upstream_profile(
        "t", "http://127.0.0.1:9", extra="rate_limits:\n  plans:\n    free: { rate: 5/s, quota: 10/week }"))
    eq(rc, 1, out)
    check("quota is COUNT/day or COUNT/month such as 10000/day, not '10/week'" in out, out)


UPSTREAM_LIMITED = {
    "dash.yaml": """
endpoint: GET /dash/{id}
sources:
  user: { upstream: users, path: "/users/{id}" }
  recs: { upstream: fragile, path: "/users/9{id}", optional: true }
response: { id: user.id, recs: recs.id }
""",
    "must.yaml": """
endpoint: GET /must/{id}
sources:
  recs: { upstream: fragile, path: "/users/8{id}" }
response: { recs: recs.id }
""",
}


def upstream_limited_profile(url, threads_note=""):
    return """name: t
listen: 127.0.0.1:@PORT@
access_log: off
upstreams:
  users:
    url: %s
  fragile:
    url: %s
    rate_limit: { rate: 2/min, burst: 3 }
""" % (url, url)


def fragile_calls(up):
    """Calls to the fragile upstream: /users/9N (dash) and /users/8N (must), N one digit."""
    return sum(n for p, n in up.stats()["paths"].items() if len(p) == 9 and p[7] in "89")


def test_upstream_rate_limit_fails_fast_as_a_source_error():
    up = harness.Upstream()
    aport = harness.free_port()
    token = "limits-admin-token-0123456789"
    b = harness.Bffd({"t": {"profile": upstream_limited_profile(up.url), "endpoints": UPSTREAM_LIMITED}},
                     threads=2, extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": token})
    harness.wait_port(aport)
    got = []
    for i in range(10):
        st, h, body = harness.request(b.port, "GET", "/dash/%d" % i)
        got.append((st, h, json.loads(body)))
    eq([g[0] for g in got], [200] * 10, "an optional source over the limit: partial answers")
    eq(fragile_calls(up), 3, "2/min with burst 3 across both worker threads: exactly three calls")
    full = [g for g in got if "bff-partial" not in g[1]]
    partial = [g for g in got if g[1].get("bff-partial") == "true"]
    eq((len(full), len(partial)), (3, 7))
    doc = partial[0][2]
    eq(doc["recs"], None)
    eq([(e["source"], e["reason"]) for e in doc["errors"]], [("recs", "upstream rate limit")], doc)
    st, h, body = harness.request(b.port, "GET", "/must/1")
    doc = json.loads(body)
    eq((st, doc["error"]["code"], doc["error"]["source"], doc["error"]["reason"]),
       (502, "upstream_failed", "recs", "upstream rate limit"), "a required source fails the request")
    eq(fragile_calls(up), 3, "refused calls never reach the upstream")
    st, _, body = harness.request(aport, "GET", "/metrics", headers={"Authorization": "Bearer " + token})
    text = body.decode()
    check('bffd_upstream_calls_total{profile="t",upstream="fragile",outcome="rate_limited"} 8' in text,
          [l for l in text.splitlines() if "fragile" in l and "calls_total" in l])
    check('bffd_upstream_calls_total{profile="t",upstream="fragile",outcome="ok"} 3' in text, text)


def test_a_retry_asks_the_upstream_limit_when_it_goes_out():
    up = harness.Upstream()
    prof = upstream_limited_profile(up.url).replace("{ rate: 2/min, burst: 3 }", "{ rate: 1/min, burst: 1 }")
    retry = {"retry.yaml": """
endpoint: GET /retry/{id}
sources:
  recs: { upstream: fragile, path: "/users/7{id}?status=503", retries: 2 }
response: { recs: recs.id }
"""}
    b = harness.Bffd({"t": {"profile": prof, "endpoints": retry}}, threads=1)
    st, _, body = harness.request(b.port, "GET", "/retry/1")
    doc = json.loads(body)
    eq((st, doc["error"]["reason"]), (502, "upstream rate limit"), doc)
    eq(up.stats()["paths"].get("/users/71"), 1, "the first attempt took the only slot; the retry "
                                                 "found none when its backoff ended")
    eq(b.stop(), 0)


def test_check_reports_a_bad_upstream_rate_limit():
    rc, out = bffd_check(harness.upstream_profile("t", "http://127.0.0.1:9",
                                                  extra_upstream="rate_limit: 50/fortnight"))
    eq(rc, 1, out)
    check("rate_limit is COUNT/UNIT such as 50/s (s, min, h), not '50/fortnight'" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_daily_quota_exact_count_headers_and_retry_after,
        test_allowances_that_lapse_are_given_back,
        test_rate_refusal_is_distinct_and_does_not_spend_the_quota,
        test_two_instances_share_the_quota,
        test_fail_open_applies_the_rate_only,
        test_allowances_save_round_trips_and_never_overshoot,
        test_check_reports_a_bad_quota,
        test_a_graphql_batch_counts_each_operation,
        test_a_batch_over_the_max_counts_one_and_is_a_400,
        test_graphql_clients_get_refusals_as_graphql_errors,
        test_upstream_rate_limit_fails_fast_as_a_source_error,
        test_a_retry_asks_the_upstream_limit_when_it_goes_out,
        test_check_reports_a_bad_upstream_rate_limit,
    ])
