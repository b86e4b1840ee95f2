"""Shared helpers for vigil's integration tests (Python 3 standard library only).

Every test runs the real `vigil` binary (env VIGIL_BIN) and real peers on 127.0.0.1, on ports it
picks, in a per-test temp dir, and stops every process it started, by PID. Waits poll a condition
with a generous timeout; nothing asserts on wall-clock speed.

Environment:
    VIGIL_BIN          the vigil binary (required)
    FAULTSERVER        test/support/faultserver.py (default: found relative to this file)
    VIGIL_TEST_KEEP=1  keep every test's temp dir (logs, configs) instead of deleting it
    VIGIL_TEST_WAIT    the default wait timeout in seconds (default 20)
"""

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
WAIT = float(os.environ.get("VIGIL_TEST_WAIT", "20"))


# ---------------------------------------------------------------------------- binaries

def vigil_bin():
    """The vigil binary from VIGIL_BIN; a clear failure (never a skip) when it is missing."""
    path = os.environ.get("VIGIL_BIN", "")
    if not path:
        raise AssertionError("VIGIL_BIN is not set: run through ctest, or export "
                             "VIGIL_BIN=/path/to/build/agent/app/vigil")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"VIGIL_BIN={path} is not an executable file: build vigil first")
    return path


def faultserver_path():
    path = os.environ.get("FAULTSERVER") or os.path.join(HERE, "..", "support", "faultserver.py")
    if not os.path.isfile(path):
        raise AssertionError(f"fault server not found at {path} (set FAULTSERVER)")
    return os.path.abspath(path)


