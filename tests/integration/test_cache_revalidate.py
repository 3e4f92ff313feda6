#!/usr/bin/env python3
"""Revalidating cached answers against real processes: a stale GraphQL query answered at once
while exactly one background refresh runs (stale-while-revalidate), and REST entries kept past
their freshness revalidated with conditional upstream requests (If-None-Match /
If-Modified-Since): upstreams answering 304 renew the entry without re-composing, a 304 reaches
the client whose ETag still matches, and a changed upstream makes bffd compose again.

Run from the repository root: python3 tests/integration/test_cache_revalidate.py
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

SDL = """
type Query { user(id: ID!): User }
type User { id: ID! firstName: String }
"""


def calls(up, path):
    return up.stats()["paths"].get(path, 0)


def gql(port, query, variables=None, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return harness.request(port, "POST", "/graphql",
                           body=json.dumps({"query": query, "variables": variables or {}}), headers=h)


def graph_server(cache_line, redis=None):
    up = harness.Upstream()
    block = "cache: {}" if redis is None else "cache:\n  redis: %s" % redis.url
    prof = harness.upstream_profile("t", up.url, extra=block)
    graph = """
schema: shop.graphql
%s
resolvers:
  Query.user:
    source: { upstream: users, path: "/users/{args.id}" }
""" % cache_line
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {},
                            "files": {"graph.yaml": graph, "shop.graphql": SDL}}})
    return up, b


def test_graphql_stale_while_revalidate_refreshes_once():
    up, b = graph_server("cache: { ttl: 1s, stale_while_revalidate: 30s }")
    q = "query U($id: ID!) { user(id: $id) { id firstName } }"
    st, h, first = gql(b.port, q, {"id": "7"})
    eq((st, h.get("x-cache")), (200, "miss"), first)
    time.sleep(1.2)
    seen = []
    for _ in range(5):
        st, h, body = gql(b.port, q, {"id": "7"})
        eq((st, body), (200, first))
        seen.append(h.get("x-cache"))
    eq(seen[0], "stale", seen)
    time.sleep(0.3)
    eq(calls(up, "/users/7"), 2, "exactly one background refresh")
    st, h, body = gql(b.port, q, {"id": "7"})
    eq((h.get("x-cache"), body), ("hit", first), "the refresh stored a fresh entry")
    st, h, _ = gql(b.port, q, {"id": "8"})
    eq(h.get("x-cache"), "miss", "other variables are another entry")


DASH = """
endpoint: GET /dash/{id}
params:
  id: { max_length: 32 }
cache: { ttl: 1s, revalidate: 60s%(extra)s }
sources:
  user: { upstream: users, path: "/users/{id}?etag=u" }
  orders: { upstream: users, path: "/orders?userId={id}&limit=2%(orders_knob)s" }
response:
  name: user.firstName
  orders: orders
