"""The Devschool incident end to end (issue 6): a real HAProxy from Debian balancing two
fault-injecting web servers on 127.0.0.11 and 127.0.0.12 round robin, with health checks, a stats
page and an admin socket; vigil with the default rule pack, 1 s intervals and its built-in
notifier paging a webhook sink in this test.

The faults, in the incident's order: web-02 is put into maintenance through HAProxy's runtime API
(RedundancyLost), web-01's memory drops below 10% (MemoryExhaustion), web-01 answers 500
(Http5xxSpike, from the probes and from the load balancer's real traffic); then everything is
restored and every page resolves. The seconds from each fault to its page are printed (they are
figures for the issue note, not assertions: the deadlines below are liveness bounds only).
"""

import http.server
import json
import os
import sys
import threading
import time
import unittest

from harness import HOST, HaproxyPeers, VigilTestCase, http_get, run, try_get

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_RULES = os.path.join(REPO, "etc", "rules", "vigil-default.yaml")
GIB = 1024 ** 3


def memory_page(available_fraction, oom_kills=0):
    total = 4 * GIB
    return (
        "# TYPE node_memory_MemTotal_bytes gauge\n"
        f"node_memory_MemTotal_bytes {total}\n"
        "# TYPE node_memory_MemAvailable_bytes gauge\n"
        f"node_memory_MemAvailable_bytes {int(total * available_fraction)}\n"
        "# TYPE node_memory_SwapTotal_bytes gauge\n"
        "node_memory_SwapTotal_bytes 0\n"
        "# TYPE node_memory_SwapFree_bytes gauge\n"
        "node_memory_SwapFree_bytes 0\n"
        "# TYPE node_vmstat_oom_kill untyped\n"
        f"node_vmstat_oom_kill {oom_kills}\n")


class Sink:
    """A webhook receiver: every POST body (Alertmanager's webhook JSON) with its arrival time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []  # (monotonic time, payload)
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(n, 4 << 20))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {"unparsable": body.decode(errors="replace")}
                with sink.lock:
                    sink.received.append((time.monotonic(), doc))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def first(self, status, alertname, after, **labels):
        """Arrival time of the first alert with that status/name/labels after `after`, or None."""
        with self.lock:
            for at, doc in self.received:
                if at < after:
                    continue
                for a in doc.get("alerts", []):
                    l = a.get("labels", {})
                    if (a.get("status") == status and l.get("alertname") == alertname
                            and all(l.get(k) == v for k, v in labels.items())):
                        return at
        return None

    def describe(self):
        with self.lock:
            return "; ".join(
                ",".join(f"{a.get('status')}:{a.get('labels', {}).get('alertname')}"
                         for a in doc.get("alerts", [])) for _, doc in self.received) or "nothing"


class Traffic:
    """User traffic through the load balancer: ~20 requests/s, bounded in count and time."""

    def __init__(self, url, max_requests=4000, max_seconds=300):
        self.url, self.stop_flag = url, threading.Event()
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.sent = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        while (not self.stop_flag.is_set() and self.sent < self.max_requests
               and time.monotonic() < deadline):
            try_get(self.url, timeout=2)
            self.sent += 1
            self.stop_flag.wait(0.05)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=5)


class IncidentTest(HaproxyPeers, VigilTestCase):
    def wait_page(self, sink, status, alertname, after, timeout=90, **labels):
        at = self.wait(lambda: sink.first(status, alertname, after, **labels),
                       f"{status} {alertname}{labels} at the webhook (got: {sink.describe()})",
                       timeout=timeout)
        return at - after

    def test_devschool_incident(self):
        if not os.path.exists(DEFAULT_RULES):
            self.fail(f"no default rule pack at {DEFAULT_RULES}")
        web1 = self.start_web("web-01", "127.0.0.11")
        web2 = self.start_web("web-02", "127.0.0.12")
        for base in (web1, web2):
            self.fault_control(base, {"paths": {"/metrics": {"status": 200,
                                                             "body": memory_page(0.55)}}})
        # Health checks ask the fault server's /-/healthy, which always answers 200: web-01 keeps
        # passing them while it fails its users, as the Devschool web-01 did.
        stats, frontend = self.start_haproxy([("web-01", web1), ("web-02", web2)],
                                             health="/-/healthy")
        sink = Sink()
        self.addCleanup(sink.close)

        targets = ""
        for name, base in (("web-01", web1), ("web-02", web2)):
            targets += f"""  - name: {name}
    pool: devschool
    http:
      - url: {base}/
    memory:
      node_exporter: {base}/metrics
