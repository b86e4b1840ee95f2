"""--shard N/M (SPEC §8): several agents with one config split the targets between them, each
target probed by exactly one; a pool's members stay with their pool; a bad value exits 2."""

import unittest

from harness import HOST, VigilTestCase, run, try_get


class ShardTest(VigilTestCase):
    def config(self, base):
        targets = "".join(f"  - name: t{i:02d}\n    http: [{{url: \"{base}/t{i}\"}}]\n"
                          for i in range(12))
        targets += "".join(f"  - name: m{i}\n    pool: shop\n    http: [{{url: \"{base}/m{i}\"}}]\n"
                           for i in range(3))
        return (f"global: {{interval: 1s, timeout: 800ms}}\n"
                f"pools:\n  - name: shop\n    min_in_rotation: 1\n"
                f"targets:\n{targets}")

    def probed(self, v):
        m = self.scrape(v)
        return {l["target"] for l, _ in m.find("probe_success", probe="http")}

    def test_two_shards_split_the_targets(self):
        fs, (base,) = self.start_faultserver()
        cfg = self.config(base)
        a = self.start_vigil(cfg, name="shard0", args=["--shard", "0/2"])
        b = self.start_vigil(cfg, name="shard1", args=["--shard", "1/2"])
        for v in (a, b):
            self.wait(lambda: (lambda r: r is not None and r.status == 200)(try_get(v.url + "/-/ready")),
                      f"{v.name} ready (every target of its shard probed once)")
        ta, tb = self.probed(a), self.probed(b)
        every = {f"t{i:02d}" for i in range(12)} | {f"m{i}" for i in range(3)}
        self.assertEqual(ta | tb, every)
        self.assertEqual(ta & tb, set(), "a target probed by both shards")
        self.assertTrue(ta and tb, "one shard got everything")
        members = {f"m{i}" for i in range(3)}
        self.assertTrue(members <= ta or members <= tb, "a pool's members were split")

    def test_bad_shard_exits_2(self):
        fs, (base,) = self.start_faultserver()
        cfg = self.write("v.yaml", self.config(base))
        for bad in ("2/2", "1", "a/b", "0/0", "-1/2"):
            with self.subTest(bad):
                r = run([self.vigil, "run", "--config", cfg, "--shard", bad,
                         "--web.listen-address", f"{HOST}:0"], timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("--shard", r.stderr)


if __name__ == "__main__":
    unittest.main()
