#!/usr/bin/env python3
"""Operations: Prometheus metrics scraped from the admin listener and parsed (values move with
requests, labels stay bounded), reload counters, and the default thread count.

Run from the repository root: python3 tests/integration/test_ops.py
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

TOKEN = "ops-admin-token-0123456789"
USER = """
endpoint: GET /users/{id}
sources:
  user: { upstream: users, path: "/users/{id}" }
response: { id: user.id }
"""

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? ([0-9.eE+-]+|NaN|\+Inf)$')


def scrape(port):
    st, h, body = harness.request(port, "GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    eq(st, 200, body)
    check(h["content-type"].startswith("text/plain; version=0.0.4"), h)
    samples = {}
    types = {}
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        check(m is not None, "not the Prometheus text format: %r" % line)
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_with_requests_and_labels_stay_bounded():
    up = harness.Upstream()
    aport = harness.free_port()
    prof = harness.upstream_profile("t", up.url)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": USER}}}, threads=2,
                     extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    harness.wait_port(aport)
    st, _, _ = harness.request(aport, "GET", "/metrics")
    eq(st, 401, "the admin token guards the metrics")
    before, types = scrape(aport)
    for i in range(30):
        eq(harness.request(b.port, "GET", "/users/%d" % i)[0], 200)
    for i in range(3):
        eq(harness.request(b.port, "GET", "/nowhere/%d" % i)[0], 404)
    after, types = scrape(aport)
    eq(value(after, "bffd_requests_total", profile="t", route="/users/{id}", code="200")
       - value(before, "bffd_requests_total", profile="t", route="/users/{id}", code="200"), 30)
    eq(value(after, "bffd_requests_total", profile="t", route="(none)", code="404"), 3)
    eq(value(after, "bffd_request_duration_seconds_count", profile="t", route="/users/{id}"), 30)
    eq(value(after, "bffd_request_duration_seconds_bucket", profile="t", route="/users/{id}", le="+Inf"), 30)
    check(value(after, "bffd_request_duration_seconds_sum", profile="t", route="/users/{id}") > 0)
    routes = {dict(l).get("route") for (n, l) in after if n == "bffd_requests_total"}
    eq(routes, {"/users/{id}", "(none)"}, "route templates only, never raw paths")
    eq(types.get("bffd_request_duration_seconds"), "histogram")
    eq(types.get("bffd_requests_total"), "counter")
    eq(value(after, "bffd_inflight_requests", profile="t"), 0)
    # The heap, by the allocator bffd runs on (the one `bffd --version` names).
    heap = {(n, dict(l)["allocator"]): v for (n, l), v in after.items() if n.startswith("bffd_heap_")}
    allocator = "tcmalloc" if b"gperftools" in subprocess.run(
        [harness.BFFD, "--version"], capture_output=True).stdout else "glibc"
    eq(types.get("bffd_heap_allocated_bytes"), "gauge")
    with open(harness.BFFD, "rb") as f:
        sanitized = b"__asan_init" in f.read()
    if not sanitized:  # ASan's allocator answers mallinfo2 with zeros
        check(0 < heap[("bffd_heap_allocated_bytes", allocator)]
              <= heap[("bffd_heap_held_bytes", allocator)], heap)
    # Buckets are cumulative.
    les = sorted((float(dict(l)["le"]) if dict(l)["le"] != "+Inf" else float("inf"), v)
                 for (n, l), v in after.items() if n == "bffd_request_duration_seconds_bucket" and dict(l)["route"] == "/users/{id}")
    check(all(a[1] <= b_[1] for a, b_ in zip(les, les[1:])), les)
    # A reload counts.
    harness.request(aport, "POST", "/reload", headers={"Authorization": "Bearer " + TOKEN})
    deadline = time.time() + 5
    while time.time() < deadline and value(scrape(aport)[0], "bffd_reloads_total", result="ok") < 1:
        time.sleep(0.1)
    eq(value(scrape(aport)[0], "bffd_reloads_total", result="ok"), 1)


FLAKY = """
endpoint: GET /flaky/{id}
query:
  status: { type: int, default: 200 }
cache: { ttl: 30s }
sources:
  user: { upstream: users, path: "/users/{id}?status={status}" }
