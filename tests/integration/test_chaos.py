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
Run from the repository root: python3 tests/integration/test_chaos.py
"""
import http.client
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from h2raw import (CONTINUATION, DATA, GOAWAY, H2_PREFACE, HEADERS, PING, PRIORITY,  # noqa: E402
                   RST_STREAM, SETTINGS, WINDOW_UPDATE, H2Conn, close_rst, h2_frame,
                   h2_headers, h2_rst)
from harness import check, eq  # noqa: E402

SEED = int(os.environ.get("BFF_CHAOS_SEED") or 20240611)
DURATION = float(os.environ.get("BFF_CHAOS_SECONDS") or 15)
THREADS = int(os.environ.get("BFF_CHAOS_THREADS") or 16)
harness.set_time_limit(max(120, int(DURATION) + 105))

SLACK = 2.5          # seconds an answer may take beyond its endpoint's deadline (ASan, 2 cores)
DRAIN_TIMEOUT = 3.0  # limits.drain_timeout below
IDS = ["c%d" % i for i in range(12)]

# ---------------------------------------------------------------- the profile

CB = "circuit_breaker: {consecutive_failures: 5, error_ratio: 50, min_calls: 20, window: 2s, cooldown: 300ms}"


def profile_text(url, hole_url):
    ups = {
        "users": ["timeout: 1s", CB],
        "orders": [CB],
        "catalog": [CB],
        "notifications": [CB],
        "shipping": [CB],
        "flaky": ["circuit_breaker: {consecutive_failures: 3, error_ratio: 0, cooldown: 250ms}"],
        "bulk": ["max_concurrent: 4", CB],
        "blob": ["max_body: 4MiB", CB],
        "stall": ["timeout: 2s", "circuit_breaker: {consecutive_failures: 0, error_ratio: 0}"],
        "hole": ["connect_timeout: 5s", "circuit_breaker: {consecutive_failures: 0, error_ratio: 0}"],
    }
    lines = ["name: chaos", "listen: 127.0.0.1:@PORT@", "access_log: off",
             "limits: {request_timeout: 1500ms, max_header_bytes: 8KiB, drain_timeout: 3s}",
             "upstreams:"]
    for name, extra in ups.items():
        lines += ["  %s:" % name, "    url: %s" % (hole_url if name == "hole" else url)] + ["    " + e for e in extra]
    return "\n".join(lines) + "\n"


DASH = """
endpoint: GET /dash/{id}
timeout: 1200ms
params:
  id: {max_length: 40}
query:
  n: {type: int, default: "3", min: 1, max: 8}
  delay: {type: int, default: "0", min: 0, max: 5000}
  status: {type: int, default: "0", min: 0, max: 599}
  odelay: {type: int, default: "0", min: 0, max: 5000}
  ostatus: {type: int, default: "0", min: 0, max: 599}
  knob: {enum: [none, malformed, notjson, hang], default: none}
sources:
  user:
    upstream: users
    path: "/users/{id}?delay_ms={delay}&status={status}"
    timeout: 800ms
    retries: 1
  orders:
    upstream: orders
    path: "/orders?userId={id}&limit={n}&delay_ms={odelay}&status={ostatus}"
    optional: true
    fallback: {orders: []}
  details:
    upstream: orders
    path: "/orders/{item.id}?{knob}=1"
    for_each: {items: orders.orders, concurrency: 2, max: 6}
    optional: true
  ship:
    upstream: shipping
    path: "/shipments/{orders.orders[0].id}"
    optional: true
    fallback: {carrier: none}
  unread:
    upstream: notifications
    path: "/notifications/{id}/unread"
    timeout: 300ms
    optional: true
  recs:
    upstream: catalog
    path: "/recommendations/{id}?limit=4"
    optional: true
  prods:
    upstream: catalog
    path: "/products?ids={items}"
    batch: {items: "recs.products[*].id"}
    optional: true
  note:
    upstream: notifications
    method: POST
    path: /echo
    headers: {X-Chaos: "{header.x-chaos}"}
    body:
      user: user.id
      n: n
      city: user.address.city
    optional: true
response:
  id: user.id
  name: "{user.firstName} {user.lastName}"
  city: {$from: user.address.city, $format: upper}
  profile: {$from: user, $allow: [id, tier, preferences.language]}
  orders:
    $from: details
    $filter: "status != cancelled"
    $limit: 4
    $select:
      id: id
      total: total
      day: {$from: date, $format: date}
      skus: "items[*].sku"
  orderIds: "orders.orders[*].id"
  carrier: ship.carrier
  unread: {$from: unread.unreadCount, $default: 0}
  products: {$from: prods.products, $select: [id, name, price]}
  combined:
    $merge:
      - {$value: {source: bff, tier: none}}
      - {$from: user, $select: {tier: tier, lang: preferences.language}}
      - {$from: "orders.orders[0]", $select: {firstOrder: id}}
    $policy: deep
  echo: note.body
  method: note.method
"""

CHAIN = """
endpoint: GET /chain/{id}
timeout: 800ms
query:
  fs: {type: int, default: "0", min: 0, max: 599}
  sd: {type: int, default: "0", min: 0, max: 5000}
sources:
  a:
    upstream: flaky
    path: "/users/{id}?status={fs}"
    retries: 2
  b:
    upstream: shipping
    path: "/shipments/o-{a.id}-1?delay_ms={sd}"
    timeout: 300ms
  c:
    upstream: users
    path: "/users/{b.orderId}"
    optional: true
    fallback: {firstName: nobody}
response:
  $merge:
    - {$from: a, $select: {id: id, first: firstName}}
    - {$from: b, $select: {order: orderId, carrier: carrier, last: "events[-1].status"}}
    - {$from: c, $select: {ownerName: firstName}}
  $policy: replace
