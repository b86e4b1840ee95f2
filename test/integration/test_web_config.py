"""--web.config.file (SPEC §7): exporter-toolkit's format. Basic auth against bcrypt hashes with every
endpoint protected; TLS refused clearly (not available with Debian 12's civetweb); a broken file is a
startup error naming its place."""

import base64
import crypt
import time
import unittest
import urllib.error
import urllib.request
import warnings

from harness import HOST, VigilTestCase, run

warnings.filterwarnings("ignore", category=DeprecationWarning)


def get(url, ctx=None, auth=None, timeout=10):
    """(status, body) of GET url; 0 when no HTTP answer."""
    req = urllib.request.Request(url)
    if auth is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0, b""


class WebConfigTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()
        self.config = (f"global: {{interval: 1s, timeout: 800ms}}\n"
                       f"targets:\n  - name: web\n    http:\n      - url: {self.base}/\n")

    def start_with(self, web_config):
        path = self.write("web.yml", web_config)
        return self.start_vigil(self.config, args=["--web.config.file", path], wait_healthy=False)

    def wait_status(self, url, want, **kw):
        self.wait(lambda: get(url, **kw)[0] == want, f"{url} -> {want}", timeout=20)

    def test_basic_auth(self):
        hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))
        v = self.start_with(f"basic_auth_users:\n  alice: {hashed}\n")
        self.wait_status(v.url + "/-/healthy", 200, auth="alice:s3cret")
        for path in ("/metrics", "/-/ready", "/api/v1/targets", "/", "/probe?target=" + self.base):
            status, _ = get(v.url + path)
            self.assertEqual(status, 401, path)
            self.assertEqual(get(v.url + path, auth="alice:wrong")[0], 401, path)
            self.assertEqual(get(v.url + path, auth="mallory:s3cret")[0], 401, path)
        status, _ = get(v.url + "/metrics", auth="alice:s3cret")
        self.assertEqual(status, 200)
        # The first probe may not have finished yet on a loaded machine: wait for its series.
        self.wait(lambda: b"probe_success" in get(v.url + "/metrics", auth="alice:s3cret")[1],
                  "probe_success on the authenticated /metrics", timeout=20)
        self.assertNotIn(hashed, v.log(), "the hash must not be logged")

    def test_tls_refused_clearly(self):
        # Debian 12's civetweb cannot do TLS with OpenSSL 3 (see exporters/web/web_config.h):
        # a TLS config is refused at startup with the reason, never a crash on first handshake.
        cert, key = self.make_cert()
        path = self.write("web.yml", f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
        cfg = self.write("vigil.yaml", self.config)
        r = run([self.vigil, "run", "--config", cfg, "--web.config.file", path,
                 "--web.listen-address", f"{HOST}:0"], timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"^vigil: .*web.yml: tls_server_config: TLS is not available")

    def test_bad_files(self):
        cert, key = self.make_cert()
        cases = {
            "unknown key": ("tls_server_config:\n  cert_file: x\n  nope: 1\n", r"web.yml:3:3: .*unknown key"),
            "plain password": ("basic_auth_users:\n  alice: hunter2\n", r"web.yml:2:10: .*not a bcrypt hash"),
            "cert without key": (f"tls_server_config:\n  cert_file: {cert}\n", r"web.yml:2:3: .*both cert_file and key_file"),
            "missing file": (f"tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: {key}\n", r"cannot read /nonexistent.crt"),
            "yaml syntax": ("basic_auth_users: [\n", r"web.yml:\d+:\d+: "),
        }
        for name, (text, pattern) in cases.items():
            with self.subTest(name):
                path = self.write("web.yml", text)
                cfg = self.write("vigil.yaml", self.config)
                r = run([self.vigil, "run", "--config", cfg, "--web.config.file", path,
                         "--web.listen-address", f"{HOST}:0"], timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertRegex(r.stderr, r"^vigil: .*" + pattern)
                self.assertNotIn("hunter2", r.stderr)


if __name__ == "__main__":
    unittest.main()