"""
        config = f"""
global:
  interval: 1s
  timeout: 800ms
  evaluation_interval: 1s
pools:
  - name: devschool
    min_in_rotation: 2
    frontend: {frontend}
    load_balancer:
      haproxy_stats: "{stats}"
      backend: devschool-web
targets:
{targets}rule_files: ["{DEFAULT_RULES}"]
alerting:
  receivers:
    - name: oncall
      webhook:
        url: {sink.url}
        format: alertmanager
        send_resolved: true
  route:
    receiver: oncall
    group_by: [alertname, pool, target]
    group_wait: 0s
    group_interval: 1s
    repeat_interval: 1h
"""
        v = self.start_vigil(config, log_level="info")
        self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": "devschool"},
                         lambda x: x == 2, timeout=30)
        traffic = Traffic(frontend)
        self.addCleanup(traffic.stop)
        time.sleep(3)  # a few evaluations of a healthy pool: nothing may page
        self.assertEqual(sink.describe(), "nothing", "pages while everything was healthy")
        figures = {}

        # 1. web-02 left in maintenance after a test.
        t = time.monotonic()
        self.admin("set server devschool-web/web-02 state maint")
        figures["RedundancyLost"] = self.wait_page(sink, "firing", "RedundancyLost", t,
                                                   pool="devschool")

        # 2. web-01 carries everything and runs out of memory.
        t = time.monotonic()
        self.fault_control(web1, {"paths": {"/metrics": {"status": 200,
                                                         "body": memory_page(0.05)}}})
        figures["MemoryExhaustion"] = self.wait_page(sink, "firing", "MemoryExhaustion", t,
                                                     target="web-01")

        # 3. web-01 answers 500 on every route (its health check path still answers 200, so
        #    HAProxy keeps sending it users, as in the incident).
        t = time.monotonic()
        self.fault_control(web1, {"default": {"status": 500}})
        figures["Http5xxSpike (probe)"] = self.wait_page(
            sink, "firing", "Http5xxSpike", t, target="web-01", source="probe")
        figures["Http5xxSpike (lb)"] = self.wait_page(
            sink, "firing", "Http5xxSpike", t, target="web-01", source="lb")

        # The status page shows the firing alerts, the pool and the history.
        page = http_get(v.url + "/").text
        for needle in ("RedundancyLost", "MemoryExhaustion", "Http5xxSpike", "devschool",
                       "Recent events"):
            self.assertIn(needle, page)

        # 4. Fixed: web-02 back in rotation, web-01 restarted.
        t = time.monotonic()
        self.admin("set server devschool-web/web-02 state ready")
        self.fault_control(web1, {"default": {"status": 200},
                                  "paths": {"/metrics": {"status": 200,
                                                         "body": memory_page(0.60)}}})
        resolved = {}
        resolved["RedundancyLost"] = self.wait_page(sink, "resolved", "RedundancyLost", t)
        resolved["MemoryExhaustion"] = self.wait_page(sink, "resolved", "MemoryExhaustion", t)
        # The 5xx ratio is taken over 1 minute: it resolves once the 500s leave that window.
        resolved["Http5xxSpike"] = self.wait_page(sink, "resolved", "Http5xxSpike", t,
                                                  timeout=150, target="web-01")
        traffic.stop()
        for name, s in figures.items():
            sys.stderr.write(f"FIGURE incident page {name}: {s:.2f} s after the fault\n")
        for name, s in resolved.items():
            sys.stderr.write(f"FIGURE incident resolved {name}: {s:.2f} s after the fix\n")
        self.assertEqual(v.stop(), 0, v.log(tail=20))

        # The incident report from the recorded history: RedundancyLost, the first alert, is the
        # likely root cause; every page and its resolution are in the timeline.
        r = run([self.vigil, "report", "--state-dir", v.state_dir, "--since", "1h"])
        self.assertEqual(r.returncode, 0, r.stderr)
        cause = r.stdout.split("## Likely root cause", 1)[1].split("##", 1)[0]
        self.assertIn("RedundancyLost", cause, r.stdout)
        for needle in ("MemoryExhaustion", "Http5xxSpike", "resolved", "web-01"):
            self.assertIn(needle, r.stdout)
        r = run([self.vigil, "report", "--state-dir", v.state_dir, "--since", "1h",
                 "--format", "json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        json.loads(r.stdout)


if __name__ == "__main__":
    unittest.main()
