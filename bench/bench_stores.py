"""State stores: 1,000 replies cleared by 1, 2 and 4 concurrent processors on PostgreSQL and by
one on SQLite, and `approvals wait` wake-up latency on each.

Replies: 100 pending approvals, ten replies each (one approver who decides,
nine watchers who may not), appended to a private Dovecot (not timed). Each
processor is a loop of `mailrelay -q process-replies --count 50` processes, as
cron or a service would run them; a run locked out by another (exit 75) tries
again ``RETRY_SECONDS`` later. The clock runs from the first start until the mailbox is
empty and every processor has exited. Targets (issue 13): several processors
finish no slower than one (they take turns under the run lock, never fight).

Wake-up: `approvals wait` (the library's ``wait_for`` with the default 10 s
``--poll``) in a thread; the time from the commit of a decision by another
connection to ``wait_for`` returning, median and worst of 20. Target: under
100 ms on PostgreSQL (NOTIFY). SQLite has no notification: a 50 ms poll of
``PRAGMA data_version``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_replies import PASSWORD, USER, _Dovecot, _replies
from common import ROOT, compile_everything, ensure_program, mailrelay_command, run_env

APPROVALS = 100
PER_APPROVAL = 10
PROCESSORS = (1, 2, 4)
WAKE_ROUNDS = 20
# A locked-out processor starts again after this, as a service with a back-off would (cron's
# back-off is its interval, minutes): at 50 ms, the start-up CPU of the processes that lose
# the race is what 2 cores spend their time on.
RETRY_SECONDS = 1.0


class _Postgres:
    """A private PostgreSQL (as tests/fixtures/postgres.py, without TLS): trust on 127.0.0.1."""

    def __init__(self) -> None:
        import glob

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="mailrelay-bench-pg-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        from bench_replies import _free_port

        self.port = _free_port()
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "mailrelay", "--no-sync")
        # Durable settings (fsync on): the numbers are what a real server costs.
        self._ctl("start")

    def _as_owner(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            self._as_owner([str(self.bin / program), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _ctl(self, *args: str) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100",
            "-l",
            str(self.root / "log"),
            "-w",
            *args,
        )

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="mailrelay", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return f"postgresql://mailrelay@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._ctl("-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _settings(work: Path, server: _Dovecot, url: str | None, name: str, lock_wait: str = "0s") -> Path:
    path = work / f"{name}.toml"
    state = f'[state]\npath = "{work / name}"\n' + (f'url = "{url}"\n' if url else "")
    path.write_text(
        '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "{USER}"\n'
        f'tls_ca_file = "{server.ca_file}"\n'
        '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
        f'lock_wait = "{lock_wait}"\n' + state
    )
    return path


def _ask(env: dict[str, str], count: int) -> list[tuple[str, str]]:
    """``count`` pending approvals (subject, reference), made with the library (not timed)."""
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mailrelay_cli.approvals import service as approvals\n"
            "from mailrelay_cli.config.load import load_settings\n"
            "from mailrelay_cli import store\n"
            "s = load_settings()\n"
            "with store.open_store(s) as db:\n"
            f"    for n in range({count}):\n"
            "        r = approvals.create_approval(s, db, title=f'Deploy {n}', "
            "approvers=['alice@example.com'], expires_in=86400 * 30)\n"
            "        print(r.subject + '\\t' + r.reference)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [tuple(line.split("\t")) for line in made.stdout.splitlines()]  # type: ignore[misc]


def _processor(argv: list[str], env: dict[str, str], server: _Dovecot, errors: list[str]) -> None:
    while True:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        if done.returncode == 75:
            time.sleep(RETRY_SECONDS)
        elif done.returncode != 0:
            errors.append(done.stderr.decode(errors="replace"))
            return
        if server.count() == 0:
            return


def _clear(processors: int, env: dict[str, str], server: _Dovecot) -> float:
    argv = [*mailrelay_command(), "-q", "process-replies", "--count", "50"]
    errors: list[str] = []
    threads = [
        threading.Thread(target=_processor, args=(argv, env, server, errors)) for _ in range(processors)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit("process-replies failed:\n" + errors[0])
    if server.count() != 0:
        raise SystemExit("replies left behind")
    return elapsed


def _wake_latencies(config: Path, env: dict[str, str]) -> list[float]:
    """Seconds from a decision's commit (another connection) to ``wait_for`` returning."""
    os.environ.update(env)
    from mailrelay_cli import store
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.config.load import load_settings

    settings = load_settings(config)
    latencies = []
    for _ in range(WAKE_ROUNDS):
        with store.open_store(settings) as db:
            approval = approvals.create_approval(
                settings, db, title="Wait", approvers=["alice@example.com"]
            ).approval
        returned: list[float] = []

        def wait(approval_id: str = approval.id, returned: list[float] = returned) -> None:
            with store.open_store(settings) as db:
                approvals.wait_for(db, approval_id, timeout=60, poll=10)
            returned.append(time.perf_counter())

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.3)  # the waiter is in its wait
        with store.open_store(settings) as db:
            with db.transaction() as tx:
                approvals.record_vote(tx, approval, "alice@example.com", "approve", None, None)
            committed = time.perf_counter()
        waiter.join(60)
        latencies.append(returned[0] - committed)
    return latencies


