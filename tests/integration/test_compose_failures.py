"""Composition end to end when upstreams fail: the real bffd executing endpoint specs against the
C demo upstream with its failure knobs. Covers failure policy (optional, fallback, bulkhead,
required, timeouts, the endpoint deadline), retries, the circuit breaker, broken upstream bodies
and refused connections, and load balancing over two instances with passive ejection.

Run from the repository root: python3 tests/integration/test_compose_failures.py
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from compose_helpers import (assert_healthy, checked, error_of, paths, setup,  # noqa: E402
                             start_bffd, start_upstream_on, timed_get)
from harness import check, eq  # noqa: E402

harness.set_time_limit(170)


# ---------------------------------------------------------------- 1. optional failures

def test_optional_failure_gives_partial_response_and_fallback():
    up, bffd = setup({"o.yaml": """
        endpoint: GET /opt/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}
          recs:
            upstream: catalog
            path: /recommendations/{id}?status=500
            optional: true
          orders:
            upstream: orders
            path: /orders?userId={id}&status=503
            optional: true
            fallback: {orders: [], note: fallback}
        response:
          id: user.id
          recs: recs.products
          orders: orders.orders
          note: orders.note
        """})
    status, hdrs, body, _ = timed_get(bffd, "/opt/u9")
    eq(status, 200, "optional failures keep the response: %r" % body)
    eq(body["id"], "u9")
    eq(body["recs"], None, "failed optional source without fallback is absent")
    eq(body["orders"], [], "fallback value used")
    eq(body["note"], "fallback")
    eq(hdrs.get("bff-partial"), "true", "bff-partial header")
    errs = {e["source"]: e for e in body["errors"]}
    eq(sorted(errs), ["orders", "recs"], "errors name exactly the failed sources")
    eq(errs["recs"]["status"], 500)
    eq(errs["recs"]["reason"], "bad status")
    check("500" in errs["recs"]["message"], "message: %r" % errs["recs"])
    eq(errs["orders"]["status"], 503)
    # and a clean run has neither errors nor the header
    up2, bffd2 = setup({"o.yaml": """
        endpoint: GET /opt/{id}
        sources:
          user: {upstream: users, path: "/users/{id}"}
          recs: {upstream: catalog, path: "/recommendations/{id}", optional: true}
        response:
          id: user.id
        """})
    status, hdrs, body, _ = timed_get(bffd2, "/opt/u9")
    eq((status, body), (200, {"id": "u9"}))
    check("bff-partial" not in hdrs, "no bff-partial on success")


def test_bulkhead_fails_fast_beyond_max_concurrent():
    up, bffd = setup({"b.yaml": """
        endpoint: GET /bh/{id}
        sources:
          a: {upstream: users, path: "/users/{id}a?delay_ms=150"}
          b: {upstream: users, path: "/users/{id}b?delay_ms=150"}
          c: {upstream: users, path: "/users/{id}c?delay_ms=150", optional: true}
        response: {a: a.id, b: b.id, c: c.id}
        """}, extra_upstream="max_concurrent: 2")
    status, hdrs, body, elapsed = timed_get(bffd, "/bh/u")
    eq(status, 200, "%r" % body)
    eq((body["a"], body["b"], body["c"]), ("ua", "ub", None))
    eq(hdrs.get("bff-partial"), "true")
    eq([(e["source"], e["reason"]) for e in body["errors"]], [("c", "too many concurrent calls")])
    p = paths(up)
    check("/users/uc" not in p and p.get("/users/ua") == 1, "the third call never went out: %r" % p)
    status, _, body, _ = timed_get(bffd, "/bh/v")
    eq(status, 200, "slots are given back after the calls end")
    eq(paths(up).get("/users/va"), 1)


# ---------------------------------------------------------------- 2. required failures, timeouts

def test_required_failure_is_502_naming_source_and_upstream():
    up, bffd = setup({"r.yaml": """
        endpoint: GET /req/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}
          orders:
            upstream: orders
            path: /orders?userId={id}&status=500
        response:
          id: user.id
          orders: orders.orders
        """})
    status, hdrs, body, _ = timed_get(bffd, "/req/u1")
    eq(status, 502, "required failure: %r" % body)
    err = error_of(body)
    eq(err["code"], "upstream_failed")
    eq(err["source"], "orders")
    eq(err["upstream"], "orders")
    eq(err["reason"], "bad status")
    eq(err["status"], 500)
    check("orders" in err["message"], err["message"])
    eq(hdrs.get("content-type"), "application/json")

    # upstream names are whatever the profile says: the error must stay valid JSON
    up2 = harness.Upstream()
    prof = harness.upstream_profile("t", up2.url, upstreams=('legacy "v1"\\eu',))
    bffd2 = start_bffd(prof, {"q.yaml": """
        endpoint: GET /quoted
        sources:
          old:
            upstream: 'legacy "v1"\\eu'
            path: /users/x?status=503
        response:
          id: old.id
        """})
    status, _, raw = harness.request(bffd2.port, "GET", "/quoted")
    eq(status, 502)
    err = error_of(json.loads(raw))
    eq((err["source"], err["upstream"], err["status"]), ("old", 'legacy "v1"\\eu', 503))


def test_required_source_timeout_is_fast_504():
    up, bffd = setup({"t.yaml": """
        endpoint: GET /slow/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}
          slow:
            upstream: orders
            path: /orders?userId={id}&delay_ms=1000
            timeout: 100ms
        response:
          id: user.id
        """})
    status, _, body, elapsed = timed_get(bffd, "/slow/u1")
    eq(status, 504, "required timeout: %r" % body)
    err = error_of(body)
    eq(err["code"], "upstream_timeout")
    eq(err["source"], "slow")
    eq(err["upstream"], "orders")
    eq(err["reason"], "timeout")
    check(elapsed < 0.5, "504 after %.0f ms; the source timeout is 100 ms" % (elapsed * 1000))
    check(elapsed >= 0.09, "answered before the source timeout (%.0f ms)?" % (elapsed * 1000))


def test_endpoint_deadline_is_504_without_hanging():
    up, bffd = setup({"d.yaml": """
        endpoint: GET /deadline/{id}
        timeout: 300ms
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=150
          after:
            upstream: shipping
            path: /shipments/{user.id}?delay_ms=2000
          hung:
            upstream: catalog
            path: /recommendations/{id}?hang=1
            optional: true
        response:
          id: user.id
          ship: after.orderId
        """})
    status, _, body, elapsed = timed_get(bffd, "/deadline/u1")
    eq(status, 504, "deadline: %r" % body)
    err = error_of(body)
    eq(err["reason"], "timeout")
    eq(err["source"], "after", "the required source still running is named")
    check(0.28 <= elapsed < 0.7, "deadline 300 ms, answered after %.0f ms" % (elapsed * 1000))
    assert_healthy(bffd)


# ---------------------------------------------------------------- 3. retries

def test_retries_of_idempotent_calls_only():
    up, bffd = setup({"r.yaml": """
        endpoint: GET /retry/{key}
        sources:
          user:
            upstream: users
            path: /users/{key}?fail_first={key}
            retries: 2
        response:
          id: user.id
        """, "n.yaml": """
        endpoint: GET /noretry/{key}
        sources:
          user:
            upstream: users
            path: /users/{key}?fail_first={key}
        response:
          id: user.id
        """, "p.yaml": """
        endpoint: GET /post/{key}
        sources:
          echo:
            upstream: users
            method: POST
            path: /echo/{key}?fail_first={key}
            body: {key: key}
            retries: 2
        response:
          body: echo.body
        """})
    status, _, body, _ = timed_get(bffd, "/retry/k1")
    eq((status, body), (200, {"id": "k1"}), "retried after the first 503")
    eq(paths(up).get("/users/k1"), 2, "first attempt failed, second succeeded")

    status, _, body, _ = timed_get(bffd, "/noretry/k2")
    eq(status, 502, "no retries: the 503 is final: %r" % body)
    eq(error_of(body)["status"], 503)
    eq(paths(up).get("/users/k2"), 1)

    status, _, body, _ = timed_get(bffd, "/post/k3")
    eq(status, 502, "POST is not retried: %r" % body)
    eq(error_of(body)["status"], 503)
    eq(paths(up).get("/echo/k3"), 1, "POST went out exactly once")
    status, _, body, _ = timed_get(bffd, "/post/k3")
    eq(status, 200, "the next POST passes: %r" % body)
    eq(json.loads(body["body"]), {"key": "k3"}, "POST body rendered from the request")


# ---------------------------------------------------------------- 4. circuit breaker

def test_circuit_breaker_opens_fails_fast_and_closes():
    up, bffd = setup({"cb.yaml": """
        endpoint: GET /cb/{id}
        query:
          st: {type: int, default: "200"}
        sources:
          user:
            upstream: users
            path: /users/{id}?status={st}
        response:
          ok: true
        """}, extra_upstream="""
        circuit_breaker: {consecutive_failures: 3, cooldown: 500ms}
        """)
    eq(timed_get(bffd, "/cb/a")[0], 200)
    for _ in range(3):
        status, _, body, _ = timed_get(bffd, "/cb/a?st=500")
        eq((status, error_of(body)["reason"]), (502, "bad status"))
    calls = paths(up).get("/users/a")
    eq(calls, 4)
    opened = time.monotonic()
    for st in (500, 200):
        status, _, body, elapsed = timed_get(bffd, "/cb/a?st=%d" % st)
        eq(status, 502, "breaker open: %r" % body)
        err = error_of(body)
        eq(err["reason"], "circuit open")
        eq(err["source"], "user")
        check(elapsed < 0.1, "failing fast took %.0f ms" % (elapsed * 1000))
    eq(paths(up).get("/users/a"), calls, "no calls reach the upstream while open")
    time.sleep(max(0.0, 0.55 - (time.monotonic() - opened)))
    status, _, body, _ = timed_get(bffd, "/cb/a")
    eq((status, body), (200, {"ok": True}), "after the cooldown a trial call goes through")
    for _ in range(3):
        eq(timed_get(bffd, "/cb/a")[0], 200, "closed again")
    eq(paths(up).get("/users/a"), calls + 4)


# ---------------------------------------------------------------- 5. broken upstreams

def test_broken_upstream_bodies_and_refused_connections():
    closed_port = harness.free_port()
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, upstreams=("users", "orders", "catalog"),
                                    extra_upstream="max_body: 64KiB")
    prof += "  dead:\n    url: http://127.0.0.1:%d\n    connect_timeout: 2s\n" % closed_port
    endpoints = {"%s.yaml" % mode: """
        endpoint: GET /broken/%s
        sources:
          src:
            upstream: users
            path: %s
        response:
          id: src.id
        """ % (mode, knob if knob.startswith("/") else "/users/u1?" + knob) for mode, knob in
        (("malformed", "malformed=1"), ("notjson", "notjson=1"), ("big", "size=200000"),
         ("small", "size=1000"), ("html", "/echo?ctype=text%2Fhtml%3B%20charset%3Dutf-8"),
         ("leaky", "/echo?ctype=text%2Fhtml%3B%20origin%3Dhttp%3A%2F%2Fdb-primary.internal%3A5432"),
         ("odd", "/echo?ctype=http%3A%2F%2Fdb-primary.internal%2Fx"))}
    endpoints["dead.yaml"] = """
        endpoint: GET /dead
        sources:
          gone:
            upstream: dead
            path: /users/u1
        response:
          id: gone.id
        """
    bffd = start_bffd(prof, endpoints)
    status, _, body, _ = timed_get(bffd, "/broken/malformed")
    eq(status, 502, "malformed JSON: %r" % body)
    err = error_of(body)
    eq((err["source"], err["reason"]), ("src", "invalid JSON"))
    check("invalid JSON" in err["message"], err["message"])

    status, _, body, _ = timed_get(bffd, "/broken/notjson")
    eq(status, 502, "not JSON: %r" % body)
    eq(error_of(body)["reason"], "invalid JSON")

    # The upstream's Content-Type reaches the client as its type/subtype alone: its parameters,
    # or a value that is no media type, are the upstream's text (here a host and a URL).
    for mode, shown in (("html", "upstream sent text/html, not JSON"),
                        ("leaky", "upstream sent text/html, not JSON"),
                        ("odd", "upstream sent an unreadable media type, not JSON")):
        status, _, body, _ = timed_get(bffd, "/broken/" + mode)
        err = error_of(body)
        eq((status, err["reason"]), (502, "invalid JSON"), body)
        check(shown in err["message"] and "internal" not in json.dumps(body), (mode, body))

    status, _, body, _ = timed_get(bffd, "/broken/big")
    eq(status, 502, "oversized: %r" % body)
    err = error_of(body)
    eq(err["reason"], "response too large")
    check("65536" in err["message"], "message names the limit: %r" % err["message"])

    status, _, body, _ = timed_get(bffd, "/broken/small")
    eq(status, 200, "a body under max_body passes: %r" % body)

    status, _, body, elapsed = timed_get(bffd, "/dead")
    eq(status, 502, "refused: %r" % body)
    err = error_of(body)
    eq((err["source"], err["upstream"], err["reason"]), ("gone", "dead", "connection failed"))
    # Never the upstream's address or libcurl's words (the access log has them).
    check(str(closed_port) not in json.dumps(body) and "127.0.0.1" not in json.dumps(body), body)
    check(elapsed < 0.3, "refused connection took %.0f ms" % (elapsed * 1000))
    assert_healthy(bffd)


# ---------------------------------------------------------------- 6. load balancing

LB_SPEC = """
    endpoint: GET /lb/{id}
    sources:
      user:
        upstream: users
        path: /users/{id}
        retries: 1
    response:
      id: user.id
    """


def test_load_balancing_and_passive_ejection():
    a, b = harness.Upstream(), harness.Upstream()
    prof = "\n".join([
        "name: t", "listen: 127.0.0.1:@PORT@", "access_log: off", "upstreams:", "  users:",
        "    instances: [%s, %s]" % (a.url, b.url),
        "    passive_health: {consecutive_failures: 2, ejection: 20s}",
        "    connect_timeout: 500ms", ""])
    bffd = start_bffd(prof, {"lb.yaml": LB_SPEC})
    for i in range(10):
        eq(harness.get_json(bffd.port, "/lb/r%d" % i)[0], 200)
    ca, cb = a.stats()["requests"], b.stats()["requests"]
    eq((ca, cb), (5, 5), "round robin over two equal instances")

    b.stop()
    a.reset()
    for i in range(6):
        status, _, body = harness.get_json(bffd.port, "/lb/d%d" % i)
        eq((status, body), (200, {"id": "d%d" % i}), "still served with one instance down")
    eq(a.stats()["requests"], 6, "the live instance served every request")
    # b is ejected now: bring a server back on its port and check nothing is sent there.
    revived = start_upstream_on(b.port)
    a.reset()
    for i in range(6):
        eq(harness.get_json(bffd.port, "/lb/e%d" % i)[0], 200)
    eq(a.stats()["requests"], 6)
    st, _, revived_stats = harness.get_json(b.port, "/__stats")
    eq(revived_stats["requests"], 0, "the ejected instance is not tried during its ejection")
    revived.kill()
    revived.wait()


if __name__ == "__main__":
    harness.Runner().run([checked(t) for t in [
        test_optional_failure_gives_partial_response_and_fallback,
        test_bulkhead_fails_fast_beyond_max_concurrent,
        test_required_failure_is_502_naming_source_and_upstream,
        test_required_source_timeout_is_fast_504,
        test_endpoint_deadline_is_504_without_hanging,
        test_retries_of_idempotent_calls_only,
        test_circuit_breaker_opens_fails_fast_and_closes,
        test_broken_upstream_bodies_and_refused_connections,
        test_load_balancing_and_passive_ejection,
    ]])
