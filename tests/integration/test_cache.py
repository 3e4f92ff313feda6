#!/usr/bin/env python3
"""Caching against real processes: the demo upstream counts the calls a cached request must not
make, a real redis-server is the second level (and is killed, stopped and slowed), and the real
bffd answers: hits and misses, TTL expiry, the upstream's Cache-Control, per-principal keys,
stale-while-revalidate with exactly one refresh, stale-if-error, coalescing of identical
misses, ETag/304, two instances sharing Redis, and Redis failures that never fail a request.

Run from the repository root: python3 tests/integration/test_cache.py
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

USER = """
endpoint: GET /users/{id}
params:
  id: { max_length: 32 }
%(cache)s
sources:
  user: { upstream: users, path: "/users/{id}%(query)s" }
response:
  id: user.id
  name: user.firstName
"""


def user_endpoint(cache="cache: 30s", query=""):
    return USER % {"cache": cache, "query": query}


def serve(endpoints, cache_block="cache: {}", upstream=None, threads=1, name="t"):
    up = upstream or harness.Upstream()
    prof = harness.upstream_profile(name, up.url, extra=cache_block)
    return up, harness.Bffd({name: {"profile": prof, "endpoints": endpoints}}, threads=threads)


def calls(up, path):
    return up.stats()["paths"].get(path, 0)


def test_hits_and_misses_counted_at_the_upstream():
    up, b = serve({"u.yaml": user_endpoint()})
    st, h, body = harness.request(b.port, "GET", "/users/7")
    eq((st, h.get("x-cache")), (200, "miss"), body)
    first = json.loads(body)
    st, h2, body2 = harness.request(b.port, "GET", "/users/7")
    eq((st, h2.get("x-cache")), (200, "hit"), body2)
    eq(json.loads(body2), first, "the hit is the composed answer")
    eq(calls(up, "/users/7"), 1, "a cached request does not reach the upstream")
    check(h2.get("etag") == h.get("etag") and h.get("etag", "").startswith('"'), (h, h2))
    check("age" in h2 and h2["age"].isdigit(), h2)
    check("cache;desc=hit" in h2.get("server-timing", ""), h2)
    st, _, _ = harness.request(b.port, "GET", "/users/8")
    eq(calls(up, "/users/8"), 1, "another parameter is another entry")
    # HEAD is GET without the body: the same entry
    st, hh, body = harness.request(b.port, "HEAD", "/users/7")
    eq((st, hh.get("x-cache"), body), (200, "hit", b""))
    eq(calls(up, "/users/7"), 1)


def test_etag_and_304():
    up, b = serve({"u.yaml": user_endpoint()})
    st, h, _ = harness.request(b.port, "GET", "/users/5")
    etag = h["etag"]
    st, h2, body = harness.request(b.port, "GET", "/users/5", headers={"If-None-Match": etag})
    eq((st, body, h2.get("etag")), (304, b"", etag))
    st, _, _ = harness.request(b.port, "GET", "/users/5", headers={"If-None-Match": '"other", ' + etag})
    eq(st, 304, "a list of validators")
    st, _, body = harness.request(b.port, "GET", "/users/5", headers={"If-None-Match": '"nope"'})
    eq(st, 200, body)
    eq(calls(up, "/users/5"), 1)
    # A miss that composes the same bytes the client holds is a 304 too.
    b2 = harness.Bffd({"t": {"profile": harness.upstream_profile("t", up.url, extra="cache: {}"),
                             "endpoints": {"u.yaml": user_endpoint()}}})
    st, h3, body = harness.request(b2.port, "GET", "/users/5", headers={"If-None-Match": etag})
    eq((st, h3.get("x-cache"), body), (304, "miss", b""), "same spec, same body, same ETag")


def test_ttl_expiry():
    up, b = serve({"u.yaml": user_endpoint("cache: 1s")})
    harness.request(b.port, "GET", "/users/1")
    harness.request(b.port, "GET", "/users/1")
    eq(calls(up, "/users/1"), 1)
    time.sleep(1.2)
    st, h, _ = harness.request(b.port, "GET", "/users/1")
    eq((st, h.get("x-cache")), (200, "miss"), "expired")
    eq(calls(up, "/users/1"), 2)


def test_upstream_cache_control_shortens_or_forbids():
    up, b = serve({"a.yaml": user_endpoint("cache: 60s", "?cache_control=no-store"),
                   "b.yaml": user_endpoint("cache: 60s", "?cache_control=max-age%3D1").replace(
                       "/users/{id}", "/short/{id}", 1)})
    for _ in range(2):
        st, h, _ = harness.request(b.port, "GET", "/users/3")
        eq((st, h.get("x-cache"), h.get("cache-control")), (200, "miss", "no-store"))
    eq(calls(up, "/users/3"), 2, "no-store from the upstream: never stored")
    harness.request(b.port, "GET", "/short/4")
    st, h, _ = harness.request(b.port, "GET", "/short/4")
    eq(h.get("x-cache"), "hit")
    time.sleep(1.2)
    st, h, _ = harness.request(b.port, "GET", "/short/4")
    eq(h.get("x-cache"), "miss", "max-age=1 shortened the 60s ttl")


def test_credentials_split_the_key():
    ep = """
