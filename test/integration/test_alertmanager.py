"""Alertmanager push (SPEC §5) against Debian's real prometheus-alertmanager: vigil POSTs its
alerts to /api/v2/alerts like Prometheus' notifier, Alertmanager routes them to a webhook
receiver (test/support/webhook_sink.py), and what the receiver gets carries the alert's labels
(external labels included), annotations and generatorURL; when the target recovers the alert
arrives again as resolved. An Alertmanager that is down is counted in vigil's error metric
without stopping the push to the other one."""

import json
import os
import unittest

from harness import HOST, VigilTestCase, free_port, require_binary, try_get

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"

RULES = """groups:
  - name: availability
    rules:
      - alert: TargetDown
        expr: probe_success{probe="http"} == 0
        for: 0s
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.target }} is down"
          description: "probe_success is {{ $value }} in {{ $externalLabels.env }}"
"""


class AlertmanagerPushTest(VigilTestCase):
    def start_alertmanager(self, sink_url):
        require_binary(ALERTMANAGER, "prometheus-alertmanager")
        cfg = self.write("alertmanager.yml", f"""route:
  receiver: sink
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: {sink_url}/hook
        send_resolved: true
""")
        storage = self.path("am-data")
        os.makedirs(storage, exist_ok=True)

        def cmd(port):
            return [ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={storage}",
                    f"--web.listen-address={HOST}:{port}", "--cluster.listen-address=",
                    "--log.level=debug"]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/-/ready")
            return r is not None and r.status == 200

        _, port = self.start_on_free_port("alertmanager", cmd, ready)
        return f"http://{HOST}:{port}"

    @staticmethod
    def received(path):
        """Every webhook the sink recorded, parsed (Alertmanager's payload, version 4)."""
        try:
            with open(path, encoding="utf-8") as f:
                lines = [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []
        return [(r, json.loads(r["body"])) for r in lines if r["path"] == "/hook"]

    def webhook_with(self, path, status):
        for req, doc in self.received(path):
            for a in doc.get("alerts", []):
                if a["status"] == status and a["labels"].get("target") == "broken":
                    return req, doc, a
        return None

    def test_alerts_reach_alertmanager_and_resolve(self):
        _, sink_url, sink_out = self.start_sink()
        am = self.start_alertmanager(sink_url)
        dead_am = f"http://{HOST}:{free_port()}"
        _, (fault,) = self.start_faultserver()
        self.fault_control(fault, {"paths": {"/broken": {"status": 500}}})
        rules = self.write("rules.yaml", RULES)
        state = self.path("vigil-state")
        config = f"""global: {{interval: 1s, timeout: 800ms, state_dir: {state},
          external_labels: {{env: it, region: loopback}}}}
targets:
  - name: healthy
    http: [{{url: "{fault}/ok"}}]
  - name: broken
    http: [{{url: "{fault}/broken"}}]
rule_files: [{rules}]
alerting:
  alertmanagers: [{am}, {dead_am}]
"""
        v = self.start_vigil(config)

        req, doc, alert = self.wait(lambda: self.webhook_with(sink_out, "firing"),
                                    "the firing alert at the webhook receiver", timeout=60)
        self.assertEqual(doc["version"], "4")
        self.assertEqual(doc["receiver"], "sink")
        # The probe's labels, the rule's, and the external labels vigil adds like Prometheus.
        self.assertEqual(alert["labels"], {
            "alertname": "TargetDown", "env": "it", "region": "loopback", "probe": "http",
            "severity": "page", "target": "broken", "url": f"{fault}/broken"})
        self.assertEqual(alert["annotations"]["summary"], "broken is down")
        self.assertEqual(alert["annotations"]["description"], "probe_success is 0 in it")
        self.assertEqual(alert["generatorURL"],
                         v.url + "/graph?g0.expr=probe_success%7Bprobe%3D%22http%22%7D+%3D%3D+0"
                                 "&g0.tab=1")
        self.assertEqual(alert["endsAt"], "0001-01-01T00:00:00Z")  # firing, as Alertmanager shows it
        self.assertNotEqual(alert["startsAt"], "0001-01-01T00:00:00Z")
        # Only the broken target fires.
        for _, d in self.received(sink_out):
            for a in d["alerts"]:
                self.assertNotEqual(a["labels"].get("target"), "healthy")

        # Alertmanager's own API holds it with the endsAt vigil announced, in the future.
        alerts = json.loads(try_get(am + "/api/v2/alerts").body)
        mine = [a for a in alerts if a["labels"].get("target") == "broken"]
        self.assertEqual(len(mine), 1, alerts)
        self.assertEqual(mine[0]["status"]["state"], "active")
        self.assertGreater(mine[0]["endsAt"], mine[0]["startsAt"])

        # The live Alertmanager took alerts; the dead one is counted as errors, not dropped.
        m = self.wait_metric(v, "vigil_alertmanager_notification_errors_total",
                             {"alertmanager": dead_am + "/api/v2/alerts"}, lambda x: x >= 1)
        self.assertGreaterEqual(m.get("vigil_alertmanager_notifications_total",
                                      alertmanager=am + "/api/v2/alerts"), 1)
        self.assertEqual(m.get("vigil_alertmanager_notification_errors_total",
                               alertmanager=am + "/api/v2/alerts"), 0)
        self.assertEqual(m.get("vigil_alertmanager_notifications_dropped_total"), 0)
        self.assertEqual(m.get("vigil_alertmanager_notification_queue_capacity"), 10000)

        # The target recovers: vigil sends the alert once more with endsAt = resolve time.
        self.fault_control(fault, {"paths": {"/broken": None}})
        _, doc, alert = self.wait(lambda: self.webhook_with(sink_out, "resolved"),
                                  "the resolved alert at the webhook receiver", timeout=60)
        self.assertEqual(alert["labels"]["env"], "it")
        self.assertNotEqual(alert["endsAt"], "0001-01-01T00:00:00Z")
        self.assertGreaterEqual(alert["endsAt"], alert["startsAt"])
        self.assertEqual(v.stop(), 0)


if __name__ == "__main__":
    unittest.main()
