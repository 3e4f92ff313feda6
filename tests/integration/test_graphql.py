#!/usr/bin/env python3
"""The GraphQL endpoint against the real bffd and the demo upstream: the web profile's own
graph.yaml over schemas/shop.graphql, queried per the GraphQL-over-HTTP specification (GET and
POST, media types and status codes), execution (parallel siblings, chained children, identical
calls once, partial failure, mutations), limits before any upstream call, hidden fields and
introspection checked with graphql-js (buildClientSchema, validate).

Needs node and tests/js/node_modules (scripts/install-deps.sh). Run from the repository root:
python3 tests/integration/test_graphql.py
"""
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOP = os.path.join(REPO, "schemas", "shop.graphql")
GQL = "application/graphql-response+json"


def web_graph(extra=""):
    with open(os.path.join(REPO, "bff", "web", "graph.yaml")) as f:
        text = f.read().replace("../../schemas/shop.graphql", SHOP)
    return text + extra


def start(graph=None, profile_extra="", upstream=None):
    up = upstream or harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=profile_extra)
    bff = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": graph or web_graph()}}})
    return up, bff


def post(bff, query, variables=None, accept=None, op=None, raw=None, ctype="application/json"):
    body = raw if raw is not None else json.dumps(
        {"query": query, "variables": variables, "operationName": op}).encode()
    headers = {"Content-Type": ctype}
    if accept:
        headers["Accept"] = accept
    status, hdrs, data = harness.request(bff.port, "POST", "/graphql", body=body, headers=headers)
    return status, hdrs, json.loads(data) if data else None


def get(bff, query, variables=None, accept=None, op=None):
    params = {"query": query}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    if op:
        params["operationName"] = op
    headers = {"Accept": accept} if accept else {}
    status, hdrs, data = harness.request(
        bff.port, "GET", "/graphql?" + urllib.parse.urlencode(params), headers=headers)
    return status, hdrs, json.loads(data) if data else None


def upstream_json(up, path):
    status, _, body = harness.request(up.port, "GET", path)
    eq(status, 200, path)
    return json.loads(body)


def test_query_matches_the_upstream_data():
    up, bff = start()
    q = "{ user(id: \"7\") { id name email tier address { city country } createdAt } }"
    status, hdrs, doc = post(bff, q)
    eq((status, hdrs["content-type"]), (200, "application/json"))
    u = upstream_json(up, "/users/7")
    eq(doc, {"data": {"user": {"id": "7", "name": "%s %s" % (u["firstName"], u["lastName"]),
                                "email": u["email"], "tier": u["tier"],
                                "address": {"city": u["address"]["city"],
                                            "country": u["address"]["country"]},
                                "createdAt": u["createdAt"]}}})
    # The same over GET, with variables and an operation name.
    status, _, doc2 = get(bff, "query U($id: ID!) { user(id: $id) { id name } } query V { __typename }",
                          {"id": "7"}, op="U")
    eq((status, doc2["data"]["user"]["name"]), (200, doc["data"]["user"]["name"]))
    # Unknown users are null, without an error (the users service answers 404).
    harness.request(up.port, "POST", "/__chaos?service=users&status=404")
    eq(post(bff, "{ user(id: \"7\") { id } }")[2], {"data": {"user": None}})
    harness.request(up.port, "POST", "/__chaos")
    eq(bff.stop(), 0)


