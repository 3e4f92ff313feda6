"""Helpers of test_compose_sources.py, test_compose_failures.py and test_compose_disconnects.py:
a bffd per test on a fresh demo upstream, timed requests, upstream call counts, and checked(),
which stops every bffd a test started and fails the test on an unclean exit or a sanitizer
report."""
import json
import subprocess
import time

import harness
from harness import check, eq

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


def checked(fn):
    """Runs a test, then stops its bffd processes gracefully and checks their exit."""
    def run():
        del _started[:]
        fn()
        for bffd in _started:
            stop_clean(bffd)
    run.__name__ = fn.__name__
    return run
