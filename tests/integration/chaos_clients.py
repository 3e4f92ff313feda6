"""The chaos test's clients: what one client thread does (keep-alive requests, disconnects,
garbage, oversized headers, pipelining, raw HTTP/2, one rapid-reset burst), judging every answer
it gets, and the state all threads share (failures, counts, the bound on upstream calls).
Set PORT to bffd's port before starting client threads."""
import http.client
import json
import random
import re
import socket
import struct
import threading
import time

from chaos_profile import IDS
from chaos_requests import Req, check_answer, gen_bad, gen_knobs, gen_normal
from h2raw import (CONTINUATION, DATA, GOAWAY, H2_PREFACE, HEADERS, PING, PRIORITY, RST_STREAM,
                   SETTINGS, WINDOW_UPDATE, H2Conn, close_rst, h2_frame, h2_headers, h2_rst)

# ---------------------------------------------------------------- shared state


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.failures = []
        self.ops = {}
        self.statuses = {}
        self.reasons = {}
        self.bound = 0          # most upstream calls the requests sent so far can cause
        self.max_latency = {}
        self.notes = {}
        self.stop = threading.Event()

    def fail(self, what, req=None, detail=""):
        with self.lock:
            self.failures.append("%s: %s%s" % (what, "%r: " % (req,) if req else "", detail))

    def count(self, table, key, n=1):
        with self.lock:
            table[key] = table.get(key, 0) + n

    def sent(self, req):
        with self.lock:
            self.bound += req.calls

    def latency(self, req, t):
        with self.lock:
            k = "%s %s" % (req.kind, req.ep)
            self.max_latency[k] = max(self.max_latency.get(k, 0.0), t)


ST = State()
PORT = None


def judge(req, status, hdrs, raw, elapsed, how):
    ST.count(ST.statuses, "%s %s %s" % (how, req.kind, status))
    if status in (502, 504) or status is None:
        try:
            err = json.loads(raw)["error"]
            ST.count(ST.reasons, "%s %s %s %s" % (req.kind, req.ep, err.get("source"), err.get("reason")))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    if elapsed is not None:
        ST.latency(req, elapsed)
    problem = check_answer(req, status, hdrs, raw, elapsed)
    if problem:
        ST.fail("malformed answer (%s)" % how, req, problem)

# ---------------------------------------------------------------- HTTP/1 helpers


class Closed(Exception):
    pass


