#!/usr/bin/env python3
"""Consumer contracts against real processes: the demo profiles' /openapi.json validated by an
OpenAPI 3.1 validator from npm (@seriousme/openapi-schema-validator, independent of bffd), its
content checked, served outside auth and rate limits, off by default, rebuilt on reload; and
`bffd types` compiled by the TypeScript compiler (npm `typescript`, tsc --strict) with a real
answer assigned to the generated response type, and wrong values rejected.

Run from the repository root: python3 tests/integration/test_openapi.py
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

JS = os.path.join(harness.SOURCE_DIR, "tests", "js")
TSC = os.path.join(JS, "node_modules", ".bin", "tsc")
DEMO = ("web", "mobile", "partner")


def validate(doc):
    """The npm validator's verdict on a document (dict): (valid, errors)."""
    path = os.path.join(harness.tmpdir(), "doc.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    r = subprocess.run(["node", os.path.join(JS, "openapi-validate.mjs"), path], cwd=JS,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, r.stderr)
    out = json.loads(r.stdout)
    eq(out["version"], "3.1", "the validator must read the document as OpenAPI 3.1")
    return out["valid"], out["errors"]


class Demo:
    """The three demo profiles as shipped, on one demo upstream."""

    def __init__(self):
        self.up = harness.Upstream()
        self.ports = {p: harness.free_port() for p in DEMO}
        env = dict(os.environ, BFF_ACCESS_LOG="off")
        for name in ("USERS", "ORDERS", "CATALOG", "NOTIFICATIONS", "SHIPPING"):
            env[name + "_URL"] = self.up.url
        args = [harness.BFFD, "--threads", "1"]
        for p in DEMO:
            env["BFF_%s_LISTEN" % p.upper()] = "127.0.0.1:%d" % self.ports[p]
            args += ["--profile", os.path.join(harness.SOURCE_DIR, "bff", p)]
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness._processes.append(self.proc)
        for port in self.ports.values():
            harness.wait_port(port, proc=self.proc)

    def doc(self, profile):
        status, hdrs, body = harness.request(self.ports[profile], "GET", "/openapi.json")
        eq(status, 200, body[:300])
        eq(hdrs["content-type"], "application/json")
        return hdrs, json.loads(body)

    def stop(self):
        self.proc.terminate()
        eq(self.proc.wait(15), 0)


_demo = None


def demo():
    global _demo
    if _demo is None:
        _demo = Demo()
    return _demo


def test_demo_documents_are_valid_openapi_3_1():
    d = demo()
    for p in DEMO:
        _, doc = d.doc(p)
        valid, errors = validate(doc)
        check(valid, "%s: %s" % (p, json.dumps(errors)[:2000]))
        eq(doc["openapi"], "3.1.0")
        eq(doc["info"]["version"], "1.0.0")
    # The validator can say no: the same document without `info` is rejected.
    _, doc = d.doc("web")
    del doc["info"]
    eq(validate(doc)[0], False, "a document without info must be invalid")


def test_demo_document_content():
    d = demo()
    _, web = d.doc("web")
    eq(web["info"]["title"], "Web storefront BFF")
    schemes = web["components"]["securitySchemes"]
    eq(schemes["bearerAuth"], {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                               "description": schemes["bearerAuth"]["description"]})
    eq((schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]), ("cookie", "session"))
    me = web["paths"]["/me/settings"]["get"]
    eq(me["security"], [{"bearerAuth": []}, {"sessionCookie": []}])
    check("401" in me["responses"] and "403" in me["responses"], me["responses"].keys())
    # The write: its body as the spec reads it, 201-or-whatever decided by the upstream (2XX),
    # the Location header, and the 409 rule's shaped body.
    place = web["paths"]["/users/{userId}/orders"]["post"]
    eq(place["operationId"], "placeOrder")
    eq(sorted(place["requestBody"]["content"]["application/json"]["schema"]["properties"]), ["items", "note"])
    check("16384 bytes" in place["requestBody"]["description"], place["requestBody"])
    ok = place["responses"]["2XX"]
    check("Location" in ok["headers"], ok)
    conflict = place["responses"]["409"]["content"]["application/json"]["schema"]
    eq(conflict["properties"]["error"], {"type": "string", "const": "out_of_stock"})
    # Typed query parameter with bounds and default.
    dash = web["paths"]["/dashboard/{userId}"]["get"]
    limit = [p for p in dash["parameters"] if p["name"] == "limit"][0]
    eq((limit["in"], limit["required"], limit["schema"]),
       ("query", False, {"type": "integer", "minimum": 1, "maximum": 10, "default": 5}))

    _, mobile = d.doc("mobile")
    dash = mobile["paths"]["/dashboard/{userId}"]["get"]
    eq(dash["parameters"][0], {"name": "userId", "in": "path", "required": True,
                               "schema": {"type": "string", "maxLength": 64}})
    body = dash["responses"]["200"]["content"]["application/json"]["schema"]
    eq(body["properties"]["name"], {"type": "string"})  # a text template
    orders = body["properties"]["orders"]
    eq(orders["type"], ["array", "null"])
    eq(orders["items"]["properties"]["date"], {"type": ["string", "null"], "format": "date"})
    eq(body["properties"]["errors"]["items"], {"$ref": "#/components/schemas/BffPartialError"})
    check("Bff-Partial" in dash["responses"]["200"]["headers"])
    limited = mobile["paths"]["/me/dashboard"]["get"]
    h429 = limited["responses"]["429"]["headers"]
    eq(sorted(h429), ["RateLimit", "RateLimit-Policy", "Retry-After", "X-RateLimit-Limit",
                      "X-RateLimit-Remaining", "X-RateLimit-Reset"])
    check("RateLimit" in limited["responses"]["200"]["headers"])
    check("429" not in dash["responses"], "an unlimited route has no 429")

    _, partner = d.doc("partner")
    eq(partner["components"]["securitySchemes"], {"apiKey": {
        "type": "apiKey", "in": "header", "name": "x-api-key",
        "description": partner["components"]["securitySchemes"]["apiKey"]["description"]}})
    summary = partner["paths"]["/v1/customers/{customerId}/summary"]["get"]
    recent = summary["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["recentOrders"]
    # renames: `placedOn: { $from: date, $format: date }` and `orderId: id`
    eq(sorted(recent["items"]["properties"]), ["currency", "orderId", "placedOn", "status", "total"])
    eq(recent["items"]["properties"]["placedOn"]["format"], "date")
    check("security" not in summary, "a public route has no security requirement")
    v2 = partner["paths"]["/v2/customers/{customerId}/summary"]["get"]
    eq(v2["security"], [{"apiKey": []}])
    check("429" in v2["responses"] and "401" in v2["responses"], v2["responses"].keys())
    eq(sorted(partner["paths"]["/graphql"]), ["post"])
    # A required source's upstream 404 is passed through, so it is documented; and under
    # `errors: safe` (partner) the public document names no source.
    eq(summary["responses"]["404"]["description"], "a required source's upstream answered this status")
    named = [r["description"] for item in partner["paths"].values() for op in item.values()
             for r in op["responses"].values() if r["description"].startswith("source ")]
    eq(named, [], "no source named in a safe profile's document")
    _, web = d.doc("web")
    decided = [r["description"] for item in web["paths"].values() for op in item.values()
               for r in op["responses"].values() if r["description"].startswith("source ")]
    check(decided, "a detailed profile names the source of an on_status answer")


def test_served_like_health_but_with_cors():
    d = demo()
    # No API key, yet the partner document answers while its keyed route says 401.
    eq(harness.request(d.ports["partner"], "GET", "/v2/customers/42/summary")[0], 401)
    hdrs, _ = d.doc("partner")
    etag = hdrs["etag"]
    check(etag.startswith('"') and len(etag) == 18, etag)
    eq(hdrs["cache-control"], "no-cache")
    eq(harness.request(d.ports["partner"], "GET", "/openapi.json", headers={"If-None-Match": etag})[0], 304)
    eq(harness.request(d.ports["partner"], "GET", "/openapi.json",
                       headers={"If-None-Match": '"x", W/' + etag})[0], 304, "a weakened copy matches too")
    status, hhead, body = harness.request(d.ports["partner"], "HEAD", "/openapi.json")
    eq((status, body, hhead["content-length"]), (200, b"", hdrs["content-length"]))
    status, h405, _ = harness.request(d.ports["partner"], "POST", "/openapi.json", body=b"{}")
    eq((status, h405.get("allow")), (405, "GET, HEAD"))
    status, hc, _ = harness.request(d.ports["web"], "GET", "/openapi.json",
                                    headers={"Origin": "http://localhost:3000"})
    eq((status, hc.get("access-control-allow-origin")), (200, "http://localhost:3000"))


def test_off_by_default_and_typed_path_parameter():
    up = harness.Upstream()
    item = {"items.yaml": """\
        endpoint: GET /items/{id}
        params:
          id: { type: int, min: 1 }
        sources:
          user: { upstream: users, path: "/users/{id}" }
        response:
          id: id
          how: { $value: raw }
        """}
    bff = harness.Bffd({
        "on": {"profile": harness.upstream_profile("on", up.url, extra="openapi: on"), "endpoints": item},
        "off": {"profile": harness.upstream_profile("off", up.url), "endpoints": item},
    })
    eq(harness.request(bff.ports["off"], "GET", "/openapi.json")[0], 404)
    status, _, raw = harness.request(bff.ports["on"], "GET", "/openapi.json")
    eq(status, 200)
    doc = json.loads(raw)
    eq(doc["info"]["title"], "on")  # the profile's name
    op = doc["paths"]["/items/{id}"]["get"]
    eq(op["operationId"], "items")
    eq(op["parameters"], [{"name": "id", "in": "path", "required": True,
                           "schema": {"type": "integer", "minimum": 1}}])
    props = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    eq(props, {"id": {"type": "integer", "minimum": 1}, "how": {"type": "string", "const": "raw"}})
    check(validate(doc)[0])
    eq(bff.stop(), 0)


def test_check_reports_a_taken_path():
    d = harness.tmpdir()
    os.makedirs(os.path.join(d, "endpoints"))
    harness.write(os.path.join(d, "profile.yaml"), "name: t\nlisten: 127.0.0.1:0\nopenapi:\n  path: /health\n"
                  "upstreams:\n  users: { url: 'http://127.0.0.1:9' }\n")
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True, timeout=30)
    eq(r.returncode, 1)
    check("profile.yaml:4:9: the openapi path /health is already taken" in r.stderr, r.stderr)
    # A route with a parameter that matches the path takes it too.
    harness.write(os.path.join(d, "profile.yaml"), "name: t\nlisten: 127.0.0.1:0\nopenapi: on\n"
                  "upstreams:\n  users: { url: 'http://127.0.0.1:9' }\n")
    harness.write(os.path.join(d, "endpoints", "page.yaml"), "endpoint: GET /{page}\nsources:\n"
                  "  u: { upstream: users, path: \"/users/{page}\" }\nresponse: u\n")
    r = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True, timeout=30)
    eq(r.returncode, 1, r.stdout + r.stderr)
    check("the openapi path /openapi.json is already taken (" in r.stderr, r.stderr)


