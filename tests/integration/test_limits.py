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
    eq(h.get("x-ratelimit-remaining"), "0")
    keys = [k for k in redis.keys() if k.endswith(b":quota")]
    eq(len(keys), 1, redis.keys())
    eq(redis.cmd("GET", keys[0]), b"5", "refusals do not count")
    ttl = redis.cmd("PTTL", keys[0])
    check(abs(ttl / 1000 - seconds_to_utc_midnight()) <= 2, "the count expires at midnight UTC: %r" % ttl)


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
    q = [k for k in redis.keys() if k.endswith(b":quota")][0]
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


def test_check_reports_a_bad_quota():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"), harness.upstream_profile(
        "t", "http://127.0.0.1:9", extra="rate_limits:\n  plans:\n    free: { rate: 5/s, quota: 10/week }"))
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    eq(r.returncode, 1, out)
    check("quota is COUNT/day or COUNT/month such as 10000/day, not '10/week'" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_daily_quota_exact_count_headers_and_retry_after,
        test_rate_refusal_is_distinct_and_does_not_spend_the_quota,
        test_two_instances_share_the_quota,
        test_fail_open_applies_the_rate_only,
        test_check_reports_a_bad_quota,
    ])