def require_binary(path, package):
    """Fails (does not skip) when a peer is missing: CI installs it, so absence is a setup bug."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"{path} is missing: install Debian's `{package}` package "
                             f"(apt-get install {package}); this test needs the real peer")
    return path


# ---------------------------------------------------------------------------- ports and HTTP

def free_port(host=HOST):
    """A TCP port that was free a moment ago (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def http_request(url, method="GET", body=None, headers=None, timeout=10):
    """One HTTP request; returns a Response for any status; raises OSError on network errors."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, dict(r.getheaders()), r.read())
    finally:
        conn.close()


def http_get(url, timeout=10):
    return http_request(url, timeout=timeout)


def try_get(url, timeout=5):
    """Like http_get, but None instead of a network error."""
    try:
        return http_get(url, timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None


# ---------------------------------------------------------------------------- waiting

def wait_until(cond, timeout=None, interval=0.1, what="condition", on_timeout=None):
    """Polls cond() until it returns something truthy, which is returned.

    On timeout raises AssertionError naming `what`, with on_timeout()'s text (logs, last values)."""
    deadline = time.monotonic() + (WAIT if timeout is None else timeout)
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = ""
            if last_exc is not None:
                extra += f"\nlast error: {last_exc!r}"
            if on_timeout is not None:
                extra += "\n" + on_timeout()
            raise AssertionError(f"timed out after {timeout or WAIT:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


def wait_url(url, status=200, timeout=None, on_timeout=None):
    """Waits until GET url answers `status`; returns the Response."""
    return wait_until(lambda: (lambda r: r if r is not None and r.status == status else None)(
        try_get(url)), timeout=timeout, what=f"GET {url} -> {status}", on_timeout=on_timeout)


# ---------------------------------------------------------------------------- metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\s*$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(s):
    labels, pos = {}, 0
    s = s.strip()
    while pos < len(s):
        m = _LABEL.match(s, pos)
        if not m:
            raise ValueError(f"bad label set {{{s}}} at {pos}")
        labels[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return labels


def parse_value(v):
    return float(v)  # also "+Inf", "-Inf", "NaN"


def parse_metrics(text):
    """Prometheus text exposition -> {(name, frozenset(labels.items())): value}.

    Raises ValueError on a line that is not valid exposition text or on a duplicate series."""
    out = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {lineno}: not a sample: {line!r}")
        key = (m.group(1), frozenset(parse_labels(m.group(3) or "").items()))
        if key in out:
            raise ValueError(f"line {lineno}: duplicate series {line!r}")
        out[key] = parse_value(m.group(4))
    return out


def metric_types(text):
    """{family name: type} from the # TYPE lines."""
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
    return types


class Metrics:
    """One scrape, parsed, with lookups by name and a subset of labels."""

    def __init__(self, text):
        self.text = text
        self.samples = parse_metrics(text)

    def find(self, name, **labels):
        """[(labels dict, value)] of every series `name` whose labels include `labels`."""
        want = set(labels.items())
        return [(dict(lbl), v) for (n, lbl), v in self.samples.items()
                if n == name and want <= lbl]

    def get(self, name, **labels):
        """The value of the one series matching, or None when there is none.

        Raises AssertionError when several series match (the test's labels are too loose)."""
        found = self.find(name, **labels)
        if not found:
            return None
        if len(found) > 1:
            raise AssertionError(f"{name}{labels} matches {len(found)} series: {found}")
        return found[0][1]

    def sum(self, name, **labels):
        return sum(v for _, v in self.find(name, **labels))

    def names(self):
        return {n for n, _ in self.samples}


def scrape(base_url, timeout=10):
    r = http_get(base_url.rstrip("/") + "/metrics", timeout=timeout)
    if r.status != 200:
        raise AssertionError(f"GET {base_url}/metrics answered {r.status}: {r.text[:500]}")
    return Metrics(r.text)


# ---------------------------------------------------------------------------- processes

def _die_with_parent():
    """In the child: SIGTERM it when the test runner dies (e.g. killed by ctest's timeout), so a
    crashed test never leaves a peer running."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Proc:
    """A started process with its stdout+stderr in a log file; stop() ends it by PID."""

    def __init__(self, name, cmd, log_path, env=None, cwd=None, stdout_pipe=False):
        self.name, self.cmd, self.log_path = name, cmd, log_path
        self.log_file = open(log_path, "wb")
        self.p = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self.log_file,
            stderr=self.log_file, env=env, cwd=cwd, start_new_session=True,
            preexec_fn=_die_with_parent)
        self.pid = self.p.pid
        self.returncode = None

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            self.returncode = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after `timeout` s; returns the exit code (negative: signal)."""
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(timeout=10)
        self.returncode = self.p.returncode
        if self.p.stdout is not None:
            self.p.stdout.close()
        self.log_file.close()
        return self.returncode

    def log(self, tail=None):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        if tail is not None:
            data = "\n".join(data.splitlines()[-tail:])
        return data


def run(cmd, timeout=60, env=None, input=None):
    """Runs a command to completion (bounded by timeout); returns CompletedProcess with text."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


# ---------------------------------------------------------------------------- the test base

class ProcTestCase(unittest.TestCase):
    """Per-test temp dir, process bookkeeping (every process stopped by PID), peer helpers."""

    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"vigil-it-{self._testMethodName}-")
        self.procs = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        failed = self._failed()
        for p in reversed(self.procs):
            p.stop()
        if failed:
            for p in self.procs:
                sys.stderr.write(f"\n----- {p.name} (pid {p.pid}, exit {p.returncode}) "
                                 f"log tail: {p.log_path}\n{p.log(tail=60)}\n")
        if os.environ.get("VIGIL_TEST_KEEP") or failed:
            sys.stderr.write(f"[kept {self.tmp}]\n")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _failed(self):
        """Whether this test (or one of its subtests) has failed so far."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        reported = getattr(result, "failures", []) + getattr(result, "errors", [])
        return any(getattr(t, "test_case", t) is self for t, _ in reported)

    def logs(self):
        """The tail of every started process' log, for failure messages."""
        return "\n".join(f"----- {p.name} (pid {p.pid}):\n{p.log(tail=40)}" for p in self.procs)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, name, cmd, **kw):
        p = Proc(name, cmd, self.path(f"{name}.log"), **kw)
        self.procs.append(p)
        return p

    def start_on_free_port(self, name, make_cmd, ready, timeout=None, attempts=3):
        """Starts make_cmd(port) on a free port until ready(proc, port) holds.

        A process that dies saying its address is in use (another test took the port between
        free_port() and its bind) is retried on another port. Returns (Proc, port)."""
        for attempt in range(attempts):
            port = free_port()
            p = self.start(name if attempt == 0 else f"{name}-retry{attempt}", make_cmd(port))

            def up():
                if not p.alive():
                    raise AssertionError(f"{p.name} exited with {p.p.returncode}")
                return ready(p, port)

            try:
                self.wait(up, f"{name} on port {port}", timeout=timeout)
                return p, port
            except AssertionError:
                log = p.log().lower()
                if not p.alive() and ("address already in use" in log or "cannot listen" in log):
                    continue
                raise
        raise AssertionError(f"{name}: no free port after {attempts} attempts")

    def wait(self, cond, what, timeout=None, interval=0.1):
        return wait_until(cond, timeout=timeout, interval=interval, what=what,
                          on_timeout=self.logs)

    # ------------------------------------------------------------------------ fault server

    def start_faultserver(self, listens=(f"{HOST}:0",), tls_listens=(), cert=None, key=None):
        """Starts the fault server; returns (Proc, [base URLs]) once it is listening.

        The URLs are the plain listeners' (http://...) then the TLS ones' (https://...)."""
        cmd = [sys.executable, faultserver_path()]
        for l in listens:
            cmd += ["--listen", l]
        for l in tls_listens:
            cmd += ["--listen-tls", l]
        if tls_listens:
            cmd += ["--tls-cert", cert, "--tls-key", key]
        p = self.start("faultserver", cmd, stdout_pipe=True)
        urls = []
        for _ in range(len(listens) + len(tls_listens)):
            line = p.p.stdout.readline().decode().strip()
            kind, _, addr = line.partition(" ")
            if kind not in ("listening", "listening-tls"):
                p.wait(5)
                raise AssertionError(f"fault server did not start: {line!r}\n{p.log()}")
            urls.append(("https://" if kind == "listening-tls" else "http://") + addr)
        return p, urls

    def start_sink(self):
        """test/support/webhook_sink.py on a free port; returns (Proc, base URL, JSON-lines file)."""
        sink = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support",
                            "webhook_sink.py")
        out = self.path("sink.jsonl")
        p = self.start("webhook_sink", [sys.executable, os.path.abspath(sink), "--out", out],
                       stdout_pipe=True)
        line = p.p.stdout.readline().decode().strip()
        kind, _, addr = line.partition(" ")
        if kind != "listening":
            p.wait(5)
            raise AssertionError(f"webhook sink did not start: {line!r}\n{p.log()}")
        return p, f"http://{addr}", out

    def make_cert(self, name="server", days=30, cn="127.0.0.1", san="IP:127.0.0.1,DNS:localhost"):
        """A self-signed certificate, by default for IP 127.0.0.1 and DNS localhost:
        (cert path, key path)."""
        openssl = require_binary("/usr/bin/openssl", "openssl")
        cert, key = self.path(f"{name}.crt"), self.path(f"{name}.key")
        r = run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", cert, "-days", str(days), "-subj", f"/CN={cn}",
                 "-addext", f"subjectAltName={san}"])
        if r.returncode != 0:
            raise AssertionError(f"openssl req failed: {r.stderr}")
        return cert, key

    @staticmethod
    def fault_control(base, doc):
        r = http_request(base + "/-/control", "POST", body=doc)
        if r.status != 200:
            raise AssertionError(f"fault server control failed: {r.status} {r.text}")
        return r.json()

    @staticmethod
    def fault_stats(base):
        return http_get(base + "/-/stats").json()


