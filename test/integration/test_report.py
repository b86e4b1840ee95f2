"""`vigil report` (SPEC §1) on a state database holding a known event history.

The daemon does not record events yet, so the history is written through StateDb by the
test/support helper `vigil_state_fixture` (env VIGIL_STATE_FIXTURE), exactly as the daemon's
writer will; then the real binary reads it."""

import json
import os
import time
import unittest

from harness import VigilTestCase, run, vigil_config

# The Devschool incident as vigil would have recorded it (times UTC).
DEVSCHOOL = [
    {"at": "2023-03-03T01:00:00Z", "kind": "probe", "subject": "web-02",
     "from": "in_rotation", "to": "out_of_rotation", "detail": "haproxy: MAINT"},
    {"at": "2023-03-03T01:00:02Z", "kind": "alert", "subject": "RedundancyLost",
     "labels": {"alertname": "RedundancyLost", "pool": "web"}, "from": "inactive",
     "to": "pending", "detail": "pool web has 1 of 2 members in rotation"},
    {"at": "2023-03-03T01:00:32Z", "kind": "alert", "subject": "RedundancyLost",
     "labels": {"alertname": "RedundancyLost", "pool": "web"}, "from": "pending",
     "to": "firing", "detail": "pool web has 1 of 2 members in rotation"},
    {"at": "2023-03-03T01:00:33Z", "kind": "notification", "subject": "oncall",
     "to": "sent", "detail": "RedundancyLost"},
    {"at": "2023-03-03T10:28:00Z", "kind": "probe", "subject": "web-01", "from": "up",
     "to": "down", "detail": "status 500"},
    {"at": "2023-03-03T10:28:05Z", "kind": "alert", "subject": "Http5xxSpike",
     "labels": {"alertname": "Http5xxSpike", "instance": "web-01"}, "from": "inactive",
     "to": "firing", "detail": "web-01 answers 500 on every route"},
    {"at": "2023-03-03T19:50:00Z", "kind": "alert", "subject": "Http5xxSpike",
     "labels": {"alertname": "Http5xxSpike", "instance": "web-01"}, "from": "firing",
     "to": "resolved"},
    {"at": "2023-03-03T19:51:00Z", "kind": "alert", "subject": "RedundancyLost",
     "labels": {"alertname": "RedundancyLost", "pool": "web"}, "from": "firing",
     "to": "resolved"},
    # The day before: outside the window asked for below.
    {"at": "2023-03-02T12:00:00Z", "kind": "reload", "subject": "/etc/vigil/vigil.yaml",
     "to": "ok"},
]
WINDOW = ["--since", "2023-03-03T00:00:00Z", "--until", "2023-03-04T00:00:00Z"]