def test_execution_plan_parallel_chained_deduplicated():
    up, bff = start()
    up.reset()
    q = """{
      user(id: "3") {
        name
        orders(limit: 2) { id status items { sku product { id name } } shipment { carrier status } }
        recommendations(limit: 2) { id }
        unreadNotifications
      }
    }"""
    status, _, doc = post(bff, q)
    eq(status, 200, doc)
    check("errors" not in doc, doc)
    user = doc["data"]["user"]
    orders = upstream_json(up, "/orders?userId=3&limit=2")["orders"]
    eq([o["id"] for o in user["orders"]], [o["id"] for o in orders])
    for got, want in zip(user["orders"], orders):
        eq([i["sku"] for i in got["items"]], [i["sku"] for i in want["items"]])
        for item in got["items"]:
            eq(item["product"]["id"], item["sku"])
    up.reset()
    post(bff, q)
    stats = up.stats()
    skus = {i["sku"] for o in orders for i in o["items"]}
    check(len(skus) > 1, orders)
    # The items' products in one batched call (web binds OrderItem.product with `batch` and
    # `match`), whatever the number of items naming them; one call per order for the shipments;
    # users, orders, recommendations and notifications once each.
    eq(stats["requests"], 4 + len(orders) + 1, stats)
    batch = [p for p in stats["paths"] if p.startswith("/products")]
    eq(batch, ["/products"], stats)
    # The same fields through a per-item binding: one call per distinct product.
    per_item = web_graph().replace('''      path: "/products?ids={items}"
      batch: { items: parent.sku, max: 50 }
    match: { list: response.products, key: id }''', '''      path: "/products/{parent.sku}"''')
    check(per_item != web_graph(), "the web graph binds OrderItem.product in batches")
    eq(bff.stop(), 0)
    up2, bff = start(per_item, upstream=up)
    up.reset()
    eq(post(bff, q)[2], doc)
    eq(up.stats()["requests"], 4 + len(orders) + len(skus), up.stats())
    eq(bff.stop(), 0)


def test_partial_failure_and_null_propagation():
    up, bff = start()
    harness.request(up.port, "POST", "/__chaos?service=notifications&status=503")
    status, _, doc = post(bff, "{ user(id: \"1\") { name unreadNotifications } }")
    eq(status, 200)
    eq(doc["data"]["user"]["unreadNotifications"], None)
    check(doc["data"]["user"]["name"], doc)
    err = doc["errors"][0]
    eq((err["path"], err["extensions"]["code"], err["extensions"]["status"]),
       (["user", "unreadNotifications"], "UPSTREAM_FAILED", 503))
    check("127.0.0.1" not in json.dumps(doc) and "http" not in json.dumps(doc), doc)
    # `orders` is [Order!]!: when the orders service fails, the user becomes null.
    harness.request(up.port, "POST", "/__chaos?service=orders&status=503")
    doc = post(bff, "{ user(id: \"1\") { name orders { id } } }")[2]
    eq(doc["data"], {"user": None})
    eq(doc["errors"][0]["path"], ["user", "orders"])
    harness.request(up.port, "POST", "/__chaos")
    eq(bff.stop(), 0)


def test_mutation_runs_in_order_with_the_arguments_as_body():
    up, bff = start()
    m = """mutation Place($u: ID!) {
      first: placeOrder(userId: $u, input: {items: [{sku: "p-1", qty: 2}], note: "ring twice"}) {
        orderId status order { id }
      }
      second: placeOrder(userId: $u, input: {items: {sku: "p-2"}}) { orderId }
    }"""
    status, _, doc = post(bff, m, {"u": "5"})
    eq(status, 200, doc)
    first, second = doc["data"]["first"], doc["data"]["second"]
    eq(first["status"], "placed")
    check(first["orderId"].startswith("o-5-") and second["orderId"].startswith("o-5-"), doc)
    check(first["orderId"] != second["orderId"])
    # Mutations are POST-only.
    status, hdrs, doc = get(bff, "mutation { placeOrder(userId: \"1\", input: {items: []}) { orderId } }")
    eq((status, hdrs.get("allow")), (405, "POST"), doc)
    eq(bff.stop(), 0)