"""

BULK = """
endpoint: GET /bulk/{id}
timeout: 1s
query:
  k: {type: int, default: "4", min: 1, max: 12}
  d: {type: int, default: "20", min: 0, max: 5000}
sources:
  recs:
    upstream: catalog
    path: "/recommendations/{id}?limit={k}"
  each:
    upstream: bulk
    path: "/products/{item}?delay_ms={d}"
    for_each: {items: "recs.products[*].id", concurrency: 3}
response:
  id: recs.userId
  products: {$from: each, $select: [id, price]}
  cheap: {$from: each, $filter: "price < 100", $limit: 3, $select: [id]}
  names: "each[*].name"
  first: {$from: "each[0]", $deny: [internalScore, image]}
"""

SLOW = """
endpoint: GET /slow/{id}
timeout: 400ms
query:
  h: {type: int, default: "1", min: 0, max: 1}
  oh: {type: int, default: "1", min: 0, max: 1}
sources:
  stuck:
    upstream: stall
    path: "/users/{id}?hang={h}"
  maybe:
    upstream: stall
    path: "/notifications/{id}/unread?hang={oh}"
    optional: true
    fallback: {unreadCount: -1}
response:
  id: stuck.id
  unread: maybe.unreadCount
"""

# an upstream that never completes a TCP connect: every call is cancelled by the deadline
# while it is still connecting
TARPIT = """
endpoint: GET /tarpit/{id}
timeout: 300ms
sources:
  user:
    upstream: users
    path: "/users/{id}"
  stuck:
    upstream: hole
    path: "/users/{id}"
    optional: true
    fallback: {id: none}
response:
  id: user.id
  stuck: stuck.id
"""

BIG = """
endpoint: GET /big/{id}
query:
  kb: {type: int, default: "64", min: 1, max: 4000}
sources:
  blob:
    upstream: blob
    path: "/users/{id}?size={kb}000"
  user:
    upstream: users
    path: "/users/{id}"
    optional: true
response:
  id: {$from: user.id, $default: unknown}
  pad: blob.padding