class VigilTestCase(ProcTestCase):
    """ProcTestCase plus the vigil binary from VIGIL_BIN (a failure when it is missing)."""

    @classmethod
    def setUpClass(cls):
        cls.vigil = vigil_bin()

    def start_vigil(self, config=None, args=(), name="vigil", port=None, wait_healthy=True,
                    log_level="debug", state_dir=None):
        """Writes `config` (YAML text) and starts `vigil run` on a free port.

        Returns the Proc, with .url (the web listener's base URL), .port and .config. When the
        port it picked was taken in the meantime (vigil exits: "cannot listen"), it retries on
        another one."""
        state = state_dir or self.path(f"{name}-state")
        os.makedirs(state, exist_ok=True)
        cfg = self.write(f"{name}.yaml", config) if config is not None else None
        for attempt in range(3):
            use = port or free_port()
            cmd = [self.vigil, "run"]
            if cfg is not None:
                cmd += ["--config", cfg]
            cmd += ["--web.listen-address", f"{HOST}:{use}", "--state-dir", state]
            if log_level:
                cmd += ["--log.level", log_level]
            cmd += list(args)
            p = self.start(name if attempt == 0 else f"{name}-retry{attempt}", cmd)
            p.url, p.port, p.config, p.state_dir = f"http://{HOST}:{use}", use, cfg, state
            if not wait_healthy:
                return p
            try:
                self.wait(lambda: self._healthy(p), f"{name} /-/healthy")
            except AssertionError:
                if port is None and not p.alive() and "cannot listen" in p.log():
                    continue  # lost a race for the port: try another
                raise
            if p.alive():
                return p
        raise AssertionError(f"vigil could not listen on a free port 3 times:\n{p.log()}")

    def start_vigil_targets(self, targets, interval="1s", timeout="800ms", extra="", **kw):
        """start_vigil with a config built by vigil_config(targets, ...)."""
        name = kw.get("name", "vigil")
        state = self.path(f"{name}-state")
        return self.start_vigil(vigil_config(targets, state_dir=state, interval=interval,
                                             timeout=timeout, extra=extra), **kw)

    def _healthy(self, p):
        if not p.alive():
            raise AssertionError(f"{p.name} exited with {p.p.returncode}:\n{p.log(tail=40)}")
        r = try_get(p.url + "/-/healthy")
        return r is not None and r.status == 200

    def scrape(self, p):
        if not p.alive():
            raise AssertionError(f"{p.name} exited with {p.p.returncode}:\n{p.log(tail=40)}")
        return scrape(p.url)

    def wait_metric(self, p, name, labels, pred, what=None, timeout=None):
        """Polls p's /metrics until the series name{labels} exists and pred(value) holds.

        Returns the Metrics of the scrape that satisfied it."""
        state = {}

        def cond():
            m = self.scrape(p)
            v = m.get(name, **labels)
            state["last"] = v
            return m if v is not None and pred(v) else None

        try:
            return wait_until(cond, timeout=timeout, interval=0.2,
                              what=what or f"{name}{labels}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nlast value: {state.get('last')}\n{self.logs()}") from None




