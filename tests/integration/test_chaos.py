#!/usr/bin/env python3
"""Chaos: the real bffd (two worker threads) under a random mix of good, bad and hostile clients
for ~15 s, against the C demo upstream with its failure knobs switched per request.

One profile with six endpoints uses every composition feature together: parallel sources, chains
(a -> b -> c, orders -> details / ship, user -> note, recs -> prods), for_each with concurrency,
batch, optional sources with and without fallback, required sources, retries, circuit breakers
with short cooldowns, a bulkhead (max_concurrent), a POST source with a JSON body and a header
taken from the client, per-source timeouts, endpoint deadlines, $merge (nested and top-level),
$filter, $select, $limit, $default, $format, $allow and $deny. The upstream paths carry the demo
upstream's knobs (delay_ms, status, malformed, notjson, hang, size) as query parameters the client
chooses, so every request decides how its upstream calls fail. One more upstream never completes
a TCP connect (a listener with a full backlog), so its calls are always cancelled while connecting.

Sixteen client threads then run a weighted random mix of:
  * normal requests over HTTP/1.1 keep-alive (answers compared with bodies computed independently
    from a second, reference demo upstream: exact when not partial, field by field when partial);
  * requests with failure knobs (each knob has a required consequence: a forced status on a
    required source can never give 200, a broken optional source must be listed in `errors`, ...);
  * requests with bad parameters (400 naming the parameter, 404, 405);
  * clients that disconnect mid-request, while the upstream calls are out, or mid-response (4 MB
    answers read partly, then reset);
  * raw garbage (random bytes, broken request heads, an HTTP/2 preface followed by junk);
  * oversized headers (431 JSON; beyond libh2o's own limits its plain 400);
  * HTTP/1.1 pipelining and half-closed sockets (bffd takes the FIN for a hang-up and may answer
    499 client_closed_request: accepted, counted);
  * HTTP/2 connections with raw frames: several streams, some reset at once, some later, some read
    to the end (their :status decoded from HPACK), PINGs, abrupt closes; once a burst of 500
    HEADERS+RST_STREAM pairs (rapid reset);
  * upstream hangs beyond endpoint deadlines.
Every answer that arrives must be well-formed for its kind of request, and arrive within its
endpoint's deadline plus slack. Afterwards: /health within 1 s, exact bodies again, on both worker
threads (no breaker or bulkhead left stuck), bounded upstream call counts (no amplification by
resets or disconnects, none after the clients stop), bounded RSS growth, a clean SIGTERM drain with
requests in flight and an idle keep-alive connection, and no sanitizer report.

Environment: BFF_CHAOS_SEED (default fixed, printed), BFF_CHAOS_SECONDS (default 15),
BFF_CHAOS_THREADS (default 16), BFF_BUILD_DIR (e.g. build-asan).
The profile and its reference answers are in chaos_profile.py, the requests and the checks of
their answers in chaos_requests.py, the client threads in chaos_clients.py.
Run from the repository root: python3 tests/integration/test_chaos.py
"""
import http.client
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import chaos_clients  # noqa: E402
from chaos_clients import RAPID, ST, client  # noqa: E402
from chaos_profile import (BIG, BULK, CHAIN, DASH, DRAIN_TIMEOUT, SLOW, TARPIT,  # noqa: E402
                           bulk_expected, chain_expected, dash_expected, load_reference,
                           profile_text, slow_expected)
from chaos_requests import max_calls  # noqa: E402
from harness import check, eq  # noqa: E402

SEED = int(os.environ.get("BFF_CHAOS_SEED") or 20240611)
DURATION = float(os.environ.get("BFF_CHAOS_SECONDS") or 15)
THREADS = int(os.environ.get("BFF_CHAOS_THREADS") or 16)
harness.set_time_limit(max(120, int(DURATION) + 105))


