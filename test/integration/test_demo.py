"""`vigil demo` (SPEC §1): the incident replayed on simulated servers in under a minute; every
page it promises arrives through the real agent and its webhook, and it exits 0."""

import re
import unittest

from harness import VigilTestCase, run


class DemoTest(VigilTestCase):
    def test_demo_pages_and_resolves(self):
        r = run([self.vigil, "demo"], timeout=120)
        self.assertEqual(r.returncode, 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        pages = re.findall(r"PAGE\s+(FIRING|RESOLVED)\s+(\w+)", r.stdout)
        for want in [("FIRING", "RedundancyLost"), ("FIRING", "MemoryExhaustion"),
                     ("FIRING", "Http5xxSpike"), ("RESOLVED", "RedundancyLost"),
                     ("RESOLVED", "MemoryExhaustion")]:
            self.assertIn(want, pages, r.stdout)
        # Redundancy was lost before any user saw an error, and vigil said so first.
        order = [name for status, name in pages if status == "FIRING"]
        self.assertLess(order.index("RedundancyLost"), order.index("Http5xxSpike"), r.stdout)
        self.assertIn("Timeline", r.stdout)


if __name__ == "__main__":
    unittest.main()
