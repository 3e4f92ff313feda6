"""Composition end to end: the real bffd executing endpoint specs against the C demo upstream.

Covers parallel and chained sources, for-each / batch fan-out and coalescing, failure policy
(optional, fallback, required, timeouts, deadline), retries, the circuit breaker, broken
upstream bodies, client disconnects (HTTP/1 close and HTTP/2 RST_STREAM), parameter
validation, Server-Timing / request id / trace context, response shaping, load balancing over
two instances with passive ejection, and HTTP/2 rapid reset (CVE-2023-44487) resilience.

Run from the repository root: python3 tests/integration/test_compose.py
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

harness.set_time_limit(170)


# ---------------------------------------------------------------- helpers

_started = []  # bffd processes of the running test, stopped and checked when it passes


def start_bffd(profile, endpoints):
    bffd = harness.Bffd({"t": {"profile": profile, "endpoints": endpoints}})
    _started.append(bffd)
    return bffd


def setup(endpoints, extra_upstream="", extra=""):
    """A fresh demo upstream and a bffd profile 't' whose upstreams all point at it."""
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra_upstream=extra_upstream, extra=extra)
    return up, start_bffd(prof, endpoints)


def timed_get(bffd, path, headers=None):
    start = time.monotonic()
    status, hdrs, body = harness.request(bffd.port, "GET", path, headers=headers)
    elapsed = time.monotonic() - start
    return status, hdrs, (json.loads(body) if body else None), elapsed


def paths(up):
    return up.stats()["paths"]


def assert_healthy(bffd):
    status, _, body = harness.get_json(bffd.port, "/health")
    eq(status, 200, "bffd /health")
    eq(body, {"status": "ok"}, "bffd /health body")
    check(bffd.proc.poll() is None, "bffd exited: %s" % bffd.output())


def stop_clean(bffd, timeout=8):
    """SIGTERM, drain, exit 0 - and no sanitizer report (under the sanitizer build a leak or a
    memory error fails the test here)."""
    rc = bffd.stop(timeout=timeout)
    out = bffd.output()
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "drain timeout"):
        check(marker not in out, "bffd reported %r:\n%s" % (marker, out[-4000:]))
    eq(rc, 0, "bffd exit status; output:\n%s" % out[-2000:])


def error_of(body):
    check(isinstance(body, dict) and isinstance(body.get("error"), dict), "not an error body: %r" % body)
    return body["error"]


def upstream_direct(up, path):
    status, _, body = harness.request(up.port, "GET", path)
    eq(status, 200, "direct upstream call %s" % path)
    return json.loads(body)


def start_upstream_on(port):
    """A demo upstream on a given port (to bring an instance back on its old address)."""
    proc = subprocess.Popen([harness.DEMO_UPSTREAM, "--port", str(port), "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    harness._processes.append(proc)
    harness.wait_port(port, proc=proc)
    return proc


# ---- a minimal HTTP/2 (h2c prior knowledge) client: just enough frames for the tests

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_DATA, H2_HEADERS, H2_RST_STREAM, H2_SETTINGS, H2_PING, H2_GOAWAY, H2_WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8


def h2_frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id) + payload


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def h2_headers(stream_id, path, extra=()):
    block = b"".join(hpack_literal(k, v) for k, v in
                     [(":method", "GET"), (":scheme", "http"), (":path", path),
                      (":authority", "127.0.0.1")] + list(extra))
    return h2_frame(H2_HEADERS, 0x5, stream_id, block)  # END_STREAM | END_HEADERS


def h2_rst(stream_id, code=8):  # CANCEL
    return h2_frame(H2_RST_STREAM, 0, stream_id, struct.pack(">I", code))


class H2Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.data = {}     # stream id -> DATA received so far
        self.ended = {}    # stream id -> "end" (END_STREAM seen) or "reset"
        self.closed = False
        self.sock.sendall(H2_PREFACE + h2_frame(H2_SETTINGS, 0, 0))

    def send(self, data):
        self.sock.sendall(data)

    def pump(self, timeout):
        """Reads frames for up to `timeout` seconds (or until the peer closes)."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return
            except OSError:
                d = b""
            if not d:
                self.closed = True
                return
            self.buf += d
            while len(self.buf) >= 9:
                ln = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + ln:
                    break
                ftype, flags = self.buf[3], self.buf[4]
                sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
                payload = self.buf[9:9 + ln]
                self.buf = self.buf[9 + ln:]
                if ftype == H2_SETTINGS and not flags & 1:
                    self.sock.sendall(h2_frame(H2_SETTINGS, 1, 0))
                elif ftype == H2_DATA:
                    self.data[sid] = self.data.get(sid, b"") + payload
                    if payload:  # give the window back so big bursts never stall
                        inc = struct.pack(">I", len(payload))
                        self.sock.sendall(h2_frame(H2_WINDOW_UPDATE, 0, 0, inc) +
                                          h2_frame(H2_WINDOW_UPDATE, 0, sid, inc))
                if sid and (ftype in (H2_DATA, H2_HEADERS)) and flags & 1:
                    self.ended[sid] = "end"
                elif sid and ftype == H2_RST_STREAM:
                    self.ended[sid] = "reset"

    def response_body(self, stream_id, timeout=3.0):
        """The DATA of one stream once it ended (None if reset or it never completes)."""
        deadline = time.monotonic() + timeout
        while stream_id not in self.ended and not self.closed and time.monotonic() < deadline:
            self.pump(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.data.get(stream_id) if self.ended.get(stream_id) == "end" else None

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- 1. parallelism

def test_proxy_environment_is_ignored():
    """Upstream calls go straight to the upstream whatever the proxy variables say (curl would
    otherwise read them on every transfer)."""
    up = harness.Upstream()
    dead = harness.free_port()  # nothing listens: a call sent through the "proxy" fails
    env = {k: "http://127.0.0.1:%d" % dead for k in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")}
    env.update(no_proxy="", NO_PROXY="")
    bffd = harness.Bffd({"t": {"profile": harness.upstream_profile("t", up.url), "endpoints": {"u.yaml": """
        endpoint: GET /u/{id}
        sources:
          user: { upstream: users, path: "/users/{id}" }
        response: { id: user.id }
        """}}}, env=env)
    _started.append(bffd)
    status, _, body = bffd.get("/u/5")
    eq(status, 200, body)
    eq(json.loads(body), {"id": "5"})


def test_independent_sources_run_in_parallel():
    up, bffd = setup({"p.yaml": """
        endpoint: GET /par/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=200
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=2&delay_ms=200
          unread:
            upstream: notifications
            path: /notifications/{id}/unread?delay_ms=200
          sameUser:
            upstream: users
            path: /users/{id}?delay_ms=200
        response:
          id: user.id
          sameId: sameUser.id
          firstOrder: "orders.orders[0].id"
          unread: unread.unreadCount
        """})
    timed_get(bffd, "/par/warmup")  # connections to the upstream exist afterwards
    status, _, body, elapsed = timed_get(bffd, "/par/u42")
    eq(status, 200, "status")
    eq(body["id"], "u42")
    eq(body["firstOrder"], "o-u42-1")
    eq(body["sameId"], "u42", "a source identical to another gets the shared result")
    check(isinstance(body["unread"], int), "unread count missing: %r" % body)
    check(elapsed < 0.45, "three 200 ms sources took %.0f ms: not run in parallel" % (elapsed * 1000))
    check(elapsed >= 0.19, "faster than one upstream delay (%.0f ms)?" % (elapsed * 1000))
    p = paths(up)
    eq((p.get("/users/u42"), p.get("/orders"), p.get("/notifications/u42/unread")), (1, 2, 1),
       "one call per distinct source call (identical ones coalesced; orders also for the warm-up)")


# ---------------------------------------------------------------- 2. chains

def test_chained_source_uses_field_of_another_and_time_follows_the_path():
    up, bffd = setup({"c.yaml": """
        endpoint: GET /chain/{id}
        sources:
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=3&delay_ms=150
          ship:
            upstream: shipping
            path: "/shipments/{orders.orders[1].id}?delay_ms=150"
          user:
            upstream: users
            path: /users/{id}?delay_ms=250
        response:
          orderId: "orders.orders[1].id"
          shipment: ship.orderId
          carrier: ship.carrier
          user: user.id
        """})
    timed_get(bffd, "/chain/warmup")
    status, _, body, elapsed = timed_get(bffd, "/chain/u7")
    eq(status, 200, "status")
    eq(body["orderId"], "o-u7-2")
    eq(body["shipment"], "o-u7-2", "the shipment of the order named by the first source")
    eq(body["user"], "u7")
    # orders -> ship is 300 ms; user (250 ms) runs beside it: ~300 ms, not 550.
    check(0.29 <= elapsed < 0.45, "chain took %.0f ms, expected ~300 ms (sum along the path)" % (elapsed * 1000))
    eq(paths(up).get("/shipments/o-u7-2"), 1, "the dependent call went out once")
    eq(body["carrier"], upstream_direct(up, "/shipments/o-u7-2")["carrier"])


def test_chain_missing_value_fails_the_dependent_source():
    up, bffd = setup({"c.yaml": """
        endpoint: GET /chain/{id}
        sources:
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=1
          ship:
            upstream: shipping
            path: "/shipments/{orders.orders[5].id}"
            optional: true
        response:
          orderId: "orders.orders[0].id"
          ship: ship.orderId
        """})
    status, hdrs, body, _ = timed_get(bffd, "/chain/u1")
    eq(status, 200)
    eq(body["ship"], None)
    eq(hdrs.get("bff-partial"), "true")
    errs = {e["source"]: e for e in body["errors"]}
    check("orders.orders[5].id" in errs["ship"]["message"], "message names the missing value: %r" % errs)
    check(not any(k.startswith("/shipments") for k in paths(up)), "no call with a half-built URL")


# ---------------------------------------------------------------- 3. for-each and batch

FOR_EACH_SPEC = """
    endpoint: GET /fe/{id}
    query:
      n: {type: int, default: "5"}
    sources:
      orders:
        upstream: orders
        path: /orders?userId={id}&limit={n}
      details:
        upstream: orders
        path: /orders/{item.id}?delay_ms=50
        for_each: {items: "orders.orders[:3]", concurrency: 2}
      owners:
        upstream: users
        path: /users/{item}
        for_each: {items: "orders.orders[*].userId", concurrency: 3}
      capped:
        upstream: shipping
        path: /shipments/{item.id}
        for_each: {items: "orders.orders", max: 2}
    response:
      ids: "details[*].id"
      totals: "details[*].total"
      owners: "owners[*].id"
      shipments: "capped[*].orderId"
    """


def test_for_each_order_coalescing_and_max():
    up, bffd = setup({"fe.yaml": FOR_EACH_SPEC})
    status, _, body, elapsed = timed_get(bffd, "/fe/u5")
    p = paths(up)
    eq(status, 200, "status %r" % body)
    eq(body["ids"], ["o-u5-1", "o-u5-2", "o-u5-3"], "one result per item, in array order")
    eq(body["owners"], ["u5"] * 5, "every item gets its (shared) result")
    eq(body["shipments"], ["o-u5-1", "o-u5-2"], "max caps the items")
    for i in (1, 2, 3):
        eq(p.get("/orders/o-u5-%d" % i), 1, "detail %d called once" % i)
    check("/orders/o-u5-4" not in p, "only the first 3 orders are fetched: %r" % p)
    eq(p.get("/users/u5"), 1, "five identical calls coalesced into one")
    eq(sum(v for k, v in p.items() if k.startswith("/shipments/")), 2, "max: 2 -> two calls")
    # concurrency 2 over 3 items of 50 ms: two waves (>= 100 ms), not one, not three.
    check(0.095 <= elapsed < 0.4, "for-each with concurrency 2 took %.0f ms" % (elapsed * 1000))
    eq(body["totals"], [upstream_direct(up, "/orders/o-u5-%d" % i)["total"] for i in (1, 2, 3)])


def test_for_each_results_not_mixed_up_between_requests():
    """Items not started yet must not be taken for finished ones (their slots used to be
    uninitialised pool memory, which after a similar request held stale record numbers)."""
    up, bffd = setup({"fe.yaml": """
        endpoint: GET /fe
        query:
          a: {default: "x"}
          b: {default: "y"}
          c: {default: "z"}
        sources:
          list:
            upstream: catalog
            path: /products?ids={a},{b},{c}
          details:
            upstream: catalog
            path: /products/{item}
            for_each: {items: "list.products[*].id", concurrency: 1}
        response:
          ids: "details[*].id"
        """})
    for _ in range(3):
        eq(harness.get_json(bffd.port, "/fe?a=p-1&b=p-2&c=p-2")[2], {"ids": ["p-1", "p-2", "p-2"]})
        eq(harness.get_json(bffd.port, "/fe?a=p-1&b=p-2&c=p-3")[2], {"ids": ["p-1", "p-2", "p-3"]},
           "the third item's own result")
    eq(paths(up).get("/products/p-3"), 3, "the third item was really fetched each time")


def test_batch_is_one_upstream_call():
    up, bffd = setup({"b.yaml": """
        endpoint: GET /batch/{id}
        sources:
          recs:
            upstream: catalog
            path: /recommendations/{id}?limit=6
          prods:
            upstream: catalog
            path: /products?ids={items}
            batch: {items: "recs.products[*].id"}
        response:
          recIds: "recs.products[*].id"
          prodIds: "prods.products[*].id"
          names: "prods.products[*].name"
        """})
    status, _, body, _ = timed_get(bffd, "/batch/u3")
    eq(status, 200, "status %r" % body)
    eq(len(body["recIds"]), 6)
    eq(body["prodIds"], body["recIds"], "every id in the one batch call, in order")
    eq(body["names"], [upstream_direct(up, "/products/" + i)["name"] for i in body["recIds"]])
    p = paths(up)
    eq(p.get("/products"), 1, "one batch call")
    eq(sum(v for k, v in p.items() if k.startswith("/products/")), 6, "(6 direct reference calls only)")


# ---------------------------------------------------------------- 4. optional failures

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


# ---------------------------------------------------------------- 5. required failures, timeouts

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


# ---------------------------------------------------------------- 6. retries

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


# ---------------------------------------------------------------- 7. circuit breaker

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


# ---------------------------------------------------------------- 8. broken upstreams

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
            path: /users/u1?%s
        response:
          id: src.id
        """ % (mode, knob) for mode, knob in
        (("malformed", "malformed=1"), ("notjson", "notjson=1"), ("big", "size=200000"),
         ("small", "size=1000"))}
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


# ---------------------------------------------------------------- 9. client disconnects

CHAIN_SPEC = """
    endpoint: GET /chain/{id}
    sources:
      first:
        upstream: users
        path: /users/{id}?delay_ms=300
      second:
        upstream: shipping
        path: /shipments/{first.id}
    response:
      first: first.id
      second: second.orderId
    """

HANG_SPEC = """
    endpoint: GET /hang/{id}
    sources:
      stuck:
        upstream: users
        path: /users/{id}?hang=1
    response:
      id: stuck.id
    """


def test_http1_client_disconnect_stops_further_calls():
    # request_timeout bounds the hung call, so the final drain does not wait long for it
    up, bffd = setup({"c.yaml": CHAIN_SPEC, "h.yaml": HANG_SPEC}, extra="limits: {request_timeout: 1s}")
    eq(harness.get_json(bffd.port, "/chain/ok")[2], {"first": "ok", "second": "ok"}, "the chain works")
    s = socket.create_connection(("127.0.0.1", bffd.port))
    s.sendall(b"GET /chain/gone HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    s.close()
    h = socket.create_connection(("127.0.0.1", bffd.port))
    h.sendall(b"GET /hang/gone HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    h.close()
    time.sleep(0.5)  # the first source answers at 300 ms
    p = paths(up)
    eq(p.get("/users/gone"), 2, "the first calls were made (chain + hang)")
    check("/shipments/gone" not in p, "the dependent call went out for a client that had left: %r" % p)
    assert_healthy(bffd)
    eq(harness.get_json(bffd.port, "/chain/again")[0], 200)


def test_http2_reset_cancels_the_request_and_its_dependent_call():
    up, bffd = setup({"c.yaml": CHAIN_SPEC, "h.yaml": HANG_SPEC})
    c = H2Conn(bffd.port)
    c.send(h2_headers(1, "/chain/ok"))
    eq(json.loads(c.response_body(1) or b"null"), {"first": "ok", "second": "ok"}, "h2c works")
    c.send(h2_headers(3, "/chain/cancelled") + h2_headers(5, "/hang/cancelled"))
    time.sleep(0.1)
    c.send(h2_rst(3) + h2_rst(5))
    time.sleep(0.5)
    p = paths(up)
    eq(p.get("/users/cancelled"), 2, "the first calls were made")
    check("/shipments/cancelled" not in p, "a reset request's dependent call reached the upstream: %r" % p)
    c.send(h2_headers(7, "/chain/after"))
    eq(json.loads(c.response_body(7) or b"null"), {"first": "after", "second": "after"},
       "the connection keeps working")
    c.close()
    assert_healthy(bffd)


# ---------------------------------------------------------------- 10. parameters

def test_parameter_validation():
    up, bffd = setup({"p.yaml": """
        endpoint: GET /items/{n}
        params:
          n: {type: int}
        query:
          limit: {type: int, min: 1, max: 50, default: "3"}
          sort: {enum: [asc, desc], default: asc}
          price: {type: number, min: 0}
        sources:
          orders:
            upstream: orders
            path: /orders?userId=u{n}&limit={limit}
        response:
          n: n
          limit: limit
          sort: sort
          price: price
          orderIds: "orders.orders[*].id"
        """})
    status, _, body, _ = timed_get(bffd, "/items/7")
    eq(status, 200, "defaults: %r" % body)
    eq(body, {"n": 7, "limit": 3, "sort": "asc", "price": None,
              "orderIds": ["o-u7-1", "o-u7-2", "o-u7-3"]}, "defaults applied and typed")
    status, _, body, _ = timed_get(bffd, "/items/7?limit=2&sort=desc&price=9.5")
    eq(body, {"n": 7, "limit": 2, "sort": "desc", "price": 9.5, "orderIds": ["o-u7-1", "o-u7-2"]})
    calls = up.stats()["requests"]
    bad = [
        ("/items/seven", "'n'"),
        ("/items/7x", "'n'"),
        ("/items/1.5", "'n'"),
        ("/items/7?limit=0", "'limit'"),
        ("/items/7?limit=51", "'limit'"),
        ("/items/7?limit=abc", "'limit'"),
        ("/items/7?sort=random", "'sort'"),
        ("/items/7?price=-1", "'price'"),
        ("/items/7?price=1e999", "'price'"),
    ]
    for path, name in bad:
        status, hdrs, body, _ = timed_get(bffd, path)
        eq(status, 400, "%s: %r" % (path, body))
        err = error_of(body)
        eq(err["code"], "bad_parameter", path)
        check(name in err["message"], "%s: message %r does not name %s" % (path, err["message"], name))
        eq(hdrs.get("content-type"), "application/json")
    eq(up.stats()["requests"], calls, "rejected requests make no upstream calls")


# ---------------------------------------------------------------- 11. observability

def test_server_timing_request_id_and_traceparent():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /echo/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=100
          echo:
            upstream: notifications
            path: /echo
            headers:
              X-User: "{id}"
        response:
          id: user.id
          headers: echo.headers
        """})
    status, hdrs, body, _ = timed_get(bffd, "/echo/u1")
    eq(status, 200)
    timing = [part.strip() for part in hdrs.get("server-timing", "").split(",")]
    names = [t.split(";")[0] for t in timing]
    eq(names, ["user", "echo", "total"], "Server-Timing lists each source and the total")
    durs = {t.split(";")[0]: float(t.split("dur=")[1]) for t in timing}
    check(durs["user"] >= 95, "user took 100 ms: %r" % timing)
    check(durs["total"] >= durs["user"] and durs["echo"] < durs["user"], "%r" % timing)
    seen = body["headers"]
    rid = hdrs.get("x-request-id")
    check(rid, "the response carries X-Request-ID")
    eq(seen.get("x-request-id"), rid, "the upstream got the same request id")
    eq(seen.get("x-user"), "u1", "spec headers are rendered")
    tp = seen.get("traceparent", "")
    parts = tp.split("-")
    check(len(parts) == 4 and parts[0] == "00" and len(parts[1]) == 32 and len(parts[2]) == 16
          and all(c in "0123456789abcdef" for c in parts[1] + parts[2]) and parts[1] != "0" * 32,
          "W3C traceparent: %r" % tp)

    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    status, hdrs, body, _ = timed_get(bffd, "/echo/u2", headers={"traceparent": incoming,
                                                                "X-Request-ID": "req-abc-123"})
    eq(status, 200)
    eq(hdrs.get("x-request-id"), "req-abc-123", "an incoming request id is kept")
    eq(body["headers"].get("x-request-id"), "req-abc-123")
    tp = body["headers"].get("traceparent", "").split("-")
    eq(tp[1], "0af7651916cd43dd8448eb211c80319c", "the trace id is kept")
    check(len(tp[2]) == 16 and tp[2] != "b7ad6b7169203331", "bffd becomes the parent: %r" % tp)
    eq(tp[3], "01", "flags kept")

    # an invalid traceparent is not continued (W3C: restart the trace)
    for bad in ("00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033zz-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-x1"):
        _, _, body, _ = timed_get(bffd, "/echo/u3", headers={"traceparent": bad})
        tp = body["headers"].get("traceparent", "")
        check(bad.split("-")[1].lower() not in tp and len(tp) == 55 and tp.endswith("-01"),
              "invalid %r was continued as %r" % (bad, tp))

    # fresh trace ids differ between processes (replicas, restarts), not just between requests
    spec = {"e.yaml": """
        endpoint: GET /echo/{id}
        sources:
          echo: {upstream: users, path: /echo}
        response:
          headers: echo.headers
        """}
    first = [harness.get_json(setup(spec)[1].port, "/echo/x")[2]["headers"]["traceparent"]
             for _ in range(2)]
    check(first[0].split("-")[1] != first[1].split("-")[1],
          "two bffd processes started the same trace id: %r" % first)


