"""vigil's memory probe against Debian's real prometheus-node-exporter (`memory:
{node_exporter: URL}`): the figures vigil exports are the ones node_exporter serves, under the
same names as every other memory source (SPEC §3), and an unreachable exporter is a failed
memory probe with its reason."""

import unittest

from harness import HOST, VigilTestCase, free_port, require_binary, run, scrape, try_get, \
    vigil_config

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


class NodeExporterTest(VigilTestCase):
    def start_node_exporter(self):
        """A node_exporter with only the collectors the memory probe reads; returns its URL."""
        require_binary(NODE_EXPORTER, "prometheus-node-exporter")

        def cmd(port):
            return [NODE_EXPORTER, f"--web.listen-address={HOST}:{port}",
                    "--collector.disable-defaults", "--collector.meminfo",
                    "--collector.vmstat", "--log.level=warn"]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/metrics")
            return r is not None and r.status == 200

        _, port = self.start_on_free_port("node_exporter", cmd, ready)
        return f"http://{HOST}:{port}"

    def test_figures_equal_what_node_exporter_serves(self):
        base = self.start_node_exporter()
        v = self.start_vigil_targets(
            [{"name": "box", "labels": {"role": "db"},
              "memory": {"node_exporter": base + "/metrics"}}])
        m = self.wait_metric(v, "probe_success", {"probe": "memory", "target": "box"},
                             lambda x: x == 1)
        theirs = scrape(base)
        # MemTotal and SwapTotal do not move between the two scrapes; the others may.
        for name in ("node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes"):
            want = theirs.get(name)
            self.assertIsNotNone(want, f"node_exporter serves no {name}")
            self.assertEqual(m.get(name, target="box"), want, name)
        # the same series set as the other memory sources, with the target's labels
        for name in ("node_memory_MemAvailable_bytes", "node_memory_SwapFree_bytes"):
            self.assertIsNotNone(m.get(name, target="box", role="db"), name)
        if theirs.get("node_vmstat_oom_kill") is not None:
            self.assertIsNotNone(m.get("node_vmstat_oom_kill", target="box"))
        self.assertGreaterEqual(m.get("vigil_probes_total", probe="memory", result="success"), 1)
        # the node_exporter's HTTP figures are not exported as an http check's
        self.assertEqual(m.find("probe_http_status_code", target="box"), [])

    def test_closed_port_fails_as_refused(self):
        v = self.start_vigil_targets(
            [{"name": "gone",
              "memory": {"node_exporter": f"http://{HOST}:{free_port()}/metrics"}}])
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "refused"},
                             lambda x: x >= 1)
        self.assertEqual(m.get("probe_success", probe="memory", target="gone"), 0)
        self.assertIsNone(m.get("node_memory_MemTotal_bytes", target="gone"))

    def test_vigil_probe_prints_the_figures(self):
        base = self.start_node_exporter()
        path = self.write("c.yaml", vigil_config(
            [{"name": "box", "memory": {"node_exporter": base + "/metrics"}}],
            state_dir=self.path("st")))
        r = run([self.vigil, "probe", "--config", path, "--target", "box"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("memory (node_exporter", r.stdout)
        self.assertIn("MemTotal", r.stdout)
        self.assertIn("result     success", r.stdout)


if __name__ == "__main__":
    unittest.main()