def test_reload_serves_the_new_document():
    up = harness.Upstream()
    pdir = os.path.join(harness.tmpdir(), "mobile")
    shutil.copytree(os.path.join(harness.SOURCE_DIR, "bff", "mobile"), pdir)
    graph = os.path.join(pdir, "graph.yaml")
    with open(graph) as f:
        text = f.read().replace("../../schemas/", os.path.join(harness.SOURCE_DIR, "schemas") + "/")
    harness.write(graph, text)
    port = harness.free_port()
    env = dict(os.environ, BFF_ACCESS_LOG="off", BFF_MOBILE_LISTEN="127.0.0.1:%d" % port)
    for name in ("USERS", "ORDERS", "CATALOG", "NOTIFICATIONS", "SHIPPING"):
        env[name + "_URL"] = up.url
    log = open(os.path.join(pdir, "..", "bffd.log"), "wb")
    p = subprocess.Popen([harness.BFFD, "--profile", pdir, "--threads", "2"], env=env,
                         stdout=log, stderr=subprocess.STDOUT)
    harness._processes.append(p)
    harness.wait_port(port, proc=p)
    status, h1, raw = harness.request(port, "GET", "/openapi.json")
    eq(status, 200)
    check("/ping/{n}" not in json.loads(raw)["paths"])
    harness.write(os.path.join(pdir, "endpoints", "ping.yaml"),
                  "endpoint: GET /ping/{n}\nparams:\n  n: { type: int }\nresponse: { n: n }\n")
    p.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    doc = None
    while time.time() < deadline:
        status, h2, raw = harness.request(port, "GET", "/openapi.json")
        doc = json.loads(raw)
        if "/ping/{n}" in doc["paths"]:
            break
        time.sleep(0.1)
    check(doc is not None and "/ping/{n}" in doc["paths"], "the reloaded document has the new route")
    eq(doc["paths"]["/ping/{n}"]["get"]["parameters"][0]["schema"], {"type": "integer"})
    check(h2["etag"] != h1["etag"], (h1["etag"], h2["etag"]))
    p.terminate()
    eq(p.wait(15), 0)


