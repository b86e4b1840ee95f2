"""vigil probing a real nginx from Debian (/usr/sbin/nginx), run with its own config in the temp dir."""

import unittest

from harness import HOST, VigilTestCase, require_binary, try_get

NGINX = "/usr/sbin/nginx"


class NginxTest(VigilTestCase):
    def start_nginx(self):
        require_binary(NGINX, "nginx")
        t = self.tmp

        def cmd(port):
            conf = self.write("nginx.conf", f"""
worker_processes 1;
daemon off;
master_process on;
pid {t}/nginx.pid;
error_log {t}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {t}/ngx_body;
    proxy_temp_path {t}/ngx_proxy;
    fastcgi_temp_path {t}/ngx_fastcgi;
    uwsgi_temp_path {t}/ngx_uwsgi;
    scgi_temp_path {t}/ngx_scgi;
    server {{
        listen {HOST}:{port};
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
        location /missing {{ return 404; }}
        location /down {{ return 503; }}
    }}
}}
""")
            # -p/-e keep nginx away from /var/lib/nginx and /var/log/nginx (it runs as root here)
            return [NGINX, "-p", t, "-e", f"{t}/nginx-error.log", "-c", conf]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/")
            return r is not None and r.status == 200

        p, port = self.start_on_free_port("nginx", cmd, ready)
        return p, f"http://{HOST}:{port}"

    def test_nginx_ok_and_404(self):
        _, base = self.start_nginx()
        ok, missing, down = base + "/", base + "/missing", base + "/down"
        v = self.start_vigil_targets([
            {"name": "web", "http": [{"url": ok, "body_must_contain": "ok"}]},
            {"name": "gone", "http": [{"url": missing}]},
            {"name": "down", "http": [{"url": down}]},
        ])
        self.wait_metric(v, "probe_success", {"probe": "http", "target": "web", "url": ok},
                         lambda x: x == 1)
        self.wait_metric(v, "probe_success", {"probe": "http", "target": "gone", "url": missing},
                         lambda x: x == 0)
        self.wait_metric(v, "probe_success", {"probe": "http", "target": "down", "url": down},
                         lambda x: x == 0)
        m = self.scrape(v)
        self.assertEqual(m.get("probe_http_status_code", target="web", url=ok), 200)
        self.assertEqual(m.get("probe_http_status_code", target="gone", url=missing), 404)
        self.assertEqual(m.get("probe_http_status_code", target="down", url=down), 503)
        self.assertGreaterEqual(m.sum("vigil_probes_total", probe="http", result="status"), 2)
        self.assertGreaterEqual(m.sum("vigil_http_responses_total", code="404"), 1)
        self.assertGreaterEqual(m.sum("vigil_http_responses_total", code="503"), 1)
        self.assertGreaterEqual(m.sum("vigil_probes_total", probe="http", result="success"), 1)


if __name__ == "__main__":
    unittest.main()
