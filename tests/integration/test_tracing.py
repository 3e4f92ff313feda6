#!/usr/bin/env python3
"""Tracing against real processes: bffd exports a span per request and per source to an OTLP/HTTP
collector (a stub here, 127.0.0.1, JSON encoding), in the client's trace with bffd's request span
as the parent of what it sends upstream; new traces follow sample_ratio, a client's sampled flag
is kept; a collector that is down costs no request and its spans are counted as dropped.

Run from the repository root: python3 tests/integration/test_tracing.py
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

TOKEN = "trace-admin-token-0123456789"
ENDPOINT = """
endpoint: GET /dash/{id}
sources:
  user: { upstream: users, path: "/echo?u={id}" }
  orders: { upstream: orders, path: "/orders?userId={id}&status=503", optional: true }
response:
  seen: user.headers
  orders: orders
"""


class Collector:
    """An OTLP/HTTP collector stub: keeps every span it is sent."""

    def __init__(self):
        self.spans = []
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append((self.path, self.headers.get("Content-Type"), body))
                doc = json.loads(body)
                for rs in doc["resourceSpans"]:
                    svc = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
                    for ss in rs["scopeSpans"]:
                        for s in ss["spans"]:
                            s["_service"] = svc.get("service.name")
                            outer.spans.append(s)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.spans) < n:
            time.sleep(0.05)
        return self.spans


def serve(collector_port, ratio="1", admin=None):
    up = harness.Upstream()
    extra = """tracing:
  otlp_endpoint: http://127.0.0.1:%d/v1/traces
  service_name: bffd-test
  sample_ratio: %s
  flush_interval: 100ms
  batch_size: 50
