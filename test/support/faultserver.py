#!/usr/bin/env python3
"""faultserver.py - a small fault-injecting HTTP/1.1 server for vigil's tests and benchmarks.

Python 3 standard library only (asyncio). Loopback use only: it has no authentication.

    faultserver.py [--listen HOST:PORT]... [--listen-tls HOST:PORT --tls-cert PEM --tls-key PEM]...
                   [--max-connections N] [--verbose]

Each --listen address is served in plain HTTP (default 127.0.0.1:0 when no listener is given),
each --listen-tls one in HTTPS with the given certificate chain and key. Once every listener is
bound, one line per listener is printed and flushed on stdout, plain ones first, each kind in the
order given, before anything else:

    listening 127.0.0.1:PORT
    listening-tls 127.0.0.1:PORT

so a caller that passed port 0 reads the chosen port from the first line(s). SIGTERM or SIGINT
closes every listener and connection and exits 0.

Behaviour per request, chosen by path (the query string is ignored unless noted):

    /status/<code>        answer <code> (body "status <code>\\n", none for 1xx/204/304)
    /delay/<ms>           wait <ms> before sending the headers, then 200 "ok\\n"
    /slow-headers         send the status line, then one header byte per second, forever
    /reset                read the request, then reset the connection (SO_LINGER 0 + close: RST)
    /close                read the request, then close the connection without answering
    /garbage              answer bytes that are not HTTP ("SSH-2.0-nope ..."), then close
    /endless              200 with a chunked body that never ends: 16 bytes every 100 ms
    /endless/fast         200 with a chunked body that never ends, as fast as the client reads
    /big/<bytes>          200 with a body of exactly <bytes> bytes ('x'), with Content-Length
    /gzip-bomb/<bytes>    200, Content-Encoding: gzip, a small body that decodes to <bytes> zeros
    /redirect/<n>         302 to /redirect/<n-1>; /redirect/0 answers 200 "redirected\\n"
    /body/<text>          200 with the (percent-decoded) <text> as body
    /echo                 200 whose body is the request line and headers, names in lower case
    /headers-flood[/<bytes>]  200 whose header block is <bytes> long (default 1 MiB), then "ok\\n"
    /-/control            GET: the current behaviour as JSON; POST: change it (see below)
    /-/stats              GET: counters as JSON; POST or DELETE: reset the counters
    /-/healthy            200 "ok\\n" (not counted)
    anything else         the default behaviour: 200 "ok\\n" unless changed by /-/control

Every path also honours ?status=CODE&delay_ms=MS&body=TEXT in its query string where it makes
sense (/, unknown paths, /status, /delay, /body).

Control API: `POST /-/control` with a JSON object; keys present replace the current values:

    {"default": {"status": 500, "delay_ms": 0, "body": "oops\\n", "action": null},
     "paths":   {"/api/health": {"status": 503}, "/x": {"action": "reset"}}}

"default" applies to `/` and every path without its own behaviour; "paths" adds or replaces exact
path overrides (a value of null deletes one); "reset": true first returns everything to the start
state. `action` is one of null (a normal answer), "reset", "close", "garbage", "slow-headers",
"endless", "endless-fast", "headers-flood", "gzip-bomb", "big" (the last three use "bytes").
The answer is the new state. `GET /-/stats` answers

    {"requests": N, "connections": N, "active_connections": N, "rejected_connections": N,
     "paths": {"/": N, "/status/500": N, ...}}

where requests counts every request except those to /-/*; "paths" holds at most 10,000 distinct
paths (the rest are counted under "<other>").

Bounds: request headers 64 KiB (431 beyond), request bodies 1 MiB (413 beyond), at most
--max-connections open connections (default 20,000; the excess is closed at once and counted);
every streamed answer (big, endless, gzip-bomb, headers flood) is written under flow control, so
memory per connection stays bounded whatever the client does.
"""

import argparse
import asyncio
import functools
import json
import signal
import socket
import ssl
import struct
import sys
import urllib.parse
import zlib

MAX_HEADER_BYTES = 64 << 10
MAX_REQUEST_BODY = 1 << 20
MAX_STAT_PATHS = 10_000
STREAM_BLOCK = 64 << 10
REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 413: "Content Too Large",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}
ACTIONS = {None, "reset", "close", "garbage", "slow-headers", "endless", "endless-fast",
           "headers-flood", "gzip-bomb", "big"}


def start_behaviour():
    return {"status": 200, "delay_ms": 0, "body": "ok\n", "action": None, "bytes": 0}