"""

# name -> (deadline s, {source: (upstream, required, max calls)}, declaration order, keys)
ENDPOINTS = {
    "dash": (1.2, {"user": ("users", True, 2), "orders": ("orders", False, 1),
                   "details": ("orders", False, 6), "ship": ("shipping", False, 1),
                   "unread": ("notifications", False, 1), "recs": ("catalog", False, 1),
                   "prods": ("catalog", False, 1), "note": ("notifications", False, 1)},
             ["id", "name", "city", "profile", "orders", "orderIds", "carrier", "unread",
              "products", "combined", "echo", "method"]),
    "chain": (0.8, {"a": ("flaky", True, 3), "b": ("shipping", True, 1), "c": ("users", False, 1)},
              ["id", "first", "order", "carrier", "last", "ownerName"]),
    "bulk": (1.0, {"recs": ("catalog", True, 1), "each": ("bulk", True, 12)},
             ["id", "products", "cheap", "names", "first"]),
    "slow": (0.4, {"stuck": ("stall", True, 1), "maybe": ("stall", False, 1)}, ["id", "unread"]),
    "big": (1.5, {"blob": ("blob", True, 1), "user": ("users", False, 1)}, ["id", "pad"]),
    "tarpit": (0.3, {"user": ("users", True, 1), "stuck": ("hole", False, 0)}, ["id", "stuck"]),
}
SOURCE_ORDER = {"dash": ["user", "orders", "details", "ship", "unread", "recs", "prods", "note"],
                "chain": ["a", "b", "c"], "bulk": ["recs", "each"], "slow": ["stuck", "maybe"],
                "big": ["blob", "user"], "tarpit": ["user", "stuck"]}
DASH_DEPS = {"id": {"user"}, "name": {"user"}, "city": {"user"}, "profile": {"user"},
             "orders": {"orders", "details"}, "orderIds": {"orders"}, "carrier": {"orders", "ship"},
             "unread": {"unread"}, "products": {"recs", "prods"}, "combined": {"user", "orders"},
             "echo": {"user", "note"}, "method": {"note"}}
REASONS = {"timeout", "connection failed", "transfer failed", "bad status", "response too large",
           "invalid JSON", "circuit open", "too many concurrent calls", "bad request", "partial"}
# failures any request may meet because of what other requests did to shared per-worker state
CONTENTION = {"circuit open", "too many concurrent calls"}
CODE_STATUS = {"bad_parameter": 400, "not_found": 404, "method_not_allowed": 405,
               "headers_too_large": 431, "upstream_failed": 502, "upstream_timeout": 504,
               # a required source's client-error status is answered as it is (429 as 503)
               "bad_request": 400, "unauthorized": 401, "forbidden": 403, "conflict": 409,
               "gone": 410, "unprocessable": 422, "unavailable": 503}
RELAYED = {400, 401, 403, 404, 409, 410, 422}

# ---------------------------------------------------------------- expected bodies (reference upstream)

REF = {}


def load_reference(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(path):
        conn.request("GET", path)
        r = conn.getresponse()
        data = r.read()
        eq(r.status, 200, "reference %s" % path)
        return json.loads(data)

    for i in IDS:
        d = {"user": get("/users/" + i), "orders8": get("/orders?userId=%s&limit=8" % i)["orders"],
             "ship1": get("/shipments/o-%s-1" % i), "unread": get("/notifications/%s/unread" % i),
             "recs12": get("/recommendations/%s?limit=12" % i)["products"],
             "owner1": get("/users/o-%s-1" % i)}
        d["order"] = {o["id"]: get("/orders/" + o["id"]) for o in d["orders8"][:6]}
        d["prods4"] = get("/products?ids=" + ",".join(p["id"] for p in d["recs12"][:4]))["products"]
        d["prod"] = {p["id"]: p for p in get("/products?ids=" + ",".join(p["id"] for p in d["recs12"]))["products"]}
        REF[i] = d
    conn.close()


def dash_expected(i, n):
    d = REF[i]
    u = d["user"]
    orders = d["orders8"][:n]
    details = [d["order"][o["id"]] for o in orders[:6]]
    kept = [o for o in details if o["status"] != "cancelled"][:4]
    return {
        "id": i,
        "name": "%s %s" % (u["firstName"], u["lastName"]),
        "city": u["address"]["city"].upper(),
        "profile": {"id": i, "tier": u["tier"], "preferences": {"language": u["preferences"]["language"]}},
        "orders": [{"id": o["id"], "total": o["total"], "day": o["date"][:10],
                    "skus": [it["sku"] for it in o["items"]]} for o in kept],
        "orderIds": [o["id"] for o in orders],
        "carrier": d["ship1"]["carrier"],
        "unread": d["unread"]["unreadCount"],
        "products": [{"id": p["id"], "name": p["name"], "price": p["price"]} for p in d["prods4"]],
        "combined": {"source": "bff", "tier": u["tier"], "lang": u["preferences"]["language"],
                     "firstOrder": orders[0]["id"]},
        "echo": {"user": i, "n": n, "city": u["address"]["city"]},
        "method": "POST",
    }


def chain_expected(i):
    d = REF[i]
    return {"id": i, "first": d["user"]["firstName"], "order": d["ship1"]["orderId"],
            "carrier": d["ship1"]["carrier"], "last": d["ship1"]["events"][-1]["status"],
            "ownerName": d["owner1"]["firstName"]}


def bulk_expected(i, k):
    d = REF[i]
    each = [d["prod"][p["id"]] for p in d["recs12"][:k]]
    first = {key: v for key, v in each[0].items() if key not in ("internalScore", "image")}
    return {"id": i, "products": [{"id": p["id"], "price": p["price"]} for p in each],
            "cheap": [{"id": p["id"]} for p in each if p["price"] < 100][:3],
            "names": [p["name"] for p in each], "first": first}


def slow_expected(i, oh):
    return {"id": i, "unread": -1 if oh else REF[i]["unread"]["unreadCount"]}

# ---------------------------------------------------------------- requests and their checks


class Req:
    """One client request and what its answer may be."""

    def __init__(self, kind, ep, path, method="GET", headers=None, calls=0, **exp):
        self.kind, self.ep, self.path, self.method = kind, ep, path, method
        self.headers = headers or {}
        self.calls = calls  # most upstream calls it can cause
        self.exp = exp
        deadline = ENDPOINTS[ep][0] if ep in ENDPOINTS else 0.0
        self.max_time = deadline + SLACK

    def raw(self, extra=b""):
        hdrs = "".join("%s: %s\r\n" % kv for kv in self.headers.items())
        return ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s" % (self.method, self.path, hdrs)).encode() + extra + b"\r\n"

    def __repr__(self):
        return "%s %s %s" % (self.kind, self.method, self.path)


def max_calls(ep, **over):
    return sum(over.get(s, v[2]) for s, v in ENDPOINTS[ep][1].items())


def gen_normal(rng):
    i = rng.choice(IDS)
    ep = rng.choices(["dash", "chain", "bulk", "slow", "big", "tarpit"], [6, 2, 2, 1, 1, 1])[0]
    hdrs = {"X-Chaos": "v%d" % rng.randrange(1000)} if rng.random() < 0.5 else {}
    if ep == "dash":
        n = rng.randint(1, 8)
        path = "/dash/%s" % i + ("?n=%d" % n if n != 3 or rng.random() < 0.5 else "")
        return Req("normal", ep, path, headers=hdrs, calls=max_calls(ep, details=min(n, 6)), id=i, n=n)
    if ep == "chain":
        return Req("normal", ep, "/chain/" + i, headers=hdrs, calls=max_calls(ep), id=i)
    if ep == "bulk":
        k = rng.randint(1, 12)
        return Req("normal", ep, "/bulk/%s?k=%d" % (i, k), headers=hdrs, calls=1 + k, id=i, k=k)
    if ep == "slow":
        return Req("normal", ep, "/slow/%s?h=0&oh=0" % i, headers=hdrs, calls=2, id=i, h=0, oh=0)
    if ep == "tarpit":
        return Req("normal", ep, "/tarpit/" + i, headers=hdrs, calls=1, id=i)
    kb = rng.choice([1, 8, 64, 300])
    return Req("normal", ep, "/big/%s?kb=%d" % (i, kb), headers=hdrs, calls=2, id=i, kb=kb)


def gen_knobs(rng):
    i = rng.choice(IDS)
    ep = rng.choices(["dash", "chain", "bulk", "slow"], [6, 3, 2, 2])[0]
    if ep == "dash":
        q = {"n": rng.randint(1, 8)}
        r = rng.random()
        if r < 0.10:
            q["status"] = rng.choice([404, 500, 503])
        elif r < 0.2:
            q["delay"] = rng.choice([1000, 3000])
        elif r < 0.45:
            q["delay"] = rng.choice([30, 200, 400])
        r = rng.random()
        if r < 0.15:
            q["ostatus"] = rng.choice([404, 500, 503])
        elif r < 0.25:
            q["odelay"] = rng.choice([50, 2000])
        if rng.random() < 0.3:
            q["knob"] = rng.choice(["malformed", "notjson", "hang"])
        path = "/dash/%s?%s" % (i, "&".join("%s=%s" % kv for kv in q.items()))
        return Req("knobs", ep, path, calls=max_calls(ep, details=min(q["n"], 6)), id=i, **q)
    if ep == "chain":
        q = {}
        if rng.random() < 0.3:
            q["fs"] = rng.choice([404, 500, 503])
        if rng.random() < 0.3:
            q["sd"] = rng.choice([50, 600])
        path = "/chain/%s?%s" % (i, "&".join("%s=%s" % kv for kv in q.items()))
        return Req("knobs", ep, path, calls=max_calls(ep), id=i, **q)
    if ep == "bulk":
        k, d = rng.randint(1, 12), rng.choice([0, 20, 100, 300, 1500])
        return Req("knobs", ep, "/bulk/%s?k=%d&d=%d" % (i, k, d), calls=1 + k, id=i, k=k, d=d)
    h, oh = rng.randint(0, 1), rng.randint(0, 1)
    return Req("knobs", ep, "/slow/%s?h=%d&oh=%d" % (i, h, oh), calls=2, id=i, h=h, oh=oh)


BAD = [
    ("dash", "/dash/c1?n=0", "n"), ("dash", "/dash/c1?n=9", "n"), ("dash", "/dash/c1?n=abc", "n"),
    ("dash", "/dash/c1?n=1.5", "n"), ("dash", "/dash/c1?n", "n"), ("dash", "/dash/c1?n=%zz", "n"),
    ("dash", "/dash/c1?n=%00", "n"), ("dash", "/dash/c1?delay=-1", "delay"),
    ("dash", "/dash/c1?delay=99999", "delay"), ("dash", "/dash/c1?status=600", "status"),
    ("dash", "/dash/c1?status=x", "status"), ("dash", "/dash/c1?knob=bogus", "knob"),
    ("dash", "/dash/c1?ostatus=1e3", "ostatus"), ("dash", "/dash/c1?odelay=%2", "odelay"),
    ("dash", "/dash/" + "a" * 41, "id"), ("dash", "/dash/%zzbad", "id"), ("dash", "/dash/x%00y", "id"),
    ("chain", "/chain/c1?fs=abc", "fs"), ("chain", "/chain/c1?sd=-5", "sd"),
    ("bulk", "/bulk/c1?k=0", "k"), ("bulk", "/bulk/c1?k=13", "k"), ("bulk", "/bulk/c1?d=x", "d"),
    ("slow", "/slow/c1?h=2", "h"), ("big", "/big/c1?kb=0", "kb"), ("big", "/big/c1?kb=4001", "kb"),
]
NOROUTE = ["/dash/a/b", "/dash/", "/dash", "/nope", "/chain//x", "/bulk/c1/", "/%2e%2e/etc", "/dash/c1/../c2/x"]


def gen_bad(rng):
    r = rng.random()
    if r < 0.7:
        ep, path, param = rng.choice(BAD)
        if rng.random() < 0.3:  # the bad value among good ones
            path += ("&" if "?" in path else "?") + "n=2&k=3&h=0"
        return Req("bad", ep, path, status=400, param=param)
    if r < 0.9:
        return Req("bad", "-", rng.choice(NOROUTE), status=404)
    ep = rng.choice(["dash", "chain", "bulk"])
    return Req("bad", ep, "/%s/c1" % ep, method=rng.choice(["POST", "DELETE", "PUT"]), status=405)


def check_error_body(req, status, body):
    """Problems with an error answer, or None."""
    if set(body) != {"error"} or not isinstance(body["error"], dict):
        return "error body has other members: %r" % body
    err = body["error"]
    code = err.get("code")
    if code not in CODE_STATUS or not isinstance(err.get("message"), str):
        return "bad error object %r" % err
    if status is not None and CODE_STATUS[code] != status:
        return "status %s with code %s" % (status, code)
    status = CODE_STATUS[code]
    x = req.exp
    if req.kind == "bad":
        if status != x["status"]:
            return "expected %s, got %s %r" % (x["status"], status, err)
        if status == 400 and err.get("parameter") != x["param"]:
            return "400 should name parameter %r: %r" % (x["param"], err)
        return None
    relayed = err.get("reason") == "bad status" and (
        (status in RELAYED and err.get("status") == status) or (status == 503 and err.get("status") == 429))
    if status not in (502, 504) and not relayed:
        return "unexpected error %s %r" % (status, err)
    srcs = ENDPOINTS[req.ep][1]
    s, reason = err.get("source"), err.get("reason")
    if s not in srcs or not srcs[s][1]:
        return "%s names %r, not a required source" % (status, s)
    if err.get("upstream") != srcs[s][0]:
        return "source %s is on upstream %s, error says %r" % (s, srcs[s][0], err.get("upstream"))
    if reason not in REASONS or (reason == "timeout") != (status == 504):
        return "status %s with reason %r" % (status, reason)
    if reason == "bad status" and not isinstance(err.get("status"), int):
        return "bad status without a status: %r" % err
    if "status" in err and not isinstance(err["status"], int):
        return "status member %r" % err["status"]
    # why may this request fail at all?
    ep = req.ep
    if reason in CONTENTION:
        return None
    if ep == "dash":
        if reason == "bad status" and err["status"] == x.get("status"):
            return None
        if reason == "timeout" and x.get("delay", 0) >= 1000:
            return None
    elif ep == "chain":
        if s == "a" and reason == "bad status" and err["status"] == x.get("fs"):
            return None
        if s == "b" and reason == "timeout" and x.get("sd", 0) >= 300:
            return None
    elif ep == "bulk":
        if s == "each" and reason == "timeout" and x.get("d", 20) * ((x.get("k", 4) + 2) // 3) >= 500:
            return None
    elif ep == "slow":
        if s == "stuck" and reason == "timeout" and x.get("h", 1) == 1:
            return None
    return "unexplained failure %s %r" % (status, err)


def check_ok_body(req, body, partial_hdr):
    """Problems with a 200 answer, or None. partial_hdr is None when headers are unknown (h2)."""
    ep, x = req.ep, req.exp
    keys = ENDPOINTS[ep][2]
    if not isinstance(body, dict):
        return "200 body is not an object"
    has_errors = "errors" in body and ep != "chain"
    got = [k for k in body if k != "errors"] if ep != "chain" else list(body)
    if ep == "chain":
        if set(got) - set(keys) or set(keys) - set(got):
            return "keys %r, expected %r" % (got, keys)
    elif got != keys:
        return "keys %r, expected %r" % (got, keys)
    failed = {}
    if has_errors:
        errs = body["errors"]
        if not isinstance(errs, list) or not errs:
            return "errors is %r" % (errs,)
        order = SOURCE_ORDER[ep]
        for e in errs:
            if not isinstance(e, dict) or e.get("source") not in order or e.get("reason") not in REASONS \
                    or not isinstance(e.get("message"), str):
                return "bad errors entry %r" % (e,)
            failed[e["source"]] = e
        names = [e["source"] for e in errs]
        if names != sorted(set(names), key=order.index):
            return "errors not one per source in declaration order: %r" % names
        for s, e in failed.items():
            if ENDPOINTS[ep][1][s][1] and e["reason"] != "partial":
                return "required source %s failed but the answer is 200: %r" % (s, e)
    if partial_hdr is not None and ep != "chain" and partial_hdr != has_errors:
        return "bff-partial header %r but errors present: %r" % (partial_hdr, has_errors)
    partial = has_errors or bool(partial_hdr)
    i = x.get("id")
    if ep == "dash":
        if x.get("status") or x.get("delay", 0) >= 1000:
            return "the required user source was broken (%r) but the answer is 200" % x
        if x.get("ostatus") or x.get("odelay", 0) >= 2000:
            if "orders" not in failed:
                return "orders was broken (%r) but is not in errors %r" % (x, list(failed))
        elif x.get("knob", "none") != "none" and "details" not in failed and "orders" not in failed:
            return "details was broken (knob=%s) but is not in errors %r" % (x["knob"], list(failed))
        exp = dash_expected(i, x.get("n", 3))
        if isinstance(body.get("echo"), str):
            try:
                body = dict(body, echo=json.loads(body["echo"]))
            except ValueError:
                return "echo is not the JSON body sent: %r" % body["echo"]
        for k in keys:
            if not (DASH_DEPS[k] & set(failed)) and body[k] != exp[k]:
                return "field %s = %r, expected %r (failed sources %r)" % (k, body[k], exp[k], list(failed))
        if "ship" in failed and "orders" not in failed and body["carrier"] != "none":
            return "ship failed but carrier is %r, not the fallback" % body["carrier"]
        if "unread" in failed and body["unread"] != 0:
            return "unread failed but is %r, not the $default" % body["unread"]
        return None
    if ep == "chain":
        if x.get("fs") or x.get("sd", 0) >= 300:
            return "a required source was broken (%r) but the answer is 200" % x
        exp = chain_expected(i)
        partial = partial or partial_hdr is None  # no errors member here: only the header tells
        for k in keys:
            if body[k] != exp[k] and not (partial and k == "ownerName" and body[k] == "nobody"):
                return "field %s = %r, expected %r" % (k, body[k], exp[k])
        return None
    if ep == "bulk":
        exp = bulk_expected(i, x.get("k", 4))
        if body["id"] != i:
            return "id %r" % body["id"]
        if len(body["products"]) != len(exp["products"]):
            return "products %r" % body["products"]
        for got_p, exp_p in zip(body["products"], exp["products"]):
            if got_p is not None and got_p != exp_p:
                return "product %r, expected %r" % (got_p, exp_p)
            if got_p is None and "each" not in failed:
                return "null product without an errors entry"
        if not partial:
            for k in keys:
                if body[k] != exp[k]:
                    return "field %s = %r, expected %r" % (k, body[k], exp[k])
        return None
    if ep == "slow":
        if x.get("h", 1):
            return "the hung required source gave 200"
        if x.get("oh", 1) and "maybe" not in failed:
            return "the hung optional source is not in errors"
        exp = slow_expected(i, x.get("oh", 1))
        if body["id"] != i or body["unread"] not in (exp["unread"], -1):
            return "body %r, expected %r" % (body, exp)
        if not partial and body != exp:
            return "body %r, expected %r" % (body, exp)
        return None
    if ep == "tarpit":
        if [body["id"], body["stuck"]] != [i, "none"] or failed.get("stuck", {}).get("reason") != "timeout":
            return "expected the fallback and a timeout for the source that never connects: %r" % body
        return None
    if ep == "big":
        pad = body["pad"]
        if not isinstance(pad, str) or len(pad) != x["kb"] * 1000 - 14 or pad.strip("x"):
            return "pad of %d bytes, expected %d" % (len(pad) if isinstance(pad, str) else -1, x["kb"] * 1000 - 14)
        if body["id"] != i and not (partial and body["id"] == "unknown"):
            return "id %r" % body["id"]
        return None
    return "no checker for %s" % ep


def check_answer(req, status, hdrs, raw, elapsed):
    """Every answer: a known status, JSON, the right shape. Returns a problem or None."""
    if elapsed is not None and elapsed > req.max_time:
        return "answered after %.2fs (bound %.2fs)" % (elapsed, req.max_time)
    if hdrs is not None:
        if not hdrs.get("content-type", "").startswith("application/json"):
            return "content-type %r (status %s)" % (hdrs.get("content-type"), status)
        if not hdrs.get("x-request-id"):
            return "no x-request-id"
    try:
        body = json.loads(raw)
    except ValueError:
        return "status %s, body is not JSON: %r" % (status, raw[:300])
    if isinstance(body, dict) and "error" in body and status != 200:
        return check_error_body(req, status, body)
    if status not in (200, None):
        return "status %s with a non-error body %r" % (status, raw[:300])
    if req.kind == "bad":
        return "a bad request was answered 200"
    partial = None if hdrs is None else hdrs.get("bff-partial") == "true"
    return check_ok_body(req, body, partial)

# ---------------------------------------------------------------- shared state


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.failures = []
        self.ops = {}
        self.statuses = {}
        self.reasons = {}
        self.bound = 0          # most upstream calls the requests sent so far can cause
        self.max_latency = {}
        self.notes = {}
        self.stop = threading.Event()

    def fail(self, what, req=None, detail=""):
        with self.lock:
            self.failures.append("%s: %s%s" % (what, "%r: " % (req,) if req else "", detail))

    def count(self, table, key, n=1):
        with self.lock:
            table[key] = table.get(key, 0) + n

    def sent(self, req):
        with self.lock:
            self.bound += req.calls

    def latency(self, req, t):
        with self.lock:
            k = "%s %s" % (req.kind, req.ep)
            self.max_latency[k] = max(self.max_latency.get(k, 0.0), t)


ST = State()
PORT = None


def judge(req, status, hdrs, raw, elapsed, how):
    ST.count(ST.statuses, "%s %s %s" % (how, req.kind, status))
    if status in (502, 504) or status is None:
        try:
            err = json.loads(raw)["error"]
            ST.count(ST.reasons, "%s %s %s %s" % (req.kind, req.ep, err.get("source"), err.get("reason")))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    if elapsed is not None:
        ST.latency(req, elapsed)
    problem = check_answer(req, status, hdrs, raw, elapsed)
    if problem:
        ST.fail("malformed answer (%s)" % how, req, problem)

# ---------------------------------------------------------------- HTTP/1 helpers


class Closed(Exception):
    pass


class H1Reader:
    """Reads HTTP/1.1 responses from a raw socket (Content-Length, chunked or to EOF)."""

    def __init__(self, sock):
        self.sock, self.buf, self.eof = sock, b"", False

    def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no answer in time")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            raise Closed()
        self.buf += d

    def response(self, timeout):
        """(status, headers, body); Closed if the peer closed before any byte; ValueError if
        what arrived is not HTTP."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            try:
                self._more(deadline)
            except Closed:
                if self.buf:
                    raise ValueError("connection closed inside a response head: %r" % self.buf[:200])
                raise
            if len(self.buf) > 65536 and b"\r\n\r\n" not in self.buf:
                raise ValueError("no end of head: %r" % self.buf[:200])
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})(?: [^\r\n]*)?$", lines[0])
        if not m:
            raise ValueError("bad status line %r" % lines[0][:200])
        hdrs = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise ValueError("bad header line %r" % line[:200])
            hdrs[name.decode("latin1").lower()] = value.strip().decode("latin1")
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            while len(self.buf) < n:
                try:
                    self._more(deadline)
                except Closed:
                    raise ValueError("closed after %d of %d body bytes" % (len(self.buf), n))
            body, self.buf = self.buf[:n], self.buf[n:]
        elif "chunked" in hdrs.get("transfer-encoding", ""):
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._more(deadline)
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._more(deadline)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            try:
                while True:
                    self._more(deadline)
            except Closed:
                pass
            body, self.buf = self.buf, b""
        return int(m.group(1)), hdrs, body


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class KeepAlive:
    """One persistent HTTP/1.1 connection per client thread (http.client)."""

    def __init__(self):
        self.conn = None
        self.used = 0

    def do(self, req):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=req.max_time + 5)
            self.used = 0
        reused = self.used > 0
        self.conn.timeout = req.max_time + 5
        if self.conn.sock is not None:
            self.conn.sock.settimeout(req.max_time + 5)
        ST.sent(req)
        start = time.monotonic()
        try:
            body = b"{}" if req.method != "GET" else None
            self.conn.request(req.method, req.path, body=body, headers=req.headers)
            r = self.conn.getresponse()
            raw = r.read()
            elapsed = time.monotonic() - start
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            self.used += 1
            if r.will_close:
                self.close()
        except socket.timeout:
            self.close()
            ST.fail("no answer within %.1fs (hang?)" % (req.max_time + 5), req)
            return
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            self.close()
            if reused and isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                ST.count(ST.notes, "keep-alive connection closed by bffd before a request")
            else:
                ST.fail("request failed on a %s connection" % ("reused" if reused else "fresh"), req, repr(e))
            return
        judge(req, r.status, hdrs, raw, elapsed, "h1")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