response: { id: user.id }
"""


def test_calls_waiting_for_a_connection_are_a_gauge():
    import threading
    up = harness.Upstream()
    aport = harness.free_port()
    prof = harness.upstream_profile("t", up.url, extra_upstream="max_connections: 1")
    slow = "endpoint: GET /slow/{id}\nsources:\n  user: { upstream: users, path: \"/users/{id}?delay_ms=800\" }\nresponse: { id: user.id }\n"
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": USER, "s.yaml": slow}}}, threads=1,
                     extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    harness.wait_port(aport)
    statuses = []
    threads = [threading.Thread(target=lambda p=p: statuses.append(harness.request(b.port, "GET", p)[0]))
               for p in ["/slow/1", "/users/2", "/users/3", "/users/4"]]
    threads[0].start()
    time.sleep(0.2)  # the slow call holds the one connection
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)
    s, types = scrape(aport)
    eq(types.get("bffd_upstream_calls_waiting"), "gauge")
    eq(value(s, "bffd_upstream_calls_waiting", profile="t", upstream="users"), 3)
    for t in threads:
        t.join(10)
    eq(statuses, [200] * 4)
    s, _ = scrape(aport)
    eq(value(s, "bffd_upstream_calls_waiting", profile="t", upstream="users"), 0)
    eq(b.stop(), 0)


def test_a_raised_cap_lets_the_line_go():
    # Three slow calls on one connection: one runs, two wait. A reload raises max_connections to
    # 3: when the running call ends, both waiting calls go at once, not one after the other.
    import signal
    import threading
    up = harness.Upstream()
    aport = harness.free_port()
    prof = harness.upstream_profile("t", up.url, extra_upstream="max_connections: 1")
    slow = ("endpoint: GET /slow/{id}\ntimeout: 10s\nsources:\n"
            "  user: { upstream: users, path: \"/users/{id}?delay_ms=2000\", timeout: 8s }\n"
            "response: { id: user.id }\n")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"s.yaml": slow}}}, threads=1,
                     extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    harness.wait_port(aport)
    statuses = []
    t0 = time.time()
    threads = [threading.Thread(target=lambda i=i: statuses.append(harness.request(b.port, "GET", "/slow/%d" % i)[0]))
               for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    s, _ = scrape(aport)
    eq(value(s, "bffd_upstream_calls_waiting", profile="t", upstream="users"), 2)
    harness.write(os.path.join(b.dir, "t", "profile.yaml"),
                  prof.replace("@PORT@", str(b.port)).replace("max_connections: 1", "max_connections: 3"))
    b.proc.send_signal(signal.SIGHUP)
    while "reloaded:" not in b.output() and time.time() - t0 < 1.8:  # before the first call ends
        time.sleep(0.02)
    check("reloaded:" in b.output(), b.output())
    # When the first call ends, the line moves: straight to 0 (one by one, it would read 1 for
    # the second's whole second).
    waiting = 2
    while waiting == 2 and time.time() - t0 < 8:
        time.sleep(0.05)
        s, _ = scrape(aport)
        waiting = value(s, "bffd_upstream_calls_waiting", profile="t", upstream="users")
    eq(waiting, 0)
    for t in threads:
        t.join(10)
    eq(statuses, [200] * 3)
    eq(b.stop(), 0)


def test_upstream_breaker_and_cache_metrics():
    up = harness.Upstream()
    aport = harness.free_port()
    redis = harness.Redis()
    prof = harness.upstream_profile("t", up.url, extra="cache:\n  redis: %s" % redis.url,
                                    extra_upstream="circuit_breaker: { consecutive_failures: 3, cooldown: 30s }")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"f.yaml": FLAKY}}}, threads=1,
                     extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    harness.wait_port(aport)
    for i in range(4):
        eq(harness.request(b.port, "GET", "/flaky/%d" % i)[0], 200)
    eq(harness.request(b.port, "GET", "/flaky/0")[0], 200)  # a hit
    for i in range(5):  # 503s trip the breaker after 3; then it fails fast
        harness.request(b.port, "GET", "/flaky/x%d?status=503" % i)
    s, types = scrape(aport)
    calls = lambda outcome: value(s, "bffd_upstream_calls_total", profile="t", upstream="users", outcome=outcome)
    eq((calls("ok"), calls("status_5xx"), calls("circuit_open")), (4, 3, 2))
    eq(value(s, "bffd_upstream_call_duration_seconds_count", profile="t", upstream="users"), 9)
    eq(types.get("bffd_upstream_call_duration_seconds"), "histogram")
    eq(value(s, "bffd_upstream_breakers_open", profile="t", upstream="users"), 1)
    eq(value(s, "bffd_upstream_breaker_opened_total", profile="t", upstream="users"), 1)
    eq(value(s, "bffd_upstream_calls_total", profile="t", upstream="orders", outcome="ok"), 0)
    eq((value(s, "bffd_cache_answers_total", profile="t", result="hit"),
        value(s, "bffd_cache_answers_total", profile="t", result="miss")), (1, 4))
    eq(value(s, "bffd_redis_connected", profile="t"), 1)
    # Per route and source: the 4 misses and 5 failures composed (the hit did not).
    src = dict(profile="t", route="/flaky/{id}", source="user")
    eq((value(s, "bffd_source_duration_seconds_count", **src),
        value(s, "bffd_source_failures_total", **src)), (9, 5))
    eq(types.get("bffd_source_duration_seconds"), "histogram")
    redis.stop()
    harness.request(b.port, "GET", "/flaky/9")
    eq(value(scrape(aport)[0], "bffd_redis_connected", profile="t"), 0, "Redis went away")


DEBUGGED = """
endpoint: GET /dbg/{id}
sources:
  user: { upstream: users, path: "/users/{id}", cache: 30s }
  orders: { upstream: orders, path: "/orders?userId={id}&fail_first=dbg{id}", retries: 1 }
  ship: { upstream: shipping, path: "/shipments/s{id}?status=500", optional: true }
