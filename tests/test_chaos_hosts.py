"""Chaos: three `process-replies` processes on two "hosts", one Dovecot mailbox, one PostgreSQL,
killed with SIGKILL at random moments and restarted until the mailbox is empty.

Each host has its own HOME, settings file and state dir; both share ``state.url``
and the signing key. The default run (300 replies to 50 approvals) is bounded;
``MAILRELAY_CHAOS_SCALE=N`` multiplies the replies and approvals by N (soak).

Checked at the end: no message lost (every Message-ID appended has an audit
row), no decision doubled (one deciding audit row and one vote per approval),
every approval decided, and every on_decision delivery of an approval carries
the same decision and the same ``MAILRELAY_DECISION_ID`` (a repeat is only allowed
after a kill, and the hook can tell it is one by that id).
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from tests.fixtures.postgres import Postgres
from tests.reply_builders import reply, request_text

SCALE = max(1, int(os.environ.get("MAILRELAY_CHAOS_SCALE", "1") or 1))
APPROVALS = 50 * SCALE
KEY = "cd" * 32
DEADLINE_SECONDS = 150 * SCALE
SRC = Path(__file__).resolve().parents[1] / "src"

HOOK = """\
import json, os, sys
payload = json.load(sys.stdin)
line = json.dumps([payload["id"], payload["status"], payload.get("decided_by"),
                   os.environ["MAILRELAY_DECISION_ID"], payload["decision_id"]]) + "\\n"
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, line.encode())
os.close(fd)
"""


def _host(
    root: Path, name: str, url: str, dovecot, user, smtp_plain, hook: Path, log: Path
) -> tuple[Path, dict[str, str]]:
    home = root / name
    (home / ".config" / "mailrelay").mkdir(parents=True)
    settings = home / ".config" / "mailrelay" / "settings.toml"
    settings.write_text(
        smtp_plain.toml(auth="none")
        + dovecot.imap_toml(user)
        + '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
        + f'on_decision = ["{sys.executable}", "{hook}", "{log}"]\n'
        + f'[state]\npath = "{home / "state"}"\nurl = "{url}"\n'
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAILRELAY_")}
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "MAILRELAY_CONFIG": str(settings),
            "MAILRELAY_IMAP_PASSWORD": user.password,
            "MAILRELAY_APPROVAL_HMAC_KEY": KEY,
            "MAILRELAY_STATE_PASSWORD": "unused-trust-login",
            "PYTHONPATH": str(SRC),
        }
    )
    return settings, env


def _auto_reply(subject: str, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, "approvals@example.com"
    msg["Subject"] = f"Automatic reply: {subject}"
    msg["Message-ID"] = make_msgid(domain="client.example.com")
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("I am out of the office.\n")
    return bytes(msg)


def _replies(requests, rng: random.Random) -> list[bytes]:
    """Six replies per approval: both approvers decide (one is too late), a stranger, an
    automatic reply, a reply without a decision, and one that refers to nothing."""
    messages = []
    for request in requests:
        quoted = request_text(request.reference)
        messages += [
            reply(request.subject, "alice@example.com", rng.choice(["Approve", "Reject"]), quoted=quoted),
            reply(request.subject, "bob@example.com", rng.choice(["Approve", "Reject"]), quoted=quoted),
            reply(request.subject, "carol@example.com", "Approve", quoted=quoted),
            _auto_reply(request.subject, "alice@example.com"),
            reply(request.subject, "bob@example.com", "Which build is this?", quoted=quoted),
            reply("lunch?", "dave@example.com", "Approve"),
        ]
    rng.shuffle(messages)
    return messages


def _message_id(raw: bytes) -> str:
    for line in raw.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")


def test_three_processors_on_two_hosts_killed_at_random_lose_and_double_nothing(
    tmp_path: Path, dovecot, smtp_plain, postgres: Postgres
) -> None:
    rng = random.Random(int(os.environ.get("MAILRELAY_CHAOS_SEED", "1313")))
    database = postgres.migrated_database()
    url = postgres.url(database)
    user = dovecot.new_user()
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    log = tmp_path / "hook.log"
    hosts = [
        _host(tmp_path, name, url, dovecot, user, smtp_plain, hook, log) for name in ("host-a", "host-b")
    ]
    settings_a = load_settings(hosts[0][0])
    os.environ["MAILRELAY_APPROVAL_HMAC_KEY"] = KEY
    try:
        with store.open_store(settings_a) as db:
            requests = [
                approvals.create_approval(
                    settings_a, db, title=f"Deploy {n}", approvers=["alice@example.com", "bob@example.com"]
                )
                for n in range(APPROVALS)
            ]
    finally:
        del os.environ["MAILRELAY_APPROVAL_HMAC_KEY"]
    messages = _replies(requests, rng)
    dovecot.append(user, *messages)
    assert dovecot.count(user) == len(messages) >= 300

    argv = [sys.executable, "-m", "mailrelay_cli", "-q", "process-replies", "--count", "25"]
    slots = [hosts[0][1], hosts[0][1], hosts[1][1]]  # two processors on host A, one on B
    running: list[subprocess.Popen[bytes] | None] = [None, None, None]
    kills = 0
    exits: collections.Counter[int] = collections.Counter()
    deadline = time.monotonic() + DEADLINE_SECONDS
    next_kill = time.monotonic() + rng.uniform(0.2, 1.0)
    next_count = 0.0
    while True:
        assert time.monotonic() < deadline, f"mailbox not empty after {DEADLINE_SECONDS}s"
        now = time.monotonic()
        if now >= next_count:
            if dovecot.count(user) == 0:
                break
            next_count = now + 0.3
        for i, process in enumerate(running):
            if process is not None and process.poll() is not None:
                code = process.returncode
                exits[code] += 1
                assert code in (0, 75, -signal.SIGKILL), (code, process.stderr.read().decode())
                running[i] = None
            if running[i] is None:
                running[i] = subprocess.Popen(
                    argv, env=slots[i], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
        if now >= next_kill:
            victim = running[rng.randrange(3)]
            if victim is not None and victim.poll() is None:
                victim.send_signal(signal.SIGKILL)
                kills += 1
            next_kill = now + rng.uniform(0.1, 1.2)
        time.sleep(0.02)
    for process in running:
        if process is not None:
            process.wait(60)
    # Nobody is killed any more: one clean run per host pays what is still owed (hooks, answers).
    for _, env in hosts:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()

    audit = postgres.query("SELECT message_id, outcome, approval_id, duplicate_of FROM audit", database)
    seen = {row[0] for row in audit}
    lost = [m for m in map(_message_id, messages) if m not in seen]
    assert lost == [], f"{len(lost)} messages lost"
    deciding = collections.Counter(
        row[2] for row in audit if row[1] in ("approved", "rejected") and row[3] is None
    )
    ids = [r.approval.id for r in requests]
    assert {i: deciding[i] for i in ids} == dict.fromkeys(ids, 1), "a decision was doubled or lost"
    votes = collections.Counter(row[0] for row in postgres.query("SELECT approval_id FROM votes", database))
    assert {i: votes[i] for i in ids} == dict.fromkeys(ids, 1)
    statuses = dict(postgres.query("SELECT id, status FROM approvals", database))
    assert all(statuses[i] in ("approved", "rejected") for i in ids)
    deliveries: dict[str, list[list[str]]] = collections.defaultdict(list)
    for line in log.read_text().splitlines():
        approval_id, status, decided_by, env_id, payload_id = json.loads(line)
        assert env_id == payload_id, "the hook's environment and payload disagree on the id"
        deliveries[approval_id].append([status, decided_by, env_id])
    assert set(deliveries) == set(ids), "a decision's hook never ran"
    for approval_id, runs in deliveries.items():
        assert runs[0][0] == statuses[approval_id]
        assert all(run == runs[0] for run in runs), f"{approval_id}: different deliveries {runs}"
    repeats = sum(len(runs) - 1 for runs in deliveries.values())
    assert repeats <= kills, "a hook ran twice without a kill in between"
    print(
        f"chaos: {len(messages)} replies, {APPROVALS} approvals, {kills} kills, "
        f"exits {dict(exits)}, hook repeats {repeats}"
    )
