"""vigil's HTTP endpoints (SPEC §7): /-/healthy, /-/ready, /api/v1/targets, /-/reload, /metrics."""

import signal
import unittest

from harness import VigilTestCase, http_get, http_request, metric_types, try_get


class ApiTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()

    def targets(self):
        return [
            {"name": "up", "http": [{"url": self.base + "/up"}]},
            {"name": "down", "http": [{"url": self.base + "/status/503"}]},
            {"name": "two", "http": [{"url": self.base + "/a"}, {"url": self.base + "/b"}]},
        ]

    def test_healthy_and_ready_after_first_round(self):
        v = self.start_vigil_targets(self.targets())
        self.assertEqual(http_get(v.url + "/-/healthy").status, 200)
        self.wait(lambda: (lambda r: r is not None and r.status == 200)(try_get(v.url + "/-/ready")),
                  "/-/ready -> 200")
        # ready means the first round has finished: every target's result is already exported
        m = self.scrape(v)
        for t in self.targets():
            for h in t["http"]:
                self.assertIsNotNone(m.get("probe_success", probe="http", target=t["name"],
                                           url=h["url"]),
                                     f"ready, but no probe_success for {t['name']} {h['url']}")

    def test_not_ready_before_first_round(self):
        # the only target's first probe takes 3 s (its timeout): /-/ready must not say 200 before
        # a result exists for it
        url = self.base + "/delay/60000"
        v = self.start_vigil_targets([{"name": "slow", "http": [{"url": url}]}], interval="5s",
                                     timeout="3s")
        r = http_get(v.url + "/-/ready")
        if r.status == 200:
            self.assertIsNotNone(self.scrape(v).get("probe_success", target="slow", url=url),
                                 "/-/ready answered 200 before the first round finished")
        else:
            self.assertEqual(r.status, 503, r.text)
        self.wait(lambda: http_get(v.url + "/-/ready").status == 200, "/-/ready -> 200")
        self.assertEqual(self.scrape(v).get("probe_success", target="slow", url=url), 0)

    def test_targets_api_shape(self):
        v = self.start_vigil_targets(self.targets())
        self.wait(lambda: http_get(v.url + "/-/ready").status == 200, "/-/ready -> 200")

        def settled():
            doc = http_get(v.url + "/api/v1/targets").json()
            active = doc["data"]["activeTargets"]
            return doc if all(t.get("health") in ("up", "down") for t in active) else None

        doc = self.wait(settled, "every target probed once")
        self.assertEqual(doc["status"], "success")
        active = doc["data"]["activeTargets"]
        self.assertIsInstance(active, list)
        by = {}
        for t in active:
            self.assertIsInstance(t.get("labels"), dict, t)
            for key in ("health", "lastError", "lastScrape", "scrapeUrl"):
                self.assertIn(key, t, f"activeTargets entry without {key}: {t}")
            by[(t["labels"].get("target"), t["scrapeUrl"])] = t
        for t in self.targets():
            for h in t["http"]:
                self.assertIn((t["name"], h["url"]), by, f"{t['name']} {h['url']} not in {list(by)}")
        self.assertEqual(by[("up", self.base + "/up")]["health"], "up")
        down = by[("down", self.base + "/status/503")]
        self.assertEqual(down["health"], "down")
        self.assertNotEqual(down["lastError"], "")

    def test_metrics_content_type_and_types(self):
        v = self.start_vigil_targets(self.targets())
        self.wait_metric(v, "probe_success", {"target": "up"}, lambda x: x == 1)
        r = http_get(v.url + "/metrics")
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"), r.headers)
        types = metric_types(r.text)
        expected = {"probe_success": "gauge", "probe_duration_seconds": "gauge",
                    "probe_http_status_code": "gauge", "vigil_http_responses_total": "counter",
                    "vigil_probes_total": "counter", "vigil_http_request_duration_seconds":
                    "histogram", "vigil_probe_schedule_lag_seconds": "histogram",
                    "vigil_config_last_reload_successful": "gauge", "vigil_build_info": "gauge"}
        for name, typ in expected.items():
            self.assertEqual(types.get(name), typ, f"# TYPE of {name}")

    def test_unknown_path_404(self):
        v = self.start_vigil_targets(self.targets())
        self.assertEqual(http_get(v.url + "/no/such/page").status, 404)

    def test_reload_endpoint_needs_lifecycle_flag(self):
        v = self.start_vigil_targets(self.targets())
        self.assertEqual(http_request(v.url + "/-/reload", "POST").status, 403)
        v2 = self.start_vigil_targets(self.targets(), name="vigil2", args=["--web.enable-lifecycle"])
        self.wait_metric(v2, "probe_success", {"target": "up"}, lambda x: x == 1)
        with open(v2.config, "a") as f:
            f.write(f'  - name: "added"\n    http: [{{url: "{self.base}/added"}}]\n')
        r = http_request(v2.url + "/-/reload", "POST")
        self.assertEqual(r.status, 200, r.text)
        self.wait_metric(v2, "probe_success", {"target": "added"}, lambda x: x == 1)

    def test_sigterm_and_sigint_exit_0(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            v = self.start_vigil_targets(self.targets(), name=f"vigil-{sig.name}")
            self.wait_metric(v, "probe_success", {"target": "up"}, lambda x: x == 1)
            v.signal(sig)
            code = v.wait(20)
            self.assertEqual(code, 0, f"{sig.name}: exit {code}\n{v.log(tail=20)}")
            self.assertIsNone(try_get(v.url + "/-/healthy", timeout=2), "still serving after exit")


if __name__ == "__main__":
    unittest.main()
