"""HTTP/2 over raw frames for tests that need what no client library offers: resets at chosen
moments, floods, one connection held open across server events. h2c with prior knowledge; the
client asks for HPACK without a dynamic table, so a response's :status is easy to read."""
import socket
import struct
import time


def close_rst(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()



H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}


def h2_frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_literal(name, value):
    def s(b):
        if len(b) < 127:
            return bytes([len(b)]) + b
        n, out = len(b) - 127, bytes([127])
        while n >= 128:
            out += bytes([n % 128 + 128])
            n //= 128
        return out + bytes([n]) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def h2_headers(sid, req):
    fields = [(":method", req.method), (":scheme", "http"), (":path", req.path), (":authority", "127.0.0.1")]
    fields += [(k.lower(), v) for k, v in req.headers.items()]
    block = b"".join(hpack_literal(k, v) for k, v in fields)
    return h2_frame(HEADERS, 0x5, sid, block)


def h2_rst(sid, code=8):
    return h2_frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def hpack_int(b, i, prefix):
    mask = (1 << prefix) - 1
    v = b[i] & mask
    i += 1
    if v < mask:
        return v, i
    shift = 0
    while True:
        c = b[i]
        i += 1
        v += (c & 127) << shift
        shift += 7
        if not c & 128:
            return v, i


def huffman_digits(raw):
    """Decodes a Huffman string made of digits only (RFC 7541 appendix B); None otherwise."""
    bits = "".join("{:08b}".format(c) for c in raw)
    out, p = "", 0
    while len(bits) - p >= 5:
        v5 = int(bits[p:p + 5], 2)
        if v5 < 3:
            out += str(v5)
            p += 5
            continue
        if len(bits) - p >= 6:
            v6 = int(bits[p:p + 6], 2)
            if 0x19 <= v6 <= 0x1f:
                out += str(3 + v6 - 0x19)
                p += 6
                continue
        break
    rest = bits[p:]
    return out if len(rest) < 8 and set(rest) <= {"1"} else None


def hpack_status(block):
    """:status from the first field of a response header block (our SETTINGS forbid a dynamic
    table), or None if it cannot be read this simply."""
    try:
        i = 0
        while block[i] & 0xE0 == 0x20:  # dynamic table size update
            _, i = hpack_int(block, i, 5)
        b = block[i]
        if b & 0x80:
            idx, i = hpack_int(block, i, 7)
            return STATIC_STATUS.get(idx)
        idx, i = hpack_int(block, i, 6 if b & 0x40 else 4)
        if idx not in STATIC_STATUS:
            return None
        huff = block[i] & 0x80
        ln, i = hpack_int(block, i, 7)
        raw = bytes(block[i:i + ln])
        text = huffman_digits(raw) if huff else raw.decode()
        return int(text) if text and text.isdigit() else None
    except (IndexError, ValueError):
        return None


class H2Conn:
    """h2c with prior knowledge, raw frames; records per stream :status, DATA and how it ended."""

    def __init__(self, sock, table_size_zero=True, initial_window=None):
        self.sock = sock
        self.buf = b""
        self.status, self.data, self.ended, self.block = {}, {}, {}, {}
        self.closed = False
        self.goaway = False
        self.goaway_code = None  # the error code of the GOAWAY received
        self.reset_by_us = set()
        settings = struct.pack(">HI", 1, 0) if table_size_zero else b""  # HEADER_TABLE_SIZE = 0
        if initial_window is not None:  # SETTINGS_INITIAL_WINDOW_SIZE: 0 stalls every stream
            settings += struct.pack(">HI", 4, initial_window)
        self.sock.sendall(H2_PREFACE + h2_frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.sock.sendall(data)

    def pump(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return
            except OSError:
                d = b""
            if not d:
                self.closed = True
                return
            self.buf += d
            out = b""
            while len(self.buf) >= 9:
                ln = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + ln:
                    break
                ftype, flags = self.buf[3], self.buf[4]
                sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
                payload = self.buf[9:9 + ln]
                self.buf = self.buf[9 + ln:]
                if ftype == SETTINGS and not flags & 1:
                    out += h2_frame(SETTINGS, 1, 0)
                elif ftype == PING and not flags & 1:
                    out += h2_frame(PING, 1, 0, payload)
                elif ftype == GOAWAY:
                    self.goaway = True
                    self.goaway_code = int.from_bytes(payload[4:8], "big")
                elif ftype in (HEADERS, CONTINUATION) and sid:
                    if ftype == HEADERS:
                        p = payload
                        if flags & 0x8:
                            p = p[1:len(p) - p[0]]
                        if flags & 0x20:
                            p = p[5:]
                        self.block[sid] = p
                    else:
                        self.block[sid] = self.block.get(sid, b"") + payload
                    if flags & 0x4 and sid not in self.status:
                        self.status[sid] = hpack_status(self.block[sid])
                elif ftype == DATA:
                    p = payload[1:len(payload) - payload[0]] if flags & 0x8 else payload
                    self.data[sid] = self.data.get(sid, b"") + p
                    if payload:
                        inc = struct.pack(">I", len(payload))
                        out += h2_frame(WINDOW_UPDATE, 0, 0, inc)
                        if sid not in self.reset_by_us and flags & 1 == 0:
                            out += h2_frame(WINDOW_UPDATE, 0, sid, inc)
                if sid and ftype in (DATA, HEADERS) and flags & 1:
                    self.ended.setdefault(sid, "end")
                elif sid and ftype == RST_STREAM:
                    self.ended.setdefault(sid, "reset")
            if out:
                try:
                    self.sock.sendall(out)
                except OSError:
                    self.closed = True

    def close(self, abrupt=False):
        (close_rst if abrupt else socket.socket.close)(self.sock)