endpoint: GET /me
%s
sources:
  user: { upstream: users, path: "/users/me", headers: { Authorization: "{header.authorization}" } }
response: { id: user.id }
"""
    up, b = serve({"me.yaml": ep % "cache: 30s", "shared.yaml": (ep % "cache: { ttl: 30s, shared: true }").replace("/me\n", "/shared\n", 1)})
    for tok in ("Bearer a", "Bearer b", "Bearer a"):
        st, h, _ = harness.request(b.port, "GET", "/me", headers={"Authorization": tok})
        eq(st, 200)
    eq(calls(up, "/users/me"), 2, "one entry per credential")
    check(h.get("cache-control", "").startswith("private"), h)
    for tok in ("Bearer a", "Bearer b"):
        harness.request(b.port, "GET", "/shared", headers={"Authorization": tok})
    eq(calls(up, "/users/me"), 3, "shared: one entry for every principal")


def test_answers_keyed_by_request_headers_say_vary():
    ep = """
endpoint: GET /hello
cache: { ttl: 30s, client_max_age: 30s }
sources:
  e: { upstream: users, path: "/echo", headers: { Accept-Language: "{header.accept-language}", X-Tenant: "{header.x-tenant}" } }
response: { lang: e.headers.accept-language }
"""
    up, b = serve({"h.yaml": ep, "u.yaml": user_endpoint()})
    for lang in ("de", "fr", "de"):
        st, h, body = harness.request(b.port, "GET", "/hello", headers={"Accept-Language": lang, "X-Tenant": "t"})
        eq((st, json.loads(body)["lang"]), (200, lang))
        check(h.get("cache-control", "").startswith("public, max-age="), h)
        eq(h.get("vary"), "accept-language, x-tenant", "a shared cache must key on them too")
    eq(calls(up, "/echo"), 2, "one entry per language")
    st, h, _ = harness.request(b.port, "GET", "/users/3")
    check("vary" not in h, "an endpoint that reads no header: no Vary (%r)" % h)


def test_stale_while_revalidate_refreshes_once():
    up, b = serve({"u.yaml": user_endpoint("cache: { ttl: 1s, stale_while_revalidate: 30s }")})
    harness.request(b.port, "GET", "/users/9")
    time.sleep(1.2)
    xs = []
    for _ in range(5):
        st, h, _ = harness.request(b.port, "GET", "/users/9")
        xs.append(h.get("x-cache"))
    eq(xs[0], "stale", xs)
    time.sleep(0.3)
    eq(calls(up, "/users/9"), 2, "exactly one background refresh")
    st, h, _ = harness.request(b.port, "GET", "/users/9")
    eq(h.get("x-cache"), "hit", "the refresh stored a fresh entry")


def test_stale_if_error():
    up, b = serve({"u.yaml": user_endpoint("cache: { ttl: 1s, stale_if_error: 60s }")})
    st, _, body = harness.request(b.port, "GET", "/users/2")
    harness.request(up.port, "POST", "/__chaos?service=users&status=503")
    time.sleep(1.2)
    st, h, body2 = harness.request(b.port, "GET", "/users/2")
    eq((st, h.get("x-cache")), (200, "stale"), body2)
    eq(json.loads(body2), json.loads(body))
    harness.request(up.port, "POST", "/__chaos")
    st, h, _ = harness.request(b.port, "GET", "/users/2")
    eq((st, h.get("x-cache")), (200, "miss"), "healed: composed again")
    # A 4xx the upstream passes on is an answer, not a fault: deleted or forbidden stays so.
    for status in (404, 410, 403, 401):
        harness.request(up.port, "POST", "/__chaos?service=users&status=%d" % status)
        time.sleep(1.2)
        st, h, _ = harness.request(b.port, "GET", "/users/2")
        eq((st, h.get("x-cache")), (status, None), "upstream %d" % status)
        harness.request(up.port, "POST", "/__chaos")
        eq(harness.request(b.port, "GET", "/users/2")[0], 200)


def hammer(port, path, n, results):
    def one():
        try:
            st, h, _ = harness.request(port, "GET", path, timeout=20)
            results.append((st, h.get("x-cache")))
        except Exception as e:  # noqa: BLE001
            results.append((0, repr(e)))
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def test_coalescing_identical_misses():
    up, b = serve({"u.yaml": user_endpoint("cache: 30s", "?delay_ms=400")})
    results = []
    hammer(b.port, "/users/11", 100, results)
    eq(sorted(set(r[0] for r in results)), [200], results[:5])
    eq(calls(up, "/users/11"), 1, "100 concurrent identical misses, one upstream call")


def test_two_instances_share_redis():
    redis = harness.Redis()
    block = "cache:\n  redis: %s\n  prefix: \"t1:\"" % redis.url
    up = harness.Upstream()
    _, a = serve({"u.yaml": user_endpoint("cache: 30s", "?delay_ms=300")}, block, upstream=up)
    _, b = serve({"u.yaml": user_endpoint("cache: 30s", "?delay_ms=300")}, block, upstream=up)
    time.sleep(0.3)  # both connected
    st, h, _ = harness.request(a.port, "GET", "/users/21")
    eq(h.get("x-cache"), "miss")
    # The entry goes to Redis after the answer (write-behind): under load b could ask first.
    for _ in range(100):
        if any(k.startswith(b"t1:") and b"lock:" not in k for k in redis.keys()):
            break
        time.sleep(0.05)
    st, h, _ = harness.request(b.port, "GET", "/users/21")
    eq((st, h.get("x-cache")), (200, "hit"), "the other instance found it in Redis")
    eq(calls(up, "/users/21"), 1)
    check(any(k.startswith(b"t1:") for k in redis.keys()), redis.keys())


def test_two_instances_coalesce_through_the_lock():
    """Identical misses at two instances at once: one composes (it holds the key's lock in
    Redis), the other waits for its entry: one upstream call in all."""
    redis = harness.Redis()
    block = "cache:\n  redis: %s" % redis.url
    up = harness.Upstream()
    _, a = serve({"u.yaml": user_endpoint("cache: 30s", "?delay_ms=400")}, block, upstream=up)
    _, b = serve({"u.yaml": user_endpoint("cache: 30s", "?delay_ms=400")}, block, upstream=up)
    time.sleep(0.3)
    results = []
    ts = [threading.Thread(target=hammer, args=(port, "/users/33", 10, results)) for port in (a.port, b.port)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(sorted(set(r[0] for r in results)), [200], results[:4])
    eq(calls(up, "/users/33"), 1, "20 concurrent misses at two instances, one upstream call")
    eq(redis.keys("*lock:*"), [], "the lock is released once the entry is stored")


def test_redis_down_never_fails_a_request():
    redis = harness.Redis()
    block = "cache:\n  redis: %s\n  command_timeout: 100ms" % redis.url
    up, b = serve({"u.yaml": user_endpoint("cache: 30s")}, block)
    time.sleep(0.3)
    harness.request(b.port, "GET", "/users/31")
    st, _, body = harness.request(b.port, "GET", "/ready")
    eq(st, 200, body)
    redis.stop()
    for i in range(5):
        st, h, _ = harness.request(b.port, "GET", "/users/4%d" % i)
        eq(st, 200, "answered from the upstream with Redis gone")
    st, _, body = harness.request(b.port, "GET", "/ready")
    eq(st, 200, "an orchestrator must not pull the instance: %r" % body)
    check(b"degraded" in body, body)
    redis2 = harness.Redis(port=redis.port)
    deadline = time.time() + 6
    stored = False
    i = 0
    while time.time() < deadline and not stored:
        i += 1
        harness.request(b.port, "GET", "/users/5%d" % i)  # a new key each time: a miss, a store
        stored = len(redis2.keys()) > 0
        time.sleep(0.2)
    check(stored, "caching resumed within 5 s of Redis coming back")


def test_redis_that_stops_answering():
    """SIGSTOP: connections are accepted and never answered. Every command has its own
    timeout, so requests go on, slower by at most that timeout."""
    redis = harness.Redis()
    block = "cache:\n  redis: %s\n  command_timeout: 150ms" % redis.url
    up, b = serve({"u.yaml": user_endpoint("cache: 30s")}, block)
    time.sleep(0.3)
    harness.request(b.port, "GET", "/users/61")
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        for i in range(5):
            st, _, _ = harness.request(b.port, "GET", "/users/7%d" % i, timeout=5)
            eq(st, 200)
        check(time.time() - t0 < 4, "bounded by the command timeout, not hung")
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)


def load_run(port, seconds, events):
    """8 keep-alive clients over 200 keys for `seconds`; `events` are (at_seconds, fn) run
    meanwhile. Returns (statuses, latencies)."""
    stop = time.time() + seconds
    statuses, lat = [], []
    lock = threading.Lock()

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i = n
        while time.time() < stop:
            i += 7
            t0 = time.time()
            try:
                conn.request("GET", "/users/%d" % (i % 200))
                r = conn.getresponse()
                r.read()
                st = r.status
            except Exception:  # noqa: BLE001
                st = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            with lock:
                statuses.append(st)
                lat.append(time.time() - t0)
        conn.close()

    ts = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    t_start = time.time()
    for t in ts:
        t.start()
    for at, fn in events:
        time.sleep(max(0, t_start + at - time.time()))
        fn()
    for t in ts:
        t.join()
    return statuses, sorted(lat)


def test_load_while_redis_is_killed_stopped_slowed_and_back():
    redis = harness.Redis()
    block = "cache:\n  redis: %s\n  command_timeout: 100ms\n  memory: 0" % redis.url
    up, b = serve({"u.yaml": user_endpoint("cache: 1s")}, block, threads=2)
    time.sleep(0.3)
    state = {}

    def kill():
        redis.stop()

    def restart():
        state["r"] = harness.Redis(port=redis.port)

    def sigstop():
        os.kill(state["r"].proc.pid, signal.SIGSTOP)

    def sigcont():
        os.kill(state["r"].proc.pid, signal.SIGCONT)

    def slow():
        # A script that keeps Redis busy for 400 ms: every command waits behind it.
        threading.Thread(target=state["r"].cmd, args=(
            "EVAL", "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] "
            "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 400000 return 1", "0"),
            daemon=True).start()

    statuses, lat = load_run(b.port, 6.0, [(1.0, kill), (2.0, restart), (3.0, sigstop), (4.0, sigcont),
                                           (5.0, slow)])
    bad = [s for s in statuses if s != 200]
    p99 = lat[int(len(lat) * 0.99)] if lat else 0
    sys.stderr.write("  load: %d requests, %d not 200, p99 %.0f ms, max %.0f ms\n"
                     % (len(statuses), len(bad), p99 * 1000, lat[-1] * 1000))
    check(len(statuses) > 100, "the run made requests: %d" % len(statuses))
    check(len(bad) <= len(statuses) * 0.001, "at most 0.1%% errors: %d of %d" % (len(bad), len(statuses)))
    check(lat[-1] < 3.0, "no request hung on Redis (slowest %.2f s)" % lat[-1])
    # Back to normal: entries reach Redis again.
    deadline = time.time() + 6
    while time.time() < deadline and not state["r"].keys():
        harness.request(b.port, "GET", "/users/%d" % (1000 + int(time.time() * 10) % 1000))
        time.sleep(0.1)
    check(len(state["r"].keys()) > 0, "caching resumed within 5 s")


SDL = """
type Query { user(id: ID!): User }
type User { id: ID! firstName: String }
"""


def test_source_cache_shared_by_rest_and_graphql():
    """A source's cache is keyed by its call: two endpoints and a GraphQL field that make the
    same call share one upstream answer."""
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra="cache: {}")
    src = 'user: { upstream: users, path: "/users/{id}", cache: 30s }'
    a = "endpoint: GET /a/{id}\nsources:\n  %s\nresponse: { id: user.id }\n" % src
    b_ = "endpoint: GET /b/{id}\nsources:\n  %s\nresponse: { name: user.firstName }\n" % src
    graph = """
