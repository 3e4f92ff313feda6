#!/usr/bin/env python3
"""What upstreams learn of the client's identity, opt-in per upstream, against real processes:
the client's verified token relayed as it came (`auth: { relay: true }`), or a short-lived token
bffd signs with the verified claims (`auth: { token: ... }`, token translation). The client's
tokens are minted by jose; bffd's own are verified by jose (tests/js/mint.mjs) with the public
half of a key the openssl command line generated.

Run from the repository root: python3 tests/integration/test_upstream_auth.py
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
# bffd's signing key, from the openssl command line.
INTERNAL = os.path.join(KEYS, "internal.pem")
subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", INTERNAL], check=True, capture_output=True)
subprocess.run(["openssl", "pkey", "-in", INTERNAL, "-pubout", "-out", INTERNAL + ".pub"],
               check=True, capture_output=True)
NOW = int(time.time())
API_KEY = "pk_test_0123456789abcdef0123456789"


def mint(claims):
    r = subprocess.run(["node", os.path.join(JS, "mint.mjs"), "sign", KEYS],
                       input=json.dumps([{"key": "p256", "alg": "ES256", "claims": claims,
                                          "header": {"kid": "p256"}}]),
                       capture_output=True, text=True, cwd=JS, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def jose_verify(token, audience):
    r = subprocess.run(["node", os.path.join(JS, "mint.mjs"), "verify", INTERNAL + ".pub", "ES256",
                        "bffd-test", audience], input=token, capture_output=True, text=True,
                       cwd=JS, timeout=60)
    assert r.returncode == 0, "jose refused bffd's token: " + r.stderr
    return json.loads(r.stdout)


AUTH = """
auth:
  jwt:
    algorithms: [ES256]
    issuer: https://id.test
    audience: shop
    keys:
      - { pem: %s/p256.pub.pem, kid: p256 }
  api_keys:
    file: api-keys.yaml
  claims_to_headers: { sub: X-User-ID }
cache: {}
""" % KEYS

UPSTREAMS = """  orders:
    url: %(url)s
    auth: { relay: true }
  catalog:
    url: %(url)s
    auth:
      token:
        algorithm: ES256
        key: %(key)s
        kid: bffd-1
        issuer: bffd-test
        audience: catalog
        ttl: 2m
        claims: [sub, scope]
"""

ENDPOINT = """
endpoint: GET /me/ids
auth: required
sources:
  plain: { upstream: users, path: "/echo" }
  relayed: { upstream: orders, path: "/echo" }
  minted: { upstream: catalog, path: "/echo" }
  own: { upstream: catalog, path: "/echo", headers: { Authorization: "Basic c2VydmljZQ==" } }
response:
  plain: plain.headers
  relayed: relayed.headers
  minted: minted.headers
  own: own.headers
"""


CACHED = """
endpoint: GET /me/cached
auth: required
cache: { ttl: 1s, stale_while_revalidate: 30s }
sources:
  relayed: { upstream: orders, path: "/echo" }
response:
  seen: relayed.headers
"""


SOURCE_CACHED = """
endpoint: GET /me/plain
auth: required
sources:
  u: { upstream: users, path: "/echo?x=1", cache: 30s }
response:
  seen: u.headers
