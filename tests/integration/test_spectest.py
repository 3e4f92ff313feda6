#!/usr/bin/env python3
"""`bffd test`: the demo profiles' spec test cases pass, a wrong expectation, an unrecorded call
and an unused recording fail with a readable message, a malformed case file is exit 2 with
file:line:column, and the recorded cases agree with the real server (every case without a
transport failure or claims is replayed against real bffd, its upstreams a stub serving the
case's recordings)."""
import glob
import http.server
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq, write  # noqa: E402

import yaml  # noqa: E402

DEMO = ["bff/web", "bff/mobile", "bff/partner"]


def bffd_test(*args):
    p = subprocess.run([harness.BFFD, "test"] + list(args), cwd=harness.SOURCE_DIR,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def demo_cases():
    """(profile dir, case) for every demo case."""
    out = []
    for d in DEMO:
        for f in sorted(glob.glob(os.path.join(harness.SOURCE_DIR, d, "tests", "*.yaml"))):
            with open(f) as fp:
                out += [(d, c) for c in yaml.safe_load(fp)["cases"]]
    return out


PROFILE = """\
name: st
listen: 127.0.0.1:0
access_log: off
upstreams:
  users: { url: "http://127.0.0.1:9" }
  catalog: { url: "http://127.0.0.1:9" }
"""
ENDPOINT = """\
endpoint: GET /card/{id}
sources:
  user: { upstream: users, path: "/users/{id}" }
  recs: { upstream: catalog, path: "/recs/{id}", optional: true }
response:
  name: user.name
  picks: { $from: recs.items, $default: [] }
"""
GOOD_CASE = """\
cases:
  - name: card
    request: { path: /card/7 }
    upstreams:
      - { upstream: users, path: /users/7, body: { name: Ada } }
      - { upstream: catalog, path: /recs/7, body: { items: [1, 2] } }
    expect:
      status: 200
      body: { name: Ada, picks: [1, 2] }
"""


def own_profile(cases):
    d = harness.tmpdir()
    write(os.path.join(d, "profile.yaml"), PROFILE)
    os.makedirs(os.path.join(d, "endpoints"))
    os.makedirs(os.path.join(d, "tests"))
    write(os.path.join(d, "endpoints", "card.yaml"), ENDPOINT)
    write(os.path.join(d, "tests", "card.yaml"), cases)
    return d


def test_demo_profiles_pass():
    rc, out, err = bffd_test(*DEMO)
    eq(rc, 0, out + err)
    n = len(demo_cases())
    check(n >= 20, "expected the demo cases, found %d" % n)
    check(("1..%d\n" % n) in out, out)
    eq(out.count("\nok ") + out.startswith("ok "), n, out)
    check("not ok" not in out, out)
    skipped = out.count("# SKIP")
    check(("# %d cases: %d passed, 0 failed, %d skipped" % (n, n - skipped, skipped)) in out, out)
    check(" - bff/web/tests/pages.yaml: dashboard with a limit, internal fields denied\n" in out, out)


def test_filter_runs_matching_cases():
    rc, out, _ = bffd_test("bff/mobile", "--filter", "tracking")
    eq(rc, 0, out)
    check("1..2\n" in out, out)
    rc, out, err = bffd_test("bff/mobile", "--filter", "trakcing")  # a typo matches nothing
    eq(rc, 1, out)
    check("no case matches --filter 'trakcing'" in err, err)


def test_own_profile_passes_and_check_counts_cases():
    d = own_profile(GOOD_CASE)
    rc, out, err = bffd_test(d)
    eq(rc, 0, out + err)
    check("ok 1 - %s/tests/card.yaml: card\n" % d in out, out)
    p = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True, timeout=30)
    eq(p.returncode, 0, p.stdout + p.stderr)
    check("spec tests: 1 cases" in p.stdout, p.stdout)


def test_wrong_expectation_fails_with_the_member():
    d = own_profile(GOOD_CASE.replace("picks: [1, 2] }", "picks: [1, 3] }"))
    rc, out, _ = bffd_test(d)
    eq(rc, 1, out)
    check("not ok 1 - %s/tests/card.yaml: card" % d in out, out)
    check("tests/card.yaml:9:13: body.picks[1]: expected 3, got 2" in out, out)
    check("# 1 cases: 0 passed, 1 failed, 0 skipped" in out, out)


def test_wrong_status_and_header():
    case = GOOD_CASE.replace("status: 200", "status: 201\n      headers: { bff-partial: \"true\" }")
    rc, out, _ = bffd_test(own_profile(case))
    eq(rc, 1, out)
    check("status: expected 201, got 200" in out, out)
    check('header bff-partial: expected "true", got none' in out, out)


def test_unrecorded_call_fails():
    case = GOOD_CASE.replace("      - { upstream: catalog, path: /recs/7, body: { items: [1, 2] } }\n", "")
    rc, out, _ = bffd_test(own_profile(case))
    eq(rc, 1, out)
    check("unrecorded call: GET /recs/7 on upstream catalog" in out, out)


def test_unused_recording_fails():
    case = GOOD_CASE.replace("path: /recs/7,", "path: /recs/8,")
    rc, out, _ = bffd_test(own_profile(case))
    eq(rc, 1, out)
    check("tests/card.yaml:6:9: recording never called: GET /recs/8 on upstream catalog" in out, out)
    check("unrecorded call: GET /recs/7 on upstream catalog" in out, out)