schema: shop.graphql
resolvers:
  Query.user:
    source: { upstream: users, path: "/users/{args.id}", cache: 30s }
"""
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"a.yaml": a, "b.yaml": b_},
                            "files": {"graph.yaml": graph, "shop.graphql": SDL}}})
    st, h, body = harness.request(b.port, "GET", "/a/77")
    eq(st, 200, body)
    check("x-cache" not in h, "the endpoint itself is not cached: %r" % h)
    st, _, body = harness.request(b.port, "GET", "/b/77")
    eq(st, 200, body)
    st, _, body = harness.request(b.port, "POST", "/graphql",
                                  body=json.dumps({"query": '{ user(id: "77") { id firstName } }'}),
                                  headers={"Content-Type": "application/json"})
    eq(st, 200, body)
    eq(json.loads(body)["data"]["user"]["id"], "77")
    eq(calls(up, "/users/77"), 1, "one upstream call for two endpoints and a GraphQL field")
    harness.request(b.port, "GET", "/a/78")
    eq(calls(up, "/users/78"), 1)


def test_source_cache_respects_no_store_and_coalesces():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra="cache: {}")
    ep = """
endpoint: GET /s/{id}
sources:
  user: { upstream: users, path: "/users/{id}?delay_ms=300%s", cache: 30s }