# ---------------------------------------------------------------- the client operations


def op_keepalive(rng, ka):
    r = rng.random()
    req = gen_normal(rng) if r < 0.55 else gen_knobs(rng) if r < 0.85 else gen_bad(rng)
    ka.do(req)


def op_disconnect(rng):
    mode = rng.choice(["mid-request", "in-flight", "in-flight", "mid-response", "half-close"])
    s = connect()
    try:
        if mode == "mid-request":
            req = gen_normal(rng)
            raw = req.raw()
            cut = rng.randrange(1, len(raw) - 2)  # never the whole head: nothing is dispatched
            s.sendall(raw[:cut])
            time.sleep(rng.uniform(0, 0.3))
        elif mode == "in-flight":
            req = gen_knobs(rng) if rng.random() < 0.6 else gen_normal(rng)
            ST.sent(req)
            s.sendall(req.raw())
            time.sleep(rng.uniform(0, 0.8))
        elif mode == "mid-response":
            i = rng.choice(IDS)
            req = Req("normal", "big", "/big/%s?kb=%d" % (i, rng.randint(500, 4000)), calls=2)
            ST.sent(req)
            s.sendall(req.raw())
            want, got = rng.randint(0, 200000), 0
            s.settimeout(4)
            while got < want:
                d = s.recv(min(65536, want - got))
                if not d:
                    break
                got += len(d)
        else:  # half-close: the request, then FIN; an answer may or may not come, but is well-formed
            req = gen_normal(rng)
            ST.sent(req)
            s.sendall(req.raw())
            s.shutdown(socket.SHUT_WR)
            start = time.monotonic()
            try:
                status, hdrs, body = H1Reader(s).response(req.max_time + 3)
                if status == 499 and json.loads(body) == {"error": {
                        "code": "client_closed_request", "message": "the client closed the connection"}}:
                    # bffd takes the FIN for a client that left (README: "Clients that hang up")
                    ST.count(ST.statuses, "half-close 499")
                    return
                judge(req, status, hdrs, body, time.monotonic() - start, "half-close")
            except Closed:
                ST.count(ST.notes, "half-closed request not answered")
            except ValueError as e:
                ST.fail("malformed HTTP after a half-close", req, str(e))
        ST.count(ST.notes, "disconnect " + mode)
    except socket.timeout:
        ST.fail("stalled while reading a big answer", None, mode)
    except OSError:
        pass
    finally:
        close_rst(s) if rng.random() < 0.5 else s.close()