def test_graphql_over_http_status_codes_and_media_types():
    up, bff = start()
    # Parse and validation errors: 200 under application/json, 400 under graphql-response+json.
    for accept, code, ctype in ((None, 200, "application/json"), (GQL, 400, GQL)):
        status, hdrs, doc = post(bff, "{ user(id: 1) { nope } }", accept=accept)
        eq((status, hdrs["content-type"]), (code, ctype), doc)
        eq(doc["errors"][0]["message"],
           "Cannot query field \"nope\" on type \"User\". Did you mean \"name\"?")
        check("data" not in doc)
        status, _, doc = post(bff, "{ user(", accept=accept)
        eq(status, code)
        check(doc["errors"][0]["message"].startswith("Syntax Error"), doc)
    status, hdrs, doc = post(bff, "{ __typename }", accept=GQL + ", application/json")
    eq((status, hdrs["content-type"], doc), (200, GQL, {"data": {"__typename": "Query"}}))
    # The Accept header's weights decide: q=0 refuses a type, the heavier one wins.
    for accept, ctype in ((GQL + ";q=0, application/json", "application/json"),
                          ("application/json;q=0.9, " + GQL, GQL),
                          ("application/json, " + GQL + ";q=0.5", "application/json"),
                          (GQL + " ; q=0.8, application/json;q=0.7", GQL),
                          ("*/*", "application/json")):
        status, hdrs, doc = post(bff, "{ user(", accept=accept)
        eq((status, hdrs["content-type"]), (400 if ctype == GQL else 200, ctype), accept)
    # Requests that are not GraphQL requests: 4xx whatever the Accept.
    for raw, ctype, want in ((b"{nope", "application/json", 400),
                             (b"[]", "application/json", 400),
                             (b"{\"query\": 5}", "application/json", 400),
                             (b"{\"variables\": {}}", "application/json", 400),
                             (b"{\"query\": \"{ __typename }\", \"variables\": [1]}", "application/json", 400),
                             (b"query=x", "application/x-www-form-urlencoded", 415)):
        status, _, doc = post(bff, None, raw=raw, ctype=ctype)
        eq(status, want, raw)
        check(doc["errors"][0]["message"], doc)
    status, hdrs, _ = harness.request(bff.port, "PUT", "/graphql", body=b"{}")
    eq((status, hdrs.get("allow")), (405, "GET, POST"))
    # Variables are coerced, with the specification's messages.
    status, _, doc = post(bff, "query($id: ID!) { user(id: $id) { id } }", {}, accept=GQL)
    eq((status, doc["errors"][0]["message"]),
       (400, "Variable \"$id\" of required type \"ID!\" was not provided."))
    status, _, doc = post(bff, "query($l: Int) { user(id: 1) { orders(limit: $l) { id } } }",
                          {"l": "many"}, accept=GQL)
    eq(status, 400)
    check("Int cannot represent non-integer value" in doc["errors"][0]["message"], doc)
    # Several operations need a name.
    status, _, doc = post(bff, "query A { __typename } query B { __typename }", accept=GQL)
    eq(status, 400)
    eq(doc["errors"][0]["message"],
       "Must provide operation name if query contains multiple operations.")
    eq(bff.stop(), 0)


def test_limits_refuse_before_any_upstream_call():
    graph = web_graph("limits: { max_depth: 3, max_aliases: 2, max_tokens: 200 }\n")
    up, bff = start(graph)
    up.reset()
    deep = "{ user(id: 1) { orders { items { product { name } } } } }"
    status, _, doc = post(bff, deep, accept=GQL)
    eq(status, 400, doc)
    aliases = "{ a: user(id: 1) { id } b: user(id: 2) { id } c: user(id: 3) { id } }"
    eq(post(bff, aliases, accept=GQL)[0], 400)
    many = "{ " + " ".join("f%d: __typename" % i for i in range(100)) + " }"
    status, _, doc = post(bff, many, accept=GQL)
    eq(status, 400)
    check("tokens" in doc["errors"][0]["message"], doc)
    eq(up.stats()["requests"], 0, "nothing was called")
    eq(bff.stop(), 0)


def node(*args):
    r = subprocess.run(["node", os.path.join(REPO, "tests", "js", "introspect.mjs")] + list(args),
                       capture_output=True, text=True, timeout=60, cwd=os.path.join(REPO, "tests", "js"))
    check(r.returncode == 0, r.stderr)
    return json.loads(r.stdout)