response: { id: user.id }
"""
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {
        "s.yaml": ep % "", "n.yaml": (ep % "&cache_control=no-store").replace("/s/", "/n/", 1)}}})
    results = []
    hammer(b.port, "/s/5", 30, results)
    eq(sorted(set(r[0] for r in results)), [200], results[:3])
    eq(calls(up, "/users/5"), 1, "30 concurrent requests, one call for the cached source")
    harness.request(b.port, "GET", "/n/6")
    harness.request(b.port, "GET", "/n/6")
    eq(calls(up, "/users/6"), 2, "no-store from the upstream: the source is not kept")


def gql(port, query, variables=None, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return harness.request(port, "POST", "/graphql", body=json.dumps({"query": query, "variables": variables or {}}), headers=h)


def test_graphql_queries_cached_per_variables():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra="cache: {}")
    graph = """
schema: shop.graphql
cache: { ttl: 30s, stale_if_error: 60s }
resolvers:
  Query.user:
    source: { upstream: users, path: "/users/{args.id}" }
"""
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {},
                            "files": {"graph.yaml": graph, "shop.graphql": SDL}}})
    q = "query U($id: ID!) { user(id: $id) { id firstName } }"
    st, h, body = gql(b.port, q, {"id": "1"})
    eq((st, h.get("x-cache")), (200, "miss"), body)
    st, h2, body2 = gql(b.port, q, {"id": "1"})
    eq((st, h2.get("x-cache"), body2), (200, "hit", body))
    st, h3, _ = gql(b.port, q, {"id": "2"})
    eq(h3.get("x-cache"), "miss", "other variables, other entry")
    eq((calls(up, "/users/1"), calls(up, "/users/2")), (1, 1))
    st, h4, body4 = gql(b.port, "query { user(id: \"1\") { id } }")
    eq(h4.get("x-cache"), "miss", "another document")
    # The same query as GET is the same operation: the same entry.
    st, h5, _ = harness.request(b.port, "GET", "/graphql?query=" + __import__("urllib.parse").parse.quote(q) + "&variables=" + __import__("urllib.parse").parse.quote('{"id":"1"}'))
    eq((st, h5.get("x-cache")), (200, "hit"))
    st, h6, _ = gql(b.port, q, {"id": "1"}, headers={"If-None-Match": h2["etag"]})
    eq(st, 304)


TOKEN = "test-admin-token-0123456789"


def admin(port, method, path, body=None, token=TOKEN):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    st, _, raw = harness.request(port, method, path, body=json.dumps(body) if body is not None else None, headers=h)
    return st, json.loads(raw) if raw else None


TAGGED = user_endpoint('cache: { ttl: 60s, tags: ["user:{id}", "users"] }')


def test_purge_by_tag_reaches_every_instance():
    redis = harness.Redis()
    block = "cache:\n  redis: %s" % redis.url
    up = harness.Upstream()
    aport = harness.free_port()
    prof = harness.upstream_profile("t", up.url, extra=block)
    a = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": TAGGED}}}, threads=2,
                     extra_args=["--admin", "127.0.0.1:%d" % aport], env={"BFFD_ADMIN_TOKEN": TOKEN})
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": TAGGED}}}, threads=2)
    harness.wait_port(aport)
    time.sleep(0.3)
    for port in (a.port, b.port):
        harness.request(port, "GET", "/users/7")
        harness.request(port, "GET", "/users/8")
    eq((calls(up, "/users/7"), calls(up, "/users/8")), (1, 1), "B found both in Redis")
    eq(harness.request(b.port, "GET", "/users/7")[1].get("x-cache"), "hit")
    st, out = admin(aport, "POST", "/cache/purge", {"tags": ["user:7"]})
    eq(st, 200, out)
    eq(out["redis"], {"deleted": 1, "errors": 0}, out)
    eq(out["purged"], [{"profile": "t", "tag": "user:7"}])
    # B's L1 copy goes too (Redis pub/sub); A's workers got it in-process.
    deadline = time.time() + 3
    while time.time() < deadline and harness.request(b.port, "GET", "/users/7")[1].get("x-cache") == "hit":
        time.sleep(0.1)
    eq(calls(up, "/users/7"), 2, "purged everywhere: the next request composed again")
    eq(harness.request(a.port, "GET", "/users/8")[1].get("x-cache"), "hit", "other tags stay")
    eq(harness.request(b.port, "GET", "/users/8")[1].get("x-cache"), "hit")
    st, out = admin(aport, "POST", "/cache/purge", {"profile": "t", "tags": ["users"]})
    eq((st, out["redis"]["deleted"]), (200, 2), out)


def admin_bffd(up, endpoint):
    """bffd (one worker, an L1 cache) serving `endpoint` with the admin API, its token in a
    file: (bffd, admin port, the token file's folder)."""
    aport = harness.free_port()
    d = harness.tmpdir()
    tok = os.path.join(d, "token")
    harness.write(tok, TOKEN + "\n")
    prof = harness.upstream_profile("t", up.url, extra="cache: {}")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"u.yaml": endpoint}}}, threads=1,
                     extra_args=["--admin", "127.0.0.1:%d" % aport, "--admin-token-file", tok])
    harness.wait_port(aport)
    return b, aport, d