class H1Reader:
    """Reads HTTP/1.1 responses from a raw socket (Content-Length, chunked or to EOF)."""

    def __init__(self, sock):
        self.sock, self.buf, self.eof = sock, b"", False

    def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no answer in time")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            raise Closed()
        self.buf += d

    def response(self, timeout):
        """(status, headers, body); Closed if the peer closed before any byte; ValueError if
        what arrived is not HTTP."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            try:
                self._more(deadline)
            except Closed:
                if self.buf:
                    raise ValueError("connection closed inside a response head: %r" % self.buf[:200])
                raise
            if len(self.buf) > 65536 and b"\r\n\r\n" not in self.buf:
                raise ValueError("no end of head: %r" % self.buf[:200])
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})(?: [^\r\n]*)?$", lines[0])
        if not m:
            raise ValueError("bad status line %r" % lines[0][:200])
        hdrs = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise ValueError("bad header line %r" % line[:200])
            hdrs[name.decode("latin1").lower()] = value.strip().decode("latin1")
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            while len(self.buf) < n:
                try:
                    self._more(deadline)
                except Closed:
                    raise ValueError("closed after %d of %d body bytes" % (len(self.buf), n))
            body, self.buf = self.buf[:n], self.buf[n:]
        elif "chunked" in hdrs.get("transfer-encoding", ""):
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._more(deadline)
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._more(deadline)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            try:
                while True:
                    self._more(deadline)
            except Closed:
                pass
            body, self.buf = self.buf, b""
        return int(m.group(1)), hdrs, body


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class KeepAlive:
    """One persistent HTTP/1.1 connection per client thread (http.client)."""

    def __init__(self):
        self.conn = None
        self.used = 0

    def do(self, req):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=req.max_time + 5)
            self.used = 0
        reused = self.used > 0
        self.conn.timeout = req.max_time + 5
        if self.conn.sock is not None:
            self.conn.sock.settimeout(req.max_time + 5)
        ST.sent(req)
        start = time.monotonic()
        try:
            body = b"{}" if req.method != "GET" else None
            self.conn.request(req.method, req.path, body=body, headers=req.headers)
            r = self.conn.getresponse()
            raw = r.read()
            elapsed = time.monotonic() - start
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            self.used += 1
            if r.will_close:
                self.close()
        except socket.timeout:
            self.close()
            ST.fail("no answer within %.1fs (hang?)" % (req.max_time + 5), req)
            return
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            self.close()
            if reused and isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                ST.count(ST.notes, "keep-alive connection closed by bffd before a request")
            else:
                ST.fail("request failed on a %s connection" % ("reused" if reused else "fresh"), req, repr(e))
            return
        judge(req, r.status, hdrs, raw, elapsed, "h1")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

# ---------------------------------------------------------------- the client operations


def op_keepalive(rng, ka):
    r = rng.random()
    req = gen_normal(rng) if r < 0.55 else gen_knobs(rng) if r < 0.85 else gen_bad(rng)
    ka.do(req)


def op_disconnect(rng):
    mode = rng.choice(["mid-request", "in-flight", "in-flight", "mid-response", "half-close"])
    s = connect()
    try:
        if mode == "mid-request":
            req = gen_normal(rng)
            raw = req.raw()
            cut = rng.randrange(1, len(raw) - 2)  # never the whole head: nothing is dispatched
            s.sendall(raw[:cut])
            time.sleep(rng.uniform(0, 0.3))
        elif mode == "in-flight":
            req = gen_knobs(rng) if rng.random() < 0.6 else gen_normal(rng)
            ST.sent(req)
            s.sendall(req.raw())
            time.sleep(rng.uniform(0, 0.8))
        elif mode == "mid-response":
            i = rng.choice(IDS)
            req = Req("normal", "big", "/big/%s?kb=%d" % (i, rng.randint(500, 4000)), calls=2)
            ST.sent(req)
            s.sendall(req.raw())
            want, got = rng.randint(0, 200000), 0
            s.settimeout(4)
            while got < want:
                d = s.recv(min(65536, want - got))
                if not d:
                    break
                got += len(d)
        else:  # half-close: the request, then FIN; an answer may or may not come, but is well-formed
            req = gen_normal(rng)
            ST.sent(req)
            s.sendall(req.raw())
            s.shutdown(socket.SHUT_WR)
            start = time.monotonic()
            try:
                status, hdrs, body = H1Reader(s).response(req.max_time + 3)
                if status == 499 and json.loads(body) == {"error": {
                        "code": "client_closed_request", "message": "the client closed the connection"}}:
                    # bffd takes the FIN for a client that left (README: "Clients that hang up")
                    ST.count(ST.statuses, "half-close 499")
                    return
                judge(req, status, hdrs, body, time.monotonic() - start, "half-close")
            except Closed:
                ST.count(ST.notes, "half-closed request not answered")
            except ValueError as e:
                ST.fail("malformed HTTP after a half-close", req, str(e))
        ST.count(ST.notes, "disconnect " + mode)
    except socket.timeout:
        ST.fail("stalled while reading a big answer", None, mode)
    except OSError:
        pass
    finally:
        close_rst(s) if rng.random() < 0.5 else s.close()


def garbage_bytes(rng):
    r = rng.random()
    if r < 0.3:
        return rng.randbytes(rng.randint(1, 3000))
    if r < 0.5:
        junk = rng.randbytes(rng.randint(1, 500)).replace(b"\r", b"").replace(b"\n", b"")
        return b"GET /dash/c1 HTTP/1.1\r\nHost: x\r\n\x01" + junk + b"\r\n\r\n"  # never a header line
    if r < 0.6:
        return rng.choice([b"GET /dash/c1 HTTP/9.9\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET\r\n\r\n",
                           b"GET /dash/c1 HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
                           b"POST /dash/c1 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                           b"POST /dash/c1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                           b"GET /dash/c1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                           b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"])
    if r < 0.8:
        return H2_PREFACE + rng.randbytes(rng.randint(1, 2000))
    # HTTP/2 frames that are each plausible but wrong
    frames = [h2_frame(SETTINGS, 0, 0),
              rng.choice([h2_frame(DATA, 1, 1, b"x"), h2_frame(HEADERS, 0x4, 2, b"\x82"),
                          h2_frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"),
                          h2_frame(HEADERS, 0x5, 1, rng.randbytes(20)),
                          h2_frame(CONTINUATION, 0x4, 1, b"\x82"),
                          h2_frame(SETTINGS, 0, 1, b"\x00"), h2_frame(PING, 0, 0, b"short"),
                          h2_frame(RST_STREAM, 0, 0, b"\x00\x00\x00\x08"),
                          h2_frame(PRIORITY, 0, 1, b"\x00\x00\x00\x01\x10"),
                          h2_frame(GOAWAY, 0, 0, b"\x00\x00\x00\x00\x00\x00\x00\x00")])]
    return H2_PREFACE + b"".join(frames)


def op_garbage(rng):
    data = garbage_bytes(rng)
    s = connect()
    try:
        s.sendall(data)
        if data.startswith(H2_PREFACE):
            s.settimeout(0.5)
            try:
                while s.recv(65536):
                    pass
            except socket.timeout:
                pass
            return
        try:
            status, hdrs, body = H1Reader(s).response(0.5)
        except (Closed, socket.timeout):
            return
        if not (400 <= status < 500 or status in (501, 505)):
            ST.fail("garbage answered %d" % status, None, repr(data[:80]))
        if status in (404, 405, 431) and "application/json" not in hdrs.get("content-type", ""):
            ST.fail("bffd's %d is not JSON" % status, None, repr(body[:200]))
        ST.count(ST.statuses, "garbage %d" % status)
    except ValueError as e:
        ST.fail("malformed HTTP after garbage", None, "%s (sent %r)" % (e, data[:80]))
    except OSError:
        pass
    finally:
        close_rst(s) if rng.random() < 0.5 else s.close()


def op_big_headers(rng):
    i = rng.choice(IDS)
    r = rng.random()
    if r < 0.15:  # under the limit: served normally
        req = gen_normal(rng)
        req.headers = dict(req.headers, **{"X-Pad": "p" * rng.randint(100, 6000)})
        expect = None
    elif r < 0.85:  # over 8KiB, fewer than libh2o's 100 headers: bffd's 431
        req = Req("big-headers", "dash", "/dash/%s" % i, calls=0)
        if rng.random() < 0.5:
            req.headers = {"X-Big": "b" * rng.randint(8300, 60000)}
        else:
            req.headers = {"X-H%d" % j: "h" * 150 for j in range(rng.randint(60, 90))}
        expect = 431
    else:  # beyond what libh2o parses at all: its plain 400 (or a closed connection)
        req = Req("big-headers", "dash", "/dash/%s" % i, calls=0)
        req.headers = {"X-H%d" % j: "h" for j in range(rng.randint(101, 300))} if rng.random() < 0.5 \
            else {"X-Huge": "z" * rng.randint(430000, 600000)}
        expect = 400
    ST.sent(req)
    s = connect()
    start = time.monotonic()
    try:
        s.sendall(req.raw())
        status, hdrs, body = H1Reader(s).response(req.max_time + 3)
        if expect is None:
            judge(req, status, hdrs, body, time.monotonic() - start, "h1-pad")
        elif status != expect:
            ST.fail("oversized headers answered %d, expected %d" % (status, expect), req, repr(body[:200]))
        elif expect == 431:
            ok = hdrs.get("content-type", "").startswith("application/json") and \
                json.loads(body) == {"error": {"code": "headers_too_large", "message": "request headers are too large"}}
            if not ok:
                ST.fail("431 body", req, repr(body[:300]))
        ST.count(ST.statuses, "big-headers %s %d" % (expect, status))
    except Closed:
        if expect != 400:
            ST.fail("connection closed without an answer to oversized headers", req)
    except socket.timeout:
        ST.fail("no answer to oversized headers", req)
    except ValueError as e:
        ST.fail("malformed HTTP for oversized headers", req, str(e))
    except OSError as e:
        if expect != 400:
            ST.fail("socket error on oversized headers", req, repr(e))
    finally:
        s.close()


def op_pipeline(rng):
    reqs = [gen_normal(rng) if rng.random() < 0.6 else gen_bad(rng) for _ in range(rng.randint(2, 4))]
    s = connect()
    try:
        for r in reqs:
            ST.sent(r)
        s.sendall(b"".join(r.raw() for r in reqs))
        rd = H1Reader(s)
        start = time.monotonic()
        for r in reqs:
            status, hdrs, body = rd.response(sum(x.max_time for x in reqs) + 3)
            judge(r, status, hdrs, body, None, "pipelined")
            if hdrs.get("connection", "").lower() == "close":
                break
        with ST.lock:
            ST.max_latency["pipeline (all)"] = max(ST.max_latency.get("pipeline (all)", 0.0), time.monotonic() - start)
    except Closed:
        ST.fail("pipelined requests: connection closed early", reqs[0])
    except socket.timeout:
        ST.fail("pipelined requests: no answer in time", reqs[0])
    except ValueError as e:
        ST.fail("pipelined requests: malformed HTTP", reqs[0], str(e))
    except OSError as e:
        ST.fail("pipelined requests: socket error", reqs[0], repr(e))
    finally:
        s.close()


def op_h2(rng):
    try:
        c = H2Conn(connect(), table_size_zero=rng.random() < 0.9)
    except OSError as e:
        ST.fail("h2 connect", None, repr(e))
        return
    try:
        plan, burst = {}, b""
        for j in range(rng.randint(2, 8)):
            sid = 1 + 2 * j
            r = rng.random()
            req = gen_normal(rng) if r < 0.5 else gen_knobs(rng) if r < 0.85 else gen_bad(rng)
            if req.ep == "big":
                req = gen_knobs(rng)
            action = rng.choices(["complete", "reset-now", "reset-later"], [5, 2, 3])[0]
            at = time.monotonic() + rng.uniform(0.005, 0.6) if action == "reset-later" else None
            plan[sid] = (req, action, at)
            ST.sent(req)
            burst += h2_headers(sid, req)
            if action == "reset-now":
                burst += h2_rst(sid)
                c.reset_by_us.add(sid)
            if rng.random() < 0.2:
                burst += h2_frame(PING, 0, 0, rng.randbytes(8))
        c.send(burst)
        start = time.monotonic()
        limit = start + max(r.max_time for r, _, _ in plan.values()) + 2
        abandon = start + rng.uniform(0.05, 1.0) if rng.random() < 0.2 else None
        while time.monotonic() < limit and not c.closed:
            now = time.monotonic()
            for sid, (req, action, at) in plan.items():
                if at is not None and now >= at and sid not in c.reset_by_us:
                    c.reset_by_us.add(sid)
                    if sid not in c.ended:
                        c.send(h2_rst(sid))
            if abandon is not None and now >= abandon:
                ST.count(ST.notes, "h2 connection dropped with streams open")
                break
            if all(sid in c.ended or action != "complete" and sid in c.reset_by_us
                   for sid, (req, action, at) in plan.items()):
                break
            c.pump(0.02)
        for sid, (req, action, at) in plan.items():
            end = c.ended.get(sid)
            if end == "end":
                judge(req, c.status.get(sid), None, c.data.get(sid, b""), None, "h2")
                ST.count(ST.notes, "h2 :status decoded" if c.status.get(sid) else "h2 :status not decoded")
            elif action == "complete" and abandon is None:
                if end == "reset":
                    ST.fail("bffd reset an h2 stream", req)
                elif c.closed:
                    ST.fail("bffd closed an h2 connection with a stream unanswered", req, "goaway=%s" % c.goaway)
                else:
                    ST.fail("h2 stream not answered in time", req)
        ST.count(ST.notes, "h2 connections")
        if rng.random() < 0.5:
            c.send(h2_frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
    except OSError as e:
        ST.fail("h2 socket error", None, repr(e))
    finally:
        c.close(abrupt=rng.random() < 0.5)


RAPID = {"sent": 0}


def op_rapid_reset():
    c = H2Conn(connect())
    c.pump(0.1)
    burst = b"".join(h2_headers(1 + 2 * j, Req("rr", "dash", "/dash/rr%d" % (j % 5))) + h2_rst(1 + 2 * j)
                     for j in range(500))
    try:
        c.send(burst)
        RAPID["sent"] = 500
    except OSError:
        RAPID["sent"] = -1  # cut off by bffd: fine
    c.pump(0.5)
    c.close()
    ST.count(ST.notes, "rapid reset bursts")

# ---------------------------------------------------------------- one client thread


def client(seed, idx, until):
    rng = random.Random(seed * 1000 + idx)
    ka = KeepAlive()
    ops = [("keepalive", 40), ("disconnect", 12), ("garbage", 5), ("big-headers", 5),
           ("pipeline", 4), ("h2", 10)]
    names, weights = zip(*ops)
    rapid_at = time.monotonic() + (until - time.monotonic()) * 0.4 if idx == 0 else None
    try:
        while time.monotonic() < until and not ST.stop.is_set():
            if rapid_at is not None and time.monotonic() >= rapid_at:
                rapid_at = None
                op_rapid_reset()
                continue
            op = rng.choices(names, weights)[0]
            ST.count(ST.ops, op)
            if op == "keepalive":
                op_keepalive(rng, ka)
            elif op == "disconnect":
                op_disconnect(rng)
            elif op == "garbage":
                op_garbage(rng)
            elif op == "big-headers":
                op_big_headers(rng)
            elif op == "pipeline":
                op_pipeline(rng)
            else:
                op_h2(rng)
    except Exception as e:  # a bug in the driver must not pass silently
        import traceback
        ST.fail("client thread %d crashed" % idx, None, "%r\n%s" % (e, traceback.format_exc()))
    finally:
        ka.close()