"""


def dash(extra="", orders_knob="&last_modified=1"):
    return DASH % {"extra": extra, "orders_knob": orders_knob}


def serve(endpoints, redis=None):
    up = harness.Upstream()
    block = "cache: {}" if redis is None else "cache:\n  redis: %s" % redis.url
    prof = harness.upstream_profile("t", up.url, extra=block)
    return up, harness.Bffd({"t": {"profile": prof, "endpoints": endpoints}})


def counts(up):
    p = up.stats()["paths"]
    return p.get("/users/5", 0), p.get("/orders", 0)


def test_conditional_requests_renew_the_entry_without_composing():
    up, b = serve({"d.yaml": dash()})
    st, h, body = harness.request(b.port, "GET", "/dash/5")
    eq((st, h.get("x-cache")), (200, "miss"), body)
    etag = h["etag"]
    eq(counts(up), (1, 1))
    time.sleep(1.2)
    # The client revalidates its copy: both upstreams answer 304 to conditional requests, the
    # entry is renewed as it is and the client gets 304.
    st, h, raw = harness.request(b.port, "GET", "/dash/5", headers={"If-None-Match": etag})
    eq((st, h.get("x-cache"), h.get("etag"), raw), (304, "revalidated", etag, b""))
    eq(counts(up), (2, 2), "one conditional request per upstream call")
    st, h, again = harness.request(b.port, "GET", "/dash/5")
    eq((st, h.get("x-cache"), again), (200, "hit", body), "renewed: fresh again")
    eq(counts(up), (2, 2))
    time.sleep(1.2)
    # Without a validator of its own the client gets the body of the renewed entry.
    st, h, again = harness.request(b.port, "GET", "/dash/5")
    eq((st, h.get("x-cache"), again), (200, "revalidated", body))
    eq(counts(up), (3, 3))
    # The upstreams' data changes: the conditional requests get 200, bffd composes again.
    harness.request(up.port, "POST", "/__version")
    time.sleep(1.2)
    st, h, again = harness.request(b.port, "GET", "/dash/5", headers={"If-None-Match": etag})
    # (The demo's bodies do not change with its validators: the new entry has the same ETag.)
    eq((st, h.get("x-cache")), (304, "miss"), again)
    check(counts(up)[0] >= 4 and counts(up)[1] >= 4, counts(up))
    st, h, _ = harness.request(b.port, "GET", "/dash/5")
    eq(h.get("x-cache"), "hit", "the composed answer was stored again")


def test_a_call_without_validators_is_composed_again():
    up, b = serve({"d.yaml": dash(orders_knob="")})  # /orders gives no validator
    st, h, body = harness.request(b.port, "GET", "/dash/5")
    eq((st, h.get("x-cache")), (200, "miss"), body)
    time.sleep(1.2)
    st, h, _ = harness.request(b.port, "GET", "/dash/5", headers={"If-None-Match": h["etag"]})
    eq((st, h.get("x-cache")), (304, "miss"), "composed again, same body: 304 from the new entry")
    eq(counts(up), (2, 2), "no conditional requests, one composition")


def test_revalidation_through_redis_across_instances():
    redis = harness.Redis()
    up, a = serve({"d.yaml": dash()}, redis=redis)
    prof = harness.upstream_profile("t", up.url, extra="cache:\n  redis: %s" % redis.url)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"d.yaml": dash()}}})
    st, h, body = harness.request(a.port, "GET", "/dash/5")
    eq(h.get("x-cache"), "miss")
    time.sleep(1.2)

    def longest_ttl():
        return max(redis.cmd("PTTL", k) for k in redis.cmd("KEYS", "*"))
    before = longest_ttl()
    # The other instance finds the stale entry (with its validators) in Redis and revalidates.
    st, h, again = harness.request(b.port, "GET", "/dash/5")
    eq((st, h.get("x-cache"), again), (200, "revalidated", body))
    eq(counts(up), (2, 2))
    # The renewed entry is written to Redis after the answer: wait for it (its TTL starts again).
    deadline = time.time() + 5
    while longest_ttl() <= before and time.time() < deadline:
        time.sleep(0.02)
    st, h, _ = harness.request(a.port, "GET", "/dash/5")
    eq(h.get("x-cache"), "hit", "the renewed entry reached Redis")
    redis.stop()


def test_check_rejects_revalidate_outside_endpoints():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"),
                  harness.upstream_profile("t", "http://127.0.0.1:9", extra="cache: {}"))
    harness.write(os.path.join(d, "endpoints", "s.yaml"),
                  "endpoint: GET /s\nsources:\n  u: { upstream: users, path: /x, cache: { ttl: 5s, revalidate: 1m } }\nresponse: { a: u.a }\n")
    r = __import__("subprocess").run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    check(r.returncode != 0 and "s.yaml:3:" in out and "revalidate" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_graphql_stale_while_revalidate_refreshes_once,
        test_conditional_requests_renew_the_entry_without_composing,
        test_a_call_without_validators_is_composed_again,
        test_revalidation_through_redis_across_instances,
        test_check_rejects_revalidate_outside_endpoints,
    ])
