"""vigil's notifier (routing tree, grouping, webhook payload, fingerprints) against Debian's real
prometheus-alertmanager: the same routing tree and alerts go to a real Alertmanager on loopback
and to vigil's dispatcher (test/unit/notify/replay_main.cc, env NOTIFY_REPLAY); the webhook
bodies Alertmanager sends must equal vigil's byte for byte, and the fingerprints in
Alertmanager's /api/v2/alerts must equal vigil's."""

import datetime
import http.server
import json
import os
import threading
import unittest

from harness import HOST, ProcTestCase, http_request, require_binary, run, try_get

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
PROMETHEUS = "/usr/bin/prometheus"
EXTERNAL_URL = "http://vigil.example:9469"
MINUTE = 60_000

# One routing tree, written out for both programs below. Label values and matchers carry
# quotes, backslashes, newlines and non-ASCII text, where escaping differences would show.
TREE = {
    "receiver": "hook",
    "group_by": ["alertname", "pool"],
    "group_wait": "1s",
    "group_interval": "1s",
    "repeat_interval": "1h",
    "routes": [
        {"matchers": ['severity="page"', 'team=~"a|b"'], "receiver": "pager", "continue": True,
         "routes": [{"matchers": ['env!="dev"', 'q="x\\"y\\\\z"'], "group_by": ["..."]}]},
        {"matchers": ['severity=~"page|ticket"'], "receiver": "chat"},
        {"matchers": ['{job="node", instance=~".+"}'], "receiver": "quiet",
         "group_by": ["job", "missing"]},
        # A no-break space and an accent in a matcher value: Go's %q would escape the first,
        # Alertmanager's matcher string (OpenMetrics escaping) keeps both.
        {"matchers": ['site="é\u00a0x"'], "receiver": "chat", "group_by": ["site"]},
    ],
}
RECEIVERS = [("hook", True), ("pager", True), ("chat", True), ("quiet", False)]


