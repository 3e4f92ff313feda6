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


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_breaker_closes_when_two_required_sources_share_an_upstream,
    ])
