"""The chaos test's requests: normal ones, ones with failure knobs and bad ones, each with the
most upstream calls it can cause, and the checks every answer to them must pass."""
import json

from chaos_profile import (CODE_STATUS, CONTENTION, DASH_DEPS, ENDPOINTS, IDS, REASONS, RELAYED,
                           SOURCE_ORDER, bulk_expected, chain_expected, dash_expected, slow_expected)

SLACK = 2.5          # seconds an answer may take beyond its endpoint's deadline (ASan, 2 cores)

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