response: { id: user.id, orders: orders.orders }
"""


def test_debug_view_for_operators():
    up = harness.Upstream()
    aport = harness.free_port()
    prof = harness.upstream_profile("t", up.url, extra="cache: {}")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"d.yaml": DEBUGGED}}},
                     extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    st, h, body = harness.request(b.port, "GET", "/dbg/1", headers={"X-Bffd-Debug": TOKEN})
    eq(st, 200, body)
    view = json.loads(h["x-bffd-debug"])
    src = {s["name"]: s for s in view["sources"]}
    eq((src["user"]["state"], src["user"]["upstream"], src["user"]["calls"], src["user"]["cached"]),
       ("done", "users", 1, 0))
    check(src["user"]["bytes"] > 100 and src["user"]["ms"] >= 0, src["user"])
    eq((src["orders"]["attempts"], src["orders"]["status"]), (2, 200), "one retry after the 503")
    eq((src["ship"]["state"], src["ship"]["status"], src["ship"]["reason"]),
       ("failed", 500, "bad status"))
    eq(view["delivered"], len(body))
    st, h, _ = harness.request(b.port, "GET", "/dbg/1", headers={"X-Bffd-Debug": TOKEN})
    eq(json.loads(h["x-bffd-debug"])["sources"][0]["cached"], 1, "the source cache answered")
    for bad in ("wrong-token-0123456789", ""):
        st, h, _ = harness.request(b.port, "GET", "/dbg/2", headers={"X-Bffd-Debug": bad})
        check("x-bffd-debug" not in h, "only with the admin token")
    plain = harness.Bffd({"t": {"profile": prof, "endpoints": {"d.yaml": DEBUGGED}}})
    st, h, _ = harness.request(plain.port, "GET", "/dbg/3", headers={"X-Bffd-Debug": TOKEN})
    check("x-bffd-debug" not in h, "no admin listener, no debug view")
    # GraphQL: one entry per call the operation made; a batched call names the parents it served.
    gport = harness.free_port()
    g = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": harness.demo_graph()}}},
                     extra_args=["--admin", "127.0.0.1:%d" % gport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    q = '{ user(id: "3") { orders(limit: 2) { items { sku product { name } } } } }'
    st, h, body = harness.request(g.port, "POST", "/graphql", body=json.dumps({"query": q}).encode(),
                                  headers={"Content-Type": "application/json", "X-Bffd-Debug": TOKEN})
    eq(st, 200, body)
    skus = {i["sku"] for o in json.loads(body)["data"]["user"]["orders"] for i in o["items"]}
    view = json.loads(h["x-bffd-debug"])
    src = {s["name"]: s for s in view["sources"]}
    eq(sorted(src), ["OrderItem.product", "Query.user", "User.orders"], view)
    eq((src["OrderItem.product"]["parents"], src["OrderItem.product"]["calls"],
        src["OrderItem.product"]["upstream"]), (len(skus), 1, "catalog"))
    eq((src["Query.user"]["state"], src["Query.user"]["status"]), ("done", 200))
    eq(view["delivered"], len(body))
    s, _ = scrape(gport)
    eq([value(s, "bffd_source_duration_seconds_count", profile="t", route="/graphql", source=n)
        for n in ("Query.user", "User.orders", "OrderItem.product")], [1, 1, 1], "by resolver")


AUTHED = """
endpoint: GET /private
auth: required
sources:
  user: { upstream: users, path: "/users/1" }
