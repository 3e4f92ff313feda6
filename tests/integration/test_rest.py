#!/usr/bin/env python3
"""REST composition for real apps: writes with the client's body, declared and mapped status
codes, optional query parameters, HEAD, safe error bodies, the access log's detail, and the
defects a new user hit (a breaker that never closed).

Run from the repository root: python3 tests/integration/test_rest.py
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402


def serve(endpoints, upstream=None, extra="", extra_upstream="", threads=1):
    up = upstream or harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=extra, extra_upstream=extra_upstream)
    return up, harness.Bffd({"t": {"profile": prof, "endpoints": endpoints}}, threads=threads)


def test_breaker_closes_when_two_required_sources_share_an_upstream():
    """Half-open: the first source gets the trial, the second is refused and the request fails
    at once. The trial must still reach its verdict, or the breaker never closes."""
    port = harness.free_port()
    dead = "http://127.0.0.1:%d" % port
    prof = harness.upstream_profile("t", dead, upstreams=("users",), extra_upstream="""\
        timeout: 500ms
        circuit_breaker: { consecutive_failures: 2, cooldown: 300ms }
        """)
    bff = harness.Bffd({"t": {"profile": prof, "endpoints": {"two.yaml": """\
        endpoint: GET /two/{id}
        sources:
          a: { upstream: users, path: "/users/{id}" }
          b: { upstream: users, path: "/users/{id}?view=b" }
        response: { a: a.id }
        """}}})
    for _ in range(3):
        eq(harness.get_json(bff.port, "/two/1")[0], 502)
    eq(harness.get_json(bff.port, "/two/1")[2]["error"]["reason"], "circuit open")
    # The upstream comes back on the same port.
    up = subprocess.Popen([harness.DEMO_UPSTREAM, "--port", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    harness._processes.append(up)
    harness.wait_port(port, proc=up)
    deadline = time.time() + 5
    statuses = []
    while time.time() < deadline:
        statuses.append(harness.get_json(bff.port, "/two/1")[0])
        if statuses[-1] == 200:
            break
        time.sleep(0.1)
    eq(statuses[-1], 200, "the breaker must close once the upstream is healthy: %r" % statuses)
    # and it stays closed
    eq([harness.get_json(bff.port, "/two/%d" % i)[0] for i in range(5)], [200] * 5)
    eq(bff.stop(), 0)


DASH = {"dash.yaml": """\
    endpoint: GET /dash/{id}
    sources:
      user: { upstream: users, path: "/users/{id}" }
    response: { id: user.id, name: "{user.firstName} {user.lastName}" }
    """}


def h2_head(port, path):
    import socket
    from h2raw import H2Conn, h2_frame, HEADERS, hpack_literal
    conn = H2Conn(socket.create_connection(("127.0.0.1", port), timeout=5))
    fields = [(":method", "HEAD"), (":scheme", "http"), (":path", path), (":authority", "x")]
    conn.send(h2_frame(HEADERS, 0x5, 1, b"".join(hpack_literal(k, v) for k, v in fields)))
    deadline = time.time() + 5
    while 1 not in conn.ended and not conn.closed and time.time() < deadline:
        conn.pump(0.2)
    conn.close()
    return conn.status.get(1), conn.ended.get(1), conn.data.get(1, b"")


def test_head_on_get_routes():
    up, bff = serve(DASH)
    status, hdrs, body = harness.request(bff.port, "GET", "/dash/7")
    eq(status, 200)
    for path in ("/dash/7", "/health", "/ready"):
        get_status, get_hdrs, get_body = harness.request(bff.port, "GET", path)
        status, hdrs, body = harness.request(bff.port, "HEAD", path)
        eq((status, body), (get_status, b""), "HEAD %s over HTTP/1.1" % path)
        eq(hdrs.get("content-length"), str(len(get_body)), "HEAD %s announces GET's length" % path)
        eq(hdrs.get("content-type"), "application/json")
        # HTTP/2: the stream ends cleanly, with no DATA (libh2o 2.2.5 sent the body: RST)
        eq(h2_head(bff.port, path), (get_status, "end", b""), "HEAD %s over HTTP/2" % path)
    # Unknown paths are still 404, and a POST route does not answer HEAD.
    eq(harness.request(bff.port, "HEAD", "/nope")[0], 404)
    eq(bff.stop(), 0)


FAILING = {"f.yaml": """\
    endpoint: GET /f/{id}
    sources:
      user: { upstream: users, path: "/users/{id}" }
      gone: { upstream: dead, path: /x, optional: true }
    response: { id: user.id, g: gone }
    """, "r.yaml": """\
    endpoint: GET /r
    sources:
      gone: { upstream: dead, path: /x }
    response: { g: gone }
    """}


def failing_profile(up, errors, log="off"):
    dead_port = harness.free_port()
    text = harness.upstream_profile("t", up.url, upstreams=("users",))
    text = text.replace("access_log: off", "access_log: %s\nerrors: %s" % (log, errors))
    text += "  dead:\n    url: http://127.0.0.1:%d\n" % dead_port
    return text, dead_port


def test_error_bodies_never_name_hosts():
    up = harness.Upstream()
    for mode in ("detailed", "safe"):
        text, dead_port = failing_profile(up, mode)
        bff = harness.Bffd({"t": {"profile": text, "endpoints": FAILING}})
        status, hdrs, body = harness.request(bff.port, "GET", "/f/3")
        eq(status, 200)
        eq(hdrs.get("bff-partial"), "true")
        errors = json.loads(body)["errors"]
        status, _, body502 = harness.request(bff.port, "GET", "/r")
        eq(status, 502)
        err = json.loads(body502)["error"]
        for raw in (body, body502):
            for leak in (str(dead_port), "127.0.0.1", "http://", "Couldn't", "curl"):
                check(leak.encode() not in raw, "%s: %r leaks %r" % (mode, raw, leak))
        if mode == "detailed":
            eq(errors, [{"source": "gone", "reason": "connection failed",
                         "message": "cannot connect to the upstream"}])
            eq((err["source"], err["upstream"], err["reason"]), ("gone", "dead", "connection failed"))
        else:
            eq(errors, [{"reason": "unavailable"}])
            eq(err, {"code": "upstream_failed", "message": "a required source failed",
                     "reason": "unavailable"})
        eq(bff.stop(), 0)


def test_access_log_says_what_happened():
    up = harness.Upstream()
    d = harness.tmpdir()
    log = os.path.join(d, "access.log")
    text, dead_port = failing_profile(up, "safe", log=log)
    bff = harness.Bffd({"t": {"profile": text, "endpoints": FAILING}})
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    status, hdrs, _ = harness.request(bff.port, "GET", "/f/3", headers={"traceparent": trace})
    eq(status, 200)
    rid = hdrs["x-request-id"]
    eq(harness.request(bff.port, "GET", "/health")[0], 200)
    eq(bff.stop(), 0)
    with open(log) as f:
        lines = [json.loads(l) for l in f]
    line = next(l for l in lines if l["request_id"] == rid)
    eq(line["route"], "/f/{id}")
    eq(line["client"], "127.0.0.1")
    eq(line["trace_id"], "0af7651916cd43dd8448eb211c80319c")
    eq(line["partial"], True)
    eq(len(line["failed"]), 1)
    failed = line["failed"][0]
    eq((failed["source"], failed["reason"]), ("gone", "connection failed"))
    # The operator gets what the client does not: the instance and libcurl's words.
    check("127.0.0.1:%d" % dead_port in failed["detail"], failed)
    health = next(l for l in lines if l["path"] == "/health")
    check("route" not in health and "failed" not in health and "partial" not in health, health)


def test_access_log_per_profile():
    up = harness.Upstream()
    d = harness.tmpdir()
    profiles = {}
    for name in ("one", "two"):
        text = harness.upstream_profile(name, up.url).replace(
            "access_log: off", "access_log: %s" % os.path.join(d, name + ".log"))
        profiles[name] = {"profile": text, "endpoints": {}}
    bff = harness.Bffd(profiles)
    for name in ("one", "two", "two"):
        eq(harness.request(bff.ports[name], "GET", "/health")[0], 200)
    eq(bff.stop(), 0)
    for name, n in (("one", 1), ("two", 2)):
        with open(os.path.join(d, name + ".log")) as f:
            lines = [json.loads(l) for l in f]
        eq([l["profile"] for l in lines], [name] * n, "each profile writes its own log")


def test_ready_answers_503_while_draining():
    up = harness.Upstream()
    _, bff = serve({"s.yaml": """\
        endpoint: GET /slow
        timeout: 5s
        sources:
          a: { upstream: users, path: "/users/1?delay_ms=1500", timeout: 3s }
        response: { id: a.id }
        """}, upstream=up)
    import http.client
    import threading
    ka = http.client.HTTPConnection("127.0.0.1", bff.port, timeout=5)
    ka.request("GET", "/ready")
    r = ka.getresponse()
    eq((r.status, json.loads(r.read())["status"]), (200, "ready"))
    result = {}
    t = threading.Thread(target=lambda: result.update(r=harness.request(bff.port, "GET", "/slow")))
    t.start()
    time.sleep(0.3)
    bff.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    ka.request("GET", "/ready")  # a connection that was open before the drain began
    r = ka.getresponse()
    eq((r.status, json.loads(r.read())["status"]), (503, "draining"))
    t.join(10)
    eq(result["r"][0], 200, "the request in flight finishes")
    eq(bff.proc.wait(10), 0)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_breaker_closes_when_two_required_sources_share_an_upstream,
        test_head_on_get_routes,
        test_error_bodies_never_name_hosts,
        test_access_log_says_what_happened,
        test_access_log_per_profile,
        test_ready_answers_503_while_draining,
    ])