def rfc3339(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def alert(labels, starts, annotations=None, generator="", ends=None):
    a = {"labels": labels, "annotations": annotations or {}, "startsAt": starts,
         "generatorURL": generator}
    if ends is not None:
        a["endsAt"] = ends
        a["resolved"] = True
    return a


class Capture(http.server.BaseHTTPRequestHandler):
    """Stores every webhook body as received (raw bytes) with its path."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.bodies.append((self.path.strip("/"), body.decode("utf-8")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class FingerprintTest(ProcTestCase):
    def setUp(self):
        super().setUp()
        self.replay = os.environ.get("NOTIFY_REPLAY", "")
        if not os.access(self.replay, os.X_OK):
            raise AssertionError("NOTIFY_REPLAY must name the vigil_notify_replay binary "
                                 "(run through ctest)")
        require_binary(ALERTMANAGER, "prometheus-alertmanager")
        self.hooks = http.server.ThreadingHTTPServer((HOST, 0), Capture)
        self.hooks.bodies, self.hooks.lock = [], threading.Lock()
        threading.Thread(target=self.hooks.serve_forever, daemon=True).start()
        self.addCleanup(self.hooks.server_close)
        self.addCleanup(self.hooks.shutdown)
        self.hook_url = f"http://{HOST}:{self.hooks.server_address[1]}"

    def captured(self):
        with self.hooks.lock:
            return list(self.hooks.bodies)

    def start_alertmanager(self):
        """Alertmanager with TREE, its receivers posting to the capture server; returns its URL."""
        receivers = [{"name": n, "webhook_configs": [{"url": f"{self.hook_url}/{n}",
                                                      "send_resolved": r}]}
                     for n, r in RECEIVERS]
        cfg = self.write("alertmanager.yml", json.dumps({"route": TREE, "receivers": receivers}))

        def cmd(port):
            return [ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={self.path('am')}",
                    f"--web.listen-address={HOST}:{port}", "--cluster.listen-address=",
                    f"--web.external-url={EXTERNAL_URL}/", "--log.level=warn"]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/-/ready")
            return r is not None and r.status == 200

        _, port = self.start_on_free_port("alertmanager", cmd, ready)
        return f"http://{HOST}:{port}"

    def vigil_replay(self, steps):
        receivers = [{"name": n, "webhook": {"url": f"{self.hook_url}/{n}", "send_resolved": r}}
                     for n, r in RECEIVERS]
        cfg = self.write("vigil.yaml", json.dumps({"alerting": {"receivers": receivers,
                                                                "route": TREE}}))
        steps_file = self.write("steps.json", json.dumps({"externalURL": EXTERNAL_URL,
                                                          "steps": steps}))
        r = run([self.replay, cfg, steps_file])
        self.assertEqual(r.returncode, 0, r.stderr)
        fingerprints, notifications = {}, []
        for line in r.stdout.splitlines():
            rec = json.loads(line)
            if "fingerprint" in rec:
                fingerprints[json.dumps(rec["labels"], sort_keys=True)] = rec["fingerprint"]
            else:
                notifications.append(rec)
        return fingerprints, notifications

    def post(self, am, alerts):
        body = []
        for a in alerts:
            b = {"labels": a["labels"], "annotations": a["annotations"],
                 "startsAt": rfc3339(a["startsAt"]), "generatorURL": a["generatorURL"]}
            if "endsAt" in a:
                b["endsAt"] = rfc3339(a["endsAt"])
            body.append(b)
        r = http_request(am + "/api/v2/alerts", "POST", body=body)
        self.assertEqual(r.status, 200, r.text)

    def wait_bodies(self, count, what):
        """Waits for `count` webhook bodies in all, then returns them once no more arrive."""
        self.wait(lambda: len(self.captured()) >= count, f"{count} webhooks ({what})")
        # Anything beyond what vigil decided is a difference too: give Alertmanager three of
        # its group intervals to send more.
        seen = self.captured()
        try:
            self.wait(lambda: len(self.captured()) > len(seen), "extra webhooks", timeout=3)
        except AssertionError:
            pass
        return self.captured()

    def assert_same(self, theirs, ours, step):
        want = sorted((n["receiver"], n["groupKey"], n["body"]) for n in ours
                      if n["step"] == step)
        got = sorted((path, json.loads(body)["groupKey"], body) for path, body in theirs)
        self.assertEqual([(r, k) for r, k, _ in got], [(r, k) for r, k, _ in want],
                         f"step {step}: which groups were notified")
        for (r, k, body), (_, _, mine) in zip(got, want):
            self.assertEqual(mine, body, f"step {step}: body for {r} {k}")

    def test_same_groups_bodies_and_fingerprints_as_alertmanager(self):
        am = self.start_alertmanager()
        # Whole seconds in the past, so that both sides flush the new groups at once.
        now = (int(datetime.datetime.now(datetime.timezone.utc).timestamp()) - 600) * 1000
        lost = alert({"alertname": "RedundancyLost", "pool": "devschool", "severity": "page",
                      "team": "a", "q": 'x"y\\z', "target": "web-02"}, now - 5 * MINUTE + 123,
                     {"summary": "web-02 left <rotation> & more", "description": "1 of 2"},
                     "http://vigil.example:9469/graph?g0.expr=vigil_pool_members_in_rotation")
        lost2 = alert({"alertname": "RedundancyLost", "pool": "devschool", "severity": "page",
                       "team": "b", "q": 'x"y\\z', "env": "prod", "target": "web-01"},
                      now - 4 * MINUTE + 50, {"summary": "web-01 alone"})
        ticket = alert({"alertname": "HighLatency", "severity": "ticket", "pool": "devschool",
                        "target": "web-01", "v": "line\nbreak é \t\u00a0 😀"},
                       now - 3 * MINUTE + 500, {"summary": "slow"})
        node1 = alert({"alertname": "MemoryExhaustion", "job": "node", "instance": "web-01"},
                      now - 2 * MINUTE)
        node2 = alert({"alertname": "OomKill", "job": "node", "instance": "web-02", "z": "1"},
                      now - 2 * MINUTE)
        plain = alert({"alertname": "TargetDown", "target": "web-03"}, now - MINUTE)
        site = alert({"alertname": "TargetDown", "site": "é\u00a0x"}, now - MINUTE)
        first = [lost, lost2, ticket, node1, node2, plain, site]

        # Then: one change per group (so that Alertmanager cannot split it over two flushes).
        lost_r = dict(lost, endsAt=now + MINUTE, resolved=True)
        node2_r = dict(node2, endsAt=now + MINUTE, resolved=True)
        plain_r = dict(plain, endsAt=now + MINUTE, resolved=True)
        second = [lost_r, lost2, ticket, node1, node2_r, plain_r, site]

        fps, ours = self.vigil_replay([{"now": now, "alerts": first},
                                       {"now": now + 2 * MINUTE, "alerts": second}])
        n1 = sum(1 for n in ours if n["step"] == 0)
        n2 = sum(1 for n in ours if n["step"] == 1)
        self.assertGreaterEqual(n1, 7)
        self.assertGreaterEqual(n2, 3)

        self.post(am, first)
        theirs = self.wait_bodies(n1, "first round")
        self.assert_same(theirs, ours, 0)

        listed = http_request(am + "/api/v2/alerts").json()
        self.assertEqual(len(listed), len(first))
        for a in listed:
            key = json.dumps(a["labels"], sort_keys=True)
            self.assertEqual(fps.get(key), a["fingerprint"], key)

        self.post(am, [lost_r, node2_r, plain_r])
        theirs = self.wait_bodies(n1 + n2, "second round")
        self.assert_same(theirs[n1:], ours, 1)

    def test_prometheus_alerts_have_vigils_labels_fingerprints_and_generator_urls(self):
        """A real Prometheus evaluates two rules and pushes their alerts to Alertmanager; vigil's
        conversion of the same rule alerts (fromRuleAlerts, generatorURL) gives the labels,
        fingerprints and generator URLs Alertmanager received."""
        require_binary(PROMETHEUS, "prometheus")
        am = self.start_alertmanager()
        external = {"env": "prod", "region": "eu west"}
        # Expressions written the way Prometheus prints them back (generator URLs carry the
        # printed form): an operator, a regex matcher, quotes and a space to escape.
        rules = [
            {"alert": "Always", "expr": "vector(1) > 0",
             "labels": {"severity": "ticket", "env": "staging"}},
            {"alert": "Absent", "expr": 'absent(nonexistent_metric{code=~"5..",job="a b"})',
             "labels": {"severity": "page", "pool": "devschool"}},
        ]
        rule_file = self.write("rules.yml", json.dumps(
            {"groups": [{"name": "g", "interval": "1s", "rules": rules}]}))
        am_addr = am.split("//", 1)[1]
        cfg = self.write("prometheus.yml", json.dumps({
            "global": {"evaluation_interval": "1s", "external_labels": external},
            "rule_files": [rule_file],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am_addr]}]}]},
        }))
        prom_url = "http://vigil.example:9090"

        def cmd(port):
            return [PROMETHEUS, f"--config.file={cfg}",
                    f"--storage.tsdb.path={self.path('prom-data')}",
                    f"--web.listen-address={HOST}:{port}", f"--web.external-url={prom_url}/",
                    # Alerts sent before Alertmanager is discovered are dropped; resend soon.
                    "--rules.alert.resend-delay=1s", "--log.level=warn"]

        def ready(p, port):
            r = try_get(f"http://{HOST}:{port}/-/ready")
            return r is not None and r.status == 200

        self.start_on_free_port("prometheus", cmd, ready)
        listed = self.wait(lambda: (lambda a: a if len(a) == len(rules) else None)(
            http_request(am + "/api/v2/alerts").json()), "both alerts in Alertmanager")
        by_name = {a["labels"]["alertname"]: a for a in listed}
        for rule in rules:
            theirs = by_name[rule["alert"]]
            labels = dict(rule["labels"], alertname=rule["alert"])
            if rule["alert"] == "Absent":
                labels["job"] = "a b"  # absent() takes the selector's equality matchers
            r = run([self.replay, "--rule-alert", prom_url + "/", rule["expr"], json.dumps(labels),
                     json.dumps(external)])
            self.assertEqual(r.returncode, 0, r.stderr)
            ours = json.loads(r.stdout)
            self.assertEqual(ours["labels"], theirs["labels"], rule["alert"])
            self.assertEqual(ours["fingerprint"], theirs["fingerprint"], rule["alert"])
            self.assertEqual(ours["generatorURL"], theirs["generatorURL"], rule["alert"])


if __name__ == "__main__":
    unittest.main()