def test_recorded_failure_gives_partial_answer():
    case = GOOD_CASE.replace("{ upstream: catalog, path: /recs/7, body: { items: [1, 2] } }",
                             "{ upstream: catalog, path: /recs/7, error: timeout }")
    case = case.replace("body: { name: Ada, picks: [1, 2] }",
                        "headers: { bff-partial: \"true\" }\n      body: { name: Ada, picks: [], errors: "
                        "[{ source: recs, reason: timeout, message: no response within the time allowed }] }")
    rc, out, _ = bffd_test(own_profile(case))
    eq(rc, 0, out)


def test_malformed_case_file_is_exit_2():
    case = GOOD_CASE.replace("upstream: users,", "upstream: userz,").replace("status: 200", "status: ok")
    d = own_profile(case)
    rc, out, err = bffd_test(d)
    eq(rc, 2, out + err)
    check("%s/tests/card.yaml:5:21: the profile has no upstream 'userz'" % d in err, err)
    check("%s/tests/card.yaml:8:15:" % d in err, err)
    p = subprocess.run([harness.BFFD, "check", d], capture_output=True, text=True, timeout=30)
    eq(p.returncode, 1, p.stdout + p.stderr)
    check("tests/card.yaml:5:21: the profile has no upstream 'userz'" in p.stderr, p.stderr)
    rc, out, err = bffd_test(own_profile("cases:\n  - name: [unclosed\n"))
    eq(rc, 2, out + err)
    check("tests/card.yaml:" in err, err)


class Stub(http.server.BaseHTTPRequestHandler):
    """Answers each call from the current case's recordings; an unknown call is a 599."""
    records = []
    calls = []

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        if n:
            self.rfile.read(n)
        Stub.calls.append((self.command, self.path))
        for r in Stub.records:
            if r.get("method", "GET") == self.command and r["path"] == self.path:
                body = r.get("body")
                data = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(r.get("status", 200))
                self.send_header("content-type", "application/json")
                for k, v in (r.get("headers") or {}).items():
                    self.send_header(k, str(v))
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        self.send_response(599)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer


def same(want, got, subset):
    if isinstance(want, dict) and isinstance(got, dict):
        if not subset and set(want) != set(got):
            return False
        return all(k in got and same(v, got[k], subset) for k, v in want.items())
    if isinstance(want, list) and isinstance(got, list):
        return len(want) == len(got) and all(same(a, b, subset) for a, b in zip(want, got))
    if isinstance(want, (int, float)) and isinstance(got, (int, float)) and not isinstance(want, bool):
        return want == got
    return want == got


def test_cases_agree_with_the_real_server():
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % stub.server_address[1]
    compared = 0
    for d in DEMO:
        port = harness.free_port()
        env = dict(os.environ, BFF_REDIS_URL="", BFF_ACCESS_LOG="off", USERS_URL=url, ORDERS_URL=url,
                   CATALOG_URL=url, NOTIFICATIONS_URL=url, SHIPPING_URL=url)
        env["BFF_%s_LISTEN" % os.path.basename(d).upper()] = "127.0.0.1:%d" % port
        proc = subprocess.Popen([harness.BFFD, "--threads", "1", "--profile", d], cwd=harness.SOURCE_DIR,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness._processes.append(proc)
        harness.wait_port(port, proc=proc)
        for pd, c in demo_cases():
            recs = c.get("upstreams") or []
            if pd != d or "claims" in c["request"] or any("error" in r for r in recs):
                continue
            Stub.records, Stub.calls = recs, []
            req = c["request"]
            body = req.get("body")
            if body is not None and not isinstance(body, str):
                body = json.dumps(body)
            status, hdrs, data = harness.request(port, req.get("method", "GET"), req["path"], body=body,
                                                 headers=req.get("headers"))
            exp = c["expect"]
            what = "%s: %s" % (d, c["name"])
            eq(status, exp.get("status", status), what + ": status; body " + data.decode())
            for k, v in (exp.get("headers") or {}).items():
                eq(hdrs.get(k.lower()), v, what + ": header " + k)
            if "body" in exp:
                got = json.loads(data)
                check(same(exp["body"], got, exp.get("body_subset", False)),
                      "%s: the server answered %s, the case expects %s" % (what, got, exp["body"]))
            eq(sorted(Stub.calls), sorted((r.get("method", "GET"), r["path"]) for r in recs),
               what + ": the calls the server made")
            compared += 1
        proc.terminate()
        proc.wait(timeout=10)
    stub.shutdown()
    print("# compared %d cases with the server" % compared)
    check(compared >= 21, "compared only %d cases with the server" % compared)


if __name__ == "__main__":
    harness.set_time_limit(150)
    harness.Runner().run([
        test_demo_profiles_pass,
        test_filter_runs_matching_cases,
        test_own_profile_passes_and_check_counts_cases,
        test_wrong_expectation_fails_with_the_member,
        test_wrong_status_and_header,
        test_unrecorded_call_fails,
        test_unused_recording_fails,
        test_recorded_failure_gives_partial_answer,
        test_malformed_case_file_is_exit_2,
        test_cases_agree_with_the_real_server,
    ])