def garbage_bytes(rng):
    r = rng.random()
    if r < 0.3:
        return rng.randbytes(rng.randint(1, 3000))
    if r < 0.5:
        junk = rng.randbytes(rng.randint(1, 500)).replace(b"\r", b"").replace(b"\n", b"")
        return b"GET /dash/c1 HTTP/1.1\r\nHost: x\r\n\x01" + junk + b"\r\n\r\n"  # never a header line
    if r < 0.6:
        return rng.choice([b"GET /dash/c1 HTTP/9.9\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET\r\n\r\n",
                           b"GET /dash/c1 HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
                           b"POST /dash/c1 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                           b"POST /dash/c1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                           b"GET /dash/c1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                           b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"])
    if r < 0.8:
        return H2_PREFACE + rng.randbytes(rng.randint(1, 2000))
    # HTTP/2 frames that are each plausible but wrong
    frames = [h2_frame(SETTINGS, 0, 0),
              rng.choice([h2_frame(DATA, 1, 1, b"x"), h2_frame(HEADERS, 0x4, 2, b"\x82"),
                          h2_frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"),
                          h2_frame(HEADERS, 0x5, 1, rng.randbytes(20)),
                          h2_frame(CONTINUATION, 0x4, 1, b"\x82"),
                          h2_frame(SETTINGS, 0, 1, b"\x00"), h2_frame(PING, 0, 0, b"short"),
                          h2_frame(RST_STREAM, 0, 0, b"\x00\x00\x00\x08"),
                          h2_frame(PRIORITY, 0, 1, b"\x00\x00\x00\x01\x10"),
                          h2_frame(GOAWAY, 0, 0, b"\x00\x00\x00\x00\x00\x00\x00\x00")])]
    return H2_PREFACE + b"".join(frames)


