"""Composition end to end when clients go away: an HTTP/1 close or an HTTP/2 RST_STREAM cancels the
request and its dependent calls, and HTTP/2 rapid reset (CVE-2023-44487) costs bounded upstream
work. Talks HTTP/2 over raw frames (h2raw.py).

Run from the repository root: python3 tests/integration/test_compose_disconnects.py
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h2raw  # noqa: E402
import harness  # noqa: E402
from compose_helpers import assert_healthy, checked, paths, setup  # noqa: E402
from h2raw import HEADERS, h2_frame, h2_rst, hpack_literal  # noqa: E402
from harness import check, eq  # noqa: E402

harness.set_time_limit(170)


def h2_headers(stream_id, path, extra=()):
    """A GET of `path` that ends the stream (h2raw's frames, HPACK literals)."""
    block = b"".join(hpack_literal(k, v) for k, v in
                     [(":method", "GET"), (":scheme", "http"), (":path", path),
                      (":authority", "127.0.0.1")] + list(extra))
    return h2_frame(HEADERS, 0x5, stream_id, block)  # END_STREAM | END_HEADERS


class H2Conn(h2raw.H2Conn):
    """h2raw's raw HTTP/2 connection to 127.0.0.1:port, waiting for one stream's body."""

    def __init__(self, port):
        super().__init__(socket.create_connection(("127.0.0.1", port), timeout=5), table_size_zero=False)

    def response_body(self, stream_id, timeout=3.0):
        """The DATA of one stream once it ended (None if reset or it never completes)."""
        deadline = time.monotonic() + timeout
        while stream_id not in self.ended and not self.closed and time.monotonic() < deadline:
            self.pump(min(0.05, max(0.0, deadline - time.monotonic())))
        return self.data.get(stream_id) if self.ended.get(stream_id) == "end" else None


# ---------------------------------------------------------------- 1. client disconnects

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


# ---------------------------------------------------------------- 2. HTTP/2 rapid reset

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


if __name__ == "__main__":
    harness.Runner().run([checked(t) for t in [
        test_http1_client_disconnect_stops_further_calls,
        test_http2_reset_cancels_the_request_and_its_dependent_call,
        test_http2_rapid_reset,
    ]])
