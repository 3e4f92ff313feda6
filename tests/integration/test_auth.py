#!/usr/bin/env python3
"""Authentication and rate limiting against real processes. Tokens are minted by jose (npm, an
implementation independent of bffd's, tests/js/mint.mjs); the real bffd verifies them; a real
redis-server holds the limits two instances share.

Run from the repository root: python3 tests/integration/test_auth.py
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JS = os.path.join(REPO, "tests", "js")
KEYS = harness.tmpdir()
subprocess.run(["node", os.path.join(JS, "mint.mjs"), "keys", KEYS], check=True, cwd=JS, timeout=60)
SECRET = open(os.path.join(KEYS, "hs.secret")).read()
NOW = int(time.time())


def mint(*reqs):
    r = subprocess.run(["node", os.path.join(JS, "mint.mjs"), "sign", KEYS], input=json.dumps(list(reqs)),
                       capture_output=True, text=True, cwd=JS, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def claims(**kw):
    c = {"sub": "user-1", "iss": "https://id.test", "aud": "shop", "exp": NOW + 600, "iat": NOW - 5,
         "scope": "orders:read profile"}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


AUTH = """
auth:
  jwt:
    algorithms: [HS256, RS256, PS256, ES256, ES384, EdDSA]
    issuer: https://id.test
    audience: [shop, shop-admin]
    leeway: 5s
    keys:
      - { pem: %(k)s/rsa.pub.pem, kid: rsa }
      - { pem: %(k)s/p256.pub.pem, kid: p256 }
      - { pem: %(k)s/p384.pub.pem, kid: p384 }
      - { pem: %(k)s/ed.pub.pem, kid: ed }
      - { secret: "%(s)s", kid: hs }
    cookie: session
  api_keys:
    file: api-keys.yaml
  claims_to_headers: { sub: X-User-ID, scope: X-User-Scopes }
rate_limits:
  plans:
    free: { rate: 5/min, burst: 5 }
    gold: { rate: 600/min, burst: 50 }
  default_plan: free
""" % {"k": KEYS, "s": SECRET}

PARTNER_KEY = "pk_test_0123456789abcdef0123456789"
GOLD_KEY = "pk_gold_0123456789abcdef0123456789"
SEGMENT_KEY = "pk_segm_0123456789abcdef0123456789"
API_KEYS = """
- { name: acme, sha256: %s, plan: free, routes: [/v2/] }
- { name: goldco, sha256: %s, plan: gold }
- { name: segco, sha256: %s, plan: gold, routes: [/v2] }
""" % (hashlib.sha256(PARTNER_KEY.encode()).hexdigest(), hashlib.sha256(GOLD_KEY.encode()).hexdigest(),
       hashlib.sha256(SEGMENT_KEY.encode()).hexdigest())

ENDPOINTS = {
    "me.yaml": """
endpoint: GET /me
auth: required
sources:
  echo: { upstream: users, path: "/echo" }
response:
  sub: { $from: auth.sub }
  seen: echo.headers
""",
    "orders.yaml": """
endpoint: GET /me/orders
auth: required
scopes: [orders:read]
sources:
  orders: { upstream: orders, path: "/echo?userId={auth.sub}&limit=2" }
response: { path: orders.path }
""",
    "admin.yaml": """
endpoint: GET /admin
auth: required
scopes: [admin]
sources:
  u: { upstream: users, path: "/users/1" }
response: { id: u.id }
""",
    "write.yaml": """
endpoint: POST /me/notes
auth: required
sources:
  echo: { upstream: users, method: POST, path: "/echo" }
response: { ok: { $value: true } }
""",
    "v2.yaml": """
endpoint: GET /v2/things
auth: required
rate_limit: on
sources:
  u: { upstream: users, path: "/users/2" }
response: { id: u.id }
""",
    "v2x.yaml": """
endpoint: GET /v2x/things
auth: required
sources:
  u: { upstream: users, path: "/users/2" }
response: { id: u.id }
""",
    "v1.yaml": """
endpoint: GET /v1/things
auth: required
sources:
  u: { upstream: users, path: "/users/3" }