response: { id: user.id }
"""

CORS = """
cors:
  origins: ["http://localhost:3000", "https://app.example.com"]
  headers: [authorization, content-type]
  credentials: true
  max_age: 5m
auth:
  api_keys:
    file: keys.yaml
"""


def test_cors_preflight_and_headers_on_every_answer():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=CORS)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": USER, "p.yaml": AUTHED},
                            "files": {"keys.yaml": "[]\n"}}})
    pre = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET",
           "Access-Control-Request-Headers": "authorization"}
    st, h, body = harness.request(b.port, "OPTIONS", "/private", headers=pre)
    eq((st, body), (204, b""), "preflight answered before auth (no 401) and routing (no 405)")
    eq(h.get("access-control-allow-origin"), "http://localhost:3000")
    eq(h.get("access-control-allow-credentials"), "true")
    eq(h.get("access-control-max-age"), "300")
    check("authorization" in h.get("access-control-allow-headers", ""), h)
    check("GET" in h.get("access-control-allow-methods", ""), h)
    st, h, _ = harness.request(b.port, "OPTIONS", "/private", headers=dict(pre, Origin="https://evil.test"))
    eq(st, 403, "a preflight from an origin not listed")
    check("access-control-allow-origin" not in h, h)
    st, h, _ = harness.request(b.port, "GET", "/users/1", headers={"Origin": "https://app.example.com"})
    eq((st, h.get("access-control-allow-origin")), (200, "https://app.example.com"))
    check("x-cache" in h.get("access-control-expose-headers", ""), h)
    for path, code in (("/nowhere", 404), ("/private", 401)):
        st, h, _ = harness.request(b.port, "GET", path, headers={"Origin": "http://localhost:3000"})
        eq((st, h.get("access-control-allow-origin")), (code, "http://localhost:3000"), "errors carry CORS too")
    st, h, _ = harness.request(b.port, "GET", "/users/1", headers={"Origin": "https://evil.test"})
    eq(st, 200)
    check("access-control-allow-origin" not in h, "no CORS headers for an origin not listed")
    check("Origin" in h.get("vary", ""), h)


WHOLE = """
endpoint: GET /whole/{id}
sources:
  user: { upstream: users, path: "/users/{id}" }
response: user
"""


def test_gzip_negotiated_with_a_minimum_size():
    import gzip
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra="compression: { gzip: 5, min_size: 200 }")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": USER, "w.yaml": WHOLE}}})
    st, h, plain = harness.request(b.port, "GET", "/whole/7")
    eq((st, h.get("content-encoding")), (200, None), "no Accept-Encoding: as it is")
    check(len(plain) > 200, len(plain))
    st, h, body = harness.request(b.port, "GET", "/whole/7", headers={"Accept-Encoding": "gzip"})
    eq((st, h.get("content-encoding")), (200, "gzip"), h)
    check("accept-encoding" in h.get("vary", "").lower(), h)
    eq(gzip.decompress(body), plain)
    check(len(body) < len(plain), (len(body), len(plain)))
    st, h, small = harness.request(b.port, "GET", "/users/7", headers={"Accept-Encoding": "gzip"})
    eq((st, h.get("content-encoding")), (200, None), "below min_size: as it is")
    eq(json.loads(small), {"id": "7"})


def test_ip_lists_behind_trusted_proxies():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra="""
trusted_proxies: [127.0.0.1]
ip_allow: [203.0.113.0/24, "2001:db8::/32"]
ip_deny: [203.0.113.66]
""")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": USER}}})
    for xff, want in (("203.0.113.5", 200), ("203.0.113.66", 403), ("198.51.100.1", 403),
                      ("2001:db8::1", 200), ("garbage", 403),
                      # an IPv4 address written IPv6-mapped is that address
                      ("::ffff:203.0.113.66", 403), ("::ffff:203.0.113.5", 200),
                      ("203.0.113.5, ::ffff:127.0.0.1", 200)):
        st, _, body = harness.request(b.port, "GET", "/users/1", headers={"X-Forwarded-For": xff})
        eq(st, want, (xff, body))
    eq(harness.request(b.port, "GET", "/users/1")[0], 403, "the proxy itself is not allowed")
    eq(harness.request(b.port, "GET", "/health")[0], 200, "probes pass whatever the lists say")


ECHO = """
endpoint: GET /echo
sources:
  e: { upstream: users, path: "/echo" }
