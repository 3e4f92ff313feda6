"""Composition edge cases found in review, each pinned by a test: bodies on GET sources,
coalescing that respects headers, long header values, percent-encoded path parameters, and
iterating over a source that failed.

Run from the repository root: python3 tests/integration/test_compose_edges.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

harness.set_time_limit(90)


def setup(endpoints):
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url)
    return up, harness.Bffd({"t": {"profile": prof, "endpoints": endpoints}})


def test_get_source_with_body_stays_get():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /q/{id}
        sources:
          search:
            upstream: users
            path: /echo
            body: { userId: id, kind: { $value: lookup } }
        response:
          method: search.method
          body: search.body
    """})
    status, _, body = harness.get_json(bffd.port, "/q/7")
    eq(status, 200)
    eq(body["method"], "GET", "a GET source with a body must not turn into POST")
    eq(json.loads(body["body"]), {"userId": "7", "kind": "lookup"})


def test_coalescing_respects_headers():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /two
        sources:
          a:
            upstream: users
            path: /echo
            headers: { X-Tenant: alpha }
          b:
            upstream: users
            path: /echo
            headers: { X-Tenant: beta }
          c:
            upstream: users
            path: /echo
            headers: { X-Tenant: alpha }
        response:
          a: a.headers.x-tenant
          b: b.headers.x-tenant
          c: c.headers.x-tenant
    """})
    up.reset()
    status, _, body = harness.get_json(bffd.port, "/two")
    eq(status, 200)
    eq(body, {"a": "alpha", "b": "beta", "c": "alpha"}, "calls that differ in headers are separate")
    eq(up.stats()["paths"].get("/echo"), 2, "the two identical calls (a, c) go out once")


def test_long_header_values_survive():
    token = "t" * 3000
    up, bffd = setup({"e.yaml": """
        endpoint: GET /auth
        sources:
          a:
            upstream: users
            path: /echo
            headers: { Authorization: "Bearer {header.x-token}" }
        response:
          auth: a.headers.authorization
    """})
    status, _, body = harness.get_json(bffd.port, "/auth", headers={"X-Token": token})
    eq(status, 200)
    eq(body["auth"], "Bearer " + token, "a long header value is forwarded whole")


def test_path_parameters_decoded_once():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /users/{id}
        sources:
          u: { upstream: users, path: "/users/{id}" }
        response:
          id: u.id
    """})
    for raw, expected in (("a%20b", "a b"), ("100%25", "100%"), ("x%2Fy", "x/y"), ("%2520", "%20")):
        status, _, body = harness.get_json(bffd.port, "/users/" + raw)
        eq(status, 200, raw)
        eq(body["id"], expected, "path parameter %s" % raw)
    status, _, body = harness.get_json(bffd.port, "/users/%zz")
    eq(status, 400, "a malformed escape is a bad parameter")


def test_for_each_over_failed_source_fails():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /o/{id}
        sources:
          order: { upstream: orders, path: "/orders/{id}?status=500", optional: true }
          products:
            upstream: catalog
            path: /products/{item.sku}
            for_each: { items: order.items }
            optional: true
        response:
          products: products
    """})
    status, hdrs, body = harness.get_json(bffd.port, "/o/o-1-1")
    eq(status, 200)
    eq(body["products"], None)
    reasons = {e["source"]: e for e in body["errors"]}
    check("products" in reasons, "the for-each over a failed input is reported: %r" % body)
    check("order" in reasons["products"]["message"], reasons["products"])


def test_invalid_json_reports_real_status():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /bad
        sources:
          a: { upstream: users, path: "/users/1?notjson=1", optional: true }
        response:
          a: a.id
    """})
    status, _, body = harness.get_json(bffd.port, "/bad")
    eq(status, 200)
    err = body["errors"][0]
    eq(err["reason"], "invalid JSON")
    eq(err["status"], 200)




def test_http1_disconnect_cancels_hanging_calls():
    import socket
    import time
    up = harness.Upstream()
    d = harness.tmpdir()
    log = os.path.join(d, "access.log")
    prof = harness.upstream_profile("t", up.url).replace("access_log: off", "access_log: %s" % log)
    bffd = harness.Bffd({"t": {"profile": prof, "endpoints": {"e.yaml": """
        endpoint: GET /slow
        timeout: 5s
        sources:
          a: { upstream: users, path: "/users/1?delay_ms=4000", timeout: 5s }
        response:
          a: a.id
    """}}})
    s = socket.create_connection(("127.0.0.1", bffd.port))
    s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    s.close()
    start = time.monotonic()
    line = None
    while time.monotonic() - start < 2.0 and line is None:
        time.sleep(0.05)
        if os.path.exists(log):
            with open(log) as f:
                lines = [json.loads(l) for l in f if '"/slow"' in l]
            line = lines[0] if lines else None
    check(line is not None, "no access log line within 2 s: the hanging call was not cancelled")
    eq(line["status"], 499)
    # The client is looked at every 250 ms while calls are out.
    check(line["duration_ms"] < 800, "cancelled only after %.0f ms" % line["duration_ms"])


def test_number_parameters_follow_json_grammar():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /n
        query:
          x: { type: number, max: 100 }
        sources:
          a: { upstream: users, path: "/users/1" }
        response:
          x: x
    """})
    for good, value in (("5", 5), ("-0.5", -0.5), ("1e2", 100)):
        status, _, body = harness.get_json(bffd.port, "/n?x=" + good)
        eq(status, 200, good)
        eq(body["x"], value, good)
    for bad in ("%2B5", ".5", "1.", "0x1A", "%205", "01", "1e999"):
        status, _, body = harness.get_json(bffd.port, "/n?x=" + bad)
        eq(status, 400, bad)
        eq(body["error"]["parameter"], "x", bad)
        eq(body["error"]["message"], "query parameter 'x' must be a number of at most 100", bad)


if __name__ == "__main__":
    harness.Runner().run([
        test_get_source_with_body_stays_get,
        test_coalescing_respects_headers,
        test_long_header_values_survive,
        test_path_parameters_decoded_once,
        test_for_each_over_failed_source_fails,
        test_invalid_json_reports_real_status,
        test_http1_disconnect_cancels_hanging_calls,
        test_number_parameters_follow_json_grammar,
    ])