response: { id: u.id }
""",
    "public.yaml": """
endpoint: GET /public
rate_limit: on
sources:
  u: { upstream: users, path: "/users/4" }
response: { id: u.id }
""",
}


def serve(extra_profile="", threads=1, upstream=None, endpoints=None, env=None):
    up = upstream or harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=AUTH + extra_profile)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": endpoints or ENDPOINTS,
                            "files": {"api-keys.yaml": API_KEYS}}}, threads=threads, env=env)
    return up, b


def get(b, path, token=None, headers=None, method="GET", body=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    st, hd, raw = harness.request(b.port, method, path, body=body, headers=h)
    return st, hd, (json.loads(raw) if raw else None)


def test_every_algorithm_verified():
    up, b = serve()
    algs = [("hs", "HS256", "hs"), ("rsa", "RS256", "rsa"), ("rsa", "PS256", "rsa"),
            ("p256", "ES256", "p256"), ("p384", "ES384", "p384"), ("ed", "EdDSA", "ed")]
    toks = mint(*[{"key": k, "alg": a, "claims": claims(sub="u-" + a), "header": {"kid": kid}} for k, a, kid in algs])
    for (k, a, _), tok in zip(algs, toks):
        st, h, doc = get(b, "/me", tok)
        eq((st, doc and doc.get("sub")), (200, "u-" + a), (a, doc))
    # Without a kid every key of the family is tried.
    tok, = mint({"key": "ed", "alg": "EdDSA", "claims": claims()})
    eq(get(b, "/me", tok)[0], 200)


def test_credentials_with_whitespace_around_them():
    """Spaces and tabs around a field value are not part of it (RFC 9110 5.5), and the Bearer
    scheme is followed by one or more spaces (11.4): libh2o keeps the ones after an HTTP/1.1
    value, so bffd drops them."""
    up, b = serve()
    tok, = mint({"key": "hs", "alg": "HS256", "claims": claims(sub="ws"), "header": {"kid": "hs"}})
    for value in ("Bearer %s " % tok, "Bearer %s\t" % tok, "Bearer  %s" % tok, "bearer %s" % tok):
        st, _, doc = get(b, "/me", headers={"Authorization": value})
        eq((st, doc and doc.get("sub")), (200, "ws"), repr(value))
    for value in ("Bearer", "Bearer ", "Bearer%s" % tok, "Basic %s" % tok):
        eq(get(b, "/me", headers={"Authorization": value})[0], 401, repr(value))
    eq(get(b, "/v2/things", headers={"X-API-Key": PARTNER_KEY + " "})[0], 200, "a key with a space after it")
    eq(get(b, "/v2/things", headers={"X-API-Key": PARTNER_KEY + "x"})[0], 401)


def test_claims_reach_upstreams_and_client_copies_are_dropped():
    up, b = serve()
    tok, = mint({"key": "rsa", "alg": "RS256", "claims": claims(sub="alice"), "header": {"kid": "rsa"}})
    st, _, doc = get(b, "/me", tok, headers={"X-User-ID": "mallory"})
    eq(st, 200, doc)
    eq(doc["seen"].get("x-user-id"), "alice", "the claim, not the client's header")
    eq(doc["seen"].get("x-user-scopes"), "orders:read profile")
    check("authorization" not in doc["seen"], "the token is not relayed by default")
    st, _, doc = get(b, "/me/orders", tok)
    eq((st, doc["path"]), (200, "/echo?userId=alice&limit=2"), doc)


def refused(b, tok, reason_part, status=401, path="/me"):
    st, h, doc = get(b, path, tok)
    eq(st, status, (reason_part, doc))
    if status == 401:
        check(h.get("www-authenticate", "").startswith("Bearer"), h)
    check(tok is None or tok not in json.dumps(doc), "the token is never echoed")
    if reason_part:
        check(reason_part in doc["error"]["message"], (reason_part, doc))


def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def test_invalid_tokens_are_refused():
    up, b = serve()
    k = {"header": {"kid": "rsa"}}
    good, expired, future_nbf, future_iat, wrong_iss, wrong_aud, no_exp, aud_list, exp_str = mint(
        {"key": "rsa", "alg": "RS256", "claims": claims(), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(exp=NOW - 60), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(nbf=NOW + 600), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(iat=NOW + 600), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(iss="https://evil.test"), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(aud="other"), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(exp=None), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(aud=["x", "shop-admin"]), **k},
        {"key": "rsa", "alg": "RS256", "claims": claims(exp=str(NOW + 600)), **k})
    eq(get(b, "/me", good)[0], 200)
    eq(get(b, "/me", aud_list)[0], 200, "aud as an array with one accepted audience")
    refused(b, expired, "expired")
    refused(b, future_nbf, "")
    refused(b, future_iat, "")
    refused(b, wrong_iss, "")
    refused(b, wrong_aud, "")
    refused(b, no_exp, "")
    refused(b, exp_str, "")
    # Signatures: flipped, stripped, another key's.
    h, p, s = good.split(".")
    flipped = h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:]
    refused(b, flipped, "")
    refused(b, h + "." + p + ".", "")
    foreign, = mint({"key": "rsa2", "alg": "RS256", "claims": claims(), "header": {"kid": "rsa"}})
    refused(b, foreign, "")
    # alg none in its spellings.
    for alg in ("none", "None", "NONE", "nOnE"):
        refused(b, b64({"alg": alg, "typ": "JWT"}) + "." + b64(claims()) + ".", "")
    # Key confusion: an HS256 token whose secret is the RSA public key's PEM.
    pem = open(os.path.join(KEYS, "rsa.pub.pem")).read()
    confused, = mint({"key": "raw", "secret": pem, "alg": "HS256", "claims": claims(), "header": {"kid": "rsa"}})
    refused(b, confused, "")
    # ECDSA: the all-zero signature, and a P-256 token presented as ES384.
    eh = b64({"alg": "ES256", "kid": "p256"})
    refused(b, eh + "." + b64(claims()) + "." + base64.urlsafe_b64encode(bytes(64)).rstrip(b"=").decode(), "")
    es, = mint({"key": "p256", "alg": "ES256", "claims": claims(), "header": {"kid": "p256"}})
    _, ep, esig = es.split(".")
    refused(b, b64({"alg": "ES384", "kid": "p384"}) + "." + ep + "." + esig, "")
    # Unknown kid, garbage, oversized, wrong scheme, crit.
    unknown, = mint({"key": "rsa", "alg": "RS256", "claims": claims(), "header": {"kid": "nope"}})
    refused(b, unknown, "")
    refused(b, "not.a.token", "")
    refused(b, "x" * 10000, "")  # over max_bytes (8KiB), under the header limit
    # crit (jose refuses to sign an unknown one: HS256 by hand, with the profile's secret)
    import hmac
    signing = b64({"alg": "HS256", "kid": "hs", "crit": ["x-bank"], "x-bank": 1}) + "." + b64(claims())
    mac = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    crit = signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    refused(b, crit, "critical")
    # The same by hand without crit passes: the refusal above is crit's alone.
    signing = b64({"alg": "HS256", "kid": "hs"}) + "." + b64(claims())
    mac = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    eq(get(b, "/me", signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode())[0], 200)
    st, _, _ = get(b, "/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    eq(st, 401)
    refused(b, None, "credentials")


def test_scopes():
    up, b = serve()
    tok, = mint({"key": "ed", "alg": "EdDSA", "claims": claims(scope="profile"), "header": {"kid": "ed"}})
    st, h, doc = get(b, "/me/orders", tok)
    eq(st, 403, doc)
    check("orders:read" in doc["error"]["message"], doc)
    tok2, = mint({"key": "ed", "alg": "EdDSA", "claims": claims(scope=None, scp=["admin", "x"]), "header": {"kid": "ed"}})
    eq(get(b, "/admin", tok2)[0], 200, "scp as an array")


def test_session_cookie_and_csrf():
    up, b = serve()
    tok, = mint({"key": "hs", "alg": "HS256", "claims": claims(sub="cookie-user"), "header": {"kid": "hs"}})
    st, _, doc = get(b, "/me", headers={"Cookie": "theme=dark; session=" + tok})
    eq((st, doc["sub"]), (200, "cookie-user"), doc)
    body = json.dumps({"note": "x"})
    ct = {"Content-Type": "application/json"}
    st, _, doc = get(b, "/me/notes", headers=dict(ct, Cookie="session=" + tok), method="POST", body=body)
    eq(st, 403, "a cookie write without the CSRF proof: %r" % doc)
    csrf = "c" * 32
    st, _, doc = get(b, "/me/notes", headers=dict(ct, Cookie="session=%s; csrf=%s" % (tok, csrf), **{"X-CSRF-Token": csrf}),
                     method="POST", body=body)
    eq(st, 200, doc)
    st, _, doc = get(b, "/me/notes", headers=dict(ct, Cookie="session=" + tok, Origin="http://127.0.0.1:%d" % b.port),
                     method="POST", body=body)
    eq(st, 200, ("same origin", doc))
    st, _, _ = get(b, "/me/notes", headers=dict(ct, Cookie="session=" + tok, Origin="https://evil.test"), method="POST", body=body)
    eq(st, 403)


def test_csrf_origin_scheme_where_https_is_known():
    """An Origin naming this host over http:// is another origin when the request came over
    https (bffd's own TLS listener, or a trusted proxy's X-Forwarded-Proto); where bffd cannot
    tell, either scheme is taken."""
    import http.client
    import shutil
    import ssl
    tok, = mint({"key": "hs", "alg": "HS256", "claims": claims(sub="cookie-user"), "header": {"kid": "hs"}})
    body = json.dumps({"note": "x"})

    def post(b, origin, extra=None, tls=False):
        h = dict({"Content-Type": "application/json", "Cookie": "session=" + tok,
                  "Origin": origin % b.port}, **(extra or {}))
        if not tls:
            return get(b, "/me/notes", headers=h, method="POST", body=body)[0]
        c = http.client.HTTPSConnection("127.0.0.1", b.port, timeout=10, context=ssl._create_unverified_context())
        c.request("POST", "/me/notes", body=body, headers=h)
        st = c.getresponse().status
        c.close()
        return st

    xfp = {"X-Forwarded-Proto": "https"}
    up, b = serve()  # no trusted proxies: the header is anyone's word
    eq(post(b, "http://127.0.0.1:%d", xfp), 200, "an untrusted X-Forwarded-Proto changes nothing")
    eq(post(b, "https://127.0.0.1:%d"), 200, "a TLS proxy in front, unknown to bffd")
    eq(post(b, "ftp://127.0.0.1:%d"), 403, "only http and https origins")
    up, b = serve("\ntrusted_proxies: [127.0.0.1]", upstream=up)
    eq(post(b, "http://127.0.0.1:%d", xfp), 403, "https known from the trusted proxy")
    eq(post(b, "https://127.0.0.1:%d", xfp), 200)
    eq(post(b, "HTTPS://127.0.0.1:%d", {"X-Forwarded-Proto": "http, https"}), 200, "the nearest hop's word")
    eq(post(b, "http://127.0.0.1:%d", {"X-Forwarded-Proto": "https, http"}), 200, "the nearest hop said http")
    openssl = shutil.which("openssl")
    check(openssl, "openssl is needed")
    d = harness.tmpdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", "k.pem", "-out", "c.pem"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    up, b = serve("\ntls: { certificate: %s/c.pem, key: %s/k.pem }" % (d, d), upstream=up)
    eq(post(b, "http://127.0.0.1:%d", tls=True), 403, "bffd's own TLS listener")
    eq(post(b, "https://127.0.0.1:%d", tls=True), 200)


def test_api_keys_and_plans():
    up, b = serve()
    st, h, doc = get(b, "/v2/things", headers={"X-API-Key": PARTNER_KEY})
    eq(st, 200, doc)
    eq(h.get("x-ratelimit-limit"), "5")
    eq(get(b, "/v1/things", headers={"X-API-Key": PARTNER_KEY})[0], 403, "the key may call /v2/ only")
    eq(get(b, "/v2/things", headers={"X-API-Key": "pk_wrong_0000000000000000000000"})[0], 401)
    st, h, _ = get(b, "/v2/things", headers={"X-API-Key": GOLD_KEY})
    eq((st, h.get("x-ratelimit-limit")), (200, "600"), "the key's plan")
    # A route prefix is whole segments: /v2 lets in /v2/things, not /v2x/things.
    eq(get(b, "/v2/things", headers={"X-API-Key": SEGMENT_KEY})[0], 200)
    eq(get(b, "/v2x/things", headers={"X-API-Key": SEGMENT_KEY})[0], 403, "/v2x is not under /v2")
    eq(get(b, "/v2x/things", headers={"X-API-Key": GOLD_KEY})[0], 200, "a key without routes")


def test_rate_limit_exact_count_headers_and_retry_after():
    up, b = serve()
    statuses = []
    last = None
    for i in range(8):
        st, h, doc = get(b, "/public")
        statuses.append(st)
        last = (h, doc)
    eq(statuses, [200] * 5 + [429] * 3, "burst 5: exactly five admitted")
    h, doc = last
    check(int(h["retry-after"]) >= 1, h)
    eq(h.get("x-ratelimit-remaining"), "0")
    check(h.get("ratelimit-policy", "").startswith('"free";q=5;w=60'), h)
    check(h.get("ratelimit", "").startswith('"free";r=0;t='), h)
    eq(doc["error"]["code"], "too_many_requests")


def test_tokens_without_a_string_sub_get_their_own_bucket():
    # The rate-limit key is the token's subject; a number is its text, and tokens without one
    # are told apart by their other claims (their time claims aside) instead of sharing one.
    up, b = serve()
    a1, a2, b1, n1, n2 = mint(
        {"key": "hs", "alg": "HS256", "claims": claims(sub=None, client_id="a"), "header": {"kid": "hs"}},
        {"key": "hs", "alg": "HS256", "claims": claims(sub=None, client_id="a", iat=NOW - 7), "header": {"kid": "hs"}},
        {"key": "hs", "alg": "HS256", "claims": claims(sub=None, client_id="b"), "header": {"kid": "hs"}},
        {"key": "hs", "alg": "HS256", "claims": claims(sub=42), "header": {"kid": "hs"}},
        {"key": "hs", "alg": "HS256", "claims": claims(sub="42"), "header": {"kid": "hs"}})

    def remaining(tok):
        st, h, _ = get(b, "/v2/things", headers={"Authorization": "Bearer " + tok})
        eq(st, 200)
        return h.get("x-ratelimit-remaining")

    eq([remaining(a1), remaining(a1), remaining(a2)], ["4", "3", "2"], "one client, a refreshed token")
    eq(remaining(b1), "4", "another client without a sub: its own bucket")
    eq([remaining(n1), remaining(n2)], ["4", "3"], "sub 42 and sub \"42\" name one principal")


def test_two_instances_share_the_limit_through_redis():
    redis = harness.Redis()
    up = harness.Upstream()
    prof_extra = AUTH.replace("  default_plan: free", "  default_plan: free\n  redis: %s" % redis.url)
    res = []
    bs = []
    for _ in range(2):
        prof = harness.upstream_profile("t", up.url, extra=prof_extra)
        bs.append(harness.Bffd({"t": {"profile": prof, "endpoints": ENDPOINTS, "files": {"api-keys.yaml": API_KEYS}}}, threads=2))
    time.sleep(0.3)
    for i in range(6):
        for b in bs:
            res.append(harness.request(b.port, "GET", "/public")[0])
    eq(res.count(200), 5, "one limit for both instances: %r" % res)
    eq(res.count(429), 7)
    check(any(k.startswith(b"bffd:t:rl:") for k in redis.keys()), redis.keys())


def test_redis_failure_modes():
    redis = harness.Redis()
    up = harness.Upstream()
    outs = {}
    for mode in ("open", "closed"):
        extra = AUTH.replace("  default_plan: free", "  default_plan: free\n  command_timeout: 100ms\n  on_redis_failure: %s\n  redis: %s" % (mode, redis.url))
        prof = harness.upstream_profile("t", up.url, extra=extra)
        outs[mode] = harness.Bffd({"t": {"profile": prof, "endpoints": ENDPOINTS, "files": {"api-keys.yaml": API_KEYS}}})
    time.sleep(0.3)
    redis.stop()
    eq(get(outs["closed"], "/public")[0], 503, "fail closed")
    sts = [get(outs["open"], "/public")[0] for _ in range(7)]
    eq(sts, [200] * 5 + [429] * 2, "fail open: the in-process limiter holds the same plan")


def test_client_address_through_trusted_proxies_and_no_secrets_in_the_log():
    up = harness.Upstream()
    prof = harness.upstream_profile("t", up.url, extra=AUTH + "\ntrusted_proxies: [127.0.0.1, 10.0.0.0/8]")
    prof = prof.replace("access_log: off", "access_log: access.log")
    b = harness.Bffd({"t": {"profile": prof, "endpoints": ENDPOINTS, "files": {"api-keys.yaml": API_KEYS}}})
    tok, = mint({"key": "ed", "alg": "EdDSA", "claims": claims(), "header": {"kid": "ed"}})
    alice = {"X-Forwarded-For": "203.0.113.7, 10.1.2.3"}  # the proxy chain: the client, then ours
    for _ in range(5):
        eq(get(b, "/public?token=hunter2&x=1", headers=alice)[0], 200)
    eq(get(b, "/public", headers=alice)[0], 429, "the limit follows the client behind the proxies")
    eq(get(b, "/public", headers={"X-Forwarded-For": "198.51.100.9"})[0], 200, "another client")
    eq(get(b, "/public?%74oken=hunter3&API%5Fkey=hunter4", headers={"X-Forwarded-For": "198.51.100.10"})[0], 200)
    eq(get(b, "/me", tok)[0], 200)
    time.sleep(1.2)  # the access log is flushed each loop turn, buffered per worker
    log = open(os.path.join(b.dir, "t", "access.log")).read()
    check("hunter2" not in log and "token=REDACTED&x=1" in log, log[-600:])
    check("hunter3" not in log and "hunter4" not in log and "%74oken=REDACTED&API%5Fkey=REDACTED" in log,
          "a name percent-encoded is still the name: " + log[-600:])
    check(tok not in log and tok.split(".")[2] not in log, "no token in the log")
    check('"client":"203.0.113.7"' in log, log[-600:])


class JwksServer:
    """An identity provider's JWKS endpoint on 127.0.0.1: serves whatever keys the test sets,
    and counts the fetches."""

    def __init__(self, keys):
        import http.server
        outer = self
        self.doc = {"keys": keys}
        self.fetches = 0
        self.delay = 0  # seconds before it answers
        self.answered = 0

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                time.sleep(outer.delay)
                outer.answered += 1
                body = json.dumps(outer.doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def jwk(name, kid):
    with open(os.path.join(KEYS, name + ".pub.jwk")) as f:
        k = json.load(f)
    k["kid"] = kid
    return k


def test_jwks_url_rotation_and_bounded_fetches():
    idp = JwksServer([jwk("rsa", "k1")])
    up = harness.Upstream()
    extra = AUTH.replace("    keys:\n", "    jwks_url: http://127.0.0.1:%d/jwks.json\n    jwks_min_interval: 1s\n    keys:\n" % idp.port)
    prof = harness.upstream_profile("t", up.url, extra=extra)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": ENDPOINTS, "files": {"api-keys.yaml": API_KEYS}}})
    old, new = mint({"key": "rsa", "alg": "RS256", "claims": claims(sub="old"), "header": {"kid": "k1"}},
                    {"key": "p256", "alg": "ES256", "claims": claims(sub="new"), "header": {"kid": "k2"}})
    st, _, doc = get(b, "/me", old)
    eq((st, doc.get("sub")), (200, "old"), doc)
    eq(get(b, "/me", new)[0], 401, "k2 is not published yet")
    # The provider rotates: k2 in, k1 out. An unknown kid fetches again (after the interval).
    idp.doc = {"keys": [jwk("p256", "k2")]}
    time.sleep(1.1)
    st, _, doc = get(b, "/me", new)
    eq((st, doc.get("sub")), (200, "new"), "the new key is fetched on its first token")
    eq(get(b, "/me", old)[0], 401, "the rotated-out key no longer verifies (cache included)")
    # A flood of made-up kids: fetches stay bounded by the minimum interval.
    before = idp.fetches
    toks = mint(*[{"key": "p256", "alg": "ES256", "claims": claims(), "header": {"kid": "bogus-%d" % i}} for i in range(40)])
    t0 = time.time()
    for t in toks:
        eq(get(b, "/me", t)[0], 401)
    elapsed = time.time() - t0
    check(idp.fetches - before <= 2 + int(elapsed), "fetches under a flood of unknown kids: %d in %.1f s" % (idp.fetches - before, elapsed))
    idp.httpd.shutdown()


def test_an_identity_provider_down_is_a_503_within_the_request_time():
    # Its keys never came: the token is not at fault (a 401 invalid_token makes clients drop
    # it). A provider that hangs holds a request no longer than the request may take.
    idp = JwksServer([jwk("rsa", "k1")])
    idp.delay = 4
    up = harness.Upstream()
    extra = AUTH.replace("    keys:\n", "    jwks_url: http://127.0.0.1:%d/jwks.json\n    keys:\n" % idp.port)
    extra += "limits: { request_timeout: 1s }\n"
    prof = harness.upstream_profile("t", up.url, extra=extra)
    b = harness.Bffd({"t": {"profile": prof, "endpoints": ENDPOINTS, "files": {"api-keys.yaml": API_KEYS}}})
    tok, = mint({"key": "rsa", "alg": "RS256", "claims": claims(), "header": {"kid": "k1"}})
    st, h, doc = get(b, "/me", tok)
    eq((st, doc["error"]["code"], h.get("retry-after")), (503, "auth_unavailable", "1"), doc)
    eq(idp.answered, 0, "answered before the provider did")
    idp.httpd.shutdown()
    # A provider that refuses connections: the fetch fails at once, still no keys.
    extra = AUTH.replace("    keys:\n", "    jwks_url: http://127.0.0.1:%d/jwks.json\n    keys:\n" % harness.free_port())
    b2 = harness.Bffd({"t": {"profile": harness.upstream_profile("t", up.url, extra=extra), "endpoints": ENDPOINTS,
                             "files": {"api-keys.yaml": API_KEYS}}})
    st, _, doc = get(b2, "/me", tok)
    eq((st, doc.get("error", {}).get("code")), (503, "auth_unavailable"), doc)


def test_check_reports_auth_mistakes():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"), harness.upstream_profile(
        "t", "http://127.0.0.1:9", extra="auth:\n  jwt:\n    algorithms: [RS256, none]\n    keys:\n      - { secret: short }"))
    harness.write(os.path.join(d, "endpoints", "a.yaml"),
                  "endpoint: GET /a\nauth: maybe\nrate_limit: platinum\nsources:\n  u: { upstream: users, path: /u }\nresponse: { a: u.a }\n")
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True)
    out = r.stdout + r.stderr
    eq(r.returncode, 1, out)
    check("unknown algorithm 'none'" in out, out)
    check("auth is required, optional or none" in out, out)
    check("profile.yaml:" in out, out)


if __name__ == "__main__":
    harness.set_time_limit(170)
    harness.Runner().run([
        test_every_algorithm_verified,
        test_claims_reach_upstreams_and_client_copies_are_dropped,
        test_invalid_tokens_are_refused,
        test_scopes,
        test_session_cookie_and_csrf,
        test_csrf_origin_scheme_where_https_is_known,
        test_credentials_with_whitespace_around_them,
        test_api_keys_and_plans,
        test_rate_limit_exact_count_headers_and_retry_after,
        test_tokens_without_a_string_sub_get_their_own_bucket,
        test_two_instances_share_the_limit_through_redis,
        test_redis_failure_modes,
        test_client_address_through_trusted_proxies_and_no_secrets_in_the_log,
        test_jwks_url_rotation_and_bounded_fetches,
        test_an_identity_provider_down_is_a_503_within_the_request_time,
        test_check_reports_auth_mistakes,
    ])