response: { headers: e.headers }
"""


def test_tracestate_passed_on_with_the_trace():
    up = harness.Upstream()
    b = harness.Bffd({"t": {"profile": harness.upstream_profile("t", up.url), "endpoints": {"e.yaml": ECHO}}})
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    st, _, body = harness.request(b.port, "GET", "/echo", headers={"traceparent": tp, "tracestate": "vendor=abc,other=1"})
    seen = json.loads(body)["headers"]
    eq(seen.get("tracestate"), "vendor=abc,other=1")
    check(seen.get("traceparent", "").startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-"), seen)
    st, _, body = harness.request(b.port, "GET", "/echo", headers={"tracestate": "vendor=abc"})
    check("tracestate" not in json.loads(body)["headers"], "no traceparent: a new trace, no state")


PROPAGATE_ECHO = """
endpoint: GET /ids
sources:
  all: { upstream: users, path: "/echo" }
  none: { upstream: orders, path: "/echo" }
  trace: { upstream: catalog, path: "/echo" }
  rid: { upstream: notifications, path: "/echo" }
  own: { upstream: orders, path: "/echo?own=1", headers: { X-Request-ID: "set-by-the-spec" } }
response: { all: all.headers, none: none.headers, trace: trace.headers, rid: rid.headers, own: own.headers }
"""


def propagate_profile(url, orders_propagate):
    return ("name: t\nlisten: 127.0.0.1:@PORT@\naccess_log: off\nupstreams:\n"
            "  users: { url: %s }\n  orders: { url: %s, propagate: %s }\n"
            "  catalog: { url: %s, propagate: [trace_context] }\n"
            "  notifications: { url: %s, propagate: [request_id] }\n") % (url, url, orders_propagate, url, url)


def test_propagate_chooses_which_ids_an_upstream_sees():
    up = harness.Upstream()
    b = harness.Bffd({"t": {"profile": propagate_profile(up.url, "[]"), "endpoints": {"ids.yaml": PROPAGATE_ECHO}}})
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    st, hdrs, body = harness.request(b.port, "GET", "/ids", headers={"traceparent": tp, "tracestate": "v=1"})
    eq(st, 200, body)
    seen = json.loads(body)
    names = {k: {h for h in ("x-request-id", "traceparent", "tracestate") if h in v} for k, v in seen.items()}
    eq(names["all"], {"x-request-id", "traceparent", "tracestate"}, "no propagate: both, as before")
    eq(names["none"], set(), "propagate: [] sends neither")
    eq(names["trace"], {"traceparent", "tracestate"}, "trace_context alone")
    eq(names["rid"], {"x-request-id"}, "request_id alone")
    eq(seen["all"]["x-request-id"], hdrs.get("x-request-id"), "the id the client is told")
    eq(seen["own"].get("x-request-id"), "set-by-the-spec", "a source's own header goes regardless")
    check(seen["trace"]["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-"), seen["trace"])
    # A reload that changes it applies to the next request.
    harness.write(os.path.join(b.dir, "t", "profile.yaml"),
                  propagate_profile(up.url, "[request_id, trace_context]").replace("@PORT@", str(b.port)))
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reloaded:" not in b.output() and time.time() < deadline:
        time.sleep(0.05)
    check("reloaded:" in b.output(), b.output())
    st, _, body = harness.request(b.port, "GET", "/ids")
    check("x-request-id" in json.loads(body)["none"] and "traceparent" in json.loads(body)["none"], body)


if __name__ == "__main__":
    harness.set_time_limit(120)
    harness.Runner().run([
        test_metrics_move_with_requests_and_labels_stay_bounded,
        test_upstream_breaker_and_cache_metrics,
        test_calls_waiting_for_a_connection_are_a_gauge,
        test_a_raised_cap_lets_the_line_go,
        test_debug_view_for_operators,
        test_cors_preflight_and_headers_on_every_answer,
        test_gzip_negotiated_with_a_minimum_size,
        test_ip_lists_behind_trusted_proxies,
        test_tracestate_passed_on_with_the_trace,
        test_propagate_chooses_which_ids_an_upstream_sees,
    ])
