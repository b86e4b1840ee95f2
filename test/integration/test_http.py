"""The real vigil binary probing the fault-injecting server (test/support/faultserver.py).

One vigil per test, configured with only the targets that test needs, so every change of the
global counters (vigil_probes_total{result}) is that test's target's doing.
"""

import time
import unittest

from harness import VigilTestCase, free_port, HOST

RESULTS = {"success", "dns", "refused", "reset", "timeout", "tls", "status", "body", "too_large",
           "redirects", "protocol", "connect", "auth", "host_key", "parse", "internal"}


class HttpProbeTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()

    # ------------------------------------------------------------------ helpers

    def probe(self, target, url, interval=None, timeout=None, **http):
        t = {"name": target, "http": [dict({"url": url}, **http)]}
        if interval:
            t["interval"] = interval
        if timeout:
            t["http"][0]["timeout"] = timeout
        return t

    def wait_success(self, v, target, url, value):
        return self.wait_metric(v, "probe_success", {"probe": "http", "target": target, "url": url},
                                lambda x: x == value, f"probe_success{{target={target}}} == {value}")

    def results(self, v, result):
        return self.scrape(v).sum("vigil_probes_total", probe="http", result=result)

    def wait_result_grows(self, v, result, times=2):
        """Waits until vigil_probes_total{probe="http",result} has grown `times` times."""
        seen = [self.results(v, result)]

        def grew():
            x = self.results(v, result)
            if x > seen[-1]:
                seen.append(x)
            return len(seen) > times

        self.wait(grew, f'vigil_probes_total{{probe="http",result="{result}"}} to grow {times}x')
        return seen

    def assert_failure(self, path, result, interval="1s", target_timeout="800ms", **http):
        url = self.base + path
        v = self.start_vigil_targets([self.probe("t", url, **http)], interval=interval,
                                     timeout=target_timeout)
        m = self.wait_success(v, "t", url, 0)
        self.wait_result_grows(v, result)
        m = self.scrape(v)
        self.assertEqual(m.sum("vigil_probes_total", probe="http", result="success"), 0,
                         "a failing target was counted as success")
        return v, url, m

    # ------------------------------------------------------------------ outcomes

    def test_success(self):
        url = self.base + "/ok"
        v = self.start_vigil_targets([self.probe("ok", url)])
        self.wait_success(v, "ok", url, 1)
        m = self.scrape(v)
        lbl = {"target": "ok", "url": url}
        self.assertEqual(m.get("probe_http_status_code", **lbl), 200)
        self.assertGreater(m.get("probe_duration_seconds", probe="http", **lbl), 0)
        for phase in ("resolve", "connect", "processing", "transfer"):
            self.assertIsNotNone(m.get("probe_http_duration_seconds", phase=phase, **lbl),
                                 f"no probe_http_duration_seconds{{phase={phase}}}")
        self.assertEqual(m.get("probe_http_content_length", **lbl), 3)
        self.assertEqual(m.get("probe_http_redirects", **lbl), 0)
        self.assertEqual(m.get("probe_http_ssl", **lbl), 0)
        self.assertGreaterEqual(m.sum("vigil_probes_total", probe="http", result="success"), 1)
        self.assertGreaterEqual(m.sum("vigil_http_responses_total", code="200"), 1)
        self.assertGreaterEqual(m.sum("vigil_http_request_duration_seconds_count"), 1)
        self.assertTrue(m.find("vigil_build_info"), "no vigil_build_info")
        for labels, _ in m.find("vigil_probes_total"):
            self.assertIn(labels.get("result"), RESULTS, labels)
        self.assertGreaterEqual(self.fault_stats(self.base)["paths"].get("/ok", 0), 1)
        # it keeps probing on its interval
        self.wait_result_grows(v, "success", times=2)

    def test_status_500(self):
        v, url, m = self.assert_failure("/status/500", "status")
        self.assertEqual(m.get("probe_http_status_code", target="t", url=url), 500)
        before = m.sum("vigil_http_responses_total", code="500")
        self.assertGreaterEqual(before, 1)
        self.wait(lambda: self.scrape(v).sum("vigil_http_responses_total", code="500") > before,
                  'vigil_http_responses_total{code="500"} to grow')

    def test_expect_status(self):
        url = self.base + "/status/404"
        v = self.start_vigil_targets([self.probe("t", url, expect_status=["400-499"])])
        self.wait_success(v, "t", url, 1)
        self.assertEqual(self.scrape(v).get("probe_http_status_code", target="t", url=url), 404)

    def test_timeout(self):
        v, url, m = self.assert_failure("/delay/5000", "timeout", timeout="500ms")
        self.assertEqual(m.get("probe_http_status_code", target="t", url=url), 0)
        # the probe gave up at its timeout (with slack for a busy 2-core machine), not at 5 s
        self.assertLess(m.get("probe_duration_seconds", probe="http", target="t", url=url), 2.5)

    def test_reset(self):
        self.assert_failure("/reset", "reset")

    def test_close_without_answer(self):
        # SPEC's `reset` covers "connection reset or closed early by the peer"
        self.assert_failure("/close", "reset")

    def test_garbage_answer_protocol(self):
        self.assert_failure("/garbage", "protocol")

    def test_endless_body_times_out(self):
        v, url, m = self.assert_failure("/endless", "timeout", timeout="700ms")
        self.assertEqual(m.get("probe_http_status_code", target="t", url=url), 200)
        self.assertLess(m.get("probe_duration_seconds", probe="http", target="t", url=url), 2.7)

    def test_slow_headers_time_out(self):
        v, url, m = self.assert_failure("/slow-headers", "timeout", timeout="700ms")
        self.assertLess(m.get("probe_duration_seconds", probe="http", target="t", url=url), 2.7)

    def test_endless_fast_body_too_large(self):
        self.assert_failure("/endless/fast", "too_large")

    def test_refused(self):
        port = free_port()  # nothing listens there
        url = f"http://{HOST}:{port}/"
        v = self.start_vigil_targets([self.probe("t", url)])
        self.wait_success(v, "t", url, 0)
        self.wait_result_grows(v, "refused")
        m = self.scrape(v)
        self.assertEqual(m.get("probe_http_status_code", target="t", url=url), 0)
        self.assertGreaterEqual(m.sum("vigil_http_responses_total", code="error"), 1,
                                m.find("vigil_http_responses_total"))

    def test_big_body_too_large(self):
        v, url, m = self.assert_failure("/big/3000000", "too_large")
        self.assertEqual(m.get("probe_http_status_code", target="t", url=url), 200)

    def test_headers_flood_too_large(self):
        self.assert_failure("/headers-flood/1000000", "too_large")

    def test_gzip_bomb_too_large(self):
        # 1 GiB of zeros in ~1 MB of gzip. vigil asks for compression (so bombs hit the body cap
        # after decoding); whether it decodes or not, the body is over the 1 MiB cap, and it must
        # stop there instead of holding the decoded gigabyte.
        v, url, m = self.assert_failure("/gzip-bomb/1073741824", "too_large", interval="4s",
                                        target_timeout="3s")
        self.assertEqual(m.get("probe_http_status_code", target="t", url=url), 200)
        rss = m.get("process_resident_memory_bytes")
        self.assertIsNotNone(rss, "no process_resident_memory_bytes")
        self.assertLess(rss, 512 << 20)

    def test_body_must_contain(self):
        url = self.base + "/body/hello%20world"
        url2 = self.base + "/body/hello%20again"
        v = self.start_vigil_targets([
            self.probe("missing", url, body_must_contain="goodbye"),
            self.probe("present", url2, body_must_contain="hello"),
        ])
        self.wait_success(v, "missing", url, 0)
        self.wait_success(v, "present", url2, 1)
        self.wait_result_grows(v, "body")
        m = self.scrape(v)
        self.assertEqual(m.get("probe_http_status_code", target="missing", url=url), 200)

    def test_method_and_headers(self):
        url = self.base + "/echo"
        v = self.start_vigil_targets([{"name": "t", "http": [
            {"url": url, "method": "PUT", "headers": {"X-Probe": "abc", "Host": "web.example"},
             "body_must_contain": "PUT /echo"},
            {"url": url + "?2", "headers": {"X-Probe": "abc", "Host": "web.example"},
             "body_must_contain": "x-probe: abc"},
            {"url": url + "?3", "headers": {"Host": "web.example"},
             "body_must_contain": "host: web.example"},
        ]}])
        for u in (url, url + "?2", url + "?3"):
            self.wait_success(v, "t", u, 1)

    def test_redirects(self):
        url = self.base + "/redirect/3"
        url2 = self.base + "/redirect/30"
        v = self.start_vigil_targets([self.probe("three", url), self.probe("thirty", url2)])
        self.wait_success(v, "three", url, 1)
        self.wait_success(v, "thirty", url2, 0)
        m = self.scrape(v)
        self.assertEqual(m.get("probe_http_redirects", target="three", url=url), 3)
        self.assertEqual(m.get("probe_http_status_code", target="three", url=url), 200)
        self.wait_result_grows(v, "redirects")

    def test_runtime_steering_through_control_api(self):
        url = self.base + "/steered"
        v = self.start_vigil_targets([self.probe("t", url)])
        self.wait_success(v, "t", url, 1)
        self.fault_control(self.base, {"paths": {"/steered": {"status": 503}}})
        self.wait_success(v, "t", url, 0)
        self.assertEqual(self.scrape(v).get("probe_http_status_code", target="t", url=url), 503)
        self.fault_control(self.base, {"paths": {"/steered": None}})
        self.wait_success(v, "t", url, 1)

    def test_target_labels(self):
        url = self.base + "/labelled"
        v = self.start_vigil_targets([dict(self.probe("t", url), labels={"role": "primary"})])
        m = self.wait_success(v, "t", url, 1)
        self.assertEqual(m.get("probe_success", probe="http", target="t", url=url, role="primary"), 1)

    # ------------------------------------------------------------------ isolation

    def test_hostile_targets_do_not_delay_others(self):
        """Endless bodies, slow headers and long delays time out within their probe timeout,
        while a fast target on the same agent keeps being probed on its interval."""
        hostile = []
        for i in range(3):
            hostile.append(self.probe(f"endless{i}", self.base + f"/endless?i={i}"))
            hostile.append(self.probe(f"slowhdr{i}", self.base + f"/slow-headers?i={i}"))
            hostile.append(self.probe(f"delay{i}", self.base + f"/delay/30000?i={i}"))
        fast_url = self.base + "/fast"
        fast = dict(self.probe("fast", fast_url, interval="500ms"), timeout="400ms")
        v = self.start_vigil_targets(hostile + [fast], interval="4s", timeout="3s")
        self.wait_success(v, "fast", fast_url, 1)
        # wait until every hostile target has failed once, by timeout
        for t in hostile:
            self.wait_success(v, t["name"], t["http"][0]["url"], 0)
        self.wait(lambda: self.results(v, "timeout") >= len(hostile),
                  "a timeout for every hostile target")
        # now count the fast target's requests over a window where hostile probes are in flight
        window = 8.0
        c0 = self.fault_stats(self.base)["paths"].get("/fast", 0)
        t0 = time.monotonic()
        max_active = 0
        while time.monotonic() - t0 < window:
            max_active = max(max_active, self.fault_stats(self.base)["active_connections"])
            time.sleep(0.25)
        c1 = self.fault_stats(self.base)["paths"].get("/fast", 0)
        elapsed = time.monotonic() - t0
        expected = elapsed / 0.5
        self.assertGreaterEqual(max_active, 3, "the hostile probes were not in flight")
        self.assertGreaterEqual(c1 - c0, expected * 0.5,
                                f"fast target probed {c1 - c0} times in {elapsed:.1f}s "
                                f"(interval 0.5s) while hostile probes ran")
        m = self.scrape(v)
        self.assertEqual(m.get("probe_success", probe="http", target="fast", url=fast_url), 1)
        for t in hostile:
            u = t["http"][0]["url"]
            d = m.get("probe_duration_seconds", probe="http", target=t["name"], url=u)
            self.assertIsNotNone(d, f"no probe_duration_seconds for {t['name']}")
            self.assertLess(d, 3.0 + 2.0, f"{t['name']} took {d}s with a 3s timeout")


