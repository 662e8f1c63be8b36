"""Replies: `mailrelay process-replies` clearing 30 and 300 replies, side by side with fetchmail.

Both sides read the same kind of messages from the same private Dovecot over
IMAPS (a throwaway CA), fetch every message and delete it: fetchmail with
`fetchall nokeep` into `/dev/null` as its MDA, mailrelay classifying each reply
against a pending approval, committing its audit row and archiving it first.
Passwords come from each tool's usual unattended place (fetchmail's mode-600 rc
file, mailrelay's environment fallback), so neither pays for a keyring. Before
each timed run the mailbox is refilled with IMAP APPEND (not timed). Target
(issue 4): mailrelay at most 1.0x fetchmail's wall time at 300 messages.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, compile_everything, ensure_program, mailrelay_command, run_env

ROUNDS = 5
SIZES = (30, 300)
PASSWORD = "bench-imap-pw"
USER = "approvals@example.test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Dovecot:
    """A private Dovecot (same approach as tests/fixtures/dovecot.py): IMAPS on a free port."""

    def __init__(self, binary: str) -> None:
        import trustme

        self.root = Path(tempfile.mkdtemp(prefix="mailrelay-bench-dovecot-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        (self.root / "mail").mkdir(mode=0o777)
        os.chmod(self.root / "mail", 0o777)
        ca = trustme.CA()
        leaf = ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
        self.ca_file = self.root / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(self.root / "server.pem"))
        os.chmod(self.root / "server.pem", 0o644)
        (self.root / "passwd").write_text(f"{USER}:{PASSWORD}::::::\n")
        os.chmod(self.root / "passwd", 0o644)
        self.port = _free_port()
        config = self.root / "dovecot.conf"
        config.write_text(f"""\
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.root}/server.pem
ssl_key = <{self.root}/server.pem
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/passwd
  default_fields = uid=nobody gid=nogroup home={self.root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
""")
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.connect().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(f"Dovecot did not start; see {self.root}/dovecot.log") from None
                time.sleep(0.05)

    def connect(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=30)
        conn.login(USER, PASSWORD)
        return conn

    def fill(self, messages: list[bytes]) -> None:
        conn = self.connect()
        try:
            for message in messages:
                conn.append("INBOX", None, None, message)
        finally:
            conn.logout()

    def count(self) -> int:
        conn = self.connect()
        try:
            _typ, data = conn.select("INBOX", readonly=True)
            return int(data[0] or 0)
        finally:
            conn.logout()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _replies(n: int, subject: str, reference: str) -> list[bytes]:
    """n replies as clients send them: most from people who may not decide, quoting the request."""
    out = []
    for i in range(n):
        sender = "alice@example.com" if i == 0 else f"watcher{i}@example.com"
        out.append(
            (
                f"From: <{sender}>\r\nTo: approvals@example.com\r\nSubject: Re: {subject}\r\n"
                f"Message-ID: <bench-{time.time_ns()}-{i}@client.example.com>\r\n"
                "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                "Approve\r\nLooks good from here.\r\n\r\n"
                "On Mon, 2 Mar 2026 at 09:00, Release Bot <relay@example.com> wrote:\r\n"
                "> Approval requested: Deploy 2.4.1\r\n>\r\n"
                "> Reply to this message with APPROVE or REJECT on the first line.\r\n"
                f"> Reference: {reference}\r\n" + "> filler line of a long request text\r\n" * 40
            ).encode()
        )
    return out


def _timed(argv: list[str], env: dict[str, str], memory: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``argv``.

    A child forked from this (large) Python process starts with its RSS, and Linux keeps
    that in the child's maxrss, so the peak is read from GNU time, a small parent whose
    child's rusage is the command's own. The wall time is taken here, around both.
    """
    timer = shutil.which("time") or "/usr/bin/time"
    wrapped = [timer, "-f", "%M", "-o", str(memory), *argv] if os.path.exists(timer) else argv
    start = time.perf_counter()
    proc = subprocess.run(
        wrapped,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n"
            + proc.stderr.decode(errors="replace")
        )
    try:
        peak = int(memory.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        peak = 0
    return elapsed, peak


def main() -> None:
    dovecot_bin = ensure_program("dovecot", "dovecot-imapd")
    fetchmail = ensure_program("fetchmail", "fetchmail")
    if not dovecot_bin or not fetchmail:
        print("\nreplies: skipped (needs dovecot-imapd and fetchmail: apt-get install them)")
        return
    compile_everything()
    server = _Dovecot(dovecot_bin)
    work = Path(tempfile.mkdtemp(prefix="mailrelay-bench-replies-"))
    try:
        _run(server, fetchmail, work)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _run(server: _Dovecot, fetchmail: str, work: Path) -> None:
    import secrets

    key = secrets.token_hex(32)
    config = work / "settings.toml"
    config.write_text(
        '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "{USER}"\n'
        f'tls_ca_file = "{server.ca_file}"\n'
        '[approval]\nenabled = true\nreply_address = "approvals@example.com"\ncount = 1000\n'
        f'[state]\npath = "{work / "state"}"\n'
    )
    env = run_env(
        {
            "MAILRELAY_CONFIG": str(config),
            "MAILRELAY_IMAP_PASSWORD": PASSWORD,
            "MAILRELAY_APPROVAL_HMAC_KEY": key,
        }
    )
    # One pending approval the replies answer (made with the library, not timed).
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mailrelay_cli.approvals import service as approvals\n"
            "from mailrelay_cli.config.load import load_settings\n"
            "from mailrelay_cli import store\n"
            "s = load_settings()\n"
            "with store.open_store(s.state_dir) as db:\n"
            "    r = approvals.create_approval(s, db, title='Deploy 2.4.1', "
            "approvers=['alice@example.com'], expires_in=86400 * 30)\n"
            "print(r.subject); print(r.reference)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    subject, reference = made.stdout.splitlines()

    home = work / "fetchmail"
    home.mkdir(mode=0o700)
    rc = home / "fetchmailrc"
    rc.write_text(
        f"poll 127.0.0.1 service {server.port} protocol IMAP\n"
        f'  user "{USER}" password "{PASSWORD}"\n'
        f"  ssl sslcertck sslcertfile {server.ca_file} sslcommonname localhost\n"
        "  fetchall nokeep\n"
        "  mda \"/bin/sh -c 'cat > /dev/null'\"\n"
    )
    os.chmod(rc, 0o600)
    fetch_env = run_env({"FETCHMAILHOME": str(home), "HOME": str(home)})
    mailrelay = [*mailrelay_command(), "-q", "process-replies"]
    fetch = [fetchmail, "-f", str(rc), "--nodetach", "--silent"]

    print(f"\nreplies: clearing N replies from Dovecot over IMAPS (median of {ROUNDS} rounds, interleaved)")
    for size in SIZES:
        samples: dict[str, list[float]] = {"fetchmail": [], "mailrelay process-replies": []}
        peaks: dict[str, int] = dict.fromkeys(samples, 0)
        for _ in range(ROUNDS):
            for name, argv, cmd_env in (
                ("fetchmail", fetch, fetch_env),
                ("mailrelay process-replies", mailrelay, env),
            ):
                server.fill(_replies(size, subject, reference))
                elapsed, peak = _timed(argv, cmd_env, work / "peak.txt")
                if server.count() != 0:
                    raise SystemExit(f"{name} left messages behind")
                samples[name].append(elapsed)
                peaks[name] = max(peaks[name], peak)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        base = medians["fetchmail"]
        print(f"  {size} messages:")
        for name, value in medians.items():
            ratio = value / base
            verdict = ""
            if name != "fetchmail" and size == max(SIZES):
                verdict = "  target <= 1.00x: " + ("ok" if ratio <= 1.0 else "MISSED")
            print(
                f"    {name:<27} {value * 1000:8.1f} ms  {ratio:5.2f}x  "
                f"peak {peaks[name] / 1024:6.1f} MiB{verdict}"
            )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
