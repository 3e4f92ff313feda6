"""Integration test harness: real processes on 127.0.0.1, always cleaned up.

Starts the real `bffd`, the C demo upstream and (when asked) a real `redis-server` on free
ports inside a temporary folder, writes profiles the test describes, and talks HTTP to them.
Every test file runs under a hard alarm so that a hang is a failure, never a stuck CI.
"""
import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback

SOURCE_DIR = os.environ.get("BFF_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("BFF_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
BFFD = os.path.join(BUILD_DIR, "bffd")
DEMO_UPSTREAM = os.path.join(BUILD_DIR, "tests", "upstream", "demo_upstream")

_processes = []
_tmpdirs = []


def _cleanup():
    for p in _processes:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_alarm(signum, frame):
    sys.stderr.write("TIMEOUT: test file exceeded its time limit\n")
    traceback.print_stack(frame)
    _cleanup()
    os._exit(3)


def set_time_limit(seconds):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(seconds)


_ports_given = set()


def free_port():
    """A port nothing uses now, for a server about to start. Below the kernel's ephemeral range
    (32768 up): a port the kernel hands out for binding to 0 is also what it hands the next
    outgoing connection, and tests running beside this one make thousands; picked at random, two
    test processes seldom draw the same one in the moment before its server binds it."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        if port in _ports_given:  # this test's own, maybe not bound yet (or meant to stay dead)
            continue
        _ports_given.add(port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tmpdir():
    d = tempfile.mkdtemp(prefix="bffd-test-")
    _tmpdirs.append(d)
    return d


def listening_sockets(port):
    """The socket inodes listening on `port` (IPv4 and IPv6), from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def sockets_of(pid):
    """The socket inodes process `pid` holds (all its threads share one fd table)."""
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def connections_to(pid, port, states=("01",)):
    """The TCP connections process `pid` holds to far-end `port` in one of `states` (/proc/net/tcp
    codes: 01 established, 08 close-wait), as socket inodes (matched to the process's own
    sockets: tests beside this one have some too)."""
    mine = sockets_of(pid)
    out = set()
    with open("/proc/net/tcp") as f:
        for row in f.readlines()[1:]:
            fields = row.split()
            if fields[3] in states and int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in mine:
                out.add(fields[9])
    return out


def wait_port(port, timeout=10.0, proc=None):
    """Waits until `port` accepts connections. Given the process that should listen there, it
    waits for that process's own listener and fails loudly when another process listens on the
    port too (a test beside this one drew the same port: connections would go to either)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited early with status %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            time.sleep(0.02)
            continue
        if proc is None:
            return
        listeners = listening_sockets(port)
        own = listeners & sockets_of(proc.pid)
        if own and own != listeners:
            raise RuntimeError("port %d is also listened on by another process" % port)
        if own or not listeners:  # (no /proc/net to read: trust the connection)
            return
        time.sleep(0.02)  # someone else's listener: ours is not up yet, or cannot bind
    raise RuntimeError("port %d did not open in %.1fs" % (port, timeout))


class Upstream:
    """The C demo upstream (all shop services in one process)."""

    def __init__(self, latency_ms=0, threads=1, tls=None):
        """tls: (certificate, key) PEM files: TLS only, so stats() and reset() do not work."""
        self.port = free_port()
        args = [DEMO_UPSTREAM, "--port", str(self.port), "--latency-ms", str(latency_ms), "--threads", str(threads)]
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _processes.append(self.proc)
        wait_port(self.port, proc=self.proc)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)

    def stats(self):
        status, _, body = request(self.port, "GET", "/__stats")
        return json.loads(body)

    def reset(self):
        request(self.port, "POST", "/__reset")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


class Redis:
    """A real redis-server on a free port, no persistence; stopped with the test process."""

    def __init__(self, port=None, password=None):
        self.port = port or free_port()
        self.dir = tmpdir()
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir]
        if password:
            args += ["--requirepass", password]
        self.password = password
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _processes.append(self.proc)
        wait_port(self.port, proc=self.proc)
        self.url = "redis://127.0.0.1:%d/0" % self.port

    def cmd(self, *args):
        """One command over RESP; returns the decoded reply (bytes, int, list, None)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            f = s.makefile("rb")
            def send(parts):
                out = b"*%d\r\n" % len(parts)
                for p in parts:
                    p = p if isinstance(p, bytes) else str(p).encode()
                    out += b"$%d\r\n%s\r\n" % (len(p), p)
                s.sendall(out)
            def read():
                line = f.readline().rstrip(b"\r\n")
                kind, rest = line[:1], line[1:]
                if kind == b"+":
                    return rest
                if kind == b"-":
                    raise RuntimeError(rest.decode())
                if kind == b":":
                    return int(rest)
                if kind == b"$":
                    n = int(rest)
                    if n < 0:
                        return None
                    data = f.read(n + 2)
                    return data[:-2]
                if kind == b"*":
                    n = int(rest)
                    return None if n < 0 else [read() for _ in range(n)]
                raise RuntimeError("bad reply %r" % line)
            if self.password:
                send(["AUTH", self.password])
                read()
            send(list(args))
            return read()
        finally:
            s.close()

    def keys(self, pattern="*"):
        return self.cmd("KEYS", pattern)

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


class Bffd:
    """The real bffd serving profiles written by the test."""

    def __init__(self, profiles, threads=1, extra_args=(), env=None, expect_fail=False):
        self.dir = tmpdir()
        self.ports = {}
        args = [BFFD, "--threads", str(threads)]
        for name, spec in profiles.items():
            pdir = os.path.join(self.dir, name)
            os.makedirs(os.path.join(pdir, "endpoints"))
            port = free_port()
            self.ports[name] = port
            yaml = textwrap.dedent(spec["profile"]).replace("@PORT@", str(port))
            write(os.path.join(pdir, "profile.yaml"), yaml)
            for fname, text in spec.get("endpoints", {}).items():
                write(os.path.join(pdir, "endpoints", fname), textwrap.dedent(text))
            for fname, text in spec.get("files", {}).items():  # graph.yaml, schemas, ...
                write(os.path.join(pdir, fname), textwrap.dedent(text))
            args += ["--profile", pdir]
        args += list(extra_args)
        self.log_path = os.path.join(self.dir, "bffd.log")
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        _processes.append(self.proc)
        if not expect_fail:
            for port in self.ports.values():
                wait_port(port, proc=self.proc)
        self.port = next(iter(self.ports.values())) if self.ports else None

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def get(self, path, headers=None, port=None):
        return request(port or self.port, "GET", path, headers=headers)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def request(port, method, path, body=None, headers=None, timeout=10):
    """One HTTP/1.1 request on a new connection: (status, headers dict lower-cased, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, data
    finally:
        conn.close()


def get_json(port, path, headers=None):
    status, hdrs, body = request(port, "GET", path, headers=headers)
    return status, hdrs, json.loads(body) if body else None


def demo_graph(profile="web", extra=""):
    """A demo profile's graph.yaml, its schema path made absolute (for a profile in a tmpdir)."""
    with open(os.path.join(SOURCE_DIR, "bff", profile, "graph.yaml")) as f:
        text = f.read()
    shop = os.path.join(SOURCE_DIR, "schemas", "shop.graphql")
    return text.replace("../../schemas/shop.graphql", shop) + extra


def upstream_profile(name, upstream_url, extra_upstream="", upstreams=("users", "orders", "catalog", "notifications", "shipping"), extra=""):
    """A profile.yaml text whose upstreams all point at the demo upstream."""
    lines = ["name: %s" % name, "listen: 127.0.0.1:@PORT@", "access_log: off"]
    if extra:
        lines.append(textwrap.dedent(extra).strip())
    lines.append("upstreams:")
    for u in upstreams:
        lines.append("  %s:" % u)
        lines.append("    url: %s" % upstream_url)
        if extra_upstream:
            for l in textwrap.dedent(extra_upstream).strip().splitlines():
                lines.append("    " + l)
    return "\n".join(lines) + "\n"


class Runner:
    """Tiny test runner with a closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, tests):
        only = os.environ.get("BFF_TEST_ONLY")
        for fn in tests:
            if only and only not in fn.__name__:
                continue
            start = time.time()
            try:
                fn()
                self.passed += 1
                print("ok - %s (%.2fs)" % (fn.__name__, time.time() - start), flush=True)
            except Exception:
                self.failed += 1
                print("not ok - %s" % fn.__name__, flush=True)
                traceback.print_exc()
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        _cleanup()
        sys.exit(1 if self.failed else 0)


def check(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def eq(got, expected, msg=""):
    if got != expected:
        raise AssertionError("%s\n  got:      %r\n  expected: %r" % (msg, got, expected))