def test_introspection_builds_a_client_schema_in_graphql_js():
    up, bff = start()
    url = "http://127.0.0.1:%d/graphql" % bff.port
    out = node(url, "{ user(id: 1) { name orders { status items { product { name } } } } }",
               "{ user(id: 1) { riskScore } }",
               "mutation { placeOrder(userId: 1, input: {items: [{sku: \"p-1\"}]}) { orderId } }")
    eq(out["status"], 200)
    eq(out["results"][0], [])
    eq(out["results"][1], ["Cannot query field \"riskScore\" on type \"User\"."])
    eq(out["results"][2], [])
    printed = out["printed"]
    for fragment in ("type User implements Node", "enum OrderStatus", "input PlaceOrderInput",
                     "fullName: String! @deprecated(reason: \"Use `name`.\")",
                     "scalar DateTime @specifiedBy(url:"):
        check(fragment in printed, fragment)
    eq(bff.stop(), 0)


PARTNER_GRAPH = """\
schema: %s
introspection: false
hide: [User.unreadNotifications, User.phone, User.preferences, Preferences, Theme]
resolvers:
  Query.user: { source: { upstream: users, path: "/users/{args.id}" } }
  Query.order: { source: { upstream: orders, path: "/orders/{args.id}" } }
  Query.product: { source: { upstream: catalog, path: "/products/{args.id}" } }
  Query.products:
    source: { upstream: catalog, path: "/products/{item}", for_each: { items: args.ids, max: 50 } }
  Query.shipment: { source: { upstream: shipping, path: "/shipments/{args.orderId}" } }
  Mutation.placeOrder:
    source: { upstream: orders, method: POST, path: "/orders?userId={args.userId}", body: { items: args.input.items } }
    value: { orderId: response.id, status: response.status }
  User.name: "{parent.firstName} {parent.lastName}"
  User.fullName: "{parent.firstName} {parent.lastName}"
""" % SHOP


def test_introspection_off_is_named_before_the_depth_limit():
    # graphql-js's standard introspection query nests 15 levels: with introspection off and a
    # lower depth limit, the client learns that introspection is off, not that it nests too deep.
    up, bff = start(PARTNER_GRAPH + "limits: { max_depth: 8 }\n")
    out = node("http://127.0.0.1:%d/graphql" % bff.port)
    eq(out["status"], 400, out)
    check("introspection is not allowed" in out["errors"][0]["message"], out)
    eq(bff.stop(), 0)


def test_hidden_fields_and_introspection_off():
    up, bff = start(PARTNER_GRAPH, profile_extra="errors: safe")
    status, _, doc = post(bff, "{ user(id: 1) { phone } }", accept=GQL)
    eq((status, doc["errors"][0]["message"]), (400, "Cannot query field \"phone\" on type \"User\"."))
    status, _, doc = post(bff, "{ __schema { types { name } } }", accept=GQL)
    eq(status, 400)
    check("introspection" in doc["errors"][0]["message"], doc)
    eq(post(bff, "{ __typename }")[2], {"data": {"__typename": "Query"}})
    # Products by id: one call each, in the order asked.
    doc = post(bff, "{ products(ids: [\"p-3\", \"p-1\"]) { id } }")[2]
    eq(doc, {"data": {"products": [{"id": "p-3"}, {"id": "p-1"}]}})
    # Safe errors name no upstream and give no detail.
    harness.request(up.port, "POST", "/__chaos?service=users&status=503")
    doc = post(bff, "{ user(id: 1) { name } }")[2]
    eq(doc["data"], {"user": None})
    eq(doc["errors"][0]["extensions"]["reason"], "bad_status")
    check("503" not in doc["errors"][0]["message"], doc)
    harness.request(up.port, "POST", "/__chaos")
    eq(bff.stop(), 0)