class State:
    """Everything the control API changes and the stats API reports; one per process."""

    def __init__(self, max_connections, verbose):
        self.max_connections = max_connections
        self.verbose = verbose
        self.reset_behaviour()
        self.reset_stats()
        self.active = 0
        self.protocols = set()

    def reset_behaviour(self):
        self.default = start_behaviour()
        self.paths = {}

    def reset_stats(self):
        self.requests = 0
        self.connections = 0
        self.rejected = 0
        self.path_counts = {}

    def count(self, path):
        self.requests += 1
        if path in self.path_counts or len(self.path_counts) < MAX_STAT_PATHS:
            self.path_counts[path] = self.path_counts.get(path, 0) + 1
        else:
            self.path_counts["<other>"] = self.path_counts.get("<other>", 0) + 1

    def stats(self):
        return {"requests": self.requests, "connections": self.connections,
                "active_connections": self.active, "rejected_connections": self.rejected,
                "paths": self.path_counts}

    def control_view(self):
        return {"default": self.default, "paths": self.paths}

    def apply_control(self, doc):
        """Validates and applies a control document; raises ValueError on a bad one."""
        if not isinstance(doc, dict):
            raise ValueError("control body must be a JSON object")
        unknown = set(doc) - {"default", "paths", "reset"}
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        default = dict(start_behaviour() if doc.get("reset") else self.default)
        paths = {} if doc.get("reset") else dict(self.paths)
        if "default" in doc:
            default.update(validate_behaviour(doc["default"]))
        if "paths" in doc:
            if not isinstance(doc["paths"], dict):
                raise ValueError("paths must be an object")
            for p, b in doc["paths"].items():
                if b is None:
                    paths.pop(p, None)
                else:
                    nb = start_behaviour()
                    nb.update(validate_behaviour(b))
                    paths[p] = nb
        self.default, self.paths = default, paths


def validate_behaviour(b):
    if not isinstance(b, dict):
        raise ValueError("a behaviour must be an object")
    out = {}
    for k, v in b.items():
        if k == "status":
            if not isinstance(v, int) or not 100 <= v <= 999:
                raise ValueError("status must be an integer 100..999")
        elif k in ("delay_ms", "bytes"):
            if not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"{k} must be a number >= 0")
        elif k == "body":
            if not isinstance(v, str):
                raise ValueError("body must be a string")
        elif k == "action":
            if v not in ACTIONS:
                raise ValueError(f"action must be one of {sorted(a for a in ACTIONS if a)} or null")
        else:
            raise ValueError(f"unknown behaviour key {k!r}")
        out[k] = v
    return out


@functools.lru_cache(maxsize=8)
def gzip_bomb_parts(size):
    """(header, repeated block, count, tail) of a gzip stream that decodes to `size` zero bytes.

    A Z_FULL_FLUSH byte-aligns the output and resets the compressor, so every 1 MiB block of zeros
    after one compresses to the same bytes: the stream is one compressed block sent `count` times,
    and the decoded data is never held in memory.
    """
    block = 1 << 20
    count, rest = divmod(size, block)
    zeros = bytes(block)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    one = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH) == one
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(zeros[:rest], crc)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    tail = comp.compress(zeros[:rest]) + comp.flush(zlib.Z_FINISH)
    tail += struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header, one, count, tail


