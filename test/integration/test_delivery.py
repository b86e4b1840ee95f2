"""Delivery through the built-in notifier (SPEC §5, §6), end to end with the real binary and a
webhook sink (test/support/webhook_sink.py) that can answer a scripted sequence of statuses:

- a receiver answering 503 for a while gets the notification once it answers 200, every attempt
  carrying the same X-Vigil-Idempotency-Key, the bearer token and a valid HMAC signature, and
  neither secret appears in the log;
- `kill -9` while notifications are undelivered, then a restart: every one of them arrives, the
  resolve included, in order;
- a restart while an alert fires neither re-pages it before repeat_interval nor forgets when it
  started; a pending alert keeps counting its `for` across the restart.
"""

import hashlib
import hmac
import json
import signal
import time
import unittest

from harness import VigilTestCase, http_get, http_request


RULES = """
groups:
  - name: delivery
    rules:
      - alert: WebDown
        expr: probe_success{target="web"} == 0
        labels: {severity: page}
        annotations: {summary: "web is down"}
      - alert: WebDownLong
        expr: probe_success{target="web"} == 0
        for: 1h
        labels: {severity: ticket}
"""


class DeliveryTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        self.fs, (self.base,) = self.start_faultserver()
        self.sink, self.sink_url, self.sink_out = self.start_sink()
        self.token, self.secret = "tok-3c1d9a", "hmac-77be02"
        self.write("token", self.token + "\n")
        self.write("hmac", self.secret + "\n")
        self.write("rules.yaml", RULES)

    def script(self, statuses, default):
        r = http_request(self.sink_url + "/-/script", "POST",
                         body={"statuses": statuses, "default": default})
        self.assertEqual(r.status, 200, r.text)

    def requests(self):
        return [r for r in http_get(self.sink_url + "/-/requests").json() if r["path"] == "/hook"]

    def config(self, repeat="1h"):
        return f"""
global: {{interval: 1s, timeout: 800ms, evaluation_interval: 1s}}
targets:
  - name: web
    http:
      - url: {self.base}/
rule_files: [{self.path("rules.yaml")}]
alerting:
  receivers:
    - name: oncall
      webhook:
        url: {self.sink_url}/hook
        format: alertmanager
        bearer_token_file: {self.path("token")}
        hmac_secret_file: {self.path("hmac")}
        timeout: 2s
  route:
    receiver: oncall
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1s
    repeat_interval: {repeat}
"""

    def start_agent(self, name="vigil", state="state"):
        return self.start_vigil(self.config(), name=name, state_dir=self.path(state),
                                log_level="debug")

    def fail_target(self, failing):
        self.fault_control(self.base, {"default": {"status": 500 if failing else 200}})

    @staticmethod
    def alerts_of(req):
        return [(a["status"], a["labels"]["alertname"]) for a in json.loads(req["body"])["alerts"]]

    def test_retries_keep_the_key_and_sign_every_attempt(self):
        self.script([503, 503, 503], 200)
        v = self.start_agent()
        self.fail_target(True)
        self.wait(lambda: any(r["status"] == 200 for r in self.sink_log()), "a delivered webhook",
                  timeout=60)
        reqs = self.requests()
        firing = [r for r in reqs if ("firing", "WebDown") in self.alerts_of(r)]
        self.assertGreaterEqual(len(firing), 4, "three 503s, then the 200")
        keys = {r["headers"]["x-vigil-idempotency-key"] for r in firing}
        self.assertEqual(len(keys), 1, "one idempotency key for every attempt of a notification")
        for r in reqs:
            self.assertEqual(r["headers"]["authorization"], "Bearer " + self.token)
            want = hmac.new(self.secret.encode(), r["body"].encode(), hashlib.sha256).hexdigest()
            self.assertEqual(r["headers"]["x-vigil-signature"], "sha256=" + want)
        # The resolve is another notification: another key.
        self.fail_target(False)
        self.wait(lambda: any(("resolved", "WebDown") in self.alerts_of(r) for r in self.requests()),
                  "the resolve", timeout=30)
        resolved = [r for r in self.requests() if ("resolved", "WebDown") in self.alerts_of(r)]
        self.assertNotIn(resolved[0]["headers"]["x-vigil-idempotency-key"], keys)
        m = self.scrape(v)
        self.assertGreaterEqual(m.get("vigil_notifications_total", receiver="oncall",
                                      result="success"), 2)
        self.assertGreaterEqual(m.get("vigil_notifications_total", receiver="oncall",
                                      result="failure"), 3)
        log = v.log()
        self.assertNotIn(self.token, log)
        self.assertNotIn(self.secret, log)

    def sink_log(self):
        """The sink's JSON lines with the status it answered (it records before answering, so the
        status of request n is the script's n-th)."""
        with open(self.sink_out, encoding="utf-8") as f:
            lines = [json.loads(l) for l in f if l.strip()]
        statuses = [503, 503, 503]
        out = []
        for i, l in enumerate(lines):
            if l["path"] != "/hook":
                continue
            l["status"] = statuses[i] if i < len(statuses) else 200
            out.append(l)
        return out

    def test_kill9_loses_nothing(self):
        self.script([], 503)  # the receiver is down
        v = self.start_agent()
        self.fail_target(True)
        self.wait(lambda: any(("firing", "WebDown") in self.alerts_of(r) for r in self.requests()),
                  "a first (failed) attempt of the page", timeout=30)
        self.fail_target(False)
        # The resolve queues behind the page (one receiver's notifications go in order).
        self.wait_metric(v, "vigil_notification_queue_length", {"receiver": "oncall"},
                         lambda x: x == 2, timeout=30)
        before = self.requests()
        keys_before = []
        for r in before:
            k = r["headers"]["x-vigil-idempotency-key"]
            if k not in keys_before:
                keys_before.append(k)
        v.signal(signal.SIGKILL)
        v.wait(10)
        self.script([], 200)  # the receiver is back
        seen = len(before)
        self.start_agent(name="vigil-restarted")
        # Everything undelivered at the kill arrives: the page that was being retried (same key)
        # and the resolve queued behind it, in that order.
        def delivered():
            after = self.requests()[seen:]
            page = [i for i, r in enumerate(after)
                    if r["headers"]["x-vigil-idempotency-key"] in keys_before]
            resolve = [i for i, r in enumerate(after) if ("resolved", "WebDown") in self.alerts_of(r)]
            return (page, resolve) if page and resolve else None

        page, resolve = self.wait(delivered, "the page and the resolve after the restart",
                                  timeout=60)
        self.assertLess(page[0], resolve[0], "the resolve overtook the page")
        self.assertEqual(len(keys_before), 1, "one notification was being retried at the kill")

    def test_restart_while_firing_does_not_repage(self):
        v = self.start_agent()
        self.fail_target(True)
        self.wait(lambda: any(("firing", "WebDown") in self.alerts_of(r) for r in self.requests()),
                  "the page", timeout=30)

        def active_at(p, name):
            for a in http_get(p.url + "/api/v1/alerts").json()["data"]["alerts"]:
                if a["labels"]["alertname"] == name:
                    return a["activeAt"], a["state"]
            return None

        self.wait(lambda: active_at(v, "WebDownLong"), "WebDownLong pending")
        long_before = active_at(v, "WebDownLong")
        down_before = active_at(v, "WebDown")
        self.assertEqual(long_before[1], "pending")
        self.assertEqual(down_before[1], "firing")
        pages = len(self.requests())
        self.assertEqual(v.stop(), 0, v.log(tail=20))
        v2 = self.start_agent(name="vigil-restarted")
        self.wait(lambda: active_at(v2, "WebDown") is not None, "WebDown after the restart")
        # Several evaluations of a still-failing target: nothing new may be sent.
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual(len(self.requests()), pages,
                         f"re-paged after a restart: {[self.alerts_of(r) for r in self.requests()]}")
        self.assertEqual(active_at(v2, "WebDown"), down_before)
        self.assertEqual(active_at(v2, "WebDownLong"), long_before, "the pending alert's for restarted")
        self.assertEqual(v2.stop(), 0, v2.log(tail=20))


if __name__ == "__main__":
    unittest.main()
