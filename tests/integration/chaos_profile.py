"""The chaos test's profile: one bffd profile whose six endpoints use every composition feature
together (see test_chaos.py), the table of what each endpoint may call, and the bodies each must
give, computed independently from a second, reference demo upstream."""
import http.client
import json

from harness import eq

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
