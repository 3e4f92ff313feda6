#!/usr/bin/env python3
"""Authorization per GraphQL field against real processes: a field may need a principal
(`auth: required`) or scopes (`scopes: [...]`); a client without them gets null and an error
for that field (the rest of the answer intact, null propagating from a non-null field), and
the field's source is never called. Tokens are minted by jose (tests/js/mint.mjs).

Run from the repository root: python3 tests/integration/test_graphql_auth.py
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JS = os.path.join(REPO, "tests", "js")
KEYS = harness.tmpdir()
subprocess.run(["node", os.path.join(JS, "mint.mjs"), "keys", KEYS], check=True, cwd=JS, timeout=60)
NOW = int(time.time())


def token(**claims):
    c = {"sub": "user-1", "iss": "https://id.test", "aud": "shop", "exp": NOW + 600}
    c.update(claims)
    r = subprocess.run(["node", os.path.join(JS, "mint.mjs"), "sign", KEYS],
                       input=json.dumps([{"key": "p256", "alg": "ES256", "claims": c,
                                          "header": {"kid": "p256"}}]),
                       capture_output=True, text=True, cwd=JS, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


AUTH = """
auth:
  jwt:
    algorithms: [ES256]
    issuer: https://id.test
    audience: shop
    keys:
      - { pem: %s/p256.pub.pem, kid: p256 }
""" % KEYS

SDL = """
type Query { user(id: ID!): User, secret(id: ID!): User! }
type User { id: ID! firstName: String email: String orders: OrderPage }
type OrderPage { userId: String }
"""

GRAPH = """
schema: shop.graphql
auth: optional
resolvers:
  Query.user:
    source: { upstream: users, path: "/users/{args.id}" }
  Query.secret:
    source: { upstream: users, path: "/users/{args.id}?secret=1" }
    scopes: [admin]
  User.email: { scopes: [profile:read] }
  User.orders:
    source: { upstream: orders, path: "/orders?userId={parent.id}&limit=1" }
    auth: required
"""


def serve(graph=GRAPH):
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=AUTH)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {},
                            "files": {"graph.yaml": graph, "shop.graphql": SDL}}})
    return up, b


def gql(b, query, tok=None):
    h = {"Content-Type": "application/json"}
    if tok:
        h["Authorization"] = "Bearer " + tok
    st, _, body = harness.request(b.port, "POST", "/graphql", body=json.dumps({"query": query}),
                                  headers=h)
    eq(st, 200, body)
    return json.loads(body)


Q = '{ user(id: "3") { id firstName email orders { userId } } }'


def test_fields_need_their_scopes():
    up, b = serve()
    # Anonymous: the guarded fields are null with errors; the rest is there.
    r = gql(b, Q)
    u = r["data"]["user"]
    eq((u["id"], u["email"], u["orders"]), ("3", None, None))
    check(u["firstName"], r)
    codes = sorted((e["path"][-1], e["extensions"]["code"]) for e in r["errors"])
    eq(codes, [("email", "UNAUTHENTICATED"), ("orders", "UNAUTHENTICATED")])
    eq(up.stats()["paths"].get("/orders", 0), 0, "a guarded field's source is never called")
    # A principal without profile:read: orders (needs a principal) resolves, email does not.
    r = gql(b, Q, token(scope="orders:read"))
    u = r["data"]["user"]
    check(u["email"] is None and u["orders"]["userId"] == "3", r)
    eq([(e["path"], e["extensions"]["code"]) for e in r["errors"]],
       [(["user", "email"], "FORBIDDEN")])
    check("profile:read" in r["errors"][0]["message"], r)
    # With the scope: everything, no errors.
    r = gql(b, Q, token(scope="orders:read profile:read"))
    check("errors" not in r and "@" in r["data"]["user"]["email"], r)
    # A scope is a whole word: "profile:reader" is not "profile:read".
    r = gql(b, Q, token(scope="profile:reader"))
    eq(r["data"]["user"]["email"], None)


def test_endpoint_refusals_as_graphql_errors():
    # A bad token is refused before GraphQL runs: as a GraphQL response to a client that asked
    # for application/graphql-response+json, as bffd's JSON error to one that did not.
    up, b = serve()
    body = json.dumps({"query": Q})
    h = {"Content-Type": "application/json", "Authorization": "Bearer not.a.token"}
    st, hdrs, data = harness.request(b.port, "POST", "/graphql", body=body,
                                     headers=dict(h, Accept="application/graphql-response+json"))
    eq((st, hdrs.get("content-type")), (401, "application/graphql-response+json"), data)
    doc = json.loads(data)
    eq(doc["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", doc)
    check(hdrs.get("www-authenticate", "").startswith("Bearer"), hdrs)
    st, _, data = harness.request(b.port, "POST", "/graphql", body=body, headers=h)
    eq((st, json.loads(data)["error"]["code"]), (401, "unauthorized"))


def test_a_non_null_guarded_field_nulls_its_parent():
    up, b = serve()
    r = gql(b, '{ secret(id: "1") { id } user(id: "2") { id } }', token(scope="profile:read"))
    eq((r["data"], r["errors"][0]["extensions"]["code"], r["errors"][0]["path"]),
       (None, "FORBIDDEN", ["secret"]))
    eq(up.stats()["paths"].get("/users/1", 0), 0)
    r = gql(b, '{ secret(id: "1") { id } }', token(scope="admin"))
    eq(r, {"data": {"secret": {"id": "1"}}})


def test_check_needs_graph_auth_for_guards():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"),
                  harness.upstream_profile("t", "http://127.0.0.1:9", extra=AUTH).replace("@PORT@", "18999"))
    harness.write(os.path.join(d, "graph.yaml"), GRAPH.replace("auth: optional\n", "").replace(
        "User.email: { scopes: [profile:read] }", "User.email: { scopes: profile:read }"))
    harness.write(os.path.join(d, "shop.graphql"), SDL)
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    check(r.returncode != 0, out)
    check("graph.yaml:9:" in out and "scopes is a list" in out, out)
    # Guards in a graph without auth: no request would ever have a principal.
    harness.write(os.path.join(d, "graph.yaml"), GRAPH.replace("auth: optional\n", ""))
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    check(r.returncode != 0 and "has no 'auth: optional'" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_fields_need_their_scopes,
        test_endpoint_refusals_as_graphql_errors,
        test_a_non_null_guarded_field_nulls_its_parent,
        test_check_needs_graph_auth_for_guards,
    ])
