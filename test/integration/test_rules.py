"""Rules evaluated inside the running agent (SPEC §4): ALERTS and recorded series on /metrics,
/api/v1/alerts and /api/v1/rules shaped like Prometheus', and rule files checked by
check-config."""

import unittest

from harness import VigilTestCase, http_get, run

RULES = """groups:
  - name: availability
    rules:
      - alert: TargetDown
        expr: probe_success{probe="http"} == 0
        for: 0s
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.target }} is down"
          description: "probe_success is {{ $value }}"
      - record: job:probes:rate1m
        expr: sum by (result) (rate(vigil_probes_total{probe="http"}[1m]))
"""


class RulesTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()
        self.write("rules.yaml", RULES)

    def start_agent(self):
        targets = [
            {"name": "healthy", "http": [{"url": self.base + "/ok"}]},
            {"name": "broken", "http": [{"url": self.base + "/broken"}]},
        ]
        self.fault_control(self.base, {"paths": {"/broken": {"status": 500}}})
        return self.start_vigil_targets(
            targets, extra=f"rule_files: [{self.path('rules.yaml')}]\n")

    def firing(self, v, target):
        m = self.scrape(v)
        return m.get("ALERTS", alertname="TargetDown", alertstate="firing", target=target)

    def test_alert_fires_and_resolves_and_the_api_shows_it(self):
        v = self.start_agent()
        self.wait(lambda: self.firing(v, "broken") == 1, "ALERTS firing for the broken target")
        self.assertIsNone(self.firing(v, "healthy"))
        m = self.scrape(v)
        self.assertIsNotNone(m.get("ALERTS_FOR_STATE", alertname="TargetDown", target="broken"))
        self.assertIsNotNone(m.get("job:probes:rate1m", result="status"))

        alerts = http_get(v.url + "/api/v1/alerts").json()
        self.assertEqual(alerts["status"], "success")
        broken = [a for a in alerts["data"]["alerts"] if a["labels"].get("target") == "broken"]
        self.assertEqual(len(broken), 1)
        self.assertEqual(broken[0]["state"], "firing")
        self.assertEqual(broken[0]["labels"]["severity"], "page")
        self.assertEqual(broken[0]["annotations"]["summary"], "broken is down")
        self.assertEqual(broken[0]["annotations"]["description"], "probe_success is 0")

        rules = http_get(v.url + "/api/v1/rules").json()
        self.assertEqual(rules["status"], "success")
        group = rules["data"]["groups"][0]
        self.assertEqual(group["name"], "availability")
        self.assertEqual([r["type"] for r in group["rules"]], ["alerting", "recording"])
        self.assertEqual(group["rules"][0]["state"], "firing")
        self.assertEqual(group["rules"][0]["health"], "ok")
        self.assertNotEqual(group["lastEvaluation"], "0001-01-01T00:00:00Z")

        # The target recovers: the alert resolves and its ALERTS series goes away.
        self.fault_control(self.base, {"paths": {"/broken": None}})
        self.wait(lambda: self.firing(v, "broken") is None, "ALERTS gone after recovery")

    def test_a_pending_alert_waits_for_its_for_duration(self):
        self.write("rules.yaml", RULES.replace("for: 0s", "for: 1h"))
        v = self.start_agent()
        self.wait(lambda: self.scrape(v).get("ALERTS", alertname="TargetDown",
                                             alertstate="pending", target="broken") == 1,
                  "ALERTS pending")
        self.assertIsNone(self.firing(v, "broken"))

    def test_check_config_reports_a_broken_rule_with_its_position(self):
        bad = self.write("bad-rules.yaml", "groups:\n  - name: g\n    rules:\n"
                                           "      - alert: X\n        expr: rate(up[5m]\n")
        cfg = self.write("cfg.yaml", f"rule_files: [{bad}]\n")
        r = run([self.vigil, "check-config", cfg])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertTrue(r.stderr.startswith(f"vigil: {bad}:5:15:"), r.stderr)


if __name__ == "__main__":
    unittest.main()
