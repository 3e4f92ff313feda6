"""Composition end to end, how an endpoint's answer is put together: the real bffd executing
endpoint specs against the C demo upstream. Covers parallel and chained sources, for-each / batch
fan-out and coalescing, parameter validation, Server-Timing / request id / trace context and
response shaping. Failing upstreams are in test_compose_failures.py, clients that go away in
test_compose_disconnects.py.

Run from the repository root: python3 tests/integration/test_compose_sources.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from compose_helpers import (_started, checked, error_of, paths, setup, timed_get,  # noqa: E402
                             upstream_direct)
from harness import check, eq  # noqa: E402

harness.set_time_limit(170)


# ---------------------------------------------------------------- 1. parallelism

def test_proxy_environment_is_ignored():
    """Upstream calls go straight to the upstream whatever the proxy variables say (curl would
    otherwise read them on every transfer)."""
    up = harness.Upstream()
    dead = harness.free_port()  # nothing listens: a call sent through the "proxy" fails
    env = {k: "http://127.0.0.1:%d" % dead for k in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")}
    env.update(no_proxy="", NO_PROXY="")
    bffd = harness.Bffd({"t": {"profile": harness.upstream_profile("t", up.url), "endpoints": {"u.yaml": """
        endpoint: GET /u/{id}
        sources:
          user: { upstream: users, path: "/users/{id}" }
        response: { id: user.id }
        """}}}, env=env)
    _started.append(bffd)
    status, _, body = bffd.get("/u/5")
    eq(status, 200, body)
    eq(json.loads(body), {"id": "5"})


def test_independent_sources_run_in_parallel():
    up, bffd = setup({"p.yaml": """
        endpoint: GET /par/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=200
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=2&delay_ms=200
          unread:
            upstream: notifications
            path: /notifications/{id}/unread?delay_ms=200
          sameUser:
            upstream: users
            path: /users/{id}?delay_ms=200
        response:
          id: user.id
          sameId: sameUser.id
          firstOrder: "orders.orders[0].id"
          unread: unread.unreadCount
        """})
    timed_get(bffd, "/par/warmup")  # connections to the upstream exist afterwards
    status, _, body, elapsed = timed_get(bffd, "/par/u42")
    eq(status, 200, "status")
    eq(body["id"], "u42")
    eq(body["firstOrder"], "o-u42-1")
    eq(body["sameId"], "u42", "a source identical to another gets the shared result")
    check(isinstance(body["unread"], int), "unread count missing: %r" % body)
    check(elapsed < 0.45, "three 200 ms sources took %.0f ms: not run in parallel" % (elapsed * 1000))
    check(elapsed >= 0.19, "faster than one upstream delay (%.0f ms)?" % (elapsed * 1000))
    p = paths(up)
    eq((p.get("/users/u42"), p.get("/orders"), p.get("/notifications/u42/unread")), (1, 2, 1),
       "one call per distinct source call (identical ones coalesced; orders also for the warm-up)")


# ---------------------------------------------------------------- 2. chains

def test_chained_source_uses_field_of_another_and_time_follows_the_path():
    up, bffd = setup({"c.yaml": """
        endpoint: GET /chain/{id}
        sources:
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=3&delay_ms=150
          ship:
            upstream: shipping
            path: "/shipments/{orders.orders[1].id}?delay_ms=150"
          user:
            upstream: users
            path: /users/{id}?delay_ms=250
        response:
          orderId: "orders.orders[1].id"
          shipment: ship.orderId
          carrier: ship.carrier
          user: user.id
        """})
    timed_get(bffd, "/chain/warmup")
    status, _, body, elapsed = timed_get(bffd, "/chain/u7")
    eq(status, 200, "status")
    eq(body["orderId"], "o-u7-2")
    eq(body["shipment"], "o-u7-2", "the shipment of the order named by the first source")
    eq(body["user"], "u7")
    # orders -> ship is 300 ms; user (250 ms) runs beside it: ~300 ms, not 550.
    check(0.29 <= elapsed < 0.45, "chain took %.0f ms, expected ~300 ms (sum along the path)" % (elapsed * 1000))
    eq(paths(up).get("/shipments/o-u7-2"), 1, "the dependent call went out once")
    eq(body["carrier"], upstream_direct(up, "/shipments/o-u7-2")["carrier"])


def test_chain_missing_value_fails_the_dependent_source():
    up, bffd = setup({"c.yaml": """
        endpoint: GET /chain/{id}
        sources:
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=1
          ship:
            upstream: shipping
            path: "/shipments/{orders.orders[5].id}"
            optional: true
        response:
          orderId: "orders.orders[0].id"
          ship: ship.orderId
        """})
    status, hdrs, body, _ = timed_get(bffd, "/chain/u1")
    eq(status, 200)
    eq(body["ship"], None)
    eq(hdrs.get("bff-partial"), "true")
    errs = {e["source"]: e for e in body["errors"]}
    check("orders.orders[5].id" in errs["ship"]["message"], "message names the missing value: %r" % errs)
    check(not any(k.startswith("/shipments") for k in paths(up)), "no call with a half-built URL")


# ---------------------------------------------------------------- 3. for-each and batch

FOR_EACH_SPEC = """
    endpoint: GET /fe/{id}
    query:
      n: {type: int, default: "5"}
    sources:
      orders:
        upstream: orders
        path: /orders?userId={id}&limit={n}
      details:
        upstream: orders
        path: /orders/{item.id}?delay_ms=50
        for_each: {items: "orders.orders[:3]", concurrency: 2}
      owners:
        upstream: users
        path: /users/{item}
        for_each: {items: "orders.orders[*].userId", concurrency: 3}
      capped:
        upstream: shipping
        path: /shipments/{item.id}
        for_each: {items: "orders.orders", max: 2}
    response:
      ids: "details[*].id"
      totals: "details[*].total"
      owners: "owners[*].id"
      shipments: "capped[*].orderId"
    """


def test_for_each_order_coalescing_and_max():
    up, bffd = setup({"fe.yaml": FOR_EACH_SPEC})
    status, _, body, elapsed = timed_get(bffd, "/fe/u5")
    p = paths(up)
    eq(status, 200, "status %r" % body)
    eq(body["ids"], ["o-u5-1", "o-u5-2", "o-u5-3"], "one result per item, in array order")
    eq(body["owners"], ["u5"] * 5, "every item gets its (shared) result")
    eq(body["shipments"], ["o-u5-1", "o-u5-2"], "max caps the items")
    for i in (1, 2, 3):
        eq(p.get("/orders/o-u5-%d" % i), 1, "detail %d called once" % i)
    check("/orders/o-u5-4" not in p, "only the first 3 orders are fetched: %r" % p)
    eq(p.get("/users/u5"), 1, "five identical calls coalesced into one")
    eq(sum(v for k, v in p.items() if k.startswith("/shipments/")), 2, "max: 2 -> two calls")
    # concurrency 2 over 3 items of 50 ms: two waves (>= 100 ms), not one, not three.
    check(0.095 <= elapsed < 0.4, "for-each with concurrency 2 took %.0f ms" % (elapsed * 1000))
    eq(body["totals"], [upstream_direct(up, "/orders/o-u5-%d" % i)["total"] for i in (1, 2, 3)])


def test_for_each_results_not_mixed_up_between_requests():
    """Items not started yet must not be taken for finished ones (their slots used to be
    uninitialised pool memory, which after a similar request held stale record numbers)."""
    up, bffd = setup({"fe.yaml": """
        endpoint: GET /fe
        query:
          a: {default: "x"}
          b: {default: "y"}
          c: {default: "z"}
        sources:
          list:
            upstream: catalog
            path: /products?ids={a},{b},{c}
          details:
            upstream: catalog
            path: /products/{item}
            for_each: {items: "list.products[*].id", concurrency: 1}
        response:
          ids: "details[*].id"
        """})
    for _ in range(3):
        eq(harness.get_json(bffd.port, "/fe?a=p-1&b=p-2&c=p-2")[2], {"ids": ["p-1", "p-2", "p-2"]})
        eq(harness.get_json(bffd.port, "/fe?a=p-1&b=p-2&c=p-3")[2], {"ids": ["p-1", "p-2", "p-3"]},
           "the third item's own result")
    eq(paths(up).get("/products/p-3"), 3, "the third item was really fetched each time")


def test_batch_is_one_upstream_call():
    up, bffd = setup({"b.yaml": """
        endpoint: GET /batch/{id}
        sources:
          recs:
            upstream: catalog
            path: /recommendations/{id}?limit=6
          prods:
            upstream: catalog
            path: /products?ids={items}
            batch: {items: "recs.products[*].id"}
        response:
          recIds: "recs.products[*].id"
          prodIds: "prods.products[*].id"
          names: "prods.products[*].name"
        """})
    status, _, body, _ = timed_get(bffd, "/batch/u3")
    eq(status, 200, "status %r" % body)
    eq(len(body["recIds"]), 6)
    eq(body["prodIds"], body["recIds"], "every id in the one batch call, in order")
    eq(body["names"], [upstream_direct(up, "/products/" + i)["name"] for i in body["recIds"]])
    p = paths(up)
    eq(p.get("/products"), 1, "one batch call")
    eq(sum(v for k, v in p.items() if k.startswith("/products/")), 6, "(6 direct reference calls only)")


# ---------------------------------------------------------------- 4. parameters

def test_parameter_validation():
    up, bffd = setup({"p.yaml": """
        endpoint: GET /items/{n}
        params:
          n: {type: int}
        query:
          limit: {type: int, min: 1, max: 50, default: "3"}
          sort: {enum: [asc, desc], default: asc}
          price: {type: number, min: 0}
        sources:
          orders:
            upstream: orders
            path: /orders?userId=u{n}&limit={limit}
        response:
          n: n
          limit: limit
          sort: sort
          price: price
          orderIds: "orders.orders[*].id"
        """})
    status, _, body, _ = timed_get(bffd, "/items/7")
    eq(status, 200, "defaults: %r" % body)
    eq(body, {"n": 7, "limit": 3, "sort": "asc", "price": None,
              "orderIds": ["o-u7-1", "o-u7-2", "o-u7-3"]}, "defaults applied and typed")
    status, _, body, _ = timed_get(bffd, "/items/7?limit=2&sort=desc&price=9.5")
    eq(body, {"n": 7, "limit": 2, "sort": "desc", "price": 9.5, "orderIds": ["o-u7-1", "o-u7-2"]})
    calls = up.stats()["requests"]
    bad = [
        ("/items/seven", "'n'"),
        ("/items/7x", "'n'"),
        ("/items/1.5", "'n'"),
        ("/items/7?limit=0", "'limit'"),
        ("/items/7?limit=51", "'limit'"),
        ("/items/7?limit=abc", "'limit'"),
        ("/items/7?sort=random", "'sort'"),
        ("/items/7?price=-1", "'price'"),
        ("/items/7?price=1e999", "'price'"),
    ]
    for path, name in bad:
        status, hdrs, body, _ = timed_get(bffd, path)
        eq(status, 400, "%s: %r" % (path, body))
        err = error_of(body)
        eq(err["code"], "bad_parameter", path)
        check(name in err["message"], "%s: message %r does not name %s" % (path, err["message"], name))
        eq(hdrs.get("content-type"), "application/json")
    eq(up.stats()["requests"], calls, "rejected requests make no upstream calls")


# ---------------------------------------------------------------- 5. observability

def test_server_timing_request_id_and_traceparent():
    up, bffd = setup({"e.yaml": """
        endpoint: GET /echo/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=100
          echo:
            upstream: notifications
            path: /echo
            headers:
              X-User: "{id}"
        response:
          id: user.id
          headers: echo.headers
        """})
    status, hdrs, body, _ = timed_get(bffd, "/echo/u1")
    eq(status, 200)
    timing = [part.strip() for part in hdrs.get("server-timing", "").split(",")]
    names = [t.split(";")[0] for t in timing]
    eq(names, ["user", "echo", "total"], "Server-Timing lists each source and the total")
    durs = {t.split(";")[0]: float(t.split("dur=")[1]) for t in timing}
    check(durs["user"] >= 95, "user took 100 ms: %r" % timing)
    check(durs["total"] >= durs["user"] and durs["echo"] < durs["user"], "%r" % timing)
    seen = body["headers"]
    rid = hdrs.get("x-request-id")
    check(rid, "the response carries X-Request-ID")
    eq(seen.get("x-request-id"), rid, "the upstream got the same request id")
    eq(seen.get("x-user"), "u1", "spec headers are rendered")
    tp = seen.get("traceparent", "")
    parts = tp.split("-")
    check(len(parts) == 4 and parts[0] == "00" and len(parts[1]) == 32 and len(parts[2]) == 16
          and all(c in "0123456789abcdef" for c in parts[1] + parts[2]) and parts[1] != "0" * 32,
          "W3C traceparent: %r" % tp)

    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    status, hdrs, body, _ = timed_get(bffd, "/echo/u2", headers={"traceparent": incoming,
                                                                "X-Request-ID": "req-abc-123"})
    eq(status, 200)
    eq(hdrs.get("x-request-id"), "req-abc-123", "an incoming request id is kept")
    eq(body["headers"].get("x-request-id"), "req-abc-123")
    tp = body["headers"].get("traceparent", "").split("-")
    eq(tp[1], "0af7651916cd43dd8448eb211c80319c", "the trace id is kept")
    check(len(tp[2]) == 16 and tp[2] != "b7ad6b7169203331", "bffd becomes the parent: %r" % tp)
    eq(tp[3], "01", "flags kept")

    # an invalid traceparent is not continued (W3C: restart the trace)
    for bad in ("00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033zz-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-x1"):
        _, _, body, _ = timed_get(bffd, "/echo/u3", headers={"traceparent": bad})
        tp = body["headers"].get("traceparent", "")
        check(bad.split("-")[1].lower() not in tp and len(tp) == 55 and tp.endswith("-01"),
              "invalid %r was continued as %r" % (bad, tp))

    # fresh trace ids differ between processes (replicas, restarts), not just between requests
    spec = {"e.yaml": """
        endpoint: GET /echo/{id}
        sources:
          echo: {upstream: users, path: /echo}
        response:
          headers: echo.headers
        """}
    first = [harness.get_json(setup(spec)[1].port, "/echo/x")[2]["headers"]["traceparent"]
             for _ in range(2)]
    check(first[0].split("-")[1] != first[1].split("-")[1],
          "two bffd processes started the same trace id: %r" % first)


# ---------------------------------------------------------------- 6. shaping

def pick_user_with_cancelled(up):
    for n in range(200):
        uid = "s%d" % n
        orders = upstream_direct(up, "/orders?userId=%s&limit=6" % uid)["orders"]
        kept = [o for o in orders if o["status"] != "cancelled"]
        if len(kept) >= 3 and any(o["status"] == "cancelled" for o in orders[:orders.index(kept[2])]):
            return uid, orders
    raise AssertionError("no demo user with a cancelled order among the first ones")


def test_shaping_end_to_end():
    up, bffd = setup({"s.yaml": """
        endpoint: GET /shape/{id}
        sources:
          user:
            upstream: users
            path: /users/{id}?delay_ms=150
          orders:
            upstream: orders
            path: /orders?userId={id}&limit=6
        response:
          userId: user.id
          name: "{user.firstName} {user.lastName} ({user.address.city})"
          contact:
            email: user.email
            where:
              city: user.address.city
              country: user.address.country
          profile:
            $from: user
            $deny: [internal, address.zip, preferences.newsletter]
          orders:
            $from: orders.orders
            $filter: "status != cancelled"
            $limit: 3
            $select:
              id: id
              day: {$from: date, $format: date}
              status: {$from: status, $format: upper}
              items: "items[*].sku"
          statuses: {$from: "orders.orders[*].status", $limit: 2}
          merged:
            $merge:
              - {$from: user, $select: {id: id, address: address}}
              - {$from: "orders.orders[0]", $select: {id: id, address: {tag: status}}}
            $policy: deep
          replaced:
            $merge:
              - {$from: user, $select: {id: id, address: address}}
              - {$from: "orders.orders[0]", $select: {id: id, address: {tag: status}}}
            $policy: replace
          missing: {$from: user.nickname, $default: anonymous}
          card: {$from: user, $allow: [id, address.city, preferences]}
          brief: {$from: orders.orders, $limit: 2, $select: [id, total]}
          whole: {$from: orders.orders, $limit: 1, $select: {self: "@", n: id}}
        """})
    uid, orders = pick_user_with_cancelled(up)
    user = upstream_direct(up, "/users/" + uid)
    status, _, body, _ = timed_get(bffd, "/shape/" + uid)
    eq(status, 200, "%r" % body)
    eq(body["userId"], uid)
    eq(body["name"], "%s %s (%s)" % (user["firstName"], user["lastName"], user["address"]["city"]))
    eq(body["contact"], {"email": user["email"],
                         "where": {"city": user["address"]["city"], "country": user["address"]["country"]}})
    prof = body["profile"]
    check("internal" not in prof, "internal fields leaked: %r" % prof)
    check("zip" not in prof["address"] and prof["address"]["city"] == user["address"]["city"], "%r" % prof)
    check("newsletter" not in prof["preferences"] and "theme" in prof["preferences"], "%r" % prof)
    eq(prof["email"], user["email"])
    text = json.dumps(body)
    check("passwordHash" not in text and "riskScore" not in text, "internal data in the response")
    kept = [o for o in orders if o["status"] != "cancelled"][:3]
    eq(body["orders"], [{"id": o["id"], "day": o["date"][:10], "status": o["status"].upper(),
                         "items": [i["sku"] for i in o["items"]]} for o in kept],
       "$filter, $limit, $select, $format in that order")
    eq(body["statuses"], [o["status"] for o in orders[:2]])
    first = orders[0]
    eq(body["merged"], {"id": first["id"], "address": dict(user["address"], tag=first["status"])},
       "deep merge: the later part (the faster upstream) wins on conflicts, nested objects combine")
    eq(body["replaced"], {"id": first["id"], "address": {"tag": first["status"]}}, "replace policy")
    eq(body["missing"], "anonymous")
    eq(body["card"], {"id": uid, "address": {"city": user["address"]["city"]},
                      "preferences": user["preferences"]}, "$allow keeps only the listed paths")
    eq(body["brief"], [{"id": o["id"], "total": o["total"]} for o in orders[:2]], "$select list")
    eq(body["whole"], [{"self": orders[0], "n": orders[0]["id"]}], "@ is the element itself")


if __name__ == "__main__":
    harness.Runner().run([checked(t) for t in [
        test_proxy_environment_is_ignored,
        test_independent_sources_run_in_parallel,
        test_chained_source_uses_field_of_another_and_time_follows_the_path,
        test_chain_missing_value_fails_the_dependent_source,
        test_for_each_order_coalescing_and_max,
        test_for_each_results_not_mixed_up_between_requests,
        test_batch_is_one_upstream_call,
        test_parameter_validation,
        test_server_timing_request_id_and_traceparent,
        test_shaping_end_to_end,
    ]])
