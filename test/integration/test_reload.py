"""SIGHUP reloads (SPEC §1): a bad config is rejected, logged and counted while the old one keeps
running; a good one is applied, adding new targets and deleting the series of removed ones."""

import os
import signal
import unittest

from harness import VigilTestCase, http_get, vigil_config


class ReloadTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()

    def config(self, names):
        return vigil_config([{"name": n, "http": [{"url": f"{self.base}/{n}"}]} for n in names],
                            state_dir=self.path("vigil-state"))

    def requests_to(self, name):
        return self.fault_stats(self.base)["paths"].get(f"/{name}", 0)

    def reloads(self, v):
        return self.scrape(v).get("vigil_config_last_reload_successful")

    def test_sighup_broken_then_good_config(self):
        v = self.start_vigil(self.config(["alpha", "beta"]))
        for n in ("alpha", "beta"):
            self.wait_metric(v, "probe_success", {"target": n}, lambda x: x == 1)
        self.assertEqual(self.reloads(v), 1)

        broken_cases = [
            ("yaml syntax", "global: {interval: 1s\ntargets: [\n"),
            ("unknown key", self.config(["alpha"]) + "bogus_key: 1\n"),
            ("timeout >= interval", self.config(["alpha"]).replace("timeout: 800ms", "timeout: 2s")),
        ]
        for what, text in broken_cases:
            with self.subTest(what):
                # make the state visible again between cases: a good reload sets the gauge to 1
                with open(v.config, "w") as f:
                    f.write(self.config(["alpha", "beta"]))
                v.signal(signal.SIGHUP)
                self.wait(lambda: self.reloads(v) == 1, "good reload -> 1")
                log_before = len(v.log())
                with open(v.config, "w") as f:
                    f.write(text)
                v.signal(signal.SIGHUP)
                self.wait(lambda: self.reloads(v) == 0,
                          f"vigil_config_last_reload_successful 0 after a broken config ({what})")
                self.assertTrue(v.alive(), f"vigil died on a broken config ({what})")
                # the old config keeps running: both targets are still probed
                for n in ("alpha", "beta"):
                    c = self.requests_to(n)
                    self.wait(lambda: self.requests_to(n) > c, f"{n} still probed after bad reload")
                m = self.scrape(v)
                self.assertEqual(m.get("probe_success", probe="http", target="beta",
                                       url=f"{self.base}/beta"), 1)
                # the error is logged, naming the file
                new_log = v.log()[log_before:]
                self.assertIn(os.path.basename(v.config), new_log,
                              f"the reload error does not name the config file:\n{new_log}")
                self.assertRegex(new_log, r"level=(error|warn)", new_log)

        # failures are counted
        m = self.scrape(v)
        self.assertGreaterEqual(m.sum("vigil_config_reloads_total", result="failure"),
                                len(broken_cases), m.find("vigil_config_reloads_total"))

        # a good config: gamma appears, beta's series disappear
        with open(v.config, "w") as f:
            f.write(self.config(["alpha", "gamma"]))
        v.signal(signal.SIGHUP)
        self.wait(lambda: self.reloads(v) == 1, "vigil_config_last_reload_successful 1")
        self.wait_metric(v, "probe_success", {"target": "gamma", "url": f"{self.base}/gamma"},
                         lambda x: x == 1)

        def beta_gone():
            m = self.scrape(v)
            left = [(n, dict(l)) for (n, l) in m.samples if dict(l).get("target") == "beta"]
            return not left

        self.wait(beta_gone, "every series of the removed target beta to disappear")
        self.assertEqual(self.scrape(v).get("probe_success", probe="http", target="alpha",
                                            url=f"{self.base}/alpha"), 1)
        # and beta is no longer probed
        c = self.requests_to("beta")
        g = self.requests_to("gamma")
        self.wait(lambda: self.requests_to("gamma") >= g + 2, "gamma probed twice more")
        self.assertLessEqual(self.requests_to("beta"), c + 1)

    def test_removed_target_leaves_api(self):
        v = self.start_vigil(self.config(["alpha", "beta"]))
        self.wait_metric(v, "probe_success", {"target": "beta"}, lambda x: x == 1)
        with open(v.config, "w") as f:
            f.write(self.config(["alpha"]))
        v.signal(signal.SIGHUP)

        def gone():
            active = http_get(v.url + "/api/v1/targets").json()["data"]["activeTargets"]
            return all(t["labels"].get("target") != "beta" for t in active)

        self.wait(gone, "beta to leave /api/v1/targets")


if __name__ == "__main__":
    unittest.main()
