"""vigil's memory probe over SSH (`memory: {ssh: {...}}`) against Debian's real OpenSSH sshd,
started by each test on a free loopback port with its own host key, authorized_keys and
sshd_config in the test's temp dir, stopped by PID.

What must hold: the figures are this machine's /proc/meminfo (sshd runs here); the session is
persistent (one authentication, many probes); a changed or unknown host key and a refused user
key fail the probe with their reason and export no figures; a server that went away and came
back is used again; a server that accepts TCP and never speaks times out while the HTTP probes
of another target keep their schedule."""

import getpass
import os
import signal
import socket
import unittest

from harness import HOST, VigilTestCase, free_port, require_binary, run, vigil_config

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SSH_AGENT = "/usr/bin/ssh-agent"
SSH_ADD = "/usr/bin/ssh-add"
MEMORY_SERIES = ("node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
                 "node_memory_SwapTotal_bytes", "node_memory_SwapFree_bytes")


def proc_fields(path):
    """{name: int} of /proc/meminfo (in bytes, as vigil reports them) or /proc/vmstat."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.replace(":", " ").split()
            if len(parts) >= 2:
                out[parts[0]] = int(parts[1]) * (1024 if parts[-1] == "kB" else 1)
    return out


def descendants(pid):
    """PIDs of every process below `pid` (from /proc), deepest last."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class SshTest(VigilTestCase):
    def setUp(self):
        super().setUp()
        require_binary(SSHD, "openssh-server")
        require_binary(SSH_KEYGEN, "openssh-client")
        self.user = getpass.getuser()
        self.host_key = self.keygen("host_ed25519")
        self.user_key = self.keygen("id_ed25519")
        with open(self.user_key + ".pub") as f:
            self.write("authorized_keys", f.read())
        self.sshd_port = None

    def keygen(self, name, kind="ed25519"):
        path = self.path(name)
        r = run([SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", f"vigil-test-{name}", "-f", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        return path

    def sshd_config(self, port):
        return self.write(f"sshd_config_{port}", "\n".join([
            f"Port {port}",
            f"ListenAddress {HOST}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.path('authorized_keys')}",
            f"AllowUsers {self.user}",
            "PidFile none",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",  # the temp dir's modes are not sshd's business here
            "LogLevel VERBOSE",
            # The login shell sources ~/.bashrc even for `ssh host command` (Debian's bash does
            # when started by sshd); a developer's heavy one (pyenv, ...) would make every
            # command take 0.5 s. The test's own empty HOME keeps the figures about vigil.
            f"SetEnv HOME={self.tmp}",
        ]) + "\n")

    def start_sshd(self, port=None):
        """sshd in the foreground (-D), logging to stderr (-e); returns (Proc, port)."""
        # privilege separation needs its empty directory, normally made by systemd's unit
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)

        def cmd(p):
            return [SSHD, "-D", "-e", "-f", self.sshd_config(p)]

        def ready(proc, p):
            if "Server listening on" not in proc.log():
                return False
            with socket.create_connection((HOST, p), timeout=2) as s:
                return s.recv(64).startswith(b"SSH-2.0-")

        if port is None:
            proc, port = self.start_on_free_port("sshd", cmd, ready)
        else:
            proc = self.start(f"sshd-{len(self.procs)}", cmd(port))
            self.wait(lambda: proc.alive() and ready(proc, port), f"sshd again on {port}")
        self.sshd_port = port
        return proc, port

    def kill_sshd(self, proc):
        """The listener and every connection's process (they would keep old sessions alive)."""
        for pid in [proc.pid] + descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)

    def known_hosts(self, name, key_pub, port, hashed=False):
        with open(key_pub) as f:
            kind, blob = f.read().split()[:2]
        path = self.write(name, f"[{HOST}]:{port} {kind} {blob}\n")
        if hashed:
            r = run([SSH_KEYGEN, "-H", "-f", path])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path) as f:
                self.assertTrue(f.read().startswith("|1|"), "ssh-keygen -H did not hash")
        return path

    def ssh_target(self, name, port, known_hosts, identity=None, **extra):
        ssh = {"host": HOST, "port": port, "user": self.user, "known_hosts": known_hosts}
        if identity != "":
            ssh["identity_file"] = identity or self.user_key
        return dict({"name": name, "memory": {"ssh": ssh}}, **extra)

    def accepted_logins(self, proc):
        return proc.log().count("Accepted publickey for")

    def assert_no_figures(self, m, target):
        for name in MEMORY_SERIES:
            self.assertEqual(m.find(name, target=target), [], f"{name} exported for {target}")

    # ------------------------------------------------------------------------ tests

    def test_figures_match_proc_meminfo_on_one_persistent_session(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port, hashed=True)
        v = self.start_vigil_targets([self.ssh_target("box", port, kh, labels={"role": "db"})])
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "success"},
                             lambda x: x >= 4, what="four successful SSH memory probes")
        self.assertEqual(m.get("probe_success", probe="memory", target="box"), 1)
        meminfo = proc_fields("/proc/meminfo")
        # sshd runs on this machine, so the remote /proc is ours: totals are exact
        self.assertEqual(m.get("node_memory_MemTotal_bytes", target="box", role="db"),
                         meminfo["MemTotal"])
        self.assertEqual(m.get("node_memory_SwapTotal_bytes", target="box"), meminfo["SwapTotal"])
        for name, field in (("node_memory_MemAvailable_bytes", "MemAvailable"),
                            ("node_memory_MemFree_bytes", "MemFree")):
            got = m.get(name, target="box")
            self.assertIsNotNone(got, name)
            self.assertAlmostEqual(got, meminfo[field], delta=0.1 * meminfo["MemTotal"], msg=name)
        vmstat = proc_fields("/proc/vmstat")
        if "oom_kill" in vmstat:
            self.assertLessEqual(m.get("node_vmstat_oom_kill", target="box"), vmstat["oom_kill"])
        # four probes, one authentication: the session is reused, a channel per probe
        self.assertEqual(self.accepted_logins(sshd), 1, sshd.log())

    def test_changed_host_key_fails_and_exports_nothing(self):
        sshd, port = self.start_sshd()
        other = self.keygen("other_host_key")
        kh = self.known_hosts("known_hosts", other + ".pub", port)
        v = self.start_vigil_targets([self.ssh_target("box", port, kh)])
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "host_key"},
                             lambda x: x >= 2)
        self.assertEqual(m.get("probe_success", probe="memory", target="box"), 0)
        self.assert_no_figures(m, "box")
        self.assertIsNone(m.get("vigil_probes_total", probe="memory", result="success"))
        self.assertIn("CHANGED", v.log())
        # the key was never accepted: vigil did not even try to log in
        self.assertEqual(self.accepted_logins(sshd), 0)
        with open(self.host_key + ".pub") as f:
            server_key = f.read().split()[1]
        with open(kh) as f:
            self.assertNotIn(server_key, f.read(), "vigil wrote the server's key into known_hosts")

    def test_unknown_host_fails(self):
        sshd, port = self.start_sshd()
        # an entry for another port of the same address: a different host to ssh
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", free_port())
        v = self.start_vigil_targets([self.ssh_target("box", port, kh)])
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "host_key"},
                             lambda x: x >= 1)
        self.assertEqual(m.get("probe_success", probe="memory", target="box"), 0)
        self.assert_no_figures(m, "box")
        self.assertIn("UNKNOWN", v.log())
        self.assertEqual(self.accepted_logins(sshd), 0)

    def test_wrong_user_key_fails_with_auth(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port)
        stranger = self.keygen("stranger_key")
        v = self.start_vigil_targets([self.ssh_target("box", port, kh, identity=stranger)])
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "auth"},
                             lambda x: x >= 1)
        self.assertEqual(m.get("probe_success", probe="memory", target="box"), 0)
        self.assert_no_figures(m, "box")
        self.assertIn(f"refused the key in {stranger}", v.log())
        with open(stranger) as f:
            secret = f.read().split("\n")[1]  # a line of the private key's base64
        self.assertNotIn(secret, v.log())

    def test_group_readable_key_is_refused_by_name(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port)
        os.chmod(self.user_key, 0o644)
        path = self.write("c.yaml", vigil_config([self.ssh_target("box", port, kh)],
                                                 state_dir=self.path("st")))
        r = run([self.vigil, "probe", "--config", path, "--target", "box"], timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"FAILED: auth: identity_file {self.user_key}: permissions 0644 are too open",
                      r.stdout)
        self.assertEqual(self.accepted_logins(sshd), 0)

    def test_ssh_agent_when_no_identity_file(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port)
        path = self.write("c.yaml", vigil_config([self.ssh_target("box", port, kh, identity="")],
                                                 state_dir=self.path("st"), timeout="5s",
                                                 interval="10s"))
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        r = run([self.vigil, "probe", "--config", path, "--target", "box"], timeout=30, env=env)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("FAILED: auth: no identity_file configured and no ssh-agent", r.stdout)

        require_binary(SSH_AGENT, "openssh-client")
        sock = self.path("agent.sock")
        self.start("ssh-agent", [SSH_AGENT, "-D", "-a", sock])
        self.wait(lambda: os.path.exists(sock), "ssh-agent socket")
        env["SSH_AUTH_SOCK"] = sock
        added = run([SSH_ADD, self.user_key], env=env)
        self.assertEqual(added.returncode, 0, added.stderr)
        r = run([self.vigil, "probe", "--config", path, "--target", "box"], timeout=30, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("MemTotal", r.stdout)
        self.assertEqual(self.accepted_logins(sshd), 1)

    def test_vigil_probe_prints_figures_fingerprint_and_round_trip(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port)
        path = self.write("c.yaml", vigil_config([self.ssh_target("box", port, kh)],
                                                 state_dir=self.path("st"), timeout="5s",
                                                 interval="10s"))
        r = run([self.vigil, "probe", "--config", path, "--target", "box"], timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        fp = run([SSH_KEYGEN, "-l", "-E", "sha256", "-f", self.host_key + ".pub"])
        fingerprint = fp.stdout.split()[1]
        self.assertTrue(fingerprint.startswith("SHA256:"), fp.stdout)
        self.assertIn(f"host key   ssh-ed25519 {fingerprint}", r.stdout)
        self.assertIn("round trip", r.stdout)
        self.assertIn("MemTotal", r.stdout)
        self.assertIn("result     success", r.stdout)

    def test_recovers_after_sshd_restart(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port)
        v = self.start_vigil_targets([self.ssh_target("box", port, kh)])
        self.wait_metric(v, "probe_success", {"probe": "memory", "target": "box"},
                         lambda x: x == 1)
        self.kill_sshd(sshd)
        m = self.wait_metric(v, "probe_success", {"probe": "memory", "target": "box"},
                             lambda x: x == 0, what="the probe failing while sshd is down")
        failures = sum(val for lbl, val in m.find("vigil_probes_total", probe="memory")
                       if lbl["result"] != "success")
        self.assertGreaterEqual(failures, 1)
        before = m.get("vigil_probes_total", probe="memory", result="success")
        sshd2, _ = self.start_sshd(port)
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "success"},
                             lambda x: x >= before + 2, timeout=60,
                             what="successful probes after sshd came back")
        self.assertEqual(m.get("probe_success", probe="memory", target="box"), 1)
        self.assertIsNotNone(m.get("node_memory_MemTotal_bytes", target="box"))
        self.assertEqual(self.accepted_logins(sshd2), 1, sshd2.log())
        self.assertIn("ssh session re-established", v.log())

    def test_stalled_session_times_out_and_is_replaced(self):
        sshd, port = self.start_sshd()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", port)
        v = self.start_vigil_targets([self.ssh_target("box", port, kh)])
        self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "success"},
                         lambda x: x >= 1)
        # Freeze the established session's sshd processes: the TCP connection stays up, the
        # server stops answering in the middle of a session (channel open, exec or read).
        stopped = descendants(sshd.pid)
        self.assertTrue(stopped, "no sshd session process to stop")

        def resume():
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

        self.addCleanup(resume)
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "timeout"},
                             lambda x: x >= 1)
        self.assertRegex(v.log(), r"timed out in phase (channel open|exec|read|exit status)")
        before = m.get("vigil_probes_total", probe="memory", result="success")
        # the listener still answers: the next probe connects a new session and succeeds
        self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "success"},
                         lambda x: x >= before + 2, what="success on a new session")
        self.assertEqual(self.accepted_logins(sshd), 2, sshd.log())

    def test_dns_that_never_answers_times_out_at_the_probe_deadline(self):
        # In a user, network and mount namespace of the test's own (loopback only), resolv.conf
        # names a DNS server on 127.0.0.1 that takes queries and never answers. A lookup would
        # block for resolv.conf's 30 s; the probe must give up at its own 1 s timeout, naming
        # the phase.
        unshare = require_binary("/usr/bin/unshare", "util-linux")
        ip = require_binary("/usr/sbin/ip", "iproute2")
        kh = self.write("known_hosts", "")
        resolv = self.write("resolv.conf", "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
        target = {"name": "box", "memory": {"ssh": {
            "host": "web.vigil-hang.test", "port": 22, "user": self.user,
            "known_hosts": kh, "identity_file": self.user_key}}}
        cfg = self.write("c.yaml", vigil_config([target], state_dir=self.path("st"),
                                                interval="2s", timeout="1s"))
        sink = ("import socket, time\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "s.bind(('127.0.0.1', 53))\n"
                "time.sleep(60)\n")
        script = (f"set -e\nmount --bind {resolv} /etc/resolv.conf\n{ip} link set lo up\n"
                  f"python3 -c \"{sink}\" & dns=$!\nsleep 0.5\nset +e\n"
                  f"{self.vigil} probe --config {cfg} --target box; rc=$?\n"
                  f"kill $dns\nexit $rc\n")
        r = run([unshare, "--user", "--map-root-user", "--net", "--mount", "sh", "-c", script],
                timeout=90)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("timed out in phase resolve of web.vigil-hang.test", r.stdout, r.stderr)

    def test_silent_host_times_out_while_http_keeps_its_schedule(self):
        # accepts TCP (the kernel completes the handshake into the backlog), never speaks
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(silent.close)
        silent.bind((HOST, 0))
        silent.listen(64)
        silent_port = silent.getsockname()[1]
        _, urls = self.start_faultserver()
        kh = self.known_hosts("known_hosts", self.host_key + ".pub", silent_port)
        v = self.start_vigil_targets(
            [self.ssh_target("silent", silent_port, kh),
             {"name": "web", "http": [{"url": urls[0] + "/"}]}],
            interval="500ms", timeout="400ms")
        count = ("vigil_http_request_duration_seconds_count", {"target": "web"})
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "timeout"},
                             lambda x: x >= 1)
        http_before = m.get(count[0], **count[1]) or 0
        m = self.wait_metric(v, "vigil_probes_total", {"probe": "memory", "result": "timeout"},
                             lambda x: x >= 5)
        timeouts = m.get("vigil_probes_total", probe="memory", result="timeout")
        http_after = m.get(count[0], **count[1])
        # Same interval for both: while the SSH probe of `silent` timed out 4+ more times, the
        # HTTP probe of `web` ran as often (give or take the rounds in flight at each scrape).
        self.assertGreaterEqual(http_after - http_before, timeouts - 1 - 2,
                                f"http {http_before} -> {http_after}, ssh timeouts {timeouts}")
        self.assertEqual(m.get("probe_success", probe="http", target="web"), 1)
        self.assertEqual(m.get("probe_success", probe="memory", target="silent"), 0)
        self.assert_no_figures(m, "silent")
        self.assertIn("timed out in phase handshake", v.log())
        self.assertEqual(m.get("vigil_probes_skipped_total", reason="previous_still_running"), 0)


if __name__ == "__main__":
    unittest.main()