def test_admin_api_purge_by_path_auth_and_reload():
    up = harness.Upstream()
    b, aport, d = admin_bffd(up, TAGGED)
    eq(admin(aport, "POST", "/cache/purge", {"tags": ["x"]}, token=None)[0], 401)
    eq(admin(aport, "POST", "/cache/purge", {"tags": ["x"]}, token="wrong-token-0123456789")[0], 401)
    eq(admin(aport, "GET", "/health")[0], 200)
    eq(admin(aport, "GET", "/cache/purge")[0], 405, "a known path, another method")
    eq(admin(aport, "GET", "/nowhere")[0], 404)
    for bad in ({}, {"tags": "x"}, {"tags": [1]}, {"paths": ["a\nb"]}, [1]):
        st, out = admin(aport, "POST", "/cache/purge", bad)
        eq(st, 400, (bad, out))
    eq(admin(aport, "POST", "/cache/purge", {"profile": "nope", "tags": ["x"]})[0], 404)
    harness.request(b.port, "GET", "/users/3?x=1")  # an unknown query parameter: same doc
    harness.request(b.port, "GET", "/users/3")
    eq(calls(up, "/users/3"), 1)
    st, out = admin(aport, "POST", "/cache/purge", {"paths": ["/users/3", "/nowhere"]})
    eq(st, 200, out)
    eq((len(out["purged"]), out["unmatched"]), (1, ["/nowhere"]), out)
    time.sleep(0.1)
    eq(harness.request(b.port, "GET", "/users/3")[1].get("x-cache"), "miss", "purged by path")
    st, out = admin(aport, "POST", "/reload")
    eq(st, 202, out)
    deadline = time.time() + 5
    while time.time() < deadline and "reloaded" not in b.output():
        time.sleep(0.1)
    check("reloaded" in b.output(), b.output())
    r = subprocess.run([harness.BFFD, "--profile", d, "--admin", "127.0.0.1:1"], capture_output=True,
                       text=True, env=dict(os.environ, BFFD_ADMIN_TOKEN="short"))
    eq(r.returncode, 2, r.stderr)
    check("at least 16 characters" in r.stderr, r.stderr)