def op_garbage(rng):
    data = garbage_bytes(rng)
    s = connect()
    try:
        s.sendall(data)
        if data.startswith(H2_PREFACE):
            s.settimeout(0.5)
            try:
                while s.recv(65536):
                    pass
            except socket.timeout:
                pass
            return
        try:
            status, hdrs, body = H1Reader(s).response(0.5)
        except (Closed, socket.timeout):
            return
        if not (400 <= status < 500 or status in (501, 505)):
            ST.fail("garbage answered %d" % status, None, repr(data[:80]))
        if status in (404, 405, 431) and "application/json" not in hdrs.get("content-type", ""):
            ST.fail("bffd's %d is not JSON" % status, None, repr(body[:200]))
        ST.count(ST.statuses, "garbage %d" % status)
    except ValueError as e:
        ST.fail("malformed HTTP after garbage", None, "%s (sent %r)" % (e, data[:80]))
    except OSError:
        pass
    finally:
        close_rst(s) if rng.random() < 0.5 else s.close()


def op_big_headers(rng):
    i = rng.choice(IDS)
    r = rng.random()
    if r < 0.15:  # under the limit: served normally
        req = gen_normal(rng)
        req.headers = dict(req.headers, **{"X-Pad": "p" * rng.randint(100, 6000)})
        expect = None
    elif r < 0.85:  # over 8KiB, fewer than libh2o's 100 headers: bffd's 431
        req = Req("big-headers", "dash", "/dash/%s" % i, calls=0)
        if rng.random() < 0.5:
            req.headers = {"X-Big": "b" * rng.randint(8300, 60000)}
        else:
            req.headers = {"X-H%d" % j: "h" * 150 for j in range(rng.randint(60, 90))}
        expect = 431
    else:  # beyond what libh2o parses at all: its plain 400 (or a closed connection)
        req = Req("big-headers", "dash", "/dash/%s" % i, calls=0)
        req.headers = {"X-H%d" % j: "h" for j in range(rng.randint(101, 300))} if rng.random() < 0.5 \
            else {"X-Huge": "z" * rng.randint(430000, 600000)}
        expect = 400
    ST.sent(req)
    s = connect()
    start = time.monotonic()
    try:
        s.sendall(req.raw())
        status, hdrs, body = H1Reader(s).response(req.max_time + 3)
        if expect is None:
            judge(req, status, hdrs, body, time.monotonic() - start, "h1-pad")
        elif status != expect:
            ST.fail("oversized headers answered %d, expected %d" % (status, expect), req, repr(body[:200]))
        elif expect == 431:
            ok = hdrs.get("content-type", "").startswith("application/json") and \
                json.loads(body) == {"error": {"code": "headers_too_large", "message": "request headers are too large"}}
            if not ok:
                ST.fail("431 body", req, repr(body[:300]))
        ST.count(ST.statuses, "big-headers %s %d" % (expect, status))
    except Closed:
        if expect != 400:
            ST.fail("connection closed without an answer to oversized headers", req)
    except socket.timeout:
        ST.fail("no answer to oversized headers", req)
    except ValueError as e:
        ST.fail("malformed HTTP for oversized headers", req, str(e))
    except OSError as e:
        if expect != 400:
            ST.fail("socket error on oversized headers", req, repr(e))
    finally:
        s.close()


