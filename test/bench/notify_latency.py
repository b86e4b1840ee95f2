#!/usr/bin/env python3
"""notify_latency.py - how long after a rule turns true its webhook arrives (issue 5's goal:
under 50 ms beyond the evaluation, with group_wait: 0s).

One HTTP target on the fault server (test/support/faultserver.py), probed every second; the rule
probe_success{target="web"} == 0 (for: 0s); the built-in notifier with format: alertmanager to a
webhook sink in this process. Each run flips the target to 500, waits for the firing webhook,
flips it back and waits for the resolved one. For each webhook:

    beyond_eval = arrival time - the alert's startsAt (firing) or endsAt (resolved)

startsAt/endsAt are the timestamps of the rule evaluation that changed the alert, so this is the
time spent in routing, grouping, the durable outbox (an fsync'd SQLite commit) and HTTP delivery.
Also reported: flip -> arrival (includes waiting for the next probe, up to one interval).

Loopback only; every loop bounded in count and time; only processes started here are stopped,
by PID.

Usage: notify_latency.py --vigil PATH [--runs 10]
"""
import argparse
import datetime
import http.server
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
FAULTSERVER = os.path.join(HERE, "..", "support", "faultserver.py")


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.got = []  # (arrival wall time, arrival monotonic, alert)
        sink = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                wall, mono = time.time(), time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                doc = json.loads(body)
                with sink.lock:
                    for a in doc.get("alerts", []):
                        sink.got.append((wall, mono, a))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, status, after_mono, deadline_s=30):
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            with self.lock:
                for wall, mono, a in self.got:
                    if mono >= after_mono and a["status"] == status:
                        return wall, mono, a
            time.sleep(0.005)
        raise RuntimeError(f"no {status} webhook within {deadline_s}s")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def post(url, doc):
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    runs = max(1, min(args.runs, 100))
    work = tempfile.mkdtemp(prefix="vigil-notify-latency-")
    procs = []
    try:
        fs = subprocess.Popen([sys.executable, FAULTSERVER, "--listen", f"{HOST}:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(fs)
        base = "http://" + fs.stdout.readline().decode().split()[1]
        sink = Sink()
        with open(f"{work}/rules.yml", "w") as f:
            f.write("groups:\n  - name: latency\n    rules:\n      - alert: WebDown\n"
                    "        expr: probe_success{target=\"web\"} == 0\n")
        port = None
        with open(f"{work}/vigil.yaml", "w") as f:
            f.write(f"""global: {{interval: 1s, timeout: 500ms, evaluation_interval: 1s, state_dir: "{work}/state"}}
targets:
  - name: web
    http: [{{url: "{base}/"}}]
rule_files: [rules.yml]
alerting:
  receivers:
    - name: sink
      webhook: {{url: "http://{HOST}:{sink.port}/hook", format: alertmanager}}
  route: {{receiver: sink, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}}
""")
        import socket
        s = socket.socket()
        s.bind((HOST, 0))
        port = s.getsockname()[1]
        s.close()
        log = open(f"{work}/vigil.log", "w")
        v = subprocess.Popen([args.vigil, "run", "--config", f"{work}/vigil.yaml",
                              "--web.listen-address", f"{HOST}:{port}", "--log.level", "warn"],
                             stdout=log, stderr=log)
        procs.append(v)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                if get(f"http://{HOST}:{port}/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("vigil not ready")
        time.sleep(2)
        fire, resolve, flip_fire = [], [], []
        for i in range(runs):
            t = time.monotonic()
            post(base + "/-/control", {"default": {"status": 500}})
            wall, mono, a = sink.wait("firing", t)
            fire.append(wall - parse_time(a["startsAt"]))
            flip_fire.append(mono - t)
            t = time.monotonic()
            post(base + "/-/control", {"default": {"status": 200}})
            wall, mono, a = sink.wait("resolved", t)
            resolve.append(wall - parse_time(a["endsAt"]))
            time.sleep(0.3 + (i % 7) * 0.1)  # spread the next flip over the probe phase

        def fmt(xs):
            xs = sorted(x * 1000 for x in xs)
            return (f"median {statistics.median(xs):.1f} ms, p90 {xs[int(0.9 * (len(xs) - 1))]:.1f} ms, "
                    f"max {xs[-1]:.1f} ms")

        print(f"runs={runs}")
        print(f"firing webhook beyond the evaluation:   {fmt(fire)}")
        print(f"resolved webhook beyond the evaluation: {fmt(resolve)}")
        print(f"flip -> firing webhook (incl. waiting for the next 1 s probe): {fmt(flip_fire)}")
        print(f"SUMMARY beyond_eval_median_ms={statistics.median(fire) * 1000:.1f} "
              f"beyond_eval_max_ms={max(fire) * 1000:.1f} "
              f"flip_to_page_median_s={statistics.median(flip_fire):.3f}")
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