def fixture_bin():
    path = os.environ.get("VIGIL_STATE_FIXTURE", "")
    if not (path and os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError(f"VIGIL_STATE_FIXTURE={path!r} is not an executable: build the "
                             "vigil_state_fixture target (test/support) and run through ctest")
    return path


class ReportTest(VigilTestCase):
    def record(self, events, name="state"):
        """Writes `events` into <tmp>/<name>/vigil.db; returns the state dir."""
        state = self.path(name)
        text = "".join(json.dumps(e) + "\n" for e in events)
        r = run([fixture_bin(), state], input=text)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), str(len(events)))
        return state

    def report(self, *args):
        return run([self.vigil, "report", *args])

    def test_markdown_timeline(self):
        state = self.record(DEVSCHOOL)
        r = self.report("--state-dir", state, *WINDOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        md = r.stdout
        self.assertTrue(md.startswith('# Incident report: RedundancyLost{pool="web"}\n'), md)
        self.assertIn("8 events recorded", md)
        self.assertIn('| First alert | RedundancyLost{pool="web"} (pending at '
                      '2023-03-03T01:00:02Z) |', md)
        # web-02 leaving the rotation is the first failure; the page came 33 s later.
        self.assertIn("| First probe failure | web-02 (out_of_rotation at "
                      "2023-03-03T01:00:00Z) |", md)
        self.assertIn("| Time to detect | 33s |", md)
        self.assertIn("| Resolved | 2023-03-03T19:51:00Z |", md)
        self.assertIn("| Time to resolve | 18h51m |", md)
        self.assertIn("## Likely root cause", md)
        self.assertIn("> pool web has 1 of 2 members in rotation", md)
        rows = [l for l in md.splitlines() if l.startswith("| 2023-")]
        self.assertEqual(len(rows), 8, md)
        self.assertEqual(rows, sorted(rows))
        self.assertEqual(rows[0], "| 2023-03-03T01:00:00Z | probe | web-02 | in_rotation → "
                                  "out_of_rotation | haproxy: MAINT |")
        self.assertNotIn("2023-03-02", md)

    def test_json(self):
        state = self.record(DEVSCHOOL)
        r = self.report("--state-dir", state, *WINDOW, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["event_count"], 8)
        self.assertEqual([e["at"] for e in doc["events"]],
                         [e["at"] for e in DEVSCHOOL[:8]])
        self.assertEqual(doc["events"][1]["labels"], {"alertname": "RedundancyLost",
                                                      "pool": "web"})
        s = doc["summary"]
        self.assertEqual(s["likely_root_cause"]["alert"], 'RedundancyLost{pool="web"}')
        self.assertEqual(s["first_page"]["subject"], "oncall")
        self.assertEqual(s["time_to_detect_seconds"], 33.0)
        self.assertEqual(s["time_to_resolve_seconds"], 18 * 3600 + 51 * 60)
        self.assertEqual(s["still_firing"], [])

    def test_state_dir_from_config(self):
        state = self.record(DEVSCHOOL)
        cfg = self.write("vigil.yaml", vigil_config(
            [{"name": "a", "http": [{"url": "http://127.0.0.1:1/"}]}], state_dir=state))
        r = self.report("--config", cfg, *WINDOW, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["event_count"], 8)

    def test_default_window_is_the_last_24h(self):
        now_ms = int(time.time() * 1000)
        state = self.record([
            {"at": now_ms - 48 * 3600 * 1000, "kind": "probe", "subject": "old",
             "from": "up", "to": "down"},
            {"at": now_ms - 3600 * 1000, "kind": "probe", "subject": "recent",
             "from": "up", "to": "down"},
        ])
        r = self.report("--state-dir", state, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([e["subject"] for e in doc["events"]], ["recent"])
        r = self.report("--state-dir", state, "--since", "72h", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["subject"] for e in json.loads(r.stdout)["events"]],
                         ["old", "recent"])

    def test_empty_window(self):
        state = self.record(DEVSCHOOL)
        r = self.report("--state-dir", state, "--since", "2020-01-01T00:00:00Z",
                        "--until", "2020-01-02T00:00:00Z")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("No events were recorded", r.stdout)
        r = self.report("--state-dir", state, "--since", "2020-01-01T00:00:00Z",
                        "--until", "2020-01-02T00:00:00Z", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["events"], [])

    def test_bad_arguments_exit_2(self):
        state = self.record(DEVSCHOOL)
        for args in (["--since", "yesterday"], ["--until", "2023-02-30T00:00:00Z"],
                     ["--since", "1h", "--until", "2h"], ["--format", "html"]):
            with self.subTest(args=args):
                r = self.report("--state-dir", state, *args)
                self.assertEqual(r.returncode, 2, f"stdout={r.stdout!r} stderr={r.stderr!r}")
                self.assertTrue(r.stderr.startswith("vigil: "), r.stderr)
                self.assertEqual(r.stdout, "")

    def test_missing_database_is_an_error_and_nothing_is_created(self):
        state = self.path("nothing-here")
        r = self.report("--state-dir", state)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(r.stderr.startswith("vigil: "), r.stderr)
        self.assertIn(state, r.stderr)
        self.assertFalse(os.path.exists(state))

    def test_corrupt_database_is_named_and_left_alone(self):
        state = self.path("corrupt")
        os.makedirs(state)
        db = os.path.join(state, "vigil.db")
        junk = bytes((i * 37 + 11) % 256 for i in range(8192))
        with open(db, "wb") as f:
            f.write(junk)
        r = self.report("--state-dir", state)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"vigil: {db}: ", r.stderr)
        self.assertIn("not an SQLite database", r.stderr)
        with open(db, "rb") as f:
            self.assertEqual(f.read(), junk)


if __name__ == "__main__":
    unittest.main()
