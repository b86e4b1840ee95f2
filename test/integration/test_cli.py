"""The command line (SPEC §1): check-config, probe, version, run's exit codes, the embedded default."""

import json
import os
import re
import unittest

from harness import HOST, VigilTestCase, free_port, http_get, run, vigil_config

ERROR_LINE = re.compile(r"^vigil: (?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


class CheckConfigTest(VigilTestCase):
    def check(self, text, name="c.yaml"):
        path = self.write(name, text)
        return path, run([self.vigil, "check-config", path])

    def valid(self):
        return vigil_config([{"name": "a", "http": [{"url": "http://127.0.0.1:1/"}]},
                             {"name": "b", "interval": "10s",
                              "http": [{"url": "http://127.0.0.1:1/x", "expect_status": ["2xx"],
                                        "body_must_contain": "ok", "timeout": "2s"}]}],
                            state_dir=self.path("state"))

    def test_valid(self):
        path, r = self.check(self.valid())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(os.path.basename(path), r.stdout + r.stderr)

    def test_annotated_example_is_valid(self):
        # etc/vigil.yaml shows every option (SPEC §2); this build supports all of them.
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etc",
                               "vigil.yaml")
        r = run([self.vigil, "check-config", example])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("vigil-default.yaml: SUCCESS", r.stdout)

    def assert_invalid(self, text, line, needle):
        path, r = self.check(text)
        self.assertEqual(r.returncode, 2, f"exit {r.returncode}; stdout={r.stdout!r} stderr={r.stderr!r}")
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertTrue(lines, "nothing on stderr")
        m = ERROR_LINE.match(lines[0])
        self.assertIsNotNone(m, f"stderr is not `vigil: FILE:LINE:COL: message`: {r.stderr!r}")
        self.assertEqual(m["file"], path)
        self.assertEqual(int(m["line"]), line, r.stderr)
        self.assertGreaterEqual(int(m["col"]), 1, r.stderr)
        self.assertIn(needle, m["msg"], r.stderr)
        return m

    def test_unknown_key(self):
        text = ("global: {interval: 1s, timeout: 500ms}\n"
                "targets:\n"
                "  - name: a\n"
                "    bogus: 1\n"
                "    http: [{url: 'http://127.0.0.1:1/'}]\n")
        m = self.assert_invalid(text, 4, "bogus")
        self.assertEqual(int(m["col"]), 5, "column of `bogus` (1-based)")

    def test_timeout_not_below_interval(self):
        text = ("global: {interval: 1s, timeout: 2s}\n"
                "targets:\n"
                "  - name: a\n"
                "    http: [{url: 'http://127.0.0.1:1/'}]\n")
        self.assert_invalid(text, 1, "timeout")

    def test_bad_duration(self):
        text = ("global:\n"
                "  interval: 5 seconds\n"
                "targets:\n"
                "  - name: a\n"
                "    http: [{url: 'http://127.0.0.1:1/'}]\n")
        self.assert_invalid(text, 2, "duration")

    def test_duplicate_target(self):
        text = ("targets:\n"
                "  - name: a\n"
                "    http: [{url: 'http://127.0.0.1:1/'}]\n"
                "  - name: a\n"
                "    http: [{url: 'http://127.0.0.1:1/'}]\n")
        self.assert_invalid(text, 4, "a")

    def test_yaml_syntax(self):
        path, r = self.check("targets: [\n  - name: a\n")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"^vigil: " + re.escape(path) + r":\d+:\d+: ")

    def test_missing_file(self):
        r = run([self.vigil, "check-config", self.path("nope.yaml")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("vigil: "), r.stderr)

    def test_run_with_bad_config_exits_2(self):
        path = self.write("bad.yaml", "targets: 7\n")
        r = run([self.vigil, "run", "--config", path, "--web.listen-address",
                 f"{HOST}:{free_port()}", "--state-dir", self.path("st")], timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"vigil: " + re.escape(path) + r":\d+:\d+: ")

    def test_run_with_bad_flag_exits_2(self):
        r = run([self.vigil, "run", "--no-such-flag"], timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)


class ProbeCommandTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()

    def test_probe_ok(self):
        r = run([self.vigil, "probe", self.base + "/ok"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = (r.stdout + r.stderr).lower()
        for word in ("connect", "first byte", "total", "200"):
            self.assertIn(word, out, f"`{word}` missing from the trace:\n{r.stdout}{r.stderr}")
        self.assertGreaterEqual(self.fault_stats(self.base)["paths"].get("/ok", 0), 1)

    def test_probe_500(self):
        r = run([self.vigil, "probe", self.base + "/status/500"], timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("500", r.stdout + r.stderr)

    def test_probe_refused(self):
        r = run([self.vigil, "probe", f"http://{HOST}:{free_port()}/"], timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("refused", (r.stdout + r.stderr).lower())

    def test_probe_usage(self):
        r = run([self.vigil, "probe"], timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    def test_probe_config_target(self):
        path = self.write("c.yaml", vigil_config(
            [{"name": "web", "http": [{"url": self.base + "/ok"}]}], state_dir=self.path("st")))
        r = run([self.vigil, "probe", "--config", path, "--target", "web"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run([self.vigil, "probe", "--config", path, "--target", "nope"], timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


class MiscCommandTest(VigilTestCase):
    def test_version(self):
        r = run([self.vigil, "version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"vigil.*\d+\.\d+\.\d+")

    def test_log_formats(self):
        for fmt in ("logfmt", "json"):
            v = self.start_vigil(None, name=f"vigil-{fmt}", log_level="info",
                                 args=["--log.format", fmt])
            self.wait(lambda: http_get(v.url + "/-/ready").status == 200, "/-/ready")
            self.assertEqual(v.stop(), 0)
            lines = [l for l in v.log().splitlines() if l.strip()]
            self.assertTrue(lines, "nothing logged")
            for l in lines:
                if fmt == "json":
                    doc = json.loads(l)
                    self.assertIn("level", doc, l)
                    self.assertIn("msg", doc, l)
                else:
                    self.assertRegex(l, r"^level=\w+ ts=\S+ ", l)
                    self.assertIn(" msg=", l)

    def test_default_config_run(self):
        port = free_port()
        v = self.start_vigil(None, port=port, log_level=None)
        self.wait_metric(v, "node_memory_MemTotal_bytes", {}, lambda x: x > 0, timeout=30)

        def own_endpoint_up():
            m = self.scrape(v)
            hits = [(l, x) for l, x in m.find("probe_success", probe="http")
                    if f"{HOST}:{port}" in l.get("url", "")]
            return hits and all(x == 1 for _, x in hits)

        self.wait(own_endpoint_up, f"probe_success{{probe=\"http\"}} 1 for its own endpoint :{port}",
                  timeout=30)
        m = self.scrape(v)
        self.assertEqual(m.sum("probe_success", probe="memory"), 1)
        for n in ("node_memory_MemAvailable_bytes", "node_memory_SwapTotal_bytes",
                  "node_memory_SwapFree_bytes", "node_vmstat_oom_kill"):
            self.assertTrue(m.find(n), f"no {n}")
        # The embedded default evaluates the compiled-in default pack (etc/rules/vigil-default.yaml).
        rules = http_get(v.url + "/api/v1/rules").json()
        names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
        for alert in ("TargetDown", "MemoryExhaustion", "RedundancyLost", "Http5xxSpike"):
            self.assertIn(alert, names)
        self.assertEqual(v.stop(), 0, v.log(tail=20))


if __name__ == "__main__":
    unittest.main()