# ---------------------------------------------------------------- 12. shaping

def pick_user_with_cancelled(up):
    for n in range(200):
        uid = "s%d" % n
        orders = upstream_direct(up, "/orders?userId=%s&limit=6" % uid)["orders"]
        kept = [o for o in orders if o["status"] != "cancelled"]
        if len(kept) >= 3 and any(o["status"] == "cancelled" for o in orders[:orders.index(kept[2])]):
            return uid, orders
    raise AssertionError("no demo user with a cancelled order among the first ones")


def test_shaping_end_to_end():
    up, bffd = setup({"s.yaml": """
        endpoint: GET /shape/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=150
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=6
        response:
          userId: user.id
          name: "{user.firstName} {user.lastName} ({user.address.city})"
          contact:
            email: user.email
            where:
              city: user.address.city
              country: user.address.country
          profile:
            $from: user
            $deny: [internal, address.zip, preferences.newsletter]
          orders:
            $from: orders.orders
            $filter: "status != cancelled"
            $limit: 3
            $select:
              id: id
              day: {$from: date, $format: date}
              status: {$from: status, $format: upper}
              items: "items[*].sku"
          statuses: {$from: "orders.orders[*].status", $limit: 2}
          merged:
            $merge:
              - {$from: user, $select: {id: id, address: address}}
              - {$from: "orders.orders[0]", $select: {id: id, address: {tag: status}}}
            $policy: deep
          replaced:
            $merge:
              - {$from: user, $select: {id: id, address: address}}
              - {$from: "orders.orders[0]", $select: {id: id, address: {tag: status}}}
            $policy: replace
          missing: {$from: user.nickname, $default: anonymous}
          card: {$from: user, $allow: [id, address.city, preferences]}
          brief: {$from: orders.orders, $limit: 2, $select: [id, total]}
          whole: {$from: orders.orders, $limit: 1, $select: {self: "@", n: id}}
        """})
    uid, orders = pick_user_with_cancelled(up)
    user = upstream_direct(up, "/users/" + uid)
    status, _, body, _ = timed_get(bffd, "/shape/" + uid)
    eq(status, 200, "%r" % body)
    eq(body["userId"], uid)
    eq(body["name"], "%s %s (%s)" % (user["firstName"], user["lastName"], user["address"]["city"]))
    eq(body["contact"], {"email": user["email"],
                         "where": {"city": user["address"]["city"], "country": user["address"]["country"]}})
    prof = body["profile"]
    check("internal" not in prof, "internal fields leaked: %r" % prof)
    check("zip" not in prof["address"] and prof["address"]["city"] == user["address"]["city"], "%r" % prof)
    check("newsletter" not in prof["preferences"] and "theme" in prof["preferences"], "%r" % prof)
    eq(prof["email"], user["email"])
    text = json.dumps(body)
    check("passwordHash" not in text and "riskScore" not in text, "internal data in the response")
    kept = [o for o in orders if o["status"] != "cancelled"][:3]
    eq(body["orders"], [{"id": o["id"], "day": o["date"][:10], "status": o["status"].upper(),
                         "items": [i["sku"] for i in o["items"]]} for o in kept],
       "$filter, $limit, $select, $format in that order")
    eq(body["statuses"], [o["status"] for o in orders[:2]])
    first = orders[0]
    eq(body["merged"], {"id": first["id"], "address": dict(user["address"], tag=first["status"])},
       "deep merge: the later part (the faster upstream) wins on conflicts, nested objects combine")
    eq(body["replaced"], {"id": first["id"], "address": {"tag": first["status"]}}, "replace policy")
    eq(body["missing"], "anonymous")
    eq(body["card"], {"id": uid, "address": {"city": user["address"]["city"]},
                      "preferences": user["preferences"]}, "$allow keeps only the listed paths")
    eq(body["brief"], [{"id": o["id"], "total": o["total"]} for o in orders[:2]], "$select list")
    eq(body["whole"], [{"self": orders[0], "n": orders[0]["id"]}], "@ is the element itself")