def tarpit_listener():
    """A listener that never accepts, its backlog filled: connects to it stay in SYN_SENT."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    fillers = []
    for _ in range(3):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(lst.getsockname())
        fillers.append(f)
    time.sleep(0.1)
    return (lst, fillers), "http://127.0.0.1:%d" % lst.getsockname()[1]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def exact(bffd, path, expected, tries=12):
    """GETs path until the body is exactly `expected` (breakers of both workers may still be
    open or half-open after the chaos); returns (attempts, last answer)."""
    last = None
    for attempt in range(1, tries + 1):
        status, hdrs, raw = harness.request(bffd.port, "GET", path, timeout=5)
        body = json.loads(raw)
        if isinstance(body, dict) and isinstance(body.get("echo"), str):
            body["echo"] = json.loads(body["echo"])
        last = (status, hdrs.get("bff-partial"), body)
        if status == 200 and "bff-partial" not in hdrs and body == expected:
            if isinstance(expected, dict):
                eq(list(body), list(expected), "member order of %s" % path)
            return attempt, last
        time.sleep(0.35)
    raise AssertionError("%s never gave the expected body; last answer %r\nexpected %r" % (path, last, expected))


def steady(bffd, cases, workers=2, limit=80):
    """Sequential requests (no two calls to one upstream overlap, so a half-open breaker's trial
    always decides alone) until every worker thread - told apart by the worker field of the
    generated X-Request-ID - has answered every case: all must be exact. A breaker or bulkhead
    left stuck on one worker by the chaos shows here."""
    seen = {}
    for k in range(limit):
        path, expected = cases[k % len(cases)]
        status, hdrs, raw = harness.request(bffd.port, "GET", path, timeout=5)
        worker = hdrs.get("x-request-id", "")[16:20]
        got = (status, hdrs.get("bff-partial"), json.loads(raw))
        eq(got, (200, None, expected), "%s on worker %s (%d requests after the chaos)" % (path, worker, k + 1))
        seen.setdefault(worker, set()).add(path)
        if len(seen) >= workers and all(len(v) == len(cases) for v in seen.values()):
            break
    return {w: len(v) for w, v in seen.items()}


def test_chaos():
    print("chaos seed %d (replay: BFF_CHAOS_SEED=%d), %.0f s, %d client threads, build %s"
          % (SEED, SEED, DURATION, THREADS, harness.BUILD_DIR), flush=True)
    t0 = time.monotonic()
    up = harness.Upstream(threads=2)
    ref = harness.Upstream()
    env = {}
    if "quarantine_size_mb" not in os.environ.get("ASAN_OPTIONS", ""):
        # a smaller ASan quarantine keeps RSS meaningful under the sanitizer build
        env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
    hole, hole_url = tarpit_listener()
    bffd = harness.Bffd({"chaos": {"profile": profile_text(up.url, hole_url), "endpoints": {
        "dash.yaml": DASH, "chain.yaml": CHAIN, "bulk.yaml": BULK, "slow.yaml": SLOW, "big.yaml": BIG,
        "tarpit.yaml": TARPIT}}}, threads=2, env=env)
    chaos_clients.PORT = bffd.port
    load_reference(ref.port)

    # sanity before the storm: every endpoint gives exactly what the reference data says
    exact(bffd, "/dash/c0?n=5", dash_expected("c0", 5), tries=1)
    exact(bffd, "/chain/c1", chain_expected("c1"), tries=1)
    exact(bffd, "/bulk/c2?k=7&d=0", bulk_expected("c2", 7), tries=1)
    exact(bffd, "/slow/c3?h=0&oh=0", slow_expected("c3", 0), tries=1)
    status, hdrs, raw = harness.request(bffd.port, "GET", "/tarpit/c5")
    eq((status, hdrs.get("bff-partial"), json.loads(raw)["stuck"]), (200, "true", "none"), "/tarpit")
    status, _, raw = harness.request(bffd.port, "GET", "/big/c4?kb=3")
    eq((status, json.loads(raw)), (200, {"id": "c4", "pad": "x" * 2986}), "/big")
    up.reset()

    # the storm; RSS is sampled once the warm-up fifth is over
    start = time.monotonic()
    until = start + DURATION
    threads = [threading.Thread(target=client, args=(SEED, k, until), daemon=True) for k in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(min(3.0, DURATION * 0.2))
    rss_warm = rss_kb(bffd.proc.pid)
    for t in threads:
        t.join(timeout=max(0.0, until - time.monotonic()) + 12)
    stuck = [t for t in threads if t.is_alive()]
    ST.stop.set()
    storm = time.monotonic() - start
    check(bffd.proc.poll() is None, "bffd died during the chaos (status %s):\n%s"
          % (bffd.proc.returncode, bffd.output()[-6000:]))
    check(not stuck, "%d client threads still stuck 12 s after the end" % len(stuck))

    # summary
    print("storm %.1fs: ops %s" % (storm, json.dumps(ST.ops, sort_keys=True)), flush=True)
    print("answers %s" % json.dumps(ST.statuses, sort_keys=True), flush=True)
    print("502/504 reasons %s" % json.dumps(ST.reasons, sort_keys=True), flush=True)
    print("notes %s" % json.dumps(ST.notes, sort_keys=True), flush=True)
    print("max latency %s" % json.dumps({k: round(v, 3) for k, v in ST.max_latency.items()}, sort_keys=True), flush=True)
    if ST.failures:
        print("%d failures, the first ones:" % len(ST.failures), flush=True)
        kinds = {}
        for f in ST.failures:
            kinds[f.split(":")[0]] = kinds.get(f.split(":")[0], 0) + 1
        print("  by kind: %s" % json.dumps(kinds, sort_keys=True), flush=True)
        shown, first = set(), []
        for f in ST.failures:  # the first of every kind, then the others up to 25 lines
            if f.split(":")[0] not in shown:
                shown.add(f.split(":")[0])
                first.append(f)
        for f in first + [f for f in ST.failures if f not in first][:max(0, 25 - len(first))]:
            print("  - " + f[:1500], flush=True)
    check(not ST.failures, "%d bad answers or client-side failures (listed above)" % len(ST.failures))

    # /health within 1 s
    t = time.monotonic()
    status, _, raw = harness.request(bffd.port, "GET", "/health", timeout=1)
    took = time.monotonic() - t
    eq((status, json.loads(raw)), (200, {"status": "ok"}), "/health after the chaos")
    check(took < 1.0, "/health took %.2fs" % took)

    # no calls once the clients are gone: hung ones end at their deadline, nothing retries on
    time.sleep(1.6)  # > the longest deadline, so every call from the storm has ended
    calls = up.stats()
    time.sleep(1.0)
    calls_later = up.stats()
    eq(calls_later["requests"], calls["requests"], "upstream calls went on after the clients stopped")
    total = calls["requests"]
    rr = sum(v for k, v in calls["paths"].items() if k.startswith("/users/rr"))
    bound = ST.bound + 25 * max_calls("dash")
    print("upstream calls %d, bound %d (%.0f%%); rapid reset: %d pairs sent, %d calls for them"
          % (total, bound, 100.0 * total / max(1, bound), RAPID["sent"], rr), flush=True)
    check(rr <= 25, "500 HEADERS+RST_STREAM pairs caused %d upstream calls" % rr)
    check(total <= bound, "%d upstream calls for requests that can cause at most %d" % (total, bound))

    # exact bodies again (breakers may need their cooldown and a trial call per worker)
    attempts = [exact(bffd, "/dash/%s?n=%d" % (i, n), dash_expected(i, n))[0] for i, n in (("c5", 8), ("c6", 1))]
    attempts.append(exact(bffd, "/chain/c7", chain_expected("c7"))[0])
    attempts.append(exact(bffd, "/bulk/c8?k=12&d=0", bulk_expected("c8", 12))[0])
    attempts.append(exact(bffd, "/slow/c9?h=0&oh=0", slow_expected("c9", 0))[0])
    print("exact bodies after the chaos (attempts: %s)" % attempts, flush=True)
    seen = steady(bffd, [("/chain/c7", chain_expected("c7")), ("/bulk/c8?k=1&d=0", bulk_expected("c8", 1)),
                         ("/big/c4?kb=2", {"id": "c4", "pad": "x" * 1986})])
    print("steady: cases answered exactly per worker: %s" % json.dumps(seen, sort_keys=True), flush=True)
    check(len(seen) == 2 and min(seen.values()) == 3, "not every worker answered every case: %r" % seen)

    rss_end = rss_kb(bffd.proc.pid)
    print("RSS: %d KiB after warm-up, %d KiB at the end" % (rss_warm, rss_end), flush=True)
    check(rss_end <= rss_warm * 1.5 + 64 * 1024, "RSS grew from %d KiB to %d KiB" % (rss_warm, rss_end))

    # SIGTERM with requests in flight (they finish; /chain's upstreams are known to be healthy on
    # both workers now) and an idle keep-alive connection (it must not hold the drain up)
    idle = http.client.HTTPConnection("127.0.0.1", bffd.port, timeout=5)
    idle.request("GET", "/health")
    idle.getresponse().read()
    results = {}

    def inflight(k):
        try:
            results[k] = harness.request(bffd.port, "GET", "/chain/c%d?sd=200" % k, timeout=8)
        except Exception as e:
            results[k] = e

    workers = [threading.Thread(target=inflight, args=(k,)) for k in (10, 11)]
    for w in workers:
        w.start()
    time.sleep(0.1)
    signalled = time.monotonic()
    rc = bffd.stop(timeout=DRAIN_TIMEOUT + 10)
    took = time.monotonic() - signalled
    for w in workers:
        w.join(timeout=5)
    idle.close()
    out = bffd.output()
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "drain timeout"):
        check(marker not in out, "bffd reported %r:\n%s" % (marker, out[-8000:]))
    eq(rc, 0, "bffd exit status; output:\n%s" % out[-3000:])
    check(took < DRAIN_TIMEOUT + 1.0, "exit %.2fs after SIGTERM (drain bound %.0fs)" % (took, DRAIN_TIMEOUT))
    for k in (10, 11):
        res = results.get(k)
        check(isinstance(res, tuple) and res[0] == 200, "in-flight request during the drain: %r" % (res,))
        eq(json.loads(res[2]), chain_expected("c%d" % k), "in-flight request's body")
    print("drained in %.2fs; whole test %.1fs" % (took, time.monotonic() - t0), flush=True)


if __name__ == "__main__":
    harness.Runner().run([test_chaos])