class TlsProbeTest(VigilTestCase):
    """HTTPS probes against the fault server's TLS listener, with a self-signed certificate."""

    def test_tls_verification_and_expiry(self):
        cert, key = self.make_cert(days=30)
        self.fs, (base,) = self.start_faultserver(listens=(), tls_listens=(f"{HOST}:0",),
                                                  cert=cert, key=key)
        ok, untrusted, insecure = base + "/verified", base + "/untrusted", base + "/insecure"
        v = self.start_vigil_targets([
            {"name": "verified", "http": [{"url": ok, "tls": {"ca_file": cert}}]},
            {"name": "untrusted", "http": [{"url": untrusted}]},
            {"name": "insecure", "http": [{"url": insecure,
                                           "tls": {"insecure_skip_verify": True}}]},
        ])
        for t, u, want in (("verified", ok, 1), ("untrusted", untrusted, 0), ("insecure", insecure, 1)):
            self.wait_metric(v, "probe_success", {"probe": "http", "target": t, "url": u},
                             lambda x, want=want: x == want, f"probe_success{{target={t}}} == {want}")
        self.wait(lambda: self.scrape(v).sum("vigil_probes_total", probe="http", result="tls") >= 2,
                  'vigil_probes_total{result="tls"} >= 2')
        m = self.scrape(v)
        self.assertEqual(m.get("probe_http_ssl", target="verified", url=ok), 1)
        self.assertEqual(m.get("probe_http_status_code", target="untrusted", url=untrusted), 0)
        expiry = m.get("probe_ssl_earliest_cert_expiry", target="verified", url=ok)
        self.assertIsNotNone(expiry, "no probe_ssl_earliest_cert_expiry for an HTTPS target")
        self.assertAlmostEqual(expiry, time.time() + 30 * 86400, delta=2 * 86400)
        self.assertGreater(m.get("probe_http_duration_seconds", phase="tls", target="verified",
                                 url=ok), 0)

    def test_server_name(self):
        # A certificate for "vigil.test" only, served on 127.0.0.1: tls.server_name makes the
        # probe ask for and verify that name while connecting to the URL's address, and the
        # Host header still names the URL's host (the echo body shows it).
        cert, key = self.make_cert(name="named", cn="vigil.test", san="DNS:vigil.test")
        self.fs, (base,) = self.start_faultserver(listens=(), tls_listens=(f"{HOST}:0",),
                                                  cert=cert, key=key)
        hostport = base.split("://", 1)[1]
        named, unnamed = base + "/echo", base + "/echo?plain"
        v = self.start_vigil_targets([
            {"name": "named", "http": [{"url": named, "body_must_contain": f"host: {hostport}",
                                        "tls": {"ca_file": cert, "server_name": "vigil.test"}}]},
            {"name": "unnamed", "http": [{"url": unnamed, "tls": {"ca_file": cert}}]},
        ])
        self.wait_metric(v, "probe_success", {"probe": "http", "target": "named", "url": named},
                         lambda x: x == 1, "probe_success{target=named} == 1")
        self.wait_metric(v, "probe_success", {"probe": "http", "target": "unnamed", "url": unnamed},
                         lambda x: x == 0, "probe_success{target=unnamed} == 0")
        m = self.scrape(v)
        self.assertEqual(m.get("probe_http_ssl", target="named", url=named), 1)
        self.assertIsNotNone(m.get("probe_ssl_earliest_cert_expiry", target="named", url=named))
        # The name mismatch without server_name is a TLS failure, not anything else.
        self.wait(lambda: self.scrape(v).sum("vigil_probes_total", probe="http", result="tls") >= 1,
                  'vigil_probes_total{result="tls"} >= 1')


if __name__ == "__main__":
    unittest.main()
