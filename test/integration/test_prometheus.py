"""vigil and Prometheus from Debian: a real Prometheus scrapes vigil and queries its series, and
`promtool check metrics` accepts vigil's /metrics (SPEC §3)."""

import re
import unittest
import urllib.parse

from harness import HOST, VigilTestCase, free_port, http_get, require_binary, run, try_get

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
# the only lint promtool may report: node_exporter's own camelCase names, kept on purpose
ALLOWED = re.compile(r"^node_memory_[A-Za-z0-9_]+ metric names should be written in 'snake_case' "
                     r"not 'camelCase'$")


class PrometheusTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()

    def targets(self):
        return [
            {"name": "ok", "http": [{"url": self.base + "/ok"}]},
            {"name": "broken", "http": [{"url": self.base + "/status/500"}]},
            {"name": "refused", "http": [{"url": f"http://{HOST}:{free_port()}/"}]},
            {"name": "host", "memory": {"local": True}},
        ]

    def test_prometheus_scrapes_vigil(self):
        require_binary(PROMETHEUS, "prometheus")
        v = self.start_vigil_targets(self.targets())
        cfg = self.write("prometheus.yml", f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: vigil
    static_configs: [{{targets: ["{HOST}:{v.port}"]}}]
""")

        def cmd(port):
            return [PROMETHEUS, f"--config.file={cfg}",
                    f"--storage.tsdb.path={self.path('prom-data')}",
                    f"--web.listen-address={HOST}:{port}", "--log.level=warn"]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/-/ready")
            return r is not None and r.status == 200

        prom, port = self.start_on_free_port("prometheus", cmd, ready, timeout=60)
        api = f"http://{HOST}:{port}/api/v1"

        def query(q):
            r = http_get(f"{api}/query?query={urllib.parse.quote(q)}")
            doc = r.json()
            if doc.get("status") != "success":
                raise ValueError(f"query {q}: {doc}")
            return doc["data"]["result"]

        want = {"ok": "1", "broken": "0", "refused": "0"}

        def all_targets():
            res = query('probe_success{probe="http"}')
            got = {s["metric"].get("target"): s["value"][1] for s in res}
            return res if got == want else None

        res = self.wait(all_targets, f"probe_success for {want} in Prometheus", timeout=60)
        for s in res:
            self.assertEqual(s["metric"]["job"], "vigil")
            self.assertIn("url", s["metric"])
        # the scrape itself is healthy, and memory and counters come through too
        self.assertEqual([s["value"][1] for s in query('up{job="vigil"}')], ["1"])
        self.wait(lambda: query('probe_success{probe="memory",target="host"}'),
                  "memory probe_success in Prometheus")
        self.wait(lambda: query('rate(vigil_probes_total[10s]) > 0'), "rate(vigil_probes_total)")
        # nothing vigil exposes upset Prometheus' parser
        targets = http_get(f"{api}/targets").json()["data"]["activeTargets"]
        self.assertEqual([t["lastError"] for t in targets], [""], targets)

    def test_promtool_check_metrics(self):
        require_binary(PROMTOOL, "prometheus")
        v = self.start_vigil_targets(self.targets())
        for t in ("ok", "broken", "refused"):
            self.wait_metric(v, "probe_success", {"target": t, "probe": "http"}, lambda x: True)
        self.wait_metric(v, "node_memory_MemTotal_bytes", {"target": "host"}, lambda x: x > 0)
        text = http_get(v.url + "/metrics").text
        self.assertIn("node_memory_MemTotal_bytes", text)
        r = run([PROMTOOL, "check", "metrics"], input=text, timeout=60)
        lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
        bad = [l for l in lines if not ALLOWED.match(l)]
        self.assertEqual(bad, [], f"promtool check metrics (exit {r.returncode}) reported:\n" +
                         "\n".join(lines))
        self.assertIn(r.returncode, (0, 3), r.stdout + r.stderr)  # 3: lint warnings only
        # and the default config's output too
        v2 = self.start_vigil(None, name="vigil-default", log_level=None)
        self.wait_metric(v2, "node_memory_MemTotal_bytes", {}, lambda x: x > 0, timeout=30)
        r = run([PROMTOOL, "check", "metrics"], input=http_get(v2.url + "/metrics").text)
        bad = [l for l in (r.stdout + r.stderr).splitlines() if l.strip() and not ALLOWED.match(l)]
        self.assertEqual(bad, [], r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
