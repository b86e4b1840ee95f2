"""The fault server itself (test/support/faultserver.py): every behaviour vigil's tests rely on.

Needs no vigil binary: if these fail, the vigil tests that use the fault server cannot be trusted.
"""

import concurrent.futures
import gzip
import http.client
import signal
import socket
import ssl
import struct
import time
import unittest

from harness import HOST, ProcTestCase, free_port, http_get, http_request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class FaultServerTest(ProcTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()
        self.port = int(self.base.rsplit(":", 1)[1])

    def raw(self, path, timeout=5, read=65536):
        """Sends a GET on a raw socket and reads for at most `timeout` s in all.

        Returns (bytes read, None | "eof" | "timeout" | "reset")."""
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        try:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            deadline = time.monotonic() + timeout
            try:
                while len(data) < read:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return data, "timeout"
                    s.settimeout(left)
                    b = s.recv(65536)
                    if not b:
                        return data, "eof"
                    data += b
            except socket.timeout:
                return data, "timeout"
            except ConnectionResetError:
                return data, "reset"
            return data, None
        finally:
            s.close()

    def test_default_and_status(self):
        r = http_get(self.base + "/")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        self.assertEqual(http_get(self.base + "/status/500").status, 500)
        self.assertEqual(http_get(self.base + "/status/404").status, 404)
        self.assertEqual(http_get(self.base + "/anything?status=503").status, 503)

    def test_delay(self):
        t0 = time.monotonic()
        r = http_get(self.base + "/delay/300")
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

    def test_reset_and_close(self):
        data, err = self.raw("/reset")
        self.assertEqual((data, err), (b"", "reset"))
        data, err = self.raw("/close")
        self.assertEqual((data, err), (b"", "eof"))

    def test_slow_headers_and_endless(self):
        data, err = self.raw("/slow-headers", timeout=2.5)
        self.assertEqual(err, "timeout")
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data)
        self.assertNotIn(b"\r\n\r\n", data)
        self.assertLessEqual(len(data), len(b"HTTP/1.1 200 OK\r\n") + 3)
        data, err = self.raw("/endless", timeout=1.5, read=1 << 20)
        self.assertEqual(err, "timeout")
        self.assertIn(b"Transfer-Encoding: chunked", data)
        self.assertIn(b"\r\n\r\n10\r\n", data)

    def test_big_and_gzip_bomb(self):
        r = http_get(self.base + "/big/3000000")
        self.assertEqual((r.status, len(r.body)), (200, 3000000))
        r = http_get(self.base + "/gzip-bomb/5000000")
        self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
        self.assertLess(len(r.body), 20000)
        self.assertEqual(gzip.decompress(r.body), bytes(5000000))

    def test_redirects_body_headers_flood(self):
        r = http_get(self.base + "/redirect/2")
        self.assertEqual((r.status, r.headers["Location"]), (302, "/redirect/1"))
        self.assertEqual(http_get(self.base + "/redirect/0").status, 200)
        self.assertEqual(http_get(self.base + "/body/hello%20world").body, b"hello world")
        r = http_request(self.base + "/echo?x=1", "PUT", headers={"X-Probe": "abc"})
        self.assertIn(b"PUT /echo?x=1\n", r.body)
        self.assertIn(b"x-probe: abc\n", r.body)
        data, err = self.raw("/headers-flood/200000", read=1 << 22)
        self.assertEqual(err, "eof")
        self.assertGreater(data.index(b"\r\n\r\n"), 200000)
        self.assertTrue(data.endswith(b"\r\n\r\nok\n"))

    def test_control_and_stats(self):
        http_get(self.base + "/x")
        self.fault_control(self.base, {"default": {"status": 500, "body": "down\n"},
                                       "paths": {"/y": {"status": 503}, "/z": {"action": "reset"}}})
        r = http_get(self.base + "/x")
        self.assertEqual((r.status, r.body), (500, b"down\n"))
        self.assertEqual(http_get(self.base + "/").status, 500)
        self.assertEqual(http_get(self.base + "/y").status, 503)
        self.assertEqual(self.raw("/z")[1], "reset")
        self.assertEqual(http_get(self.base + "/status/200").status, 200)  # explicit paths win
        bad = http_request(self.base + "/-/control", "POST", body={"default": {"status": "x"}})
        self.assertEqual(bad.status, 400)
        st = self.fault_stats(self.base)
        self.assertEqual(st["paths"]["/x"], 2)
        self.assertEqual(st["requests"], 6)
        self.fault_control(self.base, {"reset": True})
        self.assertEqual(http_get(self.base + "/").status, 200)
        http_request(self.base + "/-/stats", "DELETE")
        self.assertEqual(self.fault_stats(self.base)["requests"], 0)

    def test_keep_alive_and_pipelining(self):
        c = http.client.HTTPConnection(HOST, self.port, timeout=5)
        for path in ("/", "/status/500", "/delay/50", "/big/100000", "/"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
        self.assertEqual(r.status, 200)
        c.close()
        s = socket.create_connection((HOST, self.port), timeout=5)
        s.sendall(b"GET /delay/100 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/201 HTTP/1.1\r\n"
                  b"Host: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        self.assertEqual(data.count(b"HTTP/1.1 "), 2)
        self.assertLess(data.index(b" 200 OK"), data.index(b" 201 Created"))

    def test_many_concurrent_connections_and_bounded_memory(self):
        # Bounded: 2,000 requests, 64 at a time, each on a fresh connection.
        def one(i):
            return http_get(self.base + f"/c/{i % 10}", timeout=20).status

        with concurrent.futures.ThreadPoolExecutor(64) as ex:
            codes = list(ex.map(one, range(2000)))
        self.assertEqual(codes.count(200), 2000)
        # 300 connections that never read an endless fast body: flow control keeps memory bounded.
        socks = []
        try:
            for _ in range(300):
                s = socket.create_connection((HOST, self.port), timeout=5)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(b"GET /endless/fast HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            self.wait(lambda: self.fault_stats(self.base)["active_connections"] >= 300,
                      "300 open connections")
            time.sleep(1)
            self.assertLess(rss_kib(self.fs.pid), 200 * 1024)
        finally:
            for s in socks:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        self.wait(lambda: self.fault_stats(self.base)["active_connections"] <= 1,
                  "connections to close")

    def test_tls_listener(self):
        cert, key = self.make_cert()
        fs, (plain, tls) = self.start_faultserver(listens=(f"{HOST}:0",), tls_listens=(f"{HOST}:0",),
                                                  cert=cert, key=key)
        self.assertTrue(tls.startswith("https://"), tls)
        ctx = ssl.create_default_context(cafile=cert)
        host, port = tls[len("https://"):].rsplit(":", 1)
        c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=5)
        c.request("GET", "/status/418")
        self.assertEqual(c.getresponse().status, 418)
        c.close()
        self.assertEqual(http_get(plain + "/").status, 200)

    def test_several_listeners_and_sigterm(self):
        p2 = free_port()
        fs, urls = self.start_faultserver([f"{HOST}:0", f"127.0.0.2:{p2}"])
        self.assertEqual(len(urls), 2)
        self.assertTrue(urls[1].endswith(f"127.0.0.2:{p2}"))
        for u in urls:
            self.assertEqual(http_get(u + "/").status, 200)
        # an open slow connection must not hold up the exit
        s = socket.create_connection((HOST, int(urls[0].rsplit(":", 1)[1])), timeout=5)
        s.sendall(b"GET /slow-headers HTTP/1.1\r\nHost: x\r\n\r\n")
        fs.signal(signal.SIGTERM)
        self.assertEqual(fs.wait(20), 0, fs.log())
        s.close()


if __name__ == "__main__":
    unittest.main()