def sha(text):
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_persisted_query_registered_once_serves_every_worker():
    # Each worker parses for itself, but a text registered on one is known to all: a client
    # whose connections land on different workers sends it once, as with Apollo Router.
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url)
    bff = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": web_graph()}}}, threads=4)
    q = "{ product(id: \"p-7\") { id } }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha(q)}}
    eq(post(bff, None, raw=json.dumps({"query": q, "extensions": ext}).encode())[0], 200)
    answers = [post(bff, None, raw=json.dumps({"extensions": ext}).encode())[2] for _ in range(24)]
    eq([a.get("data") for a in answers], [{"product": {"id": "p-7"}}] * 24, answers)
    eq(bff.stop(), 0)


def test_persisted_queries_and_trusted_documents():
    up, bff = start()
    q = "{ product(id: \"p-5\") { id name } }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha(q)}}
    # Automatic persisted queries: the hash alone is unknown at first, then known.
    status, _, doc = post(bff, None, raw=json.dumps({"extensions": ext}).encode())
    eq((status, doc["errors"][0]["message"]), (200, "PersistedQueryNotFound"))
    eq(doc["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND")
    status, _, doc = post(bff, None, raw=json.dumps({"query": q, "extensions": ext}).encode())
    eq((status, doc["data"]["product"]["id"]), (200, "p-5"))
    params = urllib.parse.urlencode({"extensions": json.dumps(ext)})
    status, _, body = harness.request(bff.port, "GET", "/graphql?" + params)
    eq((status, json.loads(body)["data"]["product"]["id"]), (200, "p-5"))
    bad = {"persistedQuery": {"version": 1, "sha256Hash": sha("{ __typename }")}}
    status, _, doc = post(bff, None, raw=json.dumps({"query": q, "extensions": bad}).encode())
    eq((status, doc["errors"][0]["message"]), (400, "provided sha does not match query"))
    for version in (2, "1", None):  # version 1 only, as Apollo Server
        other = {"persistedQuery": {"version": version, "sha256Hash": sha(q)}}
        status, _, doc = post(bff, None, raw=json.dumps({"query": q, "extensions": other}).encode())
        eq((status, doc["errors"][0]["message"]), (400, "Unsupported persisted query version."), version)
    eq(bff.stop(), 0)
    # Trusted documents: with `only`, nothing else runs, by text or by hash.
    trusted = "query Card($id: ID!) { user(id: $id) { name } }"
    graph = web_graph("trusted_documents: { file: trusted.json, only: true }\n")
    up2 = harness.Upstream()
    prof = harness.upstream_profile("t", up2.url)
    bff = harness.Bffd({"t": {"profile": prof, "files": {
        "graph.yaml": graph, "trusted.json": json.dumps({sha(trusted): trusted})}}})
    status, _, doc = post(bff, None, raw=json.dumps({
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(trusted)}},
        "variables": {"id": "3"}}).encode())
    eq(status, 200, doc)
    check(doc["data"]["user"]["name"], doc)
    eq(post(bff, trusted, {"id": "3"})[0], 200)
    status, _, doc = post(bff, "{ __typename }")
    eq((status, doc["errors"][0]["extensions"]["code"]), (400, "PERSISTED_QUERY_NOT_IN_LIST"))
    eq(bff.stop(), 0)
    # A trusted document that does not validate, or whose key is not its digest: refused at load.
    for files in ({"trusted.json": json.dumps({sha("{ nope }"): "{ nope }"})},
                  {"trusted.json": json.dumps({sha("x"): trusted})}):
        files["graph.yaml"] = graph
        bad = harness.Bffd({"t": {"profile": prof, "files": files}}, expect_fail=True)
        check(bad.proc.wait(timeout=15) != 0)
        out = bad.output()
        check("trusted document" in out, out)


STORED = """\
endpoint: GET /v1/customers/{customerId}/orders
query:
  limit: { type: int, default: 2, min: 1, max: 10 }
graphql: |
  query CustomerOrders($customerId: ID!, $limit: Int) {
    user(id: $customerId) { id name orders(limit: $limit) { id status } unreadNotifications }
  }
"""


