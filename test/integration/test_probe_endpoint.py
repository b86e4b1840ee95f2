"""GET /probe?target=URL (SPEC §7): blackbox_exporter-compatible, for setups where Prometheus drives
the probing. The same URLs probed through Debian's real blackbox_exporter and through vigil give
the same probe_* series names and the same outcome."""

import unittest

from harness import HOST, VigilTestCase, http_get, parse_metrics, require_binary, try_get

BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"


class ProbeEndpointTest(VigilTestCase):
    def start_blackbox(self):
        require_binary(BLACKBOX, "prometheus-blackbox-exporter")
        cfg = self.write("blackbox.yml", "modules:\n  http_2xx:\n    prober: http\n"
                                         "    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n")

        def cmd(port):
            return [BLACKBOX, f"--config.file={cfg}", f"--web.listen-address={HOST}:{port}",
                    "--log.level=warn"]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/-/healthy")
            return r is not None and r.status == 200

        _, port = self.start_on_free_port("blackbox", cmd, ready)
        return f"http://{HOST}:{port}"

    def probe(self, base, url, module=True):
        q = f"/probe?target={url}" + ("&module=http_2xx" if module else "")
        r = http_get(base + q)
        self.assertEqual(r.status, 200, r.text)
        return {(n, tuple(sorted(l))): v for (n, l), v in parse_metrics(r.text).items()}

    def test_same_series_as_blackbox(self):
        fs, (base,) = self.start_faultserver()
        v = self.start_vigil_targets([{"name": "self", "http": [{"url": base + "/"}]}])
        bb = self.start_blackbox()
        for path, success in (("/", 1), ("/status/500", 0), ("/redirect/2", 1)):
            with self.subTest(path):
                ours = self.probe(v.url, base + path, module=False)
                theirs = self.probe(bb, base + path)
                names_ours = {n for n, _ in ours}
                for name in ("probe_success", "probe_duration_seconds", "probe_http_status_code",
                             "probe_http_content_length", "probe_http_redirects",
                             "probe_http_ssl", "probe_http_duration_seconds"):
                    self.assertIn(name, names_ours, f"vigil's /probe lacks {name}")
                    self.assertIn(name, {n for n, _ in theirs}, f"blackbox lacks {name}")
                self.assertEqual(ours[("probe_success", ())], success)
                self.assertEqual(ours[("probe_success", ())], theirs[("probe_success", ())])
                self.assertEqual(ours[("probe_http_status_code", ())],
                                 theirs[("probe_http_status_code", ())])
                self.assertEqual(ours[("probe_http_redirects", ())],
                                 theirs[("probe_http_redirects", ())])
                phases_ours = {dict(l)["phase"] for n, l in ours if n == "probe_http_duration_seconds"}
                phases_theirs = {dict(l)["phase"] for n, l in theirs if n == "probe_http_duration_seconds"}
                self.assertEqual(phases_ours, phases_theirs)

    def test_bad_requests(self):
        v = self.start_vigil_targets([])
        self.assertEqual(http_get(v.url + "/probe").status, 400)
        self.assertEqual(http_get(v.url + "/probe?target=ftp://x/").status, 400)
        # A refused connection is a failed probe, answered with 200 like blackbox_exporter does.
        dead = f"http://{HOST}:1/"
        r = http_get(v.url + "/probe?target=" + dead)
        self.assertEqual(r.status, 200)
        self.assertIn("probe_success 0", r.text)


if __name__ == "__main__":
    unittest.main()