def op_pipeline(rng):
    reqs = [gen_normal(rng) if rng.random() < 0.6 else gen_bad(rng) for _ in range(rng.randint(2, 4))]
    s = connect()
    try:
        for r in reqs:
            ST.sent(r)
        s.sendall(b"".join(r.raw() for r in reqs))
        rd = H1Reader(s)
        start = time.monotonic()
        for r in reqs:
            status, hdrs, body = rd.response(sum(x.max_time for x in reqs) + 3)
            judge(r, status, hdrs, body, None, "pipelined")
            if hdrs.get("connection", "").lower() == "close":
                break
        with ST.lock:
            ST.max_latency["pipeline (all)"] = max(ST.max_latency.get("pipeline (all)", 0.0), time.monotonic() - start)
    except Closed:
        ST.fail("pipelined requests: connection closed early", reqs[0])
    except socket.timeout:
        ST.fail("pipelined requests: no answer in time", reqs[0])
    except ValueError as e:
        ST.fail("pipelined requests: malformed HTTP", reqs[0], str(e))
    except OSError as e:
        ST.fail("pipelined requests: socket error", reqs[0], repr(e))
    finally:
        s.close()


def op_h2(rng):
    try:
        c = H2Conn(connect(), table_size_zero=rng.random() < 0.9)
    except OSError as e:
        ST.fail("h2 connect", None, repr(e))
        return
    try:
        plan, burst = {}, b""
        for j in range(rng.randint(2, 8)):
            sid = 1 + 2 * j
            r = rng.random()
            req = gen_normal(rng) if r < 0.5 else gen_knobs(rng) if r < 0.85 else gen_bad(rng)
            if req.ep == "big":
                req = gen_knobs(rng)
            action = rng.choices(["complete", "reset-now", "reset-later"], [5, 2, 3])[0]
            at = time.monotonic() + rng.uniform(0.005, 0.6) if action == "reset-later" else None
            plan[sid] = (req, action, at)
            ST.sent(req)
            burst += h2_headers(sid, req)
            if action == "reset-now":
                burst += h2_rst(sid)
                c.reset_by_us.add(sid)
            if rng.random() < 0.2:
                burst += h2_frame(PING, 0, 0, rng.randbytes(8))
        c.send(burst)
        start = time.monotonic()
        limit = start + max(r.max_time for r, _, _ in plan.values()) + 2
        abandon = start + rng.uniform(0.05, 1.0) if rng.random() < 0.2 else None
        while time.monotonic() < limit and not c.closed:
            now = time.monotonic()
            for sid, (req, action, at) in plan.items():
                if at is not None and now >= at and sid not in c.reset_by_us:
                    c.reset_by_us.add(sid)
                    if sid not in c.ended:
                        c.send(h2_rst(sid))
            if abandon is not None and now >= abandon:
                ST.count(ST.notes, "h2 connection dropped with streams open")
                break
            if all(sid in c.ended or action != "complete" and sid in c.reset_by_us
                   for sid, (req, action, at) in plan.items()):
                break
            c.pump(0.02)
        for sid, (req, action, at) in plan.items():
            end = c.ended.get(sid)
            if end == "end":
                judge(req, c.status.get(sid), None, c.data.get(sid, b""), None, "h2")
                ST.count(ST.notes, "h2 :status decoded" if c.status.get(sid) else "h2 :status not decoded")
            elif action == "complete" and abandon is None:
                if end == "reset":
                    ST.fail("bffd reset an h2 stream", req)
                elif c.closed:
                    ST.fail("bffd closed an h2 connection with a stream unanswered", req, "goaway=%s" % c.goaway)
                else:
                    ST.fail("h2 stream not answered in time", req)
        ST.count(ST.notes, "h2 connections")
        if rng.random() < 0.5:
            c.send(h2_frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
    except OSError as e:
        ST.fail("h2 socket error", None, repr(e))
    finally:
        c.close(abrupt=rng.random() < 0.5)


RAPID = {"sent": 0}


def op_rapid_reset():
    c = H2Conn(connect())
    c.pump(0.1)
    burst = b"".join(h2_headers(1 + 2 * j, Req("rr", "dash", "/dash/rr%d" % (j % 5))) + h2_rst(1 + 2 * j)
                     for j in range(500))
    try:
        c.send(burst)
        RAPID["sent"] = 500
    except OSError:
        RAPID["sent"] = -1  # cut off by bffd: fine
    c.pump(0.5)
    c.close()
    ST.count(ST.notes, "rapid reset bursts")

# ---------------------------------------------------------------- the run


def client(idx, until):
    rng = random.Random(SEED * 1000 + idx)
    ka = KeepAlive()
    ops = [("keepalive", 40), ("disconnect", 12), ("garbage", 5), ("big-headers", 5),
           ("pipeline", 4), ("h2", 10)]
    names, weights = zip(*ops)
    rapid_at = time.monotonic() + (until - time.monotonic()) * 0.4 if idx == 0 else None
    try:
        while time.monotonic() < until and not ST.stop.is_set():
            if rapid_at is not None and time.monotonic() >= rapid_at:
                rapid_at = None
                op_rapid_reset()
                continue
            op = rng.choices(names, weights)[0]
            ST.count(ST.ops, op)
            if op == "keepalive":
                op_keepalive(rng, ka)
            elif op == "disconnect":
                op_disconnect(rng)
            elif op == "garbage":
                op_garbage(rng)
            elif op == "big-headers":
                op_big_headers(rng)
            elif op == "pipeline":
                op_pipeline(rng)
            else:
                op_h2(rng)
    except Exception as e:  # a bug in the driver must not pass silently
        import traceback
        ST.fail("client thread %d crashed" % idx, None, "%r\n%s" % (e, traceback.format_exc()))
    finally:
        ka.close()


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
    global PORT
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
    PORT = bffd.port
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
    threads = [threading.Thread(target=client, args=(k, until), daemon=True) for k in range(THREADS)]
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