class Conn(asyncio.Protocol):
    """One client connection: parses requests one at a time and answers them."""

    def __init__(self, state):
        self.state = state
        self.transport = None
        self.buf = bytearray()
        self.busy = False           # a response is being produced; further requests wait
        self.closed = False
        self.task = None
        self.forever = False        # the answer in progress never ends (slow-headers, endless)
        self.writable = asyncio.Event()
        self.writable.set()

    # ---------------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport
        st = self.state
        if st.active >= st.max_connections:
            st.rejected += 1
            self.closed = True
            transport.abort()
            return
        st.active += 1
        st.connections += 1
        st.protocols.add(self)
        transport.set_write_buffer_limits(high=STREAM_BLOCK * 2, low=STREAM_BLOCK)

    def connection_lost(self, exc):
        if self in self.state.protocols:
            self.state.protocols.discard(self)
            self.state.active -= 1
        self.closed = True
        self.writable.set()
        if self.task is not None:
            self.task.cancel()

    def pause_writing(self):
        self.writable.clear()

    def resume_writing(self):
        self.writable.set()

    def data_received(self, data):
        if self.closed:
            return
        self.buf += data
        if len(self.buf) > MAX_HEADER_BYTES + MAX_REQUEST_BODY:
            self.transport.pause_reading()  # bounded: we read no more until this is consumed
        if not self.busy:
            self.process()

    def eof_received(self):
        # An idle connection the client closed is closed at once. A client that half-closes while
        # an answer is on its way still gets it (then the connection closes), except for the
        # answers that never end: nobody would read them.
        if not self.busy:
            return False
        if self.forever:
            self.closed = True
            self.transport.abort()
            return False
        self.keep = False
        return True

    # ---------------------------------------------------------------- parsing
    def process(self):
        while not self.busy and not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER_BYTES:
                    self.simple(431, "request header block too large\n", close=True)
                return
            if end > MAX_HEADER_BYTES:
                self.simple(431, "request header block too large\n", close=True)
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                self.simple(400, "bad request line\n", close=True)
                return
            method, target, version = parts
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    self.simple(400, "bad header line\n", close=True)
                    return
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self.simple(501, "chunked request bodies are not supported\n", close=True)
                return
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self.simple(400, "bad content-length\n", close=True)
                return
            if length > MAX_REQUEST_BODY or length < 0:
                self.simple(413, "request body too large\n", close=True)
                return
            if len(self.buf) < end + 4 + length:
                return  # wait for the rest of the body
            body = bytes(self.buf[end + 4:end + 4 + length])
            del self.buf[:end + 4 + length]
            self.transport.resume_reading()
            conn_hdr = headers.get("connection", "").lower()
            keep = (version == "HTTP/1.1" and "close" not in conn_hdr) or \
                   (version == "HTTP/1.0" and "keep-alive" in conn_hdr)
            self.keep = keep
            self.keep10 = version == "HTTP/1.0"
            self.method = method
            self.dispatch(method, target, headers, body)

    # ---------------------------------------------------------------- writing
    def head(self, status, headers=(), length=None, chunked=False):
        reason = REASONS.get(status, "Status")
        out = [f"HTTP/1.1 {status} {reason}\r\n", "Server: faultserver\r\n"]
        for k, v in headers:
            out.append(f"{k}: {v}\r\n")
        if length is not None:
            out.append(f"Content-Length: {length}\r\n")
        if chunked:
            out.append("Transfer-Encoding: chunked\r\n")
        if not self.keep:
            out.append("Connection: close\r\n")
        elif self.keep10:
            out.append("Connection: keep-alive\r\n")
        out.append("\r\n")
        return "".join(out).encode("latin-1")

    def simple(self, status, body, headers=(), close=False):
        """Writes a complete answer at once and goes on with the next request."""
        if close:
            self.keep = False
        if isinstance(body, str):
            body = body.encode()
        nobody = status < 200 or status in (204, 304)
        data = self.head(status, headers, length=None if nobody else len(body))
        if not nobody and getattr(self, "method", "GET") != "HEAD":
            data += body
        self.transport.write(data)
        self.finish()

    def finish(self):
        if not self.keep:
            self.closed = True
            self.transport.close()
        else:
            self.busy = False

    def spawn(self, coro):
        self.busy = True

        async def run():
            try:
                await coro
            except (asyncio.CancelledError, ConnectionError):
                pass
            finally:
                self.task = None
            if not self.closed and not self.transport.is_closing():
                self.finish()
                if not self.closed:
                    self.process()

        self.task = asyncio.get_running_loop().create_task(run())

    async def drain(self):
        if self.closed or self.transport.is_closing():
            raise ConnectionError("closed")
        await self.writable.wait()
        if self.closed:
            raise ConnectionError("closed")

    # ---------------------------------------------------------------- behaviours
    def dispatch(self, method, target, headers, body):
        st = self.state
        url = urllib.parse.urlsplit(target)
        path = url.path or "/"
        query = dict(urllib.parse.parse_qsl(url.query))
        if path.startswith("/-/"):
            return self.control(method, path, body)
        st.count(path)
        if st.verbose:
            print(f"{method} {target}", file=sys.stderr, flush=True)
        seg = path.split("/")  # ['', 'status', '500']
        head = seg[1] if len(seg) > 1 else ""
        arg = "/".join(seg[2:])
        try:
            if head == "status" and arg.isdigit():
                return self.answer({"status": int(arg), "body": f"status {arg}\n"}, query)
            if head == "delay" and arg.isdigit():
                return self.answer({"status": 200, "body": "ok\n", "delay_ms": int(arg)}, query)
            if head == "slow-headers" and not arg:
                return self.act("slow-headers", 0)
            if head == "reset" and not arg:
                return self.act("reset", 0)
            if head == "close" and not arg:
                return self.act("close", 0)
            if head == "garbage" and not arg:
                return self.act("garbage", 0)
            if head == "endless" and arg in ("", "fast"):
                return self.act("endless-fast" if arg else "endless", 0)
            if head == "big" and arg.isdigit():
                return self.act("big", int(arg))
            if head == "gzip-bomb" and arg.isdigit():
                return self.act("gzip-bomb", int(arg))
            if head == "headers-flood" and (arg == "" or arg.isdigit()):
                return self.act("headers-flood", int(arg) if arg else 1 << 20)
            if head == "redirect" and arg.isdigit():
                n = int(arg)
                if n <= 0:
                    return self.simple(200, "redirected\n")
                return self.simple(302, f"redirect {n}\n", [("Location", f"/redirect/{n - 1}")])
            if head == "echo" and not arg:
                lines = [f"{method} {target}"] + [f"{k}: {v}" for k, v in headers.items()]
                return self.simple(200, "\n".join(lines) + "\n", [("Content-Type", "text/plain")])
            if head == "body" and arg:
                text = urllib.parse.unquote(url.path.split("/body/", 1)[1])
                return self.answer({"status": 200, "body": text}, query)
        except ValueError:
            pass
        b = st.paths.get(path, st.default)
        return self.answer(b, query)

    def answer(self, b, query):
        b = dict(start_behaviour(), **b)
        if "status" in query and query["status"].isdigit():
            b["status"] = int(query["status"])
        if "delay_ms" in query and query["delay_ms"].isdigit():
            b["delay_ms"] = int(query["delay_ms"])
        if "body" in query:
            b["body"] = query["body"]
        if b.get("action"):
            return self.act(b["action"], int(b.get("bytes") or 0), delay_ms=b["delay_ms"])
        if b["delay_ms"] > 0:
            async def later():
                await asyncio.sleep(b["delay_ms"] / 1000)
                self.simple_nofinish(b["status"], b["body"])
            return self.spawn(later())
        return self.simple(b["status"], b["body"])

    def simple_nofinish(self, status, body):
        if isinstance(body, str):
            body = body.encode()
        nobody = status < 200 or status in (204, 304)
        data = self.head(status, (), length=None if nobody else len(body))
        if not nobody and self.method != "HEAD":
            data += body
        self.transport.write(data)

    def act(self, action, nbytes, delay_ms=0):
        if action == "reset":
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.closed = True
            self.transport.abort()
            return None
        if action == "close":
            self.closed = True
            self.transport.close()
            return None
        if action == "garbage":
            self.closed = True
            self.transport.write(b"SSH-2.0-nope this is not HTTP\r\n\r\n\x00\xff\r\n")
            self.transport.close()
            return None
        self.forever = action in ("slow-headers", "endless", "endless-fast")
        gen = {"slow-headers": self.slow_headers, "endless": self.endless,
               "endless-fast": self.endless_fast, "big": self.big,
               "gzip-bomb": self.gzip_bomb, "headers-flood": self.headers_flood}[action]

        async def run():
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            await gen(nbytes)
        return self.spawn(run())

    async def slow_headers(self, _n):
        self.transport.write(b"HTTP/1.1 200 OK\r\n")
        self.keep = False
        line = b"X-Slow: " + b"a" * 1000
        while True:
            for i in range(len(line)):
                await asyncio.sleep(1)
                await self.drain()
                self.transport.write(line[i:i + 1])
            self.transport.write(b"\r\n")

    async def endless(self, _n):
        self.keep = False
        self.transport.write(self.head(200, [("Content-Type", "text/plain")], chunked=True))
        chunk = b"10\r\n" + b"y" * 15 + b"\n\r\n"
        while True:
            await self.drain()
            self.transport.write(chunk)
            await asyncio.sleep(0.1)

    async def endless_fast(self, _n):
        self.keep = False
        self.transport.write(self.head(200, [("Content-Type", "text/plain")], chunked=True))
        chunk = f"{STREAM_BLOCK:x}\r\n".encode() + b"y" * STREAM_BLOCK + b"\r\n"
        while True:
            await self.drain()
            self.transport.write(chunk)
            await asyncio.sleep(0)

    async def big(self, n):
        self.transport.write(self.head(200, [("Content-Type", "text/plain")], length=n))
        if self.method == "HEAD":
            return
        block = b"x" * STREAM_BLOCK
        left = n
        while left > 0:
            await self.drain()
            k = min(left, STREAM_BLOCK)
            self.transport.write(block if k == STREAM_BLOCK else block[:k])
            left -= k
            await asyncio.sleep(0)

    async def gzip_bomb(self, n):
        # the CRC of a large bomb takes a while: off the event loop, so other clients don't wait
        parts = await asyncio.get_running_loop().run_in_executor(None, gzip_bomb_parts, n)
        self.transport.write(self.head(200, [("Content-Type", "text/plain"),
                                             ("Content-Encoding", "gzip")], chunked=True))
        if self.method == "HEAD":
            return

        def chunk(b):
            return f"{len(b):x}\r\n".encode() + b + b"\r\n" if b else b""

        header, block, count, tail = parts
        self.transport.write(chunk(header))
        pending = bytearray()
        for _ in range(count):
            pending += block
            if len(pending) >= STREAM_BLOCK:
                await self.drain()
                self.transport.write(chunk(bytes(pending)))
                pending.clear()
                await asyncio.sleep(0)
        pending += tail
        await self.drain()
        self.transport.write(chunk(bytes(pending)) + b"0\r\n\r\n")

    async def headers_flood(self, n):
        self.transport.write(b"HTTP/1.1 200 OK\r\nServer: faultserver\r\n")
        self.keep = False
        line = b"X-Flood: " + b"f" * 1000 + b"\r\n"
        sent = 0
        while sent < n:
            await self.drain()
            batch = line * 32
            self.transport.write(batch)
            sent += len(batch)
            await asyncio.sleep(0)
        self.transport.write(b"Content-Length: 3\r\nConnection: close\r\n\r\nok\n")

    # ---------------------------------------------------------------- control API
    def control(self, method, path, body):
        st = self.state
        js = [("Content-Type", "application/json")]
        if path == "/-/healthy":
            return self.simple(200, "ok\n")
        if path == "/-/stats":
            if method in ("POST", "DELETE"):
                st.reset_stats()
            return self.simple(200, json.dumps(st.stats()) + "\n", js)
        if path == "/-/control":
            if method == "POST":
                try:
                    st.apply_control(json.loads(body or b"{}"))
                except (ValueError, json.JSONDecodeError) as e:
                    return self.simple(400, json.dumps({"error": str(e)}) + "\n", js)
            elif method != "GET":
                return self.simple(405, "GET or POST\n")
            return self.simple(200, json.dumps(st.control_view()) + "\n", js)
        return self.simple(404, "unknown control path\n")


