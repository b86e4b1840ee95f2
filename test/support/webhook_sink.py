#!/usr/bin/env python3
"""webhook_sink.py - a small HTTP sink that records every request, for vigil's notification tests.

Python 3 standard library only. Loopback use only: it has no authentication.

    webhook_sink.py --out FILE [--listen HOST:PORT] [--script 503,503,503] [--default 200]

Once bound it prints and flushes one line on stdout, "listening HOST:PORT", so a caller that
passed port 0 reads the chosen port from it. Every request (any method, any path outside /-/) is
appended to FILE as one JSON line and flushed before the answer is sent:

    {"time": 1700000000.123, "method": "POST", "path": "/hook",
     "headers": {"content-type": "application/json", ...},   (names in lower case)
     "body": "<the body, decoded as UTF-8 with replacement>"}

The answers follow the script: the first requests get the --script statuses in order, every
later one the --default status (200 unless given), each with body "status N\\n".

Control endpoints (not recorded):
    GET  /-/healthy    200 "ok"
    GET  /-/requests   the recorded requests as a JSON array
    POST /-/script     {"statuses": [503, 503], "default": 200}: replaces the script

SIGTERM or SIGINT stops it (exit 0).
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, out, script, default):
        self.lock = threading.Lock()
        self.out = open(out, "a", encoding="utf-8")
        self.script = list(script)
        self.default = default
        self.requests = []

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            self.out.write(json.dumps(entry, sort_keys=True) + "\n")
            self.out.flush()
            return self.script.pop(0) if self.script else self.default


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the JSON lines are the log
            pass

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n > 0 else b""

        def _answer(self, status, body, ctype="text/plain"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self):
            body = self._body()
            path = self.path
            if path == "/-/healthy":
                return self._answer(200, "ok\n")
            if path == "/-/requests":
                with state.lock:
                    doc = json.dumps(state.requests)
                return self._answer(200, doc, "application/json")
            if path == "/-/script" and self.command == "POST":
                doc = json.loads(body or b"{}")
                with state.lock:
                    state.script = [int(s) for s in doc.get("statuses", [])]
                    state.default = int(doc.get("default", state.default))
                return self._answer(200, "ok\n")
            status = state.record({
                "time": time.time(),
                "method": self.command,
                "path": path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
            self._answer(status, f"status {status}\n")

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--out", required=True)
    ap.add_argument("--script", default="", help="comma-separated statuses for the first requests")
    ap.add_argument("--default", type=int, default=200)
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    script = [int(s) for s in args.script.split(",") if s.strip()]
    state = State(args.out, script, args.default)
    server = ThreadingHTTPServer((host, int(port)), make_handler(state))
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    h, p = server.server_address[:2]
    print(f"listening {h}:{p}", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