# ---------------------------------------------------------------------------- HAProxy

HAPROXY = "/usr/sbin/haproxy"


class HaproxyPeers:
    """For ProcTestCase subclasses: fault servers on their own loopback addresses behind a real
    HAProxy (round robin, health checks, stats CSV, admin socket), and its runtime API."""

    def start_web(self, name, ip):
        """A fault server listening on ip (a loopback address); returns its base URL."""
        p = self.start(name, [sys.executable, faultserver_path(), "--listen", f"{ip}:0"],
                       stdout_pipe=True)
        line = p.p.stdout.readline().decode().strip()
        kind, _, addr = line.partition(" ")
        if kind != "listening":
            p.wait(5)
            raise AssertionError(f"fault server {name} did not start: {line!r}\n{p.log()}")
        return "http://" + addr

    def start_haproxy(self, servers, backend="devschool-web", health="/health"):
        """HAProxy in the foreground (-db) with `servers` [(name, base URL)] in a round-robin
        backend with health checks; returns (stats CSV URL, frontend URL)."""
        require_binary(HAPROXY, "haproxy")
        # A unix socket path has at most ~100 bytes: the test's temp dir may be longer.
        sockdir = tempfile.mkdtemp(prefix="vigil-hap-")
        self.addCleanup(shutil.rmtree, sockdir, True)
        self.sock = os.path.join(sockdir, "admin.sock")
        fe_port = free_port()
        lines = "\n".join(
            f"    server {name} {url.split('://', 1)[1]} check" for name, url in servers)

        def cmd(port):
            cfg = self.write("haproxy.cfg", f"""global
    stats socket {self.sock} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend stats
    bind {HOST}:{port}
    stats enable
    stats uri /stats

frontend web
    bind {HOST}:{fe_port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET {health}
    default-server inter 300ms fall 2 rise 1
{lines}
""")
            return [HAPROXY, "-db", "-f", cfg]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/stats;csv")
            return r is not None and r.status == 200

        self.haproxy, port = self.start_on_free_port("haproxy", cmd, ready)
        return f"http://{HOST}:{port}/stats;csv", f"http://{HOST}:{fe_port}/"

    def admin(self, command):
        """One command on HAProxy's runtime API (admin socket); returns its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(command.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        return out.decode()


# ---------------------------------------------------------------------------- config

_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def yaml_flow(v):
    """A YAML flow rendering of dicts/lists/scalars; durations stay plain, strings are quoted."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {yaml_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_flow(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str) and _DURATION.match(v):
        return v
    return json.dumps(v)


def vigil_config(targets, state_dir=None, interval="1s", timeout="800ms", extra=""):
    """Config text for `targets`: [{"name": ..., "http": [{"url": ...}, ...], ...}]."""
    glob = {"interval": interval, "timeout": timeout}
    if state_dir:
        glob["state_dir"] = state_dir
    lines = [f"global: {yaml_flow(glob)}", "targets:"]
    for t in targets:
        lines.append(f"  - name: {yaml_flow(t['name'])}")
        for k, v in t.items():
            if k == "name":
                continue
            if k == "http":
                lines.append("    http:")
                for h in v:
                    lines.append(f"      - {yaml_flow(h)}")
            else:
                lines.append(f"    {k}: {yaml_flow(v)}")
    return "\n".join(lines) + "\n" + extra