def test_a_purge_voids_compositions_already_under_way():
    # A miss composing while its tag is purged must not store what it read before the purge.
    up = harness.Upstream()
    b, aport, _ = admin_bffd(up, user_endpoint('cache: { ttl: 60s, tags: ["user:{id}"] }',
                                                query="?delay_ms=600"))
    results = []
    t = threading.Thread(target=lambda: results.append(harness.request(b.port, "GET", "/users/5")))
    t.start()
    time.sleep(0.2)  # the miss is composing (the upstream takes 600 ms)
    eq(admin(aport, "POST", "/cache/purge", {"tags": ["user:5"]})[0], 200)
    t.join()
    eq(results[0][1].get("x-cache"), "miss")
    st, h, _ = harness.request(b.port, "GET", "/users/5")
    eq((st, h.get("x-cache")), (200, "miss"), "the composition begun before the purge was not stored")
    st, h, _ = harness.request(b.port, "GET", "/users/5")
    eq(h.get("x-cache"), "hit", "one begun after it was")


RESPOND_BY = """
endpoint: GET /home/{id}
timeout: 3s
respond_by: 300ms
%(cache)s
sources:
  user: { upstream: users, path: "/users/{id}%(user_delay)s" }
  recs: { upstream: catalog, path: "/recommendations/{id}?delay_ms=900", optional: true%(recs_cache)s }
response:
  id: user.id
  recs: { $from: recs.products, $default: [] }
"""


