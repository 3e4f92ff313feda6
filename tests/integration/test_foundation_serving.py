#!/usr/bin/env python3
"""Foundation, serving: built-in routes, request ids, the access log, request limits, hostile
clients, HTTP/2 (h2c and TLS/ALPN), several profiles per process, --listen, --threads and
graceful shutdown.

Needs the Debian packages nghttp2-client (nghttp, h2load), curl and openssl.
Run from the repository root: python3 tests/integration/test_foundation_serving.py
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from foundation_helpers import (HELLO, SIMPLE, Server, make_profile, no_crash,  # noqa: E402
                                port_is_closed, run_bffd, stop_clean)
from harness import check, eq  # noqa: E402

ECHO = """\
    endpoint: POST /echo
    response:
      ok: { $value: true }
"""


# ---------------------------------------------------------------- helpers


def json_error(status, hdrs, body, expected_status):
    eq(status, expected_status, "status (body %r)" % body)
    check(hdrs.get("content-type", "").startswith("application/json"),
          "content-type is %r" % hdrs.get("content-type"))
    doc = json.loads(body)
    err = doc.get("error")
    check(isinstance(err, dict), "no error object in %r" % doc)
    check(isinstance(err.get("code"), str) and err["code"], "error.code missing in %r" % doc)
    check(isinstance(err.get("message"), str) and err["message"], "error.message missing in %r" % doc)
    return err


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes and reads until the server closes the connection or the timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            pass
        return b"".join(chunks)


def need_tool(name):
    path = shutil.which(name)
    check(path is not None, "%s is not installed (Debian package: %s)"
          % (name, {"nghttp": "nghttp2-client", "h2load": "nghttp2-client"}.get(name, name)))
    return path


def simple_server(endpoints=None, extra="", threads=1):
    profile = SIMPLE % "foundation" + textwrap.dedent(extra)
    return harness.Bffd({"foundation": {"profile": profile, "endpoints": endpoints or {}}},
                        threads=threads)


# ---------------------------------------------------------------- built-in routes and routing


def test_health_and_ready():
    b = simple_server({"hello.yaml": HELLO})
    status, hdrs, body = b.get("/health")
    eq(status, 200, "/health status")
    eq(json.loads(body), {"status": "ok"}, "/health body")
    check(hdrs.get("content-type", "").startswith("application/json"), "content-type %r" % hdrs)
    status, hdrs, doc = harness.get_json(b.port, "/ready")
    eq(status, 200, "/ready status")
    eq(doc.get("status"), "ready", "/ready body %r" % doc)
    eq(doc.get("profile"), "foundation", "/ready names the profile")
    status, _, body = harness.request(b.port, "HEAD", "/health")
    eq((status, body), (200, b""), "HEAD /health")
    status, _, doc = harness.get_json(b.port, "/hello")
    eq((status, doc), (200, {"msg": "hi"}), "a configured endpoint")
    stop_clean(b)


def test_unknown_route_404():
    b = simple_server({"hello.yaml": HELLO})
    for path in ("/nope", "/health/extra", "/hello/more", "/"):
        status, hdrs, body = b.get(path)
        json_error(status, hdrs, body, 404)
    status, hdrs, body = harness.request(b.port, "DELETE", "/nope")
    json_error(status, hdrs, body, 404)
    stop_clean(b)


def test_wrong_method_405():
    b = simple_server({"hello.yaml": HELLO, "echo.yaml": ECHO})
    for method in ("POST", "DELETE", "PUT"):
        status, hdrs, body = harness.request(b.port, method, "/hello", body=b"{}" if method != "DELETE" else None)
        json_error(status, hdrs, body, 405)
        eq(hdrs.get("allow"), "GET, HEAD", "Allow header for %s /hello" % method)
    status, hdrs, body = b.get("/echo")
    json_error(status, hdrs, body, 405)
    eq(hdrs.get("allow"), "POST", "Allow header for GET /echo")
    for path in ("/health", "/ready"):
        status, hdrs, body = harness.request(b.port, "POST", path, body=b"x")
        json_error(status, hdrs, body, 405)
        check("GET" in hdrs.get("allow", ""), "Allow header for POST %s: %r" % (path, hdrs.get("allow")))
    stop_clean(b)


# ---------------------------------------------------------------- request ids and access log


def test_request_id():
    b = simple_server({"hello.yaml": HELLO})
    status, hdrs, _ = b.get("/hello", headers={"X-Request-ID": "client-id-42"})
    eq((status, hdrs.get("x-request-id")), (200, "client-id-42"), "given id is echoed")
    status, hdrs, _ = b.get("/nope", headers={"X-Request-ID": "client-id-43"})
    eq((status, hdrs.get("x-request-id")), (404, "client-id-43"), "echoed on errors too")
    ids = set()
    for _ in range(5):
        status, hdrs, _ = b.get("/health")
        rid = hdrs.get("x-request-id", "")
        check(re.fullmatch(r"[\x21-\x7e]{8,128}", rid), "generated id %r" % rid)
        ids.add(rid)
    eq(len(ids), 5, "generated ids are unique")
    for bad in ("has space", "x" * 200):
        _, hdrs, _ = b.get("/health", headers={"X-Request-ID": bad})
        rid = hdrs.get("x-request-id", "")
        check(rid and rid != bad, "unusable id %r must be replaced, got %r" % (bad, rid))
    stop_clean(b)


def read_log_lines(path, n, timeout=5.0):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = [l for l in f.read().splitlines() if l]
            if len(lines) >= n:
                break
        time.sleep(0.05)
    return lines


def test_access_log_lines():
    profile = "name: logged\nlisten: 127.0.0.1:@PORT@\naccess_log: access.log\n"
    b = harness.Bffd({"logged": {"profile": profile, "endpoints": {"hello.yaml": HELLO}}})
    log = os.path.join(b.dir, "logged", "access.log")  # relative to the profile folder
    sent = [("GET", "/hello", {"X-Request-ID": "log-1"}), ("GET", "/nope?x=1", {}),
            ("POST", "/health", {}), ("GET", "/health", {"X-Request-ID": "log-4"})]
    answers = []
    for method, path, hdrs in sent:
        status, rh, body = harness.request(b.port, method, path, body=b"" if method == "POST" else None,
                                           headers=hdrs)
        answers.append((status, rh.get("x-request-id"), len(body)))
    read_log_lines(log, len(sent))
    time.sleep(0.2)  # ... and no more than that
    lines = read_log_lines(log, len(sent))
    eq(len(lines), len(sent), "one line per request:\n%s" % "\n".join(lines))
    for line, (method, path, _), (status, rid, nbytes) in zip(lines, sent, answers):
        entry = json.loads(line)
        for key in ("time", "profile", "method", "path", "status", "bytes", "duration_ms", "request_id"):
            check(key in entry, "%s missing in %s" % (key, line))
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", entry["time"]), "time %r" % entry["time"])
        eq(entry["profile"], "logged", "profile")
        eq(entry["method"], method, "method")
        eq(entry["path"], path, "path")
        eq(entry["status"], status, "status")
        eq(entry["bytes"], nbytes, "bytes = body size")
        check(isinstance(entry["duration_ms"], (int, float)) and 0 <= entry["duration_ms"] < 5000,
              "duration_ms %r" % entry["duration_ms"])
        eq(entry["request_id"], rid, "request_id = the X-Request-ID response header")
    stop_clean(b)


def test_access_log_lines_are_utf8_whatever_the_request():
    profile = "name: logged\nlisten: 127.0.0.1:@PORT@\naccess_log: access.log\n"
    b = harness.Bffd({"logged": {"profile": profile, "endpoints": {"hello.yaml": HELLO}}})
    log = os.path.join(b.dir, "logged", "access.log")
    with socket.create_connection(("127.0.0.1", b.port), timeout=5) as s:
        s.sendall(b"GET /caf\xc3\xa9/\xff\xfe?q=\xe2\x82 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while s.recv(4096):
            pass
    lines = read_log_lines(log, 1)
    with open(log, "rb") as f:
        raw = f.read()
    entry = json.loads(raw.decode("utf-8"))  # strict: bytes that are not UTF-8 would raise
    eq(entry["path"], "/caf\u00e9/\ufffd\ufffd?q=\ufffd\ufffd", "valid UTF-8 kept, the rest U+FFFD")
    eq(len(lines), 1)
    stop_clean(b)


def test_access_log_reopened_by_a_reload():
    # logrotate's way: rename the file, then SIGHUP; new lines go to a new file at the old path.
    profile = "name: logged\nlisten: 127.0.0.1:@PORT@\naccess_log: access.log\n"
    b = harness.Bffd({"logged": {"profile": profile, "endpoints": {"hello.yaml": HELLO}}})
    log = os.path.join(b.dir, "logged", "access.log")
    harness.request(b.port, "GET", "/hello", headers={"X-Request-ID": "before-rotation"})
    read_log_lines(log, 1)
    os.rename(log, log + ".1")
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reloaded:" not in b.output() and time.time() < deadline:
        time.sleep(0.05)
    check("reloaded:" in b.output(), b.output())
    harness.request(b.port, "GET", "/hello", headers={"X-Request-ID": "after-rotation"})
    lines = read_log_lines(log, 1)
    eq([json.loads(l)["request_id"] for l in lines], ["after-rotation"], "the new file")
    eq([json.loads(l)["request_id"] for l in read_log_lines(log + ".1", 1)], ["before-rotation"],
       "the rotated file keeps its lines and gets no new ones")
    stop_clean(b)


# ---------------------------------------------------------------- limits and hostile clients


LIMITS = "limits: { max_header_bytes: 1KiB, max_body_bytes: 1KiB }\n"


def test_header_limit_431():
    b = simple_server({"hello.yaml": HELLO}, extra=LIMITS)
    status, _, _ = b.get("/hello", headers={"X-Small": "a" * 300})
    eq(status, 200, "headers under the limit")
    status, hdrs, body = b.get("/hello", headers={"X-Big": "a" * 2000})
    json_error(status, hdrs, body, 431)
    status, hdrs, body = b.get("/hello", headers={"X-A%d" % i: "b" * 60 for i in range(30)})
    json_error(status, hdrs, body, 431)
    eq(b.get("/health")[0], 200, "still serving after 431")
    stop_clean(b)


def test_body_limit_413():
    b = simple_server({"echo.yaml": ECHO}, extra=LIMITS)
    status, _, body = harness.request(b.port, "POST", "/echo", body=b"x" * 100,
                                      headers={"Content-Type": "text/plain"})
    eq((status, json.loads(body)), (200, {"ok": True}), "body under the limit")
    status, _, _ = harness.request(b.port, "POST", "/echo", body=b"x" * 5000,
                                   headers={"Content-Type": "text/plain"})
    eq(status, 413, "body over max_body_bytes")
    eq(b.get("/health")[0], 200, "still serving after 413")
    stop_clean(b)


def test_malformed_requests_400():
    b = simple_server()
    for garbage in (b"GARBAGE\r\n\r\n",
                    b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                    b"GET /health HTTP/9.9.9\r\nHost: x\r\n\r\n",
                    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"):
        answer = raw_exchange(b.port, garbage)
        check(answer.startswith(b"HTTP/1.1 400"), "for %r got %r" % (garbage[:30], answer[:80]))
        eq(b.get("/health")[0], 200, "serving after %r" % garbage[:30])
    check(b.proc.poll() is None, "bffd must still run")
    stop_clean(b)


def test_silent_and_half_clients():
    b = simple_server({"echo.yaml": ECHO})
    idle = socket.create_connection(("127.0.0.1", b.port))  # connects and says nothing
    half = socket.create_connection(("127.0.0.1", b.port))
    half.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Partial: ")  # half a header block
    body = socket.create_connection(("127.0.0.1", b.port))
    body.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"x" * 100)
    time.sleep(0.1)
    for _ in range(3):  # a single worker: nobody above may block it
        eq(b.get("/health")[0], 200, "serving while clients dawdle")
    for s in (idle, half, body):
        s.close()
    for _ in range(20):  # connect, then leave at once
        socket.create_connection(("127.0.0.1", b.port)).close()
    s = socket.create_connection(("127.0.0.1", b.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.sendall(b"GET /health HTTP/1.1\r\n")
    s.close()  # with a reset
    time.sleep(0.1)
    check(b.proc.poll() is None, "bffd must still run")
    status, _, doc = harness.get_json(b.port, "/health")
    eq((status, doc), (200, {"status": "ok"}), "/health afterwards")
    stop_clean(b)


# ---------------------------------------------------------------- HTTP/2 and TLS


def test_h2c_prior_knowledge():
    h2load = need_tool("h2load")
    nghttp = need_tool("nghttp")
    b = simple_server()
    r = subprocess.run([h2load, "-n", "10", "-c", "1", "http://127.0.0.1:%d/health" % b.port],
                       capture_output=True, text=True, timeout=20)
    check("Application protocol: h2c" in r.stdout, "h2load did not speak h2c:\n%s" % r.stdout)
    check("10 succeeded" in r.stdout and "10 2xx" in r.stdout, "h2load results:\n%s" % r.stdout)
    r = subprocess.run([nghttp, "-v", "http://127.0.0.1:%d/health" % b.port],
                       capture_output=True, text=True, timeout=20)
    check(":status: 200" in r.stdout and "x-request-id:" in r.stdout, "nghttp:\n%s" % r.stdout)
    check('{"status":"ok"}' in r.stdout, "body over h2c:\n%s" % r.stdout)
    stop_clean(b)


def test_h2c_upgrade():
    nghttp = need_tool("nghttp")
    b = simple_server()
    r = subprocess.run([nghttp, "-uv", "http://127.0.0.1:%d/health" % b.port],
                       capture_output=True, text=True, timeout=20)
    check("101 Switching Protocols" in r.stdout and "HTTP Upgrade success" in r.stdout,
          "upgrade failed:\n%s" % r.stdout)
    check(":status: 200" in r.stdout and '{"status":"ok"}' in r.stdout, "response:\n%s" % r.stdout)
    stop_clean(b)


def test_tls_alpn_h2_and_http11():
    curl = need_tool("curl")
    openssl = need_tool("openssl")
    d, port = make_profile(SIMPLE % "secure" + "tls: { certificate: c.pem, key: k.pem }\n")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", "k.pem", "-out", "c.pem"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    srv = Server(["--threads", "1", "--profile", d], [port])
    url = "https://127.0.0.1:%d/health" % port
    for flag, version in (("--http2", "2"), ("--http1.1", "1.1")):
        r = subprocess.run([curl, "-sk", flag, url, "-w", "\n%{http_code} %{http_version}"],
                           capture_output=True, text=True, timeout=20)
        eq(r.stdout, '{"status":"ok"}\n200 %s' % version, "curl %s over TLS (stderr %r)" % (flag, r.stderr))
    r = subprocess.run([curl, "-s", "--http1.1", "http://127.0.0.1:%d/health" % port, "-w", "%{http_code}"],
                       capture_output=True, text=True, timeout=20)
    check(r.stdout != "200" and '{"status":"ok"}' not in r.stdout, "plain HTTP must not be served: %r" % r.stdout)
    eq(srv.proc.poll(), None, "bffd still runs")
    stop_clean(srv)


# ---------------------------------------------------------------- profiles, --listen, --threads


def test_several_profiles():
    b = harness.Bffd({
        "alpha": {"profile": SIMPLE % "alpha", "endpoints": {"hello.yaml": HELLO}},
        "beta": {"profile": SIMPLE % "beta", "endpoints": {"echo.yaml": ECHO}},
    })
    pa, pb = b.ports["alpha"], b.ports["beta"]
    check(pa != pb, "distinct ports")
    eq(harness.get_json(pa, "/ready")[2].get("profile"), "alpha", "alpha's /ready")
    eq(harness.get_json(pb, "/ready")[2].get("profile"), "beta", "beta's /ready")
    status, _, doc = harness.get_json(pa, "/hello")
    eq((status, doc), (200, {"msg": "hi"}), "alpha serves its endpoint")
    eq(b.get("/hello", port=pb)[0], 404, "beta does not serve alpha's endpoint")
    eq(harness.request(pb, "POST", "/echo", body=b"{}")[0], 200, "beta serves its endpoint")
    eq(harness.request(pa, "POST", "/echo", body=b"{}")[0], 404, "alpha does not serve beta's endpoint")
    out = b.output()
    check("alpha" in out and "beta" in out and str(pa) in out and str(pb) in out, "start-up lines: %r" % out)
    stop_clean(b)


def test_listen_override():
    d, configured = make_profile(SIMPLE % "override")
    port = harness.free_port()
    srv = Server(["--threads", "1", "--profile", d, "--listen", "127.0.0.1:%d" % port], [port])
    eq(harness.get_json(port, "/ready")[2].get("profile"), "override", "served on the --listen port")
    check(port_is_closed(configured), "the profile's own port must stay closed")
    check("127.0.0.1:%d" % port in srv.output(), "start-up line names the --listen address")
    stop_clean(srv)
    d2, _ = make_profile(SIMPLE % "other")
    status, _, err = run_bffd(["--profile", d, "--profile", d2, "--listen", "127.0.0.1:%d" % port])
    eq(status, 2, "--listen with two profiles")
    check("--listen" in err, "message: %r" % err)
    status, _, err = run_bffd(["--profile", d, "--listen", "nonsense"])
    eq(status, 2, "--listen without a port")
    check("nonsense" in err and "HOST:PORT" in err, "message: %r" % err)


def test_two_threads():
    b = simple_server({"hello.yaml": HELLO}, threads=2)
    results, lock = [], threading.Lock()

    def client():
        for _ in range(10):
            status, hdrs, body = b.get("/hello")
            with lock:
                results.append((status, body, hdrs.get("x-request-id")))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    eq(len(results), 60, "every request answered")
    check(all(s == 200 and json.loads(body) == {"msg": "hi"} for s, body, _ in results),
          "all 200: %r" % [r[0] for r in results])
    eq(len({r[2] for r in results}), 60, "request ids are unique across workers")
    stop_clean(b)


# ---------------------------------------------------------------- shutdown


def slow_server(upstream, drain_timeout, delay_ms):
    profile = harness.upstream_profile("slow", upstream.url, upstreams=("users",),
                                       extra="limits: { drain_timeout: %s }" % drain_timeout)
    endpoint = """\
        endpoint: GET /slow
        sources:
          u:
            upstream: users
            path: /users/1?delay_ms=%d
        response:
          id: u.id
        """ % delay_ms
    return harness.Bffd({"slow": {"profile": profile, "endpoints": {"slow.yaml": endpoint}}})


def start_slow_request(b, upstream):
    upstream.reset()
    result = {}

    def client():
        try:
            result["answer"] = harness.request(b.port, "GET", "/slow", timeout=10)
        except Exception as e:  # noqa: BLE001 - reported by the test
            result["error"] = e
        result["done"] = time.time()

    t = threading.Thread(target=client)
    t.start()
    deadline = time.time() + 5
    while upstream.stats().get("paths", {}).get("/users/1", 0) == 0:
        check(time.time() < deadline, "the slow request never reached the upstream")
        time.sleep(0.01)
    return t, result


def test_sigterm_drains_in_flight_request():
    upstream = harness.Upstream()
    b = slow_server(upstream, "5s", 800)
    t, result = start_slow_request(b, upstream)
    b.proc.send_signal(signal.SIGTERM)
    signalled = time.time()
    refused_at = None
    while time.time() - signalled < 0.6:
        if port_is_closed(b.port):
            refused_at = time.time()
            break
        time.sleep(0.01)
    check(refused_at is not None, "new connections still accepted after SIGTERM")
    check("done" not in result, "refusal must be observed while the request is in flight")
    t.join(timeout=10)
    check("error" not in result, "in-flight request failed: %r" % result.get("error"))
    status, hdrs, body = result["answer"]
    eq((status, json.loads(body)), (200, {"id": "1"}), "in-flight request completes")
    eq(hdrs.get("connection"), "close", "an answer given while draining does not invite another request")
    status = b.proc.wait(timeout=6)
    exited = time.time()
    eq(status, 0, "exit status after draining\n%s" % b.output())
    no_crash(status, b.output())
    check(exited - signalled < 5.0, "exit within the drain bound (%.2fs)" % (exited - signalled))
    check("draining" in b.output(), "log mentions draining: %r" % b.output())
    upstream.stop()


def test_drain_timeout_bounds_shutdown():
    upstream = harness.Upstream()
    b = slow_server(upstream, "300ms", 2500)
    t, result = start_slow_request(b, upstream)
    signalled = time.time()
    b.proc.send_signal(signal.SIGTERM)
    status = b.proc.wait(timeout=10)
    took = time.time() - signalled
    eq(status, 0, "exit status after the drain timeout\n%s" % b.output())
    no_crash(status, b.output())
    check(took < 2.0, "the 300ms drain bound was not kept: exit after %.2fs" % took)
    t.join(timeout=10)
    check("answer" not in result or result["answer"][0] != 200, "the request could not have completed")
    upstream.stop()


def test_sigint_exits_zero():
    b = simple_server()
    eq(b.get("/health")[0], 200, "serving")
    status = b.stop(signal.SIGINT)
    eq(status, 0, "exit status after SIGINT\n%s" % b.output())
    no_crash(status, b.output())
    check("SIGINT" in b.output(), "log mentions SIGINT: %r" % b.output())
    check(port_is_closed(b.port), "port closed after exit")


if __name__ == "__main__":
    harness.set_time_limit(150)
    harness.Runner().run([
        test_health_and_ready,
        test_unknown_route_404,
        test_wrong_method_405,
        test_request_id,
        test_access_log_lines,
        test_access_log_reopened_by_a_reload,
        test_access_log_lines_are_utf8_whatever_the_request,
        test_header_limit_431,
        test_body_limit_413,
        test_malformed_requests_400,
        test_silent_and_half_clients,
        test_h2c_prior_knowledge,
        test_h2c_upgrade,
        test_tls_alpn_h2_and_http11,
        test_several_profiles,
        test_listen_override,
        test_two_threads,
        test_sigterm_drains_in_flight_request,
        test_drain_timeout_bounds_shutdown,
        test_sigint_exits_zero,
    ])
