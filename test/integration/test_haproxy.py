"""Pools against Debian's real HAProxy (`pools[].load_balancer`, SPEC §2/§3): a round-robin
backend of two fault-injecting servers on 127.0.0.11 and 127.0.0.12 with health checks, a stats
listener (CSV via ";csv") and an admin socket. The test drives HAProxy through its runtime API and
real traffic, and checks that vigil's pool series say what HAProxy says: rotation and lb_state,
per-server sessions and response classes equal to HAProxy's own counters, unknown servers and
absent members reported, RedundancyLost firing from the default rule pack, a failed stats fetch
reported as probe_success{probe="lb"} 0 without zeroing the pool's series."""

import os
import signal
import sys
import time
import unittest

from harness import HOST, HaproxyPeers, VigilTestCase, http_get, http_request, require_binary, \
    run, try_get, vigil_config

PROMTOOL = "/usr/bin/promtool"
DEFAULT_RULES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "etc",
                                             "rules", "vigil-default.yaml"))
BACKEND = "devschool-web"
POOL = "devschool"
# HAProxy's health checks ask this path; users (the test's requests) ask APP, so a server can
# fail its users while passing its checks, as the Devschool web-01 did.
HEALTH = "/health"
APP = "/app"
# Bounded traffic: a fixed number of requests per step, each with a timeout.
REQUESTS = 40