# ---------------------------------------------------------------- 13. load balancing

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


# ---------------------------------------------------------------- 14. HTTP/2 rapid reset

def test_http2_rapid_reset():
    up, bffd = setup({"u.yaml": """
        endpoint: GET /u/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=20
        response:
          id: user.id
        """})
    # control: without resets every stream reaches the upstream
    c = H2Conn(bffd.port)
    c.send(b"".join(h2_headers(1 + 2 * i, "/u/c%d" % i) for i in range(20)))
    for i in range(20):
        eq(json.loads(c.response_body(1 + 2 * i) or b"null"), {"id": "c%d" % i})
    c.close()
    eq(up.stats()["requests"], 20, "control: 20 streams, 20 upstream calls")
    up.reset()

    streams = 1000
    c = H2Conn(bffd.port)
    c.pump(0.2)
    burst = b"".join(h2_headers(1 + 2 * i, "/u/r%d" % i) + h2_rst(1 + 2 * i) for i in range(streams))
    try:
        c.send(burst)
    except OSError:
        pass  # bffd may close the connection of an abusive client: fine
    c.pump(1.0)
    c.close()
    time.sleep(0.2)
    calls = up.stats()["requests"]
    check(calls <= streams // 20, "%d reset streams caused %d upstream calls" % (streams, calls))
    assert_healthy(bffd)

    # The same, with each RST_STREAM a few ms after its HEADERS: those calls do start, so the
    # connection must be cut after a bounded number of cancellations.
    up.reset()
    c = H2Conn(bffd.port)
    c.pump(0.1)
    sent = 0
    for i in range(400):
        try:
            c.send(h2_headers(1 + 2 * i, "/u/s%d" % i))
            time.sleep(0.002)
            c.send(h2_rst(1 + 2 * i))
        except OSError:
            break
        sent += 1
    c.pump(0.5)
    c.close()
    time.sleep(0.1)
    calls = up.stats()["requests"]
    check(sent < 400, "bffd kept a connection open through %d cancelled streams" % sent)
    check(calls <= 200, "%d spaced resets caused %d upstream calls" % (sent, calls))

    assert_healthy(bffd)
    c2 = H2Conn(bffd.port)
    c2.send(h2_headers(1, "/u/fine"))
    eq(json.loads(c2.response_body(1) or b"null"), {"id": "fine"}, "a new h2 connection is served")
    c2.close()


def checked(fn):
    """Runs a test, then stops its bffd processes gracefully and checks their exit."""
    def run():
        del _started[:]
        fn()
        for bffd in _started:
            stop_clean(bffd)
    run.__name__ = fn.__name__
    return run


if __name__ == "__main__":
    harness.Runner().run([checked(t) for t in [
        test_proxy_environment_is_ignored,
        test_independent_sources_run_in_parallel,
        test_chained_source_uses_field_of_another_and_time_follows_the_path,
        test_chain_missing_value_fails_the_dependent_source,
        test_for_each_order_coalescing_and_max,
        test_for_each_results_not_mixed_up_between_requests,
        test_batch_is_one_upstream_call,
        test_optional_failure_gives_partial_response_and_fallback,
        test_bulkhead_fails_fast_beyond_max_concurrent,
        test_required_failure_is_502_naming_source_and_upstream,
        test_required_source_timeout_is_fast_504,
        test_endpoint_deadline_is_504_without_hanging,
        test_retries_of_idempotent_calls_only,
        test_circuit_breaker_opens_fails_fast_and_closes,
        test_broken_upstream_bodies_and_refused_connections,
        test_http1_client_disconnect_stops_further_calls,
        test_http2_reset_cancels_the_request_and_its_dependent_call,
        test_parameter_validation,
        test_server_timing_request_id_and_traceparent,
        test_shaping_end_to_end,
        test_load_balancing_and_passive_ejection,
        test_http2_rapid_reset,
    ]])