"""


def serve():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, upstreams=("users",), extra=AUTH)
    prof += UPSTREAMS % {"url": up.url, "key": INTERNAL}
    keys = "- { name: acme, sha256: %s }\n" % __import__("hashlib").sha256(API_KEY.encode()).hexdigest()
    b = harness.Bffd({"t": {"profile": prof, "endpoints": {"ids.yaml": ENDPOINT, "cached.yaml": CACHED,
                                                         "plain.yaml": SOURCE_CACHED},
                            "files": {"api-keys.yaml": keys}}})
    return up, b


def ids(b, headers):
    st, _, body = harness.request(b.port, "GET", "/me/ids", headers=headers)
    eq(st, 200, body)
    return json.loads(body)


def test_relay_and_translation():
    up, b = serve()
    token = mint({"sub": "user-7", "iss": "https://id.test", "aud": "shop", "exp": NOW + 600,
                  "scope": "orders:read", "email": "u7@example.test"})
    got = ids(b, {"Authorization": "Bearer " + token})
    check("authorization" not in got["plain"], "an upstream without auth: gets no token")
    eq(got["relayed"].get("authorization"), "Bearer " + token, "relay: the client's token as it came")
    eq(got["own"].get("authorization"), "Basic c2VydmljZQ==", "a source's own Authorization wins")
    minted = got["minted"]["authorization"]
    check(minted.startswith("Bearer ") and minted[7:] != token, minted)
    v = jose_verify(minted[7:], "catalog")
    eq((v["header"]["alg"], v["header"]["kid"]), ("ES256", "bffd-1"))
    p = v["payload"]
    eq((p["sub"], p["scope"], p["iss"], p["aud"], p["exp"] - p["iat"]),
       ("user-7", "orders:read", "bffd-test", "catalog", 120))
    check("email" not in p, "only the claims named are copied")
    check(abs(p["iat"] - time.time()) < 30, p)
    # The same principal again: the token bffd signed is reused (half its life).
    eq(ids(b, {"Authorization": "Bearer " + token})["minted"]["authorization"], minted)
    # Another principal gets its own.
    other = mint({"sub": "user-8", "iss": "https://id.test", "aud": "shop", "exp": NOW + 600})
    p8 = jose_verify(ids(b, {"Authorization": "Bearer " + other})["minted"]["authorization"][7:],
                     "catalog")["payload"]
    eq((p8["sub"], "scope" in p8), ("user-8", False))


def test_api_key_principals_are_translated_not_relayed():
    up, b = serve()
    got = ids(b, {"X-API-Key": API_KEY})
    check("authorization" not in got["relayed"], "an API key is never relayed: " + repr(got["relayed"]))
    p = jose_verify(got["minted"]["authorization"][7:], "catalog")["payload"]
    eq(p["sub"], "acme")


def test_background_refresh_calls_as_the_request_would():
    up, b = serve()
    token = mint({"sub": "user-9", "iss": "https://id.test", "aud": "shop", "exp": NOW + 600})
    h = {"Authorization": "Bearer " + token}
    st, hd, first = harness.request(b.port, "GET", "/me/cached", headers=h)
    eq((st, hd.get("x-cache")), (200, "miss"), first)
    time.sleep(1.2)
    st, hd, _ = harness.request(b.port, "GET", "/me/cached", headers=h)
    eq(hd.get("x-cache"), "stale")
    time.sleep(0.4)
    st, hd, body = harness.request(b.port, "GET", "/me/cached", headers=h)
    eq(hd.get("x-cache"), "hit")
    seen = json.loads(body)["seen"]
    check(seen["x-request-id"] != json.loads(first)["seen"]["x-request-id"], "the refresh's answer")
    eq((seen.get("authorization"), seen.get("x-user-id")), ("Bearer " + token, "user-9"),
       "the refresh relays the token and sends the claim headers")


def test_answers_upstreams_gave_a_principal_are_cached_per_principal():
    # Neither spec reads auth.*, but the upstreams heard X-User-ID (and a relayed token): an
    # entry of one principal must never answer another.
    up, b = serve()
    users = {}
    for sub in ("user-a", "user-b"):
        users[sub] = {"Authorization": "Bearer " + mint({"sub": sub, "iss": "https://id.test",
                                                        "aud": "shop", "exp": NOW + 600})}
    for sub, h in users.items():
        st, hd, body = harness.request(b.port, "GET", "/me/cached", headers=h)
        eq((st, hd.get("x-cache"), json.loads(body)["seen"]["x-user-id"]), (200, "miss", sub))
        eq(hd.get("cache-control", "").startswith("private"), True, hd)
        st, hd, body = harness.request(b.port, "GET", "/me/plain", headers=h)
        eq(json.loads(body)["seen"]["x-user-id"], sub, "a source's cache too")
    for sub, h in users.items():
        st, hd, body = harness.request(b.port, "GET", "/me/cached", headers=h)
        eq((hd.get("x-cache"), json.loads(body)["seen"]["x-user-id"]), ("hit", sub))
        st, hd, body = harness.request(b.port, "GET", "/me/plain", headers=h)
        eq(json.loads(body)["seen"]["x-user-id"], sub)
    eq(up.stats()["paths"].get("/echo", 0), 4, "two principals, two calls per cached thing")


def test_check_reports_bad_upstream_auth():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    prof = harness.upstream_profile("t", "http://127.0.0.1:9", upstreams=("users",), extra=AUTH)
    prof += """  orders:
    url: http://127.0.0.1:9
    auth: { relay: true, token: { algorithm: ES256, key: %s, issuer: x } }
  catalog:
    url: http://127.0.0.1:9
    auth: { token: { algorithm: RS256, key: %s, issuer: x } }
""" % (INTERNAL, INTERNAL)
    harness.write(os.path.join(d, "profile.yaml"), prof)
    harness.write(os.path.join(d, "api-keys.yaml"), "[]\n")
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    check(r.returncode != 0, out)
    check("profile.yaml:" in out and "not both" in out, out)
    check("RS256 needs an RSA private key" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_relay_and_translation,
        test_api_key_principals_are_translated_not_relayed,
        test_background_refresh_calls_as_the_request_would,
        test_answers_upstreams_gave_a_principal_are_cached_per_principal,
        test_check_reports_bad_upstream_auth,
    ])