def test_stored_operation_as_a_rest_route():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url)
    bff = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": web_graph()},
                              "endpoints": {"orders.yaml": STORED}}})
    status, hdrs, doc = harness.get_json(bff.port, "/v1/customers/3/orders?limit=1")
    eq(status, 200, doc)
    orders = upstream_json(up, "/orders?userId=3&limit=1")["orders"]
    eq(doc["user"]["id"], "3")
    eq([o["id"] for o in doc["user"]["orders"]], [o["id"] for o in orders])
    check("errors" not in doc and "bff-partial" not in hdrs, doc)
    eq(harness.get_json(bff.port, "/v1/customers/3/orders?limit=99")[0], 400)
    # A field error sits beside the data; no data at all is a 502.
    harness.request(up.port, "POST", "/__chaos?service=notifications&status=503")
    status, hdrs, doc = harness.get_json(bff.port, "/v1/customers/3/orders")
    eq((status, hdrs.get("bff-partial"), doc["user"]["unreadNotifications"]), (200, "true", None))
    eq(doc["errors"][0]["path"], ["user", "unreadNotifications"])
    harness.request(up.port, "POST", "/__chaos?service=orders&status=503")
    status, _, doc = harness.get_json(bff.port, "/v1/customers/3/orders")
    eq((status, doc["user"]), (200, None), doc)
    harness.request(up.port, "POST", "/__chaos")
    eq(bff.stop(), 0)
    # An operation that does not validate is refused at load, positioned in the spec file.
    broken = STORED.replace("unreadNotifications }", "unreadNotifications riskScore }")
    bad = harness.Bffd({"t": {"profile": prof, "files": {"graph.yaml": web_graph()},
                              "endpoints": {"orders.yaml": broken}}}, expect_fail=True)
    check(bad.proc.wait(timeout=15) != 0)
    out = bad.output()
    check("orders.yaml:6:" in out and "Cannot query field \"riskScore\" on type \"User\"" in out, out)


def test_batched_requests():
    up = harness.Upstream()
    # Off by default: an array body is a 400 naming the reason.
    _, bff = start(upstream=up)
    one = {"query": "{ __typename }"}
    status, _, doc = post(bff, None, raw=json.dumps([one, one]).encode())
    eq(status, 400)
    check("not enabled" in doc["errors"][0]["message"], doc)
    eq(bff.stop(), 0)
    _, bff = start(web_graph("batching: { max: 3 }\n"), upstream=up)
    up.reset()
    batch = [
        {"query": "query U($id: ID!) { user(id: $id) { id } }", "variables": {"id": "4"}},
        {"query": "{ user(id: \"5\") { nope } }"},
        {"query": "{ product(id: \"p-2\") { id } }", "operationName": "X"},
    ]
    status, hdrs, doc = post(bff, None, raw=json.dumps(batch).encode())
    eq((status, hdrs["content-type"]), (200, "application/json"))
    eq(len(doc), 3, doc)
    eq(doc[0], {"data": {"user": {"id": "4"}}})
    check("data" not in doc[1] and "Cannot query field" in doc[1]["errors"][0]["message"], doc)
    eq(doc[2]["errors"][0]["message"], 'Unknown operation named "X".')
    eq(up.stats()["requests"], 1, "only the valid operation called an upstream")
    # Answers keep the batch's order, though the second one (no upstream) is ready first; a batch
    # with a mutation runs one operation after another (the write, then the read).
    slow = {"query": "{ user(id: \"6\") { id } }"}
    status, _, doc = post(bff, None, raw=json.dumps([slow, {"query": "{ __typename }"}]).encode(),
                          accept="application/graphql-response+json")
    eq((status, doc), (200, [{"data": {"user": {"id": "6"}}}, {"data": {"__typename": "Query"}}]))
    write = {"query": "mutation { placeOrder(userId: \"8\", input: {items: [{sku: \"p-1\", qty: 1}]}) "
                      "{ orderId } }"}
    read = {"query": "{ user(id: \"8\") { orders(limit: 1) { id } } }"}
    status, _, doc = post(bff, None, raw=json.dumps([write, read]).encode())
    eq(status, 200, doc)
    check(doc[0]["data"]["placeOrder"]["orderId"].startswith("o-8-"), doc)
    check("errors" not in doc[1], doc)
    # A batch has one deadline, the graph's timeout, however many operations run one after
    # another: with users slowed to 0.7 s and a 1 s timeout, the first read is answered and the
    # second runs out of what is left (on a timeout of its own it would have been answered).
    eq(bff.stop(), 0)
    _, bff = start(web_graph("batching: { max: 3 }\ntimeout: 1s\n"), upstream=up)
    harness.request(up.port, "POST", "/__chaos?service=users&delay_ms=700")
    reads = [{"query": "{ user(id: \"%d\") { id } }" % i} for i in (1, 2)]
    status, _, doc = post(bff, None, raw=json.dumps([write] + reads).encode())
    harness.request(up.port, "POST", "/__chaos")
    eq(status, 200, doc)
    check("errors" not in doc[0], doc)
    eq([[e["extensions"]["code"] for e in d.get("errors", [])] for d in doc[1:]],
       [[], ["UPSTREAM_TIMEOUT"]], doc)
    # The cap, an empty batch and an element that is not an object.
    for raw, want in ((json.dumps([one] * 4), "at most 3 operations"), ("[]", "no operations"),
                      ("[5]", None)):
        status, _, doc = post(bff, None, raw=raw.encode())
        if raw == "[5]":
            eq(status, 200, doc)
            check(doc[0]["errors"][0]["message"], doc)
            continue
        eq(status, 400, raw)
        check(want is None or want in doc["errors"][0]["message"], doc)
    eq(bff.stop(), 0)