def main() -> None:
    dovecot_bin = ensure_program("dovecot", "dovecot-imapd")
    if not dovecot_bin or not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        print("\nstores: skipped (needs dovecot-imapd and postgresql: apt-get install them)")
        return
    compile_everything()
    server = _Dovecot(dovecot_bin)
    pg = _Postgres()
    work = Path(tempfile.mkdtemp(prefix="mailrelay-bench-stores-"))
    try:
        _run(server, pg, work)
    finally:
        pg.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _run(server: _Dovecot, pg: _Postgres, work: Path) -> None:
    from mailrelay_cli.store.maintenance import migrate_postgres

    key = secrets.token_hex(32)
    total = APPROVALS * PER_APPROVAL
    print(
        f"\nstores: {total} replies to {APPROVALS} approvals cleared from Dovecot over IMAPS "
        "(processes of process-replies --count 50, looping until empty)"
    )
    rows: list[tuple[str, float]] = []
    # "exit 75": approval.lock_wait = 0s, a locked-out run exits and its loop starts another
    # RETRY_SECONDS later; "queue": lock_wait = 60s, it waits in the server's lock queue.
    cases = (
        [("sqlite", 1, "0s")]
        + [("postgresql", n, "0s") for n in PROCESSORS]
        + [("postgresql", n, "60s") for n in PROCESSORS[1:]]
    )
    for kind, processors, lock_wait in cases:
        name = f"{kind}-{processors}-{lock_wait}"
        url = pg.new_database(name.replace("-", "_")) if kind == "postgresql" else None
        if url:
            migrate_postgres(url, None)
        config = _settings(work, server, url, name, lock_wait)
        env = run_env(
            {
                "MAILRELAY_CONFIG": str(config),
                "MAILRELAY_IMAP_PASSWORD": PASSWORD,
                "MAILRELAY_APPROVAL_HMAC_KEY": key,
                "HOME": str(work),
                "MAILRELAY_STATE_PASSWORD": "unused-trust-login",
            }
        )
        messages = []
        for subject, reference in _ask(env, APPROVALS):
            messages += _replies(PER_APPROVAL, subject, reference)
        server.fill(messages)
        policy = "" if processors == 1 else (", exit 75" if lock_wait == "0s" else ", queue")
        rows.append(
            (
                f"{kind}, {processors} processor{'s' if processors > 1 else ''}{policy}",
                _clear(processors, env, server),
            )
        )
    one = dict(rows)["postgresql, 1 processor"]
    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        verdict = ""
        if label.startswith("postgresql") and not label.endswith(" 1 processor"):
            verdict = "  target <= 1.00x of 1 processor: " + ("ok" if seconds <= one * 1.05 else "MISSED")
        print(
            f"  {label:<{width}}  {seconds:7.2f} s  {seconds / total * 1000:6.2f} ms/message"
            f"  {seconds / one:5.2f}x{verdict}"
        )

    print(
        f"\nstores: approvals wait wake-up, decision committed -> wait returns "
        f"({WAKE_ROUNDS} rounds, --poll 10s)"
    )
    for kind in ("postgresql", "sqlite"):
        url = pg.new_database(f"wake_{kind}") if kind == "postgresql" else None
        if url:
            migrate_postgres(url, None)
        config = _settings(work, server, url, f"wake-{kind}")
        latencies = _wake_latencies(
            config, {"MAILRELAY_APPROVAL_HMAC_KEY": key, "MAILRELAY_STATE_PASSWORD": "unused-trust-login"}
        )
        median = statistics.median(latencies) * 1000
        worst = max(latencies) * 1000
        verdict = "  target < 100 ms: " + ("ok" if worst < 100 else "MISSED") if kind == "postgresql" else ""
        print(f"  {kind:<10}  median {median:6.1f} ms  worst {worst:6.1f} ms{verdict}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