class HaproxyTest(HaproxyPeers, VigilTestCase):
    # ------------------------------------------------------------------------ peers

    def haproxy_servers(self):
        """HAProxy's own view through `show stat`: {server: {column: value}} of the backend."""
        text = self.admin("show stat")
        lines = [l for l in text.splitlines() if l.strip()]
        header = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == BACKEND and row.get("svname") not in ("FRONTEND", "BACKEND"):
                out[row["svname"]] = row
        return out

    def wait_haproxy(self, cond, what):
        return self.wait(lambda: cond(self.haproxy_servers()), f"HAProxy: {what}")

    def send(self, url, n=REQUESTS):
        """n requests through the frontend, one connection each; returns their statuses."""
        statuses = []
        for _ in range(n):
            statuses.append(http_request(url, timeout=5,
                                         headers={"Connection": "close"}).status)
        return statuses

    # ------------------------------------------------------------------------ vigil

    def pool_config(self, stats_url, members, frontend=None, min_in_rotation=2, rules=False,
                    extra_pools=""):
        """vigil config: `members` [{"name", "url", optional "haproxy_server"/"labels"}]."""
        targets = []
        for m in members:
            t = {"name": m["name"], "pool": POOL, "http": [{"url": m["url"]}]}
            for k in ("haproxy_server", "labels"):
                if k in m:
                    t[k] = m[k]
            targets.append(t)
        pool = [f"  - name: {POOL}", f"    min_in_rotation: {min_in_rotation}"]
        if frontend:
            pool.append(f"    frontend: {frontend}")
        pool += ["    load_balancer:", f'      haproxy_stats: "{stats_url}"',
                 f"      backend: {BACKEND}"]
        extra = "pools:\n" + "\n".join(pool) + "\n" + extra_pools
        if rules:
            extra += f"rule_files: [{DEFAULT_RULES}]\n"
        return vigil_config(targets, state_dir=self.path("vigil-state"), extra=extra)

    def setup_pool(self, rules=False, frontend=False, members=None):
        web1 = self.start_web("web-01", "127.0.0.11")
        web2 = self.start_web("web-02", "127.0.0.12")
        stats, fe = self.start_haproxy([("web-01", web1), ("web-02", web2)])
        self.wait_haproxy(lambda s: all(s[n]["status"] == "UP" for n in ("web-01", "web-02")),
                          "both servers UP")
        if members is None:
            members = [{"name": "web-01", "url": web1 + "/", "labels": {"role": "primary"}},
                       {"name": "web-02", "url": web2 + "/"}]
        v = self.start_vigil(self.pool_config(stats, members, frontend=fe if frontend else None,
                                              rules=rules))
        return v, web1, web2, stats, fe

    def member(self, m, target):
        """(lb_state, value) of vigil_pool_member_in_rotation for target; exactly one series."""
        found = m.find("vigil_pool_member_in_rotation", pool=POOL, target=target)
        self.assertEqual(len(found), 1, found)
        return found[0][0]["lb_state"], found[0][1]

    def alerts(self, v, name):
        body = http_get(v.url + "/api/v1/alerts").json()
        return [a for a in body["data"]["alerts"] if a["labels"].get("alertname") == name]

    # ------------------------------------------------------------------------ tests

    def test_rotation_follows_the_runtime_api_and_pages_redundancy_lost(self):
        v, _, _, _, _ = self.setup_pool(rules=True)
        m = self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": POOL},
                             lambda x: x == 2)
        self.assertEqual(m.get("vigil_pool_members", pool=POOL), 2)
        self.assertEqual(m.get("vigil_pool_min_in_rotation", pool=POOL), 2)
        self.assertEqual(self.member(m, "web-01"), ("UP", 1))
        self.assertEqual(self.member(m, "web-02"), ("UP", 1))
        # the target's labels are on its per-member series
        self.assertEqual(m.get("vigil_pool_member_in_rotation", target="web-01", role="primary"),
                         1)
        # the LB probe's own series: pool, no target
        lb = m.find("probe_success", probe="lb")
        self.assertEqual(lb, [({"probe": "lb", "pool": POOL}, 1.0)])
        self.assertEqual(m.get("vigil_pool_unknown_servers", pool=POOL), 0)
        self.assertEqual(self.alerts(v, "RedundancyLost"), [])

        # Someone leaves web-02 in maintenance after a test: the Devschool incident.
        t0 = time.monotonic()
        self.admin(f"set server {BACKEND}/web-02 state maint")
        m = self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": POOL},
                             lambda x: x == 1)
        self.assertEqual(self.member(m, "web-02"), ("MAINT", 0))
        self.assertEqual(self.member(m, "web-01"), ("UP", 1))
        firing = self.wait(lambda: [a for a in self.alerts(v, "RedundancyLost")
                                    if a["state"] == "firing"], "RedundancyLost firing")
        # A figure, not an assertion (1 s probe and evaluation intervals; polled every 0.1 s).
        sys.stderr.write(f"\n[figure] RedundancyLost firing on /api/v1/alerts "
                         f"{time.monotonic() - t0:.2f} s after `set server ... state maint`\n")
        self.assertEqual(firing[0]["labels"]["pool"], POOL)
        self.assertEqual(firing[0]["labels"]["severity"], "page")
        self.assertEqual(firing[0]["annotations"]["summary"],
                         f"Pool {POOL}: only 1 member(s) in rotation")

        # Drained is out of rotation too, with its own state word.
        self.admin(f"set server {BACKEND}/web-02 state drain")
        m = self.wait_metric(v, "vigil_pool_member_in_rotation",
                             {"pool": POOL, "target": "web-02", "lb_state": "DRAIN"},
                             lambda x: x == 0)
        self.assertEqual(m.get("vigil_pool_members_in_rotation", pool=POOL), 1)

        # Back in rotation: the page resolves.
        self.admin(f"set server {BACKEND}/web-02 state ready")
        m = self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": POOL},
                             lambda x: x == 2)
        self.assertEqual(self.member(m, "web-02"), ("UP", 1))
        self.wait(lambda: self.alerts(v, "RedundancyLost") == [], "RedundancyLost resolved")

    def test_a_failing_health_check_is_down(self):
        v, _, web2, _, _ = self.setup_pool()
        self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": POOL}, lambda x: x == 2)
        # web-02's health check path fails: HAProxy marks it DOWN after `fall 2`.
        self.fault_control(web2, {"paths": {HEALTH: {"status": 503}}})
        m = self.wait_metric(v, "vigil_pool_member_in_rotation",
                             {"pool": POOL, "target": "web-02", "lb_state": "DOWN"},
                             lambda x: x == 0)
        self.assertEqual(m.get("vigil_pool_members_in_rotation", pool=POOL), 1)

    def test_traffic_counters_equal_haproxys_own(self):
        v, web1, _, _, fe = self.setup_pool(rules=True)
        self.wait_metric(v, "probe_success", {"probe": "lb", "pool": POOL}, lambda x: x == 1)
        statuses = self.send(fe + APP.lstrip("/"))
        self.assertEqual(statuses, [200] * REQUESTS)

        def agree(code_cols=("1xx", "2xx", "3xx", "4xx", "5xx")):
            theirs = self.haproxy_servers()
            m = self.scrape(v)
            for server in ("web-01", "web-02"):
                if m.get("vigil_lb_sessions_total", pool=POOL, target=server) != \
                        float(theirs[server]["stot"]):
                    return None
                for c in code_cols:
                    if m.get("vigil_lb_http_responses_total", pool=POOL, target=server,
                             code=c) != float(theirs[server][f"hrsp_{c}"] or 0):
                        return None
            return m, theirs

        m, theirs = self.wait(agree, "vigil's LB counters equal HAProxy's `show stat`")
        # every request is counted once, split by round robin
        self.assertEqual(m.sum("vigil_lb_http_responses_total", pool=POOL, code="2xx"), REQUESTS)
        self.assertEqual(m.sum("vigil_lb_sessions_total", pool=POOL), REQUESTS)
        for server in ("web-01", "web-02"):
            self.assertGreater(m.get("vigil_lb_sessions_total", pool=POOL, target=server), 0)
        self.assertEqual(m.sum("vigil_lb_http_responses_total", pool=POOL, code="5xx"), 0)

        # web-01 starts failing every request (its health check path still answers 200,
        # as the Devschool web-01 did): its 5xx grow, web-02's do not.
        self.fault_control(web1, {"paths": {APP: {"status": 500}}})
        statuses = self.send(fe + APP.lstrip("/"))
        self.assertIn(500, statuses)
        m, theirs = self.wait(agree, "vigil's LB counters equal HAProxy's after 500s")
        fives = m.get("vigil_lb_http_responses_total", pool=POOL, target="web-01", code="5xx")
        self.assertEqual(fives, statuses.count(500))
        self.assertEqual(m.get("vigil_lb_http_responses_total", pool=POOL, target="web-02",
                               code="5xx"), 0)
        # real users getting 500s from web-01 page Http5xxSpike (source lb) for web-01 only
        spikes = self.wait(lambda: [a for a in self.alerts(v, "Http5xxSpike")
                                    if a["labels"].get("source") == "lb" and
                                    a["state"] == "firing"], "Http5xxSpike (lb) firing")
        self.assertEqual([(a["labels"]["target"], a["labels"]["pool"]) for a in spikes],
                         [("web-01", POOL)])
        types = {l.split()[2]: l.split()[3] for l in m.text.splitlines()
                 if l.startswith("# TYPE ")}
        self.assertEqual(types.get("vigil_lb_http_responses_total"), "counter")
        self.assertEqual(types.get("vigil_lb_sessions_total"), "counter")
        # the pool series pass Prometheus' own lint
        require_binary(PROMTOOL, "prometheus")
        r = run([PROMTOOL, "check", "metrics"], input=m.text, timeout=60)
        lines = [l for l in (r.stdout + r.stderr).splitlines()
                 if l.strip() and "node_memory_" not in l]
        self.assertEqual(lines, [], r.stdout + r.stderr)

    def test_unknown_server_and_absent_member_are_reported(self):
        web1 = self.start_web("web-01", "127.0.0.11")
        web2 = self.start_web("web-02", "127.0.0.12")
        stats, _ = self.start_haproxy([("web-01", web1), ("web-02", web2)])
        # web-01 is configured under another name and mapped with haproxy_server:; web-02 is
        # in the backend but not in the config; web-03 is configured but not in the backend.
        members = [{"name": "app-1", "url": web1 + "/", "haproxy_server": "web-01"},
                   {"name": "web-03", "url": web1 + "/"}]
        v = self.start_vigil(self.pool_config(stats, members))
        m = self.wait_metric(v, "vigil_pool_unknown_servers", {"pool": POOL}, lambda x: x == 1)
        self.assertEqual(self.member(m, "app-1"), ("UP", 1))
        self.assertEqual(self.member(m, "web-03"), ("absent", 0))
        self.assertEqual(m.get("vigil_pool_unknown_server_in_rotation", pool=POOL,
                               server="web-02", lb_state="UP"), 1)
        self.assertEqual(m.get("vigil_pool_members", pool=POOL), 2)
        self.assertEqual(m.get("vigil_pool_members_in_rotation", pool=POOL), 1)
        # counters only for members the backend has
        self.assertIsNotNone(m.get("vigil_lb_sessions_total", pool=POOL, target="app-1"))
        self.assertIsNone(m.get("vigil_lb_sessions_total", pool=POOL, target="web-03"))

        def logged():
            log = v.log()
            return ("no target of the pool maps to" in log and "web-02" in log and
                    "does not have" in log and "web-03" in log) and log
        log = self.wait(logged, "the mismatch logged")
        # once per change, not once per probe: several probes have run by now
        self.wait_metric(v, "vigil_probes_total", {"probe": "lb", "result": "success"},
                         lambda x: x >= 4)
        log = v.log()
        self.assertEqual(log.count("no target of the pool maps to"), 1, log)
        self.assertEqual(log.count("does not have"), 1, log)

    def test_stats_endpoint_down_fails_the_lb_probe_without_zeroing(self):
        v, _, _, _, _ = self.setup_pool()
        self.admin(f"set server {BACKEND}/web-02 state maint")
        self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": POOL}, lambda x: x == 1)
        self.haproxy.stop()
        m = self.wait_metric(v, "probe_success", {"probe": "lb", "pool": POOL}, lambda x: x == 0)
        self.assertGreaterEqual(m.get("vigil_probes_total", probe="lb", result="refused"), 1)
        # the last view is kept (not zeros): RedundancyLost does not resolve on a blip
        self.assertEqual(m.get("vigil_pool_members_in_rotation", pool=POOL), 1)
        self.assertEqual(self.member(m, "web-02"), ("MAINT", 0))
        self.assertIn("cannot read the load balancer's stats", v.log())

    def test_reload_updates_the_pool_and_removes_a_pool_gone(self):
        web1 = self.start_web("web-01", "127.0.0.11")
        web2 = self.start_web("web-02", "127.0.0.12")
        stats, _ = self.start_haproxy([("web-01", web1), ("web-02", web2)])
        members = [{"name": "web-01", "url": web1 + "/"}, {"name": "web-02", "url": web2 + "/"}]
        v = self.start_vigil(self.pool_config(stats, members))
        self.wait_metric(v, "vigil_pool_members_in_rotation", {"pool": POOL}, lambda x: x == 2)
        # min_in_rotation 2 -> 1, web-02 leaves the config (so the backend has an unknown server)
        self.write("vigil.yaml", self.pool_config(stats, members[:1], min_in_rotation=1))
        v.signal(signal.SIGHUP)
        m = self.wait_metric(v, "vigil_pool_unknown_servers", {"pool": POOL}, lambda x: x == 1)
        self.assertEqual(m.get("vigil_pool_min_in_rotation", pool=POOL), 1)
        self.assertEqual(m.get("vigil_pool_members", pool=POOL), 1)
        self.assertEqual(m.find("vigil_pool_member_in_rotation", target="web-02"), [])
        self.assertEqual(m.find("vigil_lb_sessions_total", target="web-02"), [])
        # the pool removed: every pool series goes
        self.write("vigil.yaml", vigil_config([{"name": "web-01", "http": [{"url": web1 + "/"}]}],
                                              state_dir=self.path("vigil-state")))
        v.signal(signal.SIGHUP)
        m = self.wait(lambda: (lambda m: m if not m.find("vigil_pool_members") else None)(
            self.scrape(v)), "pool series removed")
        for name in m.names():
            self.assertEqual(m.find(name, pool=POOL), [], name)
        self.assertTrue(v.alive())

    def test_frontend_is_probed_like_an_http_check(self):
        v, _, _, _, fe = self.setup_pool(frontend=True)
        m = self.wait_metric(v, "probe_success",
                             {"probe": "http", "target": f"{POOL}/frontend", "pool": POOL},
                             lambda x: x == 1)
        self.assertEqual(m.get("probe_http_status_code", target=f"{POOL}/frontend"), 200)
        self.assertGreaterEqual(m.get("vigil_http_responses_total", target=f"{POOL}/frontend",
                                      url=fe, code="200"), 1)
        # its probes are real traffic through HAProxy
        self.wait(lambda: sum(int(s["stot"] or 0) for s in self.haproxy_servers().values()) > 0,
                  "frontend probes counted by HAProxy")
        targets = http_get(v.url + "/api/v1/targets").json()["data"]["activeTargets"]
        probes = {(t["labels"].get("target"), t["probe"]) for t in targets}
        self.assertIn((f"{POOL}/frontend", "http"), probes)
        self.assertIn((None, "lb"), probes)

    def test_vigil_probe_prints_the_pools_lb_view(self):
        web1 = self.start_web("web-01", "127.0.0.11")
        web2 = self.start_web("web-02", "127.0.0.12")
        stats, _ = self.start_haproxy([("web-01", web1), ("web-02", web2)])
        self.admin(f"set server {BACKEND}/web-02 state maint")
        path = self.write("c.yaml", self.pool_config(
            stats, [{"name": "web-01", "url": web1 + "/"}, {"name": "web-02", "url": web2 + "/"}]))
        r = run([self.vigil, "probe", "--config", path, "--target", POOL], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("in rotation 1 member(s)", r.stdout)
        self.assertRegex(r.stdout, r"web-02\s+MAINT\s+OUT of rotation")
        self.assertRegex(r.stdout, r"web-01\s+UP\s+in rotation")


if __name__ == "__main__":
    unittest.main()
