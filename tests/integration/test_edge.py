#!/usr/bin/env python3
"""Edge hardening, tried from outside with raw sockets: request smuggling through libh2o 2.2.5's
HTTP/1 parser, path traversal into upstream URLs, overload shedding, and the TLS listener's
protocol and cipher floor.

Needs openssl(1). Run from the repository root: python3 tests/integration/test_edge.py
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402


def raw(port, data, timeout=3):
    """Sends `data` on a new connection; everything the server sends until it closes."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        out += b"<<still open>>"
    s.close()
    return out


def responses(data):
    """How many HTTP/1 responses `data` holds, read one after another by Content-Length."""
    n = 0
    while data.startswith(b"HTTP/1."):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        data = rest[length:]
        n += 1
    return n


SMUGGLED = b"GET /u/9 HTTP/1.1\r\nHost: x\r\n\r\n"
HEADS = [
    ("CL then TE", b"POST /u/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (5 + len(SMUGGLED)) + SMUGGLED),
    ("TE then CL", b"POST /u/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Content-Length: %d\r\n\r\n0\r\n\r\n" % (5 + len(SMUGGLED)) + SMUGGLED),
    ("no Host", b"GET /u/1 HTTP/1.1\r\n\r\n" + SMUGGLED),
    ("two Hosts", b"GET /u/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED),
    ("two Content-Lengths", b"POST /u/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                            b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED),
    ("TE in HTTP/1.0", b"POST /u/1 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    ("obs-fold", b"GET /u/1 HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n" + SMUGGLED),
    ("TE not chunked", b"POST /u/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
    ("CL not a number", b"POST /u/1 HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello" + SMUGGLED),
]


def test_request_smuggling_is_refused():
    up = harness.Upstream()
    d = harness.tmpdir()
    log = os.path.join(d, "access.log")
    prof = harness.upstream_profile("t", up.url).replace("access_log: off", "access_log: " + log)
    bff = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": """\
        endpoint: GET /u/{id}
        sources:
          user: { upstream: users, path: "/users/{id}" }
        response: { id: user.id }
        """, "p.yaml": """\
        endpoint: POST /u/{id}
        sources:
          user: { upstream: users, path: "/users/{id}" }
        response: { id: user.id }
        """}}})
    for name, data in HEADS:
        up.reset()
        out = raw(bff.port, data)
        eq(responses(out), 1, "%s: one response, then the close:\n%r" % (name, out))
        check(out.startswith(b"HTTP/1.1 400 ") or out.startswith(b"HTTP/1.0 400 "), (name, out))
        check(b"<<still open>>" not in out, "%s: the connection must close" % name)
        body = json.loads(out.split(b"\r\n\r\n", 1)[1])
        eq(body["error"]["code"], "bad_request", name)
        eq(up.stats()["requests"], 0, "%s: no upstream call, the hidden request included" % name)
    # Well-formed requests still pass, keep-alive and pipelined.
    out = raw(bff.port, b"GET /u/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /u/2 HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
    eq(responses(out), 2, out)
    out = raw(bff.port, b"GET /u/3 HTTP/1.0\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 200"), out)
    eq(bff.stop(), 0)
    with open(log) as f:
        lines = [json.loads(l) for l in f]
    # One line per refused head, none for the hidden requests: 9 refused + 3 served.
    eq(len(lines), len(HEADS) + 3, lines)
    eq(sum(1 for l in lines if l["status"] == 400), len(HEADS))
    check(all(l["path"] != "/u/9" for l in lines), "the hidden request was never routed")


def test_path_values_never_climb_the_upstream_path():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url)
    bff = harness.Bffd({"t": {"profile": prof, "endpoints": {"p.yaml": """\
        endpoint: GET /p/{id}
        sources:
          e: { upstream: users, path: "/echo/{id}/orders?x=1" }
        response: { raw: e.rawPath }
        """}}})
    # A dot-segment, however spelled, is the client's 400, and no call is made.
    up.reset()
    for value in ("%2e%2e", "%2E%2E", "%2E.", ".%2e", "%2e"):
        status, _, doc = harness.get_json(bff.port, "/p/" + value)
        eq((status, doc["error"]["code"], doc["error"]["parameter"]), (400, "bad_parameter", "id"),
           value)
    eq(up.stats()["requests"], 0)
    # Everything else arrives exactly as encoded for a path segment: byte for byte.
    cases = [("%2F", "%2F"), ("a%2Fb", "a%2Fb"), ("%252F", "%252F"), ("%3F", "%3F"),
             ("%23", "%23"), ("%0D%0A", "%0D%0A"), ("%C3%A9", "%C3%A9"), ("a.b", "a.b"),
             ("...", "..."), ("a" * 1000, "a" * 1000), ("%20", "%20")]
    for sent, expected in cases:
        status, _, doc = harness.get_json(bff.port, "/p/" + sent)
        eq(status, 200, (sent, doc))
        eq(doc["raw"], "/echo/%s/orders?x=1" % expected, sent)
    # A NUL is refused outright.
    eq(harness.get_json(bff.port, "/p/a%00b")[0], 400)
    eq(bff.stop(), 0)


def test_overload_is_shed_with_503():
    import threading
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra="limits: { max_inflight: 4, max_queued_calls: 2 }",
                                    extra_upstream="max_connections: 1")
    bff = harness.Bffd({"t": {"profile": prof, "endpoints": {"s.yaml": """\
        endpoint: GET /slow/{n}
        timeout: 5s
        sources:
          a: { upstream: users, path: "/users/{n}?delay_ms=1200", timeout: 4s }
        response: { id: a.id }
        """}}})
    results = []

    def one(i):
        start = time.time()
        status, hdrs, body = harness.request(bff.port, "GET", "/slow/%d" % i)
        results.append((status, time.time() - start, hdrs.get("retry-after"), body))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.time()
    eq(harness.request(bff.port, "GET", "/health")[0], 200, "health answers under overload")
    check(time.time() - t0 < 0.5, "health is not queued behind the load")
    for t in threads:
        t.join(10)
    shed = [r for r in results if r[0] == 503]
    served = [r for r in results if r[0] == 200]
    eq(len(shed) + len(served), 10, results)
    # 4 in progress at most; of those, 1 call on the connection and 2 queued: 3 served.
    eq(len(served), 3, results)
    for status, elapsed, retry_after, body in shed:
        eq(json.loads(body)["error"]["code"], "overloaded")
        eq(retry_after, "1")
        check(elapsed < 0.5, "a shed request is answered at once (%.2fs)" % elapsed)
    # Normal service once the load is gone.
    eq(harness.request(bff.port, "GET", "/slow/1")[0], 200)
    eq(bff.stop(), 0)


def s_client(port, *args):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args),
                       input=b"", capture_output=True, timeout=20)
    return r.returncode == 0 and b"Cipher is (NONE)" not in r.stdout and b"CONNECTED" in r.stdout


def test_tls_listener_floor():
    d = harness.tmpdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", "k.pem", "-out", "c.pem"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    prof = ("name: t\nlisten: 127.0.0.1:@PORT@\naccess_log: off\n"
            "tls: { certificate: %s/c.pem, key: %s/k.pem }\n" % (d, d))
    bff = harness.Bffd({"t": {"profile": prof, "endpoints": {}}})
    check(s_client(bff.port), "a modern client connects")
    check(s_client(bff.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"), "TLS 1.2 AEAD")
    # The client's own floor lowered to the bottom, so a refusal is the server's doing.
    for args in (["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
                 ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
                 ["-tls1_2", "-cipher", "AES128-SHA@SECLEVEL=0"],          # no forward secrecy, CBC
                 ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA@SECLEVEL=0"],  # CBC
                 ["-tls1_2", "-cipher", "DES-CBC3-SHA@SECLEVEL=0"]):
        check(not s_client(bff.port, *args), "refused: %r" % args)
    eq(bff.stop(), 0)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_request_smuggling_is_refused,
        test_path_values_never_climb_the_upstream_path,
        test_overload_is_shed_with_503,
        test_tls_listener_floor,
    ])
