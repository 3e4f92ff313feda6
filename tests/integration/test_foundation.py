#!/usr/bin/env python3
"""Foundation: command line, `bffd check` diagnostics, environment expansion, start-up failures,
built-in routes, request ids, the access log, request limits, hostile clients, HTTP/2 (h2c and
TLS/ALPN), several profiles per process, --listen, --threads and graceful shutdown.

Needs the Debian packages nghttp2-client (nghttp, h2load), curl and openssl.
Run from the repository root: python3 tests/integration/test_foundation.py
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

DIAG_RE = re.compile(r"^(.+?):(\d+):(\d+): (.+)$")

HELLO = """\
    endpoint: GET /hello
    response:
      msg: { $value: hi }
"""
ECHO = """\
    endpoint: POST /echo
    response:
      ok: { $value: true }
"""
SIMPLE = "name: %s\nlisten: 127.0.0.1:@PORT@\naccess_log: off\n"


# ---------------------------------------------------------------- helpers


def run_bffd(args, env=None, timeout=20):
    """Runs bffd to completion: (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    r = subprocess.run([harness.BFFD] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=full_env)
    return r.returncode, r.stdout, r.stderr


def no_crash(status, output):
    """A clean failure: an exit status (not a signal, so no core) and no sanitizer report."""
    check(status >= 0, "bffd was killed by signal %d\n%s" % (-status, output))
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault"):
        check(marker not in output, "sanitizer/crash output:\n%s" % output)


def make_profile(profile, endpoints=None, files=None, port=None):
    """Writes a profile folder; @PORT@ in profile.yaml becomes a free port. Returns (dir, port)."""
    d = os.path.join(harness.tmpdir(), "profile")
    os.makedirs(os.path.join(d, "endpoints"))
    port = port or harness.free_port()
    harness.write(os.path.join(d, "profile.yaml"),
                  textwrap.dedent(profile).replace("@PORT@", str(port)))
    for name, text in (endpoints or {}).items():
        harness.write(os.path.join(d, "endpoints", name), textwrap.dedent(text))
    for name, text in (files or {}).items():
        harness.write(os.path.join(d, name), text)
    return d, port


class Server:
    """bffd started on prepared profile folders; waits until every port in `ports` accepts."""

    def __init__(self, args, ports, env=None):
        self.dir = harness.tmpdir()
        self.log_path = os.path.join(self.dir, "bffd.log")
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([harness.BFFD] + list(args), stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)
        harness._processes.append(self.proc)
        for p in ports:
            harness.wait_port(p, proc=self.proc)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def stop_clean(srv, sig=signal.SIGTERM):
    status = srv.stop(sig)
    eq(status, 0, "bffd exit status after %s\n%s" % (signal.Signals(sig).name, srv.output()))
    no_crash(status, srv.output())


def pos_of(text, needle, nth=0):
    """1-based (line, column) of the nth occurrence of needle in text."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    line = text.count("\n", 0, i) + 1
    return line, i - (text.rfind("\n", 0, i) + 1) + 1


def diagnostics(stderr):
    out = []
    for line in stderr.splitlines():
        m = DIAG_RE.match(line)
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return out


def expect_diag(diags, path, text, needle, words, nth=0):
    """There is a diagnostic for `path` at the position of `needle` mentioning all `words`."""
    line, col = pos_of(text, needle, nth)
    for f, l, c, msg in diags:
        if f == path and (l, c) == (line, col) and all(w in msg for w in words):
            return
    raise AssertionError("no diagnostic %s:%d:%d mentioning %r in:\n  %s"
                         % (path, line, col, words, "\n  ".join("%s:%d:%d: %s" % d for d in diags)))


def port_is_closed(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except (ConnectionRefusedError, ConnectionResetError):
        return True


def json_error(status, hdrs, body, expected_status):
    eq(status, expected_status, "status (body %r)" % body)
    check(hdrs.get("content-type", "").startswith("application/json"),
          "content-type is %r" % hdrs.get("content-type"))
    doc = json.loads(body)
    err = doc.get("error")
    check(isinstance(err, dict), "no error object in %r" % doc)
    check(isinstance(err.get("code"), str) and err["code"], "error.code missing in %r" % doc)
    check(isinstance(err.get("message"), str) and err["message"], "error.message missing in %r" % doc)
    return err


def raw_exchange(port, data, timeout=5.0):
    """Sends raw bytes and reads until the server closes the connection or the timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            pass
        return b"".join(chunks)


def need_tool(name):
    path = shutil.which(name)
    check(path is not None, "%s is not installed (Debian package: %s)"
          % (name, {"nghttp": "nghttp2-client", "h2load": "nghttp2-client"}.get(name, name)))
    return path


def simple_server(endpoints=None, extra="", threads=1):
    profile = SIMPLE % "foundation" + textwrap.dedent(extra)
    return harness.Bffd({"foundation": {"profile": profile, "endpoints": endpoints or {}}},
                        threads=threads)


# ---------------------------------------------------------------- command line


def test_cli_help():
    for flag in ("--help", "-h"):
        status, out, err = run_bffd([flag])
        eq(status, 0, "%s exit status" % flag)
        check(out.startswith("usage: bffd"), "usage not printed: %r" % out)
        for word in ("--profile", "--threads", "--listen", "--version", "check DIR"):
            check(word in out, "usage does not mention %s:\n%s" % (word, out))
        eq(err, "", "stderr of %s" % flag)


def test_cli_version():
    status, out, _ = run_bffd(["--version"])
    eq(status, 0, "--version exit status")
    check(re.fullmatch(r"bffd \d+\.\d+\.\d+\S*\nallocator: .+\n", out), "version lines: %r" % out)
    # The build links tcmalloc unless it is a sanitizer build or was told otherwise
    # (CMakeLists.txt, BFF_MALLOC): a link that silently fell back would show here.
    cache = open(os.path.join(harness.BUILD_DIR, "CMakeCache.txt")).read()
    want_tc = re.search(r"^BFF_TCMALLOC:FILEPATH=/", cache, re.M) is not None and \
        re.search(r"^BFF_SANITIZE:STRING=.+$", cache, re.M) is None
    if want_tc:
        check("allocator: gperftools" in out, "tcmalloc build runs on: %r" % out)
    else:
        check("allocator: glibc" in out, "system-allocator build runs on: %r" % out)


def test_cli_unknown_flag():
    status, out, err = run_bffd(["--bogus-flag"])
    eq(status, 2, "unknown flag exit status")
    check("--bogus-flag" in err and "unknown option" in err, "message: %r" % err)
    check("--help" in err, "message should point at --help: %r" % err)
    eq(out, "", "nothing on stdout")
    status, _, err = run_bffd(["-p", "some-dir", "-Zq"])  # an unknown letter inside a cluster
    eq(status, 2, "unknown short option exit status")
    check("'-Z'" in err and "some-dir" not in err, "the message must name -Z: %r" % err)
    status, _, err = run_bffd(["--profile", "x", "stray"])
    eq(status, 2, "stray argument exit status")
    check("stray" in err, "message: %r" % err)


def test_cli_missing_profile():
    status, out, err = run_bffd([])
    eq(status, 2, "no arguments exit status")
    check("--profile" in err, "message: %r" % err)
    status, _, err = run_bffd(["--threads", "2"])
    eq(status, 2, "no --profile exit status")
    check("--profile" in err, "message: %r" % err)
    status, _, err = run_bffd(["--profile"])
    eq(status, 2, "--profile without a value exit status")
    check("--profile" in err and "value" in err, "message: %r" % err)


def test_cli_bad_threads():
    d, port = make_profile(SIMPLE % "t")
    for value in ("0", "-1", "abc", "100000"):
        status, out, err = run_bffd(["--threads", value, "--profile", d])
        eq(status, 2, "--threads %s exit status" % value)
        check("--threads" in err and value in err, "message: %r" % err)
        check("listening" not in out, "must not start: %r" % out)
    check(port_is_closed(port), "port opened despite bad --threads")


# ---------------------------------------------------------------- bffd check


def test_check_valid_profile():
    d, _ = make_profile(
        """\
        name: shop
        listen: 127.0.0.1:@PORT@
        limits: { max_header_bytes: 8KiB, request_timeout: 2s }
        upstreams:
          users:
            url: http://127.0.0.1:9
            timeout: 800ms
        """,
        {"user.yaml": """\
            endpoint: GET /user/{id}
            sources:
              u:
                upstream: users
                path: /users/{id}
            response:
              id: u.id
            """,
         "hello.yaml": HELLO})
    status, out, err = run_bffd(["check", d])
    eq(status, 0, "check exit status (stderr %r)" % err)
    check("ok" in out and "shop" in out and "2 endpoints" in out, "check output: %r" % out)
    eq(err, "", "no diagnostics expected")


def test_check_reports_every_problem():
    profile = textwrap.dedent("""\
        name: shop
        listen: 127.0.0.1:@PORT@
        colour: blue
        upstreams:
          users:
            url: http://127.0.0.1:9
            timeout: fast
        """)
    a = textwrap.dedent("""\
        endpoint: GET /user/{id}
        sources:
          u:
            upstream: usres
            path: /users/{id}
        response:
          id: u.id
        """)
    b = textwrap.dedent("""\
        endpoint: GET /same
        response:
          v: { $value: 1 }
        """)
    c = textwrap.dedent("""\
        # the same route as b.yaml
        endpoint: GET /same
        response:
          v: { $value: 2 }
        """)
    d, _ = make_profile(profile, {"a.yaml": a, "b.yaml": b, "c.yaml": c})
    status, out, err = run_bffd(["check", d])
    check(status != 0, "check must fail")
    no_crash(status, err)
    diags = diagnostics(err)
    pf = os.path.join(d, "profile.yaml")
    ep = os.path.join(d, "endpoints")
    expect_diag(diags, pf, profile, "colour", ["unknown key", "colour"])
    expect_diag(diags, pf, profile, "fast", ["timeout", "fast"])
    expect_diag(diags, os.path.join(ep, "a.yaml"), a, "usres", ["usres", "upstream"])
    expect_diag(diags, os.path.join(ep, "c.yaml"), c, "GET /same", ["duplicate route", "b.yaml:1:11"])
    eq(len(diags), 4, "exactly the four problems, each once:\n%s" % err)
    eq(len(err.strip().splitlines()), 4, "every stderr line is a file:line:column diagnostic")


def test_check_yaml_syntax_error():
    profile = textwrap.dedent("""\
        name: shop
        listen: 127.0.0.1:@PORT@
        upstreams:
          users:
            url: http://127.0.0.1:9
           timeout: 1s
        """)
    d, _ = make_profile(profile)
    status, _, err = run_bffd(["check", d])
    check(status != 0, "check must fail")
    expect_diag(diagnostics(err), os.path.join(d, "profile.yaml"), profile, "timeout", ["expected"])
    # ... also in an endpoint file (an unclosed flow mapping; libyaml notices it on line 4)
    d, _ = make_profile(SIMPLE % "t", {"bad.yaml": "endpoint: GET /a\nresponse:\n  a: { $value: 1\n  b: c\n"})
    status, _, err = run_bffd(["check", d])
    check(status != 0, "check must fail")
    diags = diagnostics(err)
    check(any(f.endswith("bad.yaml") and l == 4 and c > 0 for f, l, c, _ in diags),
          "no position on line 4 of bad.yaml: %r" % err)


def test_check_missing_folder():
    missing = os.path.join(harness.tmpdir(), "no-such-profile")
    for args in (["check", missing], ["--profile", missing]):
        status, out, err = run_bffd(args)
        check(status != 0, "%s must fail" % args)
        no_crash(status, err)
        check(missing in err and "does not exist" in err, "message: %r" % err)
    status, _, err = run_bffd(["check"])
    eq(status, 2, "check without a folder")
    check("folder" in err, "message: %r" % err)


def test_env_unset_without_default():
    profile = "name: shop\nlisten: ${BFFT_NO_SUCH_VAR}\n"
    d, _ = make_profile(profile)
    status, _, err = run_bffd(["check", d], env={"BFFT_NO_SUCH_VAR": None})
    check(status != 0, "check must fail")
    expect_diag(diagnostics(err), os.path.join(d, "profile.yaml"), profile, "${BFFT_NO_SUCH_VAR}",
                ["BFFT_NO_SUCH_VAR", "not set"])


def test_env_default_and_value():
    d, _ = make_profile("name: ${BFFT_NAME:-fromdefault}\nlisten: ${BFFT_LISTEN:-127.0.0.1:9}\n")
    status, out, err = run_bffd(["check", d], env={"BFFT_NAME": None})
    eq(status, 0, "check exit status (%r)" % err)
    check("profile fromdefault" in out, "default not used: %r" % out)
    status, out, err = run_bffd(["check", d], env={"BFFT_NAME": "fromenv"})
    eq(status, 0, "check exit status (%r)" % err)
    check("profile fromenv" in out, "environment not used: %r" % out)
    # the listener port comes from the environment when serving
    port = harness.free_port()
    srv = Server(["--threads", "1", "--profile", d], [port],
                 env={"BFFT_NAME": "envprofile", "BFFT_LISTEN": "127.0.0.1:%d" % port})
    status, _, doc = harness.get_json(port, "/ready")
    eq(status, 200, "/ready on the port from the environment")
    eq(doc.get("profile"), "envprofile", "profile name from the environment")
    stop_clean(srv)


# ---------------------------------------------------------------- start-up failures


def test_invalid_profile_never_starts():
    good, good_port = make_profile(SIMPLE % "good")
    bad_text = SIMPLE % "bad" + "limits: { max_body_bytes: lots }\n"
    bad, bad_port = make_profile(bad_text)
    srv = Server(["--threads", "1", "--profile", good, "--profile", bad], [])
    status = srv.proc.wait(timeout=10)
    out = srv.output()
    check(status != 0, "must exit non-zero")
    no_crash(status, out)
    expect_diag(diagnostics(out), os.path.join(bad, "profile.yaml"), textwrap.dedent(bad_text), "lots",
                ["max_body_bytes"])
    check("not starting" in out, "output: %r" % out)
    check("listening" not in out, "no listener may be announced: %r" % out)
    check(port_is_closed(good_port) and port_is_closed(bad_port), "no port may be opened")


def test_port_in_use():
    d, port = make_profile(SIMPLE % "busy")
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    try:
        status, out, err = run_bffd(["--threads", "2", "--profile", d], timeout=15)
    finally:
        blocker.close()
    check(status != 0, "must fail when the port is taken")
    no_crash(status, err)
    check("127.0.0.1:%d" % port in err and "in use" in err, "message must name the port: %r" % err)
    check("listening" not in out, "must not announce a listener: %r" % out)


def test_port_in_use_by_another_bffd():
    # bffd sets SO_REUSEPORT for its own workers; a second bffd must not silently share the port
    d, port = make_profile(SIMPLE % "first")
    first = Server(["--threads", "2", "--profile", d], [port])
    status, out, err = run_bffd(["--threads", "1", "--profile", d], timeout=10)
    check(status != 0, "the second bffd must not start")
    no_crash(status, err)
    check(str(port) in err and "in use" in err, "message: %r" % err)
    for _ in range(5):
        eq(harness.get_json(port, "/ready")[2].get("profile"), "first", "the first bffd keeps the port")
    stop_clean(first)


def test_unreadable_tls_certificate():
    text = SIMPLE % "tls" + "tls: { certificate: missing.pem, key: key.pem }\n"
    d, port = make_profile(text, files={"key.pem": "not a key\n"})
    status, _, err = run_bffd(["--threads", "1", "--profile", d])
    check(status != 0, "must not start without a certificate")
    no_crash(status, err)
    expect_diag(diagnostics(err), os.path.join(d, "profile.yaml"), textwrap.dedent(text), "missing.pem",
                ["cannot read", "missing.pem"])
    # readable but not a certificate: the TLS layer's complaint names the file
    text = SIMPLE % "tls" + "tls: { certificate: cert.pem, key: key.pem }\n"
    d, port = make_profile(text, files={"cert.pem": "garbage\n", "key.pem": "garbage\n"})
    status, out, err = run_bffd(["--threads", "1", "--profile", d])
    check(status != 0, "must not start with a broken certificate")
    no_crash(status, err)
    check(os.path.join(d, "cert.pem") in err and "certificate" in err, "message: %r" % err)
    check(port_is_closed(port), "no port may be opened")


# ---------------------------------------------------------------- built-in routes and routing


def test_health_and_ready():
    b = simple_server({"hello.yaml": HELLO})
    status, hdrs, body = b.get("/health")
    eq(status, 200, "/health status")
    eq(json.loads(body), {"status": "ok"}, "/health body")
    check(hdrs.get("content-type", "").startswith("application/json"), "content-type %r" % hdrs)
    status, hdrs, doc = harness.get_json(b.port, "/ready")
    eq(status, 200, "/ready status")
    eq(doc.get("status"), "ready", "/ready body %r" % doc)
    eq(doc.get("profile"), "foundation", "/ready names the profile")
    status, _, body = harness.request(b.port, "HEAD", "/health")
    eq((status, body), (200, b""), "HEAD /health")
    status, _, doc = harness.get_json(b.port, "/hello")
    eq((status, doc), (200, {"msg": "hi"}), "a configured endpoint")
    stop_clean(b)


def test_unknown_route_404():
    b = simple_server({"hello.yaml": HELLO})
    for path in ("/nope", "/health/extra", "/hello/more", "/"):
        status, hdrs, body = b.get(path)
        json_error(status, hdrs, body, 404)
    status, hdrs, body = harness.request(b.port, "DELETE", "/nope")
    json_error(status, hdrs, body, 404)
    stop_clean(b)


def test_wrong_method_405():
    b = simple_server({"hello.yaml": HELLO, "echo.yaml": ECHO})
    for method in ("POST", "DELETE", "PUT"):
        status, hdrs, body = harness.request(b.port, method, "/hello", body=b"{}" if method != "DELETE" else None)
        json_error(status, hdrs, body, 405)
        eq(hdrs.get("allow"), "GET, HEAD", "Allow header for %s /hello" % method)
    status, hdrs, body = b.get("/echo")
    json_error(status, hdrs, body, 405)
    eq(hdrs.get("allow"), "POST", "Allow header for GET /echo")
    for path in ("/health", "/ready"):
        status, hdrs, body = harness.request(b.port, "POST", path, body=b"x")
        json_error(status, hdrs, body, 405)
        check("GET" in hdrs.get("allow", ""), "Allow header for POST %s: %r" % (path, hdrs.get("allow")))
    stop_clean(b)


# ---------------------------------------------------------------- request ids and access log


def test_request_id():
    b = simple_server({"hello.yaml": HELLO})
    status, hdrs, _ = b.get("/hello", headers={"X-Request-ID": "client-id-42"})
    eq((status, hdrs.get("x-request-id")), (200, "client-id-42"), "given id is echoed")
    status, hdrs, _ = b.get("/nope", headers={"X-Request-ID": "client-id-43"})
    eq((status, hdrs.get("x-request-id")), (404, "client-id-43"), "echoed on errors too")
    ids = set()
    for _ in range(5):
        status, hdrs, _ = b.get("/health")
        rid = hdrs.get("x-request-id", "")
        check(re.fullmatch(r"[\x21-\x7e]{8,128}", rid), "generated id %r" % rid)
        ids.add(rid)
    eq(len(ids), 5, "generated ids are unique")
    for bad in ("has space", "x" * 200):
        _, hdrs, _ = b.get("/health", headers={"X-Request-ID": bad})
        rid = hdrs.get("x-request-id", "")
        check(rid and rid != bad, "unusable id %r must be replaced, got %r" % (bad, rid))
    stop_clean(b)


def read_log_lines(path, n, timeout=5.0):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = [l for l in f.read().splitlines() if l]
            if len(lines) >= n:
                break
        time.sleep(0.05)
    return lines


def test_access_log_lines():
    profile = "name: logged\nlisten: 127.0.0.1:@PORT@\naccess_log: access.log\n"
    b = harness.Bffd({"logged": {"profile": profile, "endpoints": {"hello.yaml": HELLO}}})
    log = os.path.join(b.dir, "logged", "access.log")  # relative to the profile folder
    sent = [("GET", "/hello", {"X-Request-ID": "log-1"}), ("GET", "/nope?x=1", {}),
            ("POST", "/health", {}), ("GET", "/health", {"X-Request-ID": "log-4"})]
    answers = []
    for method, path, hdrs in sent:
        status, rh, body = harness.request(b.port, method, path, body=b"" if method == "POST" else None,
                                           headers=hdrs)
        answers.append((status, rh.get("x-request-id"), len(body)))
    read_log_lines(log, len(sent))
    time.sleep(0.2)  # ... and no more than that
    lines = read_log_lines(log, len(sent))
    eq(len(lines), len(sent), "one line per request:\n%s" % "\n".join(lines))
    for line, (method, path, _), (status, rid, nbytes) in zip(lines, sent, answers):
        entry = json.loads(line)
        for key in ("time", "profile", "method", "path", "status", "bytes", "duration_ms", "request_id"):
            check(key in entry, "%s missing in %s" % (key, line))
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", entry["time"]), "time %r" % entry["time"])
        eq(entry["profile"], "logged", "profile")
        eq(entry["method"], method, "method")
        eq(entry["path"], path, "path")
        eq(entry["status"], status, "status")
        eq(entry["bytes"], nbytes, "bytes = body size")
        check(isinstance(entry["duration_ms"], (int, float)) and 0 <= entry["duration_ms"] < 5000,
              "duration_ms %r" % entry["duration_ms"])
        eq(entry["request_id"], rid, "request_id = the X-Request-ID response header")
    stop_clean(b)


# ---------------------------------------------------------------- limits and hostile clients


LIMITS = "limits: { max_header_bytes: 1KiB, max_body_bytes: 1KiB }\n"


def test_header_limit_431():
    b = simple_server({"hello.yaml": HELLO}, extra=LIMITS)
    status, _, _ = b.get("/hello", headers={"X-Small": "a" * 300})
    eq(status, 200, "headers under the limit")
    status, hdrs, body = b.get("/hello", headers={"X-Big": "a" * 2000})
    json_error(status, hdrs, body, 431)
    status, hdrs, body = b.get("/hello", headers={"X-A%d" % i: "b" * 60 for i in range(30)})
    json_error(status, hdrs, body, 431)
    eq(b.get("/health")[0], 200, "still serving after 431")
    stop_clean(b)


def test_body_limit_413():
    b = simple_server({"echo.yaml": ECHO}, extra=LIMITS)
    status, _, body = harness.request(b.port, "POST", "/echo", body=b"x" * 100,
                                      headers={"Content-Type": "text/plain"})
    eq((status, json.loads(body)), (200, {"ok": True}), "body under the limit")
    status, _, _ = harness.request(b.port, "POST", "/echo", body=b"x" * 5000,
                                   headers={"Content-Type": "text/plain"})
    eq(status, 413, "body over max_body_bytes")
    eq(b.get("/health")[0], 200, "still serving after 413")
    stop_clean(b)


def test_malformed_requests_400():
    b = simple_server()
    for garbage in (b"GARBAGE\r\n\r\n",
                    b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                    b"GET /health HTTP/9.9.9\r\nHost: x\r\n\r\n",
                    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"):
        answer = raw_exchange(b.port, garbage)
        check(answer.startswith(b"HTTP/1.1 400"), "for %r got %r" % (garbage[:30], answer[:80]))
        eq(b.get("/health")[0], 200, "serving after %r" % garbage[:30])
    check(b.proc.poll() is None, "bffd must still run")
    stop_clean(b)


def test_silent_and_half_clients():
    b = simple_server({"echo.yaml": ECHO})
    idle = socket.create_connection(("127.0.0.1", b.port))  # connects and says nothing
    half = socket.create_connection(("127.0.0.1", b.port))
    half.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Partial: ")  # half a header block
    body = socket.create_connection(("127.0.0.1", b.port))
    body.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"x" * 100)
    time.sleep(0.1)
    for _ in range(3):  # a single worker: nobody above may block it
        eq(b.get("/health")[0], 200, "serving while clients dawdle")
    for s in (idle, half, body):
        s.close()
    for _ in range(20):  # connect, then leave at once
        socket.create_connection(("127.0.0.1", b.port)).close()
    s = socket.create_connection(("127.0.0.1", b.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.sendall(b"GET /health HTTP/1.1\r\n")
    s.close()  # with a reset
    time.sleep(0.1)
    check(b.proc.poll() is None, "bffd must still run")
    status, _, doc = harness.get_json(b.port, "/health")
    eq((status, doc), (200, {"status": "ok"}), "/health afterwards")
    stop_clean(b)


# ---------------------------------------------------------------- HTTP/2 and TLS


def test_h2c_prior_knowledge():
    h2load = need_tool("h2load")
    nghttp = need_tool("nghttp")
    b = simple_server()
    r = subprocess.run([h2load, "-n", "10", "-c", "1", "http://127.0.0.1:%d/health" % b.port],
                       capture_output=True, text=True, timeout=20)
    check("Application protocol: h2c" in r.stdout, "h2load did not speak h2c:\n%s" % r.stdout)
    check("10 succeeded" in r.stdout and "10 2xx" in r.stdout, "h2load results:\n%s" % r.stdout)
    r = subprocess.run([nghttp, "-v", "http://127.0.0.1:%d/health" % b.port],
                       capture_output=True, text=True, timeout=20)
    check(":status: 200" in r.stdout and "x-request-id:" in r.stdout, "nghttp:\n%s" % r.stdout)
    check('{"status":"ok"}' in r.stdout, "body over h2c:\n%s" % r.stdout)
    stop_clean(b)


def test_h2c_upgrade():
    nghttp = need_tool("nghttp")
    b = simple_server()
    r = subprocess.run([nghttp, "-uv", "http://127.0.0.1:%d/health" % b.port],
                       capture_output=True, text=True, timeout=20)
    check("101 Switching Protocols" in r.stdout and "HTTP Upgrade success" in r.stdout,
          "upgrade failed:\n%s" % r.stdout)
    check(":status: 200" in r.stdout and '{"status":"ok"}' in r.stdout, "response:\n%s" % r.stdout)
    stop_clean(b)


def test_tls_alpn_h2_and_http11():
    curl = need_tool("curl")
    openssl = need_tool("openssl")
    d, port = make_profile(SIMPLE % "secure" + "tls: { certificate: c.pem, key: k.pem }\n")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", "k.pem", "-out", "c.pem"],
                   cwd=d, check=True, capture_output=True, timeout=30)
    srv = Server(["--threads", "1", "--profile", d], [port])
    url = "https://127.0.0.1:%d/health" % port
    for flag, version in (("--http2", "2"), ("--http1.1", "1.1")):
        r = subprocess.run([curl, "-sk", flag, url, "-w", "\n%{http_code} %{http_version}"],
                           capture_output=True, text=True, timeout=20)
        eq(r.stdout, '{"status":"ok"}\n200 %s' % version, "curl %s over TLS (stderr %r)" % (flag, r.stderr))
    r = subprocess.run([curl, "-s", "--http1.1", "http://127.0.0.1:%d/health" % port, "-w", "%{http_code}"],
                       capture_output=True, text=True, timeout=20)
    check(r.stdout != "200" and '{"status":"ok"}' not in r.stdout, "plain HTTP must not be served: %r" % r.stdout)
    eq(srv.proc.poll(), None, "bffd still runs")
    stop_clean(srv)


# ---------------------------------------------------------------- profiles, --listen, --threads


def test_several_profiles():
    b = harness.Bffd({
        "alpha": {"profile": SIMPLE % "alpha", "endpoints": {"hello.yaml": HELLO}},
        "beta": {"profile": SIMPLE % "beta", "endpoints": {"echo.yaml": ECHO}},
    })
    pa, pb = b.ports["alpha"], b.ports["beta"]
    check(pa != pb, "distinct ports")
    eq(harness.get_json(pa, "/ready")[2].get("profile"), "alpha", "alpha's /ready")
    eq(harness.get_json(pb, "/ready")[2].get("profile"), "beta", "beta's /ready")
    status, _, doc = harness.get_json(pa, "/hello")
    eq((status, doc), (200, {"msg": "hi"}), "alpha serves its endpoint")
    eq(b.get("/hello", port=pb)[0], 404, "beta does not serve alpha's endpoint")
    eq(harness.request(pb, "POST", "/echo", body=b"{}")[0], 200, "beta serves its endpoint")
    eq(harness.request(pa, "POST", "/echo", body=b"{}")[0], 404, "alpha does not serve beta's endpoint")
    out = b.output()
    check("alpha" in out and "beta" in out and str(pa) in out and str(pb) in out, "start-up lines: %r" % out)
    stop_clean(b)


def test_listen_override():
    d, configured = make_profile(SIMPLE % "override")
    port = harness.free_port()
    srv = Server(["--threads", "1", "--profile", d, "--listen", "127.0.0.1:%d" % port], [port])
    eq(harness.get_json(port, "/ready")[2].get("profile"), "override", "served on the --listen port")
    check(port_is_closed(configured), "the profile's own port must stay closed")
    check("127.0.0.1:%d" % port in srv.output(), "start-up line names the --listen address")
    stop_clean(srv)
    d2, _ = make_profile(SIMPLE % "other")
    status, _, err = run_bffd(["--profile", d, "--profile", d2, "--listen", "127.0.0.1:%d" % port])
    eq(status, 2, "--listen with two profiles")
    check("--listen" in err, "message: %r" % err)
    status, _, err = run_bffd(["--profile", d, "--listen", "nonsense"])
    eq(status, 2, "--listen without a port")
    check("nonsense" in err and "HOST:PORT" in err, "message: %r" % err)


def test_two_threads():
    b = simple_server({"hello.yaml": HELLO}, threads=2)
    results, lock = [], threading.Lock()

    def client():
        for _ in range(10):
            status, hdrs, body = b.get("/hello")
            with lock:
                results.append((status, body, hdrs.get("x-request-id")))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    eq(len(results), 60, "every request answered")
    check(all(s == 200 and json.loads(body) == {"msg": "hi"} for s, body, _ in results),
          "all 200: %r" % [r[0] for r in results])
    eq(len({r[2] for r in results}), 60, "request ids are unique across workers")
    stop_clean(b)


# ---------------------------------------------------------------- shutdown


def slow_server(upstream, drain_timeout, delay_ms):
    profile = harness.upstream_profile("slow", upstream.url, upstreams=("users",),
                                       extra="limits: { drain_timeout: %s }" % drain_timeout)
    endpoint = """\
        endpoint: GET /slow
        sources:
          u:
            upstream: users
            path: /users/1?delay_ms=%d
        response:
          id: u.id
        """ % delay_ms
    return harness.Bffd({"slow": {"profile": profile, "endpoints": {"slow.yaml": endpoint}}})


def start_slow_request(b, upstream):
    upstream.reset()
    result = {}

    def client():
        try:
            result["answer"] = harness.request(b.port, "GET", "/slow", timeout=10)
        except Exception as e:  # noqa: BLE001 - reported by the test
            result["error"] = e
        result["done"] = time.time()

    t = threading.Thread(target=client)
    t.start()
    deadline = time.time() + 5
    while upstream.stats().get("paths", {}).get("/users/1", 0) == 0:
        check(time.time() < deadline, "the slow request never reached the upstream")
        time.sleep(0.01)
    return t, result


def test_sigterm_drains_in_flight_request():
    upstream = harness.Upstream()
    b = slow_server(upstream, "5s", 800)
    t, result = start_slow_request(b, upstream)
    b.proc.send_signal(signal.SIGTERM)
    signalled = time.time()
    refused_at = None
    while time.time() - signalled < 0.6:
        if port_is_closed(b.port):
            refused_at = time.time()
            break
        time.sleep(0.01)
    check(refused_at is not None, "new connections still accepted after SIGTERM")
    check("done" not in result, "refusal must be observed while the request is in flight")
    t.join(timeout=10)
    check("error" not in result, "in-flight request failed: %r" % result.get("error"))
    status, hdrs, body = result["answer"]
    eq((status, json.loads(body)), (200, {"id": "1"}), "in-flight request completes")
    status = b.proc.wait(timeout=6)
    exited = time.time()
    eq(status, 0, "exit status after draining\n%s" % b.output())
    no_crash(status, b.output())
    check(exited - signalled < 5.0, "exit within the drain bound (%.2fs)" % (exited - signalled))
    check("draining" in b.output(), "log mentions draining: %r" % b.output())
    upstream.stop()


def test_drain_timeout_bounds_shutdown():
    upstream = harness.Upstream()
    b = slow_server(upstream, "300ms", 2500)
    t, result = start_slow_request(b, upstream)
    signalled = time.time()
    b.proc.send_signal(signal.SIGTERM)
    status = b.proc.wait(timeout=10)
    took = time.time() - signalled
    eq(status, 0, "exit status after the drain timeout\n%s" % b.output())
    no_crash(status, b.output())
    check(took < 2.0, "the 300ms drain bound was not kept: exit after %.2fs" % took)
    t.join(timeout=10)
    check("answer" not in result or result["answer"][0] != 200, "the request could not have completed")
    upstream.stop()


def test_sigint_exits_zero():
    b = simple_server()
    eq(b.get("/health")[0], 200, "serving")
    status = b.stop(signal.SIGINT)
    eq(status, 0, "exit status after SIGINT\n%s" % b.output())
    no_crash(status, b.output())
    check("SIGINT" in b.output(), "log mentions SIGINT: %r" % b.output())
    check(port_is_closed(b.port), "port closed after exit")


if __name__ == "__main__":
    harness.set_time_limit(150)
    harness.Runner().run([
        test_cli_help,
        test_cli_version,
        test_cli_unknown_flag,
        test_cli_missing_profile,
        test_cli_bad_threads,
        test_check_valid_profile,
        test_check_reports_every_problem,
        test_check_yaml_syntax_error,
        test_check_missing_folder,
        test_env_unset_without_default,
        test_env_default_and_value,
        test_invalid_profile_never_starts,
        test_port_in_use,
        test_port_in_use_by_another_bffd,
        test_unreadable_tls_certificate,
        test_health_and_ready,
        test_unknown_route_404,
        test_wrong_method_405,
        test_request_id,
        test_access_log_lines,
        test_header_limit_431,
        test_body_limit_413,
        test_malformed_requests_400,
        test_silent_and_half_clients,
        test_h2c_prior_knowledge,
        test_h2c_upgrade,
        test_tls_alpn_h2_and_http11,
        test_several_profiles,
        test_listen_override,
        test_two_threads,
        test_sigterm_drains_in_flight_request,
        test_drain_timeout_bounds_shutdown,
        test_sigint_exits_zero,
    ])
