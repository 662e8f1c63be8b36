"""Watch: latency from APPEND to decision committed with `process-replies --watch`, beside cron.

A private Dovecot (IMAPS, as bench_replies) and one `mailrelay process-replies --watch`
process. Measured:

- latency, per reply, from the end of its IMAP APPEND to its audit row being committed
  (the store is polled every 2 ms): 100 replies one at a time (each once the watcher is
  idling again), then 10 bursts of 10. Dovecot holds an IDLE notification back for
  about 0.5 s to gather changes, which is most of what is measured;
  p50 and p95, beside what cron gives at the default interval (a reply waits for the next
  run: on average half the interval, p95 0.95 of it, plus one run);
- the watcher's CPU seconds over a minute of idling (utime + stime from /proc);
- its RSS after every 1,000 of 10,000 replies processed (flat is the target).

Targets (issue 14): p95 under 1 s; idle CPU near zero. `MAILRELAY_BENCH_QUICK=1` runs a
smaller version (for a quick look; the numbers in the report are from the full one).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_replies import PASSWORD, USER, _Dovecot
from common import ROOT, compile_everything, ensure_program, mailrelay_command, run_env

QUICK = os.environ.get("MAILRELAY_BENCH_QUICK") == "1"
SINGLE = 20 if QUICK else 100
BURSTS, BURST_SIZE = (2, 10) if QUICK else (10, 10)
IDLE_SECONDS = 5 if QUICK else 60
RSS_TOTAL, RSS_STEP = (2_000, 500) if QUICK else (10_000, 1_000)
DEFAULT_INTERVAL_MINUTES = 5


def _reply(subject: str, reference: str, sender: str, n: int) -> bytes:
    return (
        f"From: <{sender}>\r\nTo: approvals@example.com\r\nSubject: Re: {subject}\r\n"
        f"Message-ID: <watch-{time.time_ns()}-{n}@client.example.com>\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Approve\r\n\r\nOn Mon, 2 Mar 2026 at 09:00, Release Bot <relay@example.com> wrote:\r\n"
        f"> Approval requested\r\n> Reference: {reference}\r\n"
    ).encode()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class _Watcher:
    """The watcher process, its JSON event lines, and its /proc numbers."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*mailrelay_command(), "process-replies", "--json", "--watch"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def wait_for(self, kind: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("event") == kind for e in list(self.events)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"the watcher did not report {kind!r}: {self.events[-5:]}")
            time.sleep(0.01)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main() -> None:
    dovecot_bin = ensure_program("dovecot", "dovecot-imapd")
    if not dovecot_bin:
        print("\nwatch: skipped (needs dovecot-imapd: apt-get install it)")
        return
    compile_everything()
    server = _Dovecot(dovecot_bin)
    work = Path(tempfile.mkdtemp(prefix="mailrelay-bench-watch-"))
    try:
        _run(server, work)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _run(server: _Dovecot, work: Path) -> None:
    config = work / "settings.toml"
    state = work / "state"
    config.write_text(
        '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "{USER}"\n'
        f'tls_ca_file = "{server.ca_file}"\n'
        '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
        f'[state]\npath = "{state}"\n'
    )
    env = run_env(
        {
            "MAILRELAY_CONFIG": str(config),
            "MAILRELAY_IMAP_PASSWORD": PASSWORD,
            "MAILRELAY_APPROVAL_HMAC_KEY": secrets.token_hex(32),
        }
    )
    wanted = SINGLE + BURSTS * BURST_SIZE
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mailrelay_cli.approvals import service as approvals\n"
            "from mailrelay_cli.config.load import load_settings\n"
            "from mailrelay_cli import store\n"
            "s = load_settings()\n"
            "with store.open_store(s.state_dir) as db:\n"
            f"    for i in range({wanted + 1}):\n"
            "        r = approvals.create_approval(s, db, title=f'Deploy {i}', "
            "approvers=['alice@example.com'], expires_in=86400 * 30)\n"
            "        print(r.subject + '\\t' + r.reference)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    asked = [line.split("\t") for line in made.stdout.splitlines()]

    db = sqlite3.connect(state / "mailrelay.db", timeout=30)

    def audited() -> int:
        return int(db.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    watcher = _Watcher(env)
    conn = server.connect()
    try:
        watcher.wait_for("waiting")
        single: list[float] = []
        for n in range(SINGLE):
            subject, reference = asked[n]
            time.sleep(0.3)  # replies come apart: let the watcher finish its batch and IDLE
            before = audited()
            conn.append("INBOX", None, None, _reply(subject, reference, "alice@example.com", n))
            sent = time.perf_counter()
            while audited() <= before:
                time.sleep(0.002)
            single.append(time.perf_counter() - sent)
        burst: list[float] = []
        for b in range(BURSTS):
            before = audited()
            sent_at = []
            for i in range(BURST_SIZE):
                subject, reference = asked[SINGLE + b * BURST_SIZE + i]
                conn.append("INBOX", None, None, _reply(subject, reference, "alice@example.com", 1000 + i))
                sent_at.append(time.perf_counter())
            seen = 0
            while seen < BURST_SIZE:
                now_count = audited() - before
                now = time.perf_counter()
                while seen < min(now_count, BURST_SIZE):
                    burst.append(now - sent_at[seen])
                    seen += 1
                time.sleep(0.002)
            time.sleep(0.2)

        time.sleep(1)  # let the last batch's bookkeeping settle
        cpu_before = watcher.cpu_seconds()
        time.sleep(IDLE_SECONDS)
        idle_cpu = watcher.cpu_seconds() - cpu_before

        subject, reference = asked[-1]
        rss = [watcher.rss_mib()]
        done = audited()
        for step in range(RSS_TOTAL // RSS_STEP):
            for i in range(RSS_STEP):
                conn.append(
                    "INBOX", None, None, _reply(subject, reference, f"someone{step}-{i}@example.com", i)
                )
            deadline = time.monotonic() + 600
            while audited() < done + RSS_STEP:
                if time.monotonic() > deadline:
                    raise SystemExit("the watcher fell behind by more than 10 minutes")
                time.sleep(0.05)
            done += RSS_STEP
            rss.append(watcher.rss_mib())
    finally:
        try:
            conn.logout()
        finally:
            watcher.stop()
            db.close()

    interval = DEFAULT_INTERVAL_MINUTES * 60
    print(
        f"\nwatch: APPEND -> decision committed, process-replies --watch against Dovecot "
        f"(IMAPS){' [quick]' if QUICK else ''}"
    )
    for name, values in (
        (f"one at a time ({len(single)})", single),
        (f"bursts of {BURST_SIZE} ({len(burst)})", burst),
    ):
        p95 = _percentile(values, 0.95)
        print(
            f"  {name:<24} p50 {statistics.median(values) * 1000:7.1f} ms   "
            f"p95 {p95 * 1000:7.1f} ms   target p95 < 1 s: {'ok' if p95 < 1 else 'MISSED'}"
        )
    print(
        f"  {'cron every 5 min':<24} p50 {interval / 2:7.0f} s    p95 {0.95 * interval:7.0f} s"
        "    (expected: waits for the next run)"
    )
    print(
        f"  idle CPU over {IDLE_SECONDS}s: {idle_cpu:.2f} s ({idle_cpu / IDLE_SECONDS * 100:.2f}% of a core)"
    )
    print(
        f"  RSS every {RSS_STEP} of {RSS_TOTAL} replies (MiB): "
        + " ".join(f"{value:.1f}" for value in rss)
        + f"   growth {rss[-1] - rss[1]:+.1f} MiB after the first {RSS_STEP}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