def test_respond_by_answers_early_and_the_late_call_fills_the_cache():
    up, b = serve({"h.yaml": RESPOND_BY % {"cache": "cache: 30s", "user_delay": "", "recs_cache": ""},
                   "s.yaml": (RESPOND_BY % {"cache": "", "user_delay": "", "recs_cache": ", cache: 30s"}).replace("/home/", "/src/", 1),
                   "r.yaml": (RESPOND_BY % {"cache": "", "user_delay": "?delay_ms=600", "recs_cache": ""}).replace("/home/", "/req/", 1)})
    t0 = time.time()
    st, h, body = harness.request(b.port, "GET", "/home/5")
    took = time.time() - t0
    doc = json.loads(body)
    eq((st, h.get("bff-partial"), h.get("x-cache")), (200, "true", "miss"), body)
    eq(doc["errors"], [{"source": "recs", "reason": "pending"}], doc)
    eq(doc["recs"], [])
    check(took < 0.85, "answered at respond_by, not after the 900 ms call (%.2f s)" % took)
    time.sleep(1.0)  # the late call lands and the run stores the whole answer
    st, h, body = harness.request(b.port, "GET", "/home/5")
    doc = json.loads(body)
    eq((st, h.get("x-cache"), "errors" in doc), (200, "hit", False), body)
    check(len(doc["recs"]) > 0, doc)
    eq(calls(up, "/recommendations/5"), 1, "the late call was made once, and its answer kept")
    # Without an endpoint cache, a cached late source makes the next answer whole.
    st, _, body = harness.request(b.port, "GET", "/src/6")
    eq(json.loads(body)["errors"][0]["reason"], "pending")
    time.sleep(1.0)
    st, _, body = harness.request(b.port, "GET", "/src/6")
    check("errors" not in json.loads(body) and json.loads(body)["recs"], body)
    # A required source still out at respond_by: the answer waits for it, and no longer.
    t0 = time.time()
    st, h, body = harness.request(b.port, "GET", "/req/7")
    took = time.time() - t0
    doc = json.loads(body)
    eq((st, doc["id"], doc["errors"][0]["reason"]), (200, "7", "pending"), doc)
    check(0.55 < took < 0.85, "answered when the 600 ms required source arrived (%.2f s)" % took)