def test_bad_bindings_refused_at_load():
    bad = web_graph().replace("Query.user:\n    source: { upstream: users, path: \"/users/{args.id}\" }",
                              "Query.user:\n    source: { upstream: users, path: \"/users/{args.key}\" }")
    bad += "  User.nickname: parent.nick\n  Nope.field: parent.x\n"
    bad = bad.replace("    match: { list: response.products, key: id }\n", "")
    bad = bad.replace('''  Shipment.order:
    source: { upstream: orders, path: "/orders/{parent.orderId}" }''', '''  Shipment.order:
    source: { upstream: orders, path: "/orders/{parent.orderId}?c={parent.carrier}",
              batch: { items: parent.orderId } }
    match: { key: id }''')
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "p", "endpoints"))
    up = harness.Upstream()
    harness.write(os.path.join(d, "p", "profile.yaml"),
                  harness.upstream_profile("t", up.url).replace("@PORT@", "0"))
    harness.write(os.path.join(d, "p", "graph.yaml"), bad)
    r = subprocess.run([harness.BFFD, "check", os.path.join(d, "p")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0, r.stdout + r.stderr)
    out = r.stdout + r.stderr
    for want in ("Query.user reads args.key, but the field has no argument 'key'",
                 "User.nickname: type User has no field 'nickname'",
                 "Nope.field: no object type of that name",
                 "OrderItem.product is batched over parents: add 'match: { list: response.PATH, "
                 "key: MEMBER }'",
                 "Shipment.order is batched over parent.orderId: it may read nothing else of "
                 "the parent"):
        check(want in out, "%r in:\n%s" % (want, out))
    check("graph.yaml:" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_query_matches_the_upstream_data,
        test_execution_plan_parallel_chained_deduplicated,
        test_partial_failure_and_null_propagation,
        test_mutation_runs_in_order_with_the_arguments_as_body,
        test_graphql_over_http_status_codes_and_media_types,
        test_limits_refuse_before_any_upstream_call,
        test_introspection_builds_a_client_schema_in_graphql_js,
        test_introspection_off_is_named_before_the_depth_limit,
        test_hidden_fields_and_introspection_off,
        test_a_persisted_query_registered_once_serves_every_worker,
        test_persisted_queries_and_trusted_documents,
        test_stored_operation_as_a_rest_route,
        test_batched_requests,
        test_bad_bindings_refused_at_load,
    ])