""" % (collector_port, ratio)
    prof = harness.upstream_profile("t", up.url, extra=extra)
    args, env = [], {}
    if admin:
        args = ["--admin", "127.0.0.1:%d" % admin]
        env = {"BFFD_ADMIN_TOKEN": TOKEN}
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"d.yaml": ENDPOINT}}}, extra_args=args, env=env)
    return up, b


def attrs(span):
    return {a["key"]: list(a["value"].values())[0] for a in span.get("attributes", [])}


def test_spans_in_the_clients_trace():
    col = Collector()
    up, b = serve(col.port)
    trace, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    st, _, body = harness.request(b.port, "GET", "/dash/7", headers={"traceparent": "00-%s-%s-01" % (trace, parent)})
    eq(st, 200, body)
    sent = json.loads(body)["seen"]["traceparent"]
    spans = col.wait(3)
    eq(len(spans), 3, spans)
    eq(col.requests[0][0], "/v1/traces")
    eq(col.requests[0][1], "application/json")
    server = [s for s in spans if s["kind"] == 2]
    client = {attrs(s)["bff.source"]: s for s in spans if s["kind"] == 3}
    eq((len(server), sorted(client)), (1, ["orders", "user"]))
    req = server[0]
    eq((req["traceId"], req["parentSpanId"], req["name"], req["_service"]),
       (trace, parent, "GET /dash/{id}", "bffd-test"))
    a = attrs(req)
    eq((a["http.route"], a["http.response.status_code"], a["bff.profile"]), ("/dash/{id}", "200", "t"))
    eq(sent, "00-%s-%s-01" % (trace, req["spanId"]), "upstreams see bffd's request span as parent")
    for s in client.values():
        eq((s["traceId"], s["parentSpanId"]), (trace, req["spanId"]))
        check(int(s["startTimeUnixNano"]) >= int(req["startTimeUnixNano"]) and
              int(s["endTimeUnixNano"]) <= int(req["endTimeUnixNano"]) + 1000000, (s, req))
        check(abs(int(s["startTimeUnixNano"]) / 1e9 - time.time()) < 60, s)
    eq((client["user"]["status"]["code"], attrs(client["user"])["bff.upstream"],
        attrs(client["user"]).get("http.response.status_code")), (0, "users", "200"),
       "a successful call's span has its status too")
    eq((client["orders"]["status"]["code"], attrs(client["orders"]).get("http.response.status_code"),
        attrs(client["orders"]).get("error.type")), (2, "503", "bad_status"))
    check(len({s["spanId"] for s in spans}) == 3, "distinct span ids")


def test_sampling():
    col = Collector()
    up, b = serve(col.port, ratio="0")
    for _ in range(5):
        eq(harness.request(b.port, "GET", "/dash/1")[0], 200)  # new traces: none sampled
    harness.request(b.port, "GET", "/dash/2", headers={"traceparent": "00-%s-%s-00" % ("a" * 32, "b" * 16)})
    st, _, body = harness.request(b.port, "GET", "/dash/3", headers={"traceparent": "00-%s-%s-01" % ("c" * 32, "d" * 16)})
    check(json.loads(body)["seen"]["traceparent"].endswith("-01"), body)
    spans = col.wait(3)
    time.sleep(0.3)
    eq({s["traceId"] for s in col.spans}, {"c" * 32}, "only the trace the client sampled")
    st, _, body = harness.request(b.port, "GET", "/dash/4")
    check(json.loads(body)["seen"]["traceparent"].endswith("-00"), "unsampled upstream: flags 00")


def test_collector_down_costs_nothing():
    dead = harness.free_port()  # nothing listens there
    aport = harness.free_port()
    up, b = serve(dead, admin=aport)
    harness.wait_port(aport)
    for i in range(20):
        eq(harness.request(b.port, "GET", "/dash/%d" % i)[0], 200)
    deadline = time.time() + 10
    dropped = 0
    while time.time() < deadline:
        st, _, body = harness.request(aport, "GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
        line = [l for l in body.decode().splitlines() if l.startswith('bffd_trace_spans_total{profile="t",result="dropped"}')]
        dropped = float(line[0].split()[-1]) if line else 0
        if dropped >= 60:
            break
        time.sleep(0.1)
    eq(dropped, 60, "3 spans per request, all dropped and counted")


def test_graphql_calls_get_spans():
    col = Collector()
    up = harness.Upstream()
    extra = "tracing:\n  otlp_endpoint: http://127.0.0.1:%d/v1/traces\n  flush_interval: 100ms\n" % col.port
    prof = harness.upstream_profile("t", up.url, extra=extra)
    b = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": harness.demo_graph()}}})
    q = '{ user(id: "3") { name orders(limit: 2) { id items { product { name } } } } }'
    st, _, body = harness.request(b.port, "POST", "/graphql", body=json.dumps({"query": q}).encode(),
                                  headers={"Content-Type": "application/json"})
    eq(st, 200, body)
    check("errors" not in json.loads(body), body)
    spans = col.wait(4)
    server = [s for s in spans if s["kind"] == 2]
    client = sorted(attrs(s)["bff.source"] for s in spans if s["kind"] == 3)
    eq((len(server), server[0]["name"]), (1, "POST"))
    # One span per call the operation made: the items' products are one batched call.
    eq(client, ["OrderItem.product", "Query.user", "User.orders"], spans)
    for s in spans:
        if s["kind"] == 3:
            eq((s["traceId"], s["parentSpanId"]), (server[0]["traceId"], server[0]["spanId"]))
    eq(b.stop(), 0)


def test_check_rejects_bad_tracing():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    prof = harness.upstream_profile("t", "http://127.0.0.1:9", extra="tracing:\n  otlp_endpoint: udp://x\n").replace("@PORT@", "18555")
    harness.write(os.path.join(d, "profile.yaml"), prof)
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    check(r.returncode != 0 and "profile.yaml:5:" in out and "otlp_endpoint" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(120)
    harness.Runner().run([
        test_spans_in_the_clients_trace,
        test_sampling,
        test_collector_down_costs_nothing,
        test_graphql_calls_get_spans,
        test_check_rejects_bad_tracing,
    ])