def parse_listen(s):
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{s!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


async def main_async(args):
    loop = asyncio.get_running_loop()
    state = State(args.max_connections, args.verbose)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before "listening": a caller may stop us at once
        loop.add_signal_handler(sig, stop.set)
    ctx = None
    if args.listen_tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    plain = args.listen or ([] if args.listen_tls else [("127.0.0.1", 0)])
    servers = []
    kinds = (("listening", plain, None), ("listening-tls", args.listen_tls or [], ctx))
    for kind, addrs, tls in kinds:
        for host, port in addrs:
            srv = await loop.create_server(lambda: Conn(state), host, port, backlog=4096,
                                           reuse_address=True, ssl=tls)
            servers.append((kind, srv))
    for kind, srv in servers:
        h, p = srv.sockets[0].getsockname()[:2]
        print(f"{kind} {h}:{p}" if ":" not in h else f"{kind} [{h}]:{p}", flush=True)
    servers = [srv for _, srv in servers]
    await stop.wait()
    for srv in servers:
        srv.close()
    for p in list(state.protocols):
        if p.task is not None:
            p.task.cancel()
        p.transport.abort()
    for srv in servers:
        await srv.wait_closed()
    await asyncio.sleep(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", action="append", type=parse_listen, metavar="HOST:PORT",
                    help="address to serve (repeatable; default 127.0.0.1:0)")
    ap.add_argument("--listen-tls", action="append", type=parse_listen, metavar="HOST:PORT",
                    help="address to serve HTTPS on (repeatable; needs --tls-cert and --tls-key)")
    ap.add_argument("--tls-cert", help="PEM certificate chain for --listen-tls")
    ap.add_argument("--tls-key", help="PEM private key for --listen-tls")
    ap.add_argument("--max-connections", type=int, default=20_000,
                    help="open connections at most; the excess is closed at once (default 20000)")
    ap.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = ap.parse_args()
    if args.listen_tls and not (args.tls_cert and args.tls_key):
        ap.error("--listen-tls needs --tls-cert and --tls-key")
    try:
        asyncio.run(main_async(args))
    except (OSError, ssl.SSLError) as e:
        print(f"faultserver: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
