#!/usr/bin/env python3
"""Foundation, up to serving: the command line, `bffd check` diagnostics, environment expansion
and start-up failures (an invalid profile, a port in use, an unreadable TLS certificate).

Run from the repository root: python3 tests/integration/test_foundation_startup.py
"""
import json
import os
import re
import resource
import signal
import socket
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from foundation_helpers import (HELLO, SIMPLE, Server, make_profile, no_crash,  # noqa: E402
                                port_is_closed, run_bffd, stop_clean)
from harness import check, eq  # noqa: E402

DIAG_RE = re.compile(r"^(.+?):(\d+):(\d+): (.+)$")


# ---------------------------------------------------------------- helpers


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
        check("listening" not in out + err, "must not start: %r" % (out + err))
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
    check("connections: up to 256 per worker thread; the most to one host, http://127.0.0.1:9: "
          "256 (1 upstream)" in out, out)
    eq(err, "", "no diagnostics expected")
    # The server's spelling names the folder too, in every subcommand.
    for args in (["check", "--profile", d], ["check", "-p", d], ["check", "--profile=" + d]):
        eq(run_bffd(args), (0, out, ""), args)
    status, doc, err = run_bffd(["openapi", "--profile", d])
    eq((status, json.loads(doc)["openapi"], err), (0, "3.1.0", ""))


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


def test_check_adds_up_connections_per_host():
    # Each upstream keeps its own max_connections, so upstreams behind one host:port add up; two
    # instances of one upstream at one host:port share its line.
    d, _ = make_profile(
        """\
        name: shop
        listen: 127.0.0.1:@PORT@
        upstreams:
          a: { url: http://10.0.0.1:80, max_connections: 8 }
          b: { instances: [ { url: "http://10.0.0.1:80/v2" }, { url: "http://10.0.0.1:80/v3" } ], max_connections: 4 }
          c: { url: http://10.0.0.2:80, max_connections: 10 }
        """,
        {"hello.yaml": HELLO})
    status, out, err = run_bffd(["check", d])
    eq((status, err), (0, ""), out)
    check("connections: up to 22 per worker thread; the most to one host, http://10.0.0.1:80: 12 "
          "(2 upstreams)" in out, out)


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
    check("listening" not in out, "no listener may be announced: %r" % out)  # stdout and stderr
    check(port_is_closed(good_port) and port_is_closed(bad_port), "no port may be opened")


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        row = next(l for l in f if l.startswith("Max open files"))
    return int(row.split()[3]), int(row.split()[4])


def test_open_files_soft_limit_raised_to_the_hard_one():
    # systemd and shells start services at 1024 (soft): fewer than one worker's connections.
    d, port = make_profile(SIMPLE % "fds")
    srv = Server(["--threads", "1", "--profile", d], [port],
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (512, 8192)))
    eq(open_files_limit(srv.proc.pid), (8192, 8192), "soft limit raised to the hard one")
    check("open-files limit" not in srv.output(), "8192 is enough here: %r" % srv.output())
    stop_clean(srv)


def test_open_files_limit_too_low_is_said_at_start_and_reload():
    d, port = make_profile(SIMPLE % "fds")
    srv = Server(["--threads", "2", "--profile", d], [port],
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200)))
    out = srv.output()
    # no upstreams; 1024 requests in flight per thread (the default), plus 64
    check("warning: the open-files limit is 200, under the 2112 descriptors this configuration may "
          "use at once (2 worker threads" in out, out)
    eq(harness.request(port, "GET", "/health")[0], 200, "it still serves")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reloaded:" not in srv.output() and time.time() < deadline:
        time.sleep(0.05)
    eq(srv.output().count("warning: the open-files limit is 200"), 2, "said again on reload")
    stop_clean(srv)


def test_profiles_served_together_need_their_own_name_and_listener():
    a, port = make_profile(SIMPLE % "same")
    b, _ = make_profile(SIMPLE % "same", port=port)
    for args in (["check", "--profile", a, "--profile", b, "--threads", "2"],
                 ["--threads", "1", "--profile", a, "--profile", b]):
        status, out, err = run_bffd(args, timeout=15)
        eq(status, 1, (args, out, err))
        check("%s/profile.yaml:1:7: profile name 'same' is taken by %s/profile.yaml" % (b, a) in err, err)
        check("%s/profile.yaml:2:9: listen 127.0.0.1:%d is taken by profile 'same'" % (b, port) in err, err)
        check("listening" not in out + err, out + err)
    # Folders checked at once may be deployed apart: a warning then. Each alone is fine.
    status, _, err = run_bffd(["check", a, b])
    eq(status, 0, err)
    check("profile name 'same' is taken" in err and "warning: these profiles cannot be served" in err, err)
    eq(run_bffd(["check", a])[0], 0)
    c, _ = make_profile(SIMPLE % '"two words"')
    status, _, err = run_bffd(["check", c])
    eq(status, 1)
    check("profile.yaml:1:7: name must be non-empty, without spaces" in err, err)


def test_check_finds_what_the_server_would_refuse():
    # bffd check opens no access log, but says what the server could not open; and a header
    # cap that refuses every request is an error.
    for extra, message in (("access_log: nowhere/a.log\n", "3:13: cannot create the access log"),
                           ("access_log: endpoints\n", "3:13: access_log '%s/endpoints' is a folder"),
                           ("limits: { max_header_bytes: 100 }\n", "max_header_bytes must be at least 1KiB"),
                           ('upstreams:\n  u: { url: "http://a b" }\n', "4:13: upstream URL is not a valid URL: Bad hostname"),
                           ('upstreams:\n  u: { url: "http://h:99999" }\n', "upstream URL is not a valid URL: Port number")):
        d, _ = make_profile("name: c\nlisten: 127.0.0.1:@PORT@\n" + extra)
        for args in (["check", d], ["--threads", "1", "--profile", d]):
            status, out, err = run_bffd(args, timeout=15)
            eq(status, 1, (args, err))
            check(message.replace("%s", d) in err, (message, err))


def test_a_fifo_among_the_files_is_refused_not_waited_on():
    d, port = make_profile(SIMPLE % "fifo")
    os.mkfifo(os.path.join(d, "endpoints", "f.yaml"))
    for args in (["check", d], ["--threads", "1", "--profile", d]):
        status, out, err = run_bffd(args, timeout=15)
        eq(status, 1, (args, out, err))
        check("endpoints/f.yaml: cannot open: not a regular file" in err, err)


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
    check("listening" not in out + err, "must not announce a listener: %r" % (out + err))


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
        test_check_adds_up_connections_per_host,
        test_check_missing_folder,
        test_env_unset_without_default,
        test_env_default_and_value,
        test_invalid_profile_never_starts,
        test_open_files_soft_limit_raised_to_the_hard_one,
        test_open_files_limit_too_low_is_said_at_start_and_reload,
        test_profiles_served_together_need_their_own_name_and_listener,
        test_a_fifo_among_the_files_is_refused_not_waited_on,
        test_check_finds_what_the_server_would_refuse,
        test_port_in_use,
        test_port_in_use_by_another_bffd,
        test_unreadable_tls_certificate,
    ])