def tsc(folder, files):
    r = subprocess.run([TSC, "--noEmit", "--strict", "--target", "es2022", "--module", "preserve",
                        "--moduleResolution", "bundler"] + files,
                       cwd=folder, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def test_types_compile_and_accept_real_answers():
    d = demo()
    folder = harness.tmpdir()
    for p in DEMO:
        r = subprocess.run([harness.BFFD, "types", os.path.join(harness.SOURCE_DIR, "bff", p)],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, r.stderr)
        check("export interface DashboardResponse" in r.stdout or p == "partner", r.stdout[:500])
        harness.write(os.path.join(folder, p + ".ts"), r.stdout)
    status, _, raw = harness.request(d.ports["mobile"], "GET", "/dashboard/42")
    eq(status, 200, raw)
    answer = json.loads(raw)
    check(isinstance(answer["name"], str) and isinstance(answer["orders"], list), answer)
    status, _, raw2 = harness.request(d.ports["partner"], "GET", "/v1/customers/42/summary")
    eq(status, 200, raw2)
    good = ("import type { DashboardResponse, DashboardParams } from './mobile';\n"
            "import type { V1CustomerResponse, V1CustomerOrdersParams } from './partner';\n"
            "import type { PlaceOrderBody, BffError } from './web';\n"
            "export const a: DashboardResponse = %s;\n"
            "export const b: V1CustomerResponse = %s;\n"
            "export const p: DashboardParams = { userId: '42' };\n"
            "export const q: V1CustomerOrdersParams = { customerId: '42', limit: 3 };\n"
            "export const w: PlaceOrderBody = { items: [], note: 'x', extra: 1 };\n"
            "export const e: BffError = { error: { code: 'not_found', message: 'no route' } };\n"
            % (raw.decode(), raw2.decode()))
    harness.write(os.path.join(folder, "good.ts"), good)
    rc, out = tsc(folder, ["web.ts", "mobile.ts", "partner.ts", "good.ts"])
    eq(rc, 0, out)
    # Deliberately wrong values: each must be an error naming the member.
    wrong_name = dict(answer, name=42)
    bad = {
        "bad_name.ts": "import type { DashboardResponse } from './mobile';\n"
                       "export const a: DashboardResponse = %s;\n" % json.dumps(wrong_name),
        "bad_limit.ts": "import type { V1CustomerOrdersParams } from './partner';\n"
                        "export const q: V1CustomerOrdersParams = { customerId: '42', limit: '3' };\n",
        "bad_extra.ts": "import type { DashboardResponse } from './mobile';\n"
                        "export const a: DashboardResponse = %s;\n" % json.dumps(dict(answer, surprise=1)),
    }
    for fname, text in bad.items():
        harness.write(os.path.join(folder, fname), text)
        rc, out = tsc(folder, ["mobile.ts", "partner.ts", fname])
        check(rc != 0 and fname in out, "%s must not compile:\n%s" % (fname, out))
    check("'number' is not assignable to type 'string'" in tsc(folder, ["mobile.ts", "bad_name.ts"])[1])


if __name__ == "__main__":
    harness.set_time_limit(170)
    try:
        harness.Runner().run([
            test_demo_documents_are_valid_openapi_3_1,
            test_demo_document_content,
            test_served_like_health_but_with_cors,
            test_off_by_default_and_typed_path_parameter,
            test_check_reports_a_taken_path,
            test_reload_serves_the_new_document,
            test_types_compile_and_accept_real_answers,
        ])
    finally:
        if _demo is not None and _demo.proc.poll() is None:
            _demo.stop()