def test_check_rejects_bad_cache_settings():
    prof = harness.upstream_profile("t", "http://127.0.0.1:9", extra="cache:\n  redis: http://x")
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"), prof)
    harness.write(os.path.join(d, "endpoints", "w.yaml"),
                  "endpoint: POST /w\ncache: 10s\nsources:\n  u: { upstream: users, path: /x, method: POST }\nresponse: { a: u.a }\n")
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    eq(r.returncode != 0, True, r.stdout + r.stderr)
    out = r.stdout + r.stderr
    check("profile.yaml:" in out and "redis must be a URL" in out, out)
    check("w.yaml:2:" in out and "only GET endpoints are cached" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_hits_and_misses_counted_at_the_upstream,
        test_etag_and_304,
        test_ttl_expiry,
        test_upstream_cache_control_shortens_or_forbids,
        test_credentials_split_the_key,
        test_stale_while_revalidate_refreshes_once,
        test_stale_if_error,
        test_answers_keyed_by_request_headers_say_vary,
        test_coalescing_identical_misses,
        test_two_instances_share_redis,
        test_two_instances_coalesce_through_the_lock,
        test_redis_down_never_fails_a_request,
        test_redis_that_stops_answering,
        test_load_while_redis_is_killed_stopped_slowed_and_back,
        test_source_cache_shared_by_rest_and_graphql,
        test_source_cache_respects_no_store_and_coalesces,
        test_graphql_queries_cached_per_variables,
        test_purge_by_tag_reaches_every_instance,
        test_admin_api_purge_by_path_auth_and_reload,
        test_a_purge_voids_compositions_already_under_way,
        test_respond_by_answers_early_and_the_late_call_fills_the_cache,
        test_check_rejects_bad_cache_settings,
    ])
