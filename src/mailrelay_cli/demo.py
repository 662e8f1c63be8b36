"""``make demo``: the whole approval loop on this machine, with no outside server.

1. starts a local SMTP server (aiosmtpd, the ``demo`` extra) that delivers each
   message into a Maildir per recipient, in a temp dir;
2. writes a settings file: SMTP to that server (no auth, so no password ever
   crosses the unencrypted loopback connection), replies read from the
   approval address's Maildir (``approval.mailbox = "maildir:…"``);
3. ``mailrelay send --event approval-requested`` (the real command);
4. writes Alice's answer the way a mail client does: "Approve" and a comment on
   top, the request quoted below;
5. ``mailrelay process-replies``, then ``mailrelay approvals show`` and ``wait``.

It runs unattended (no standard input) and exits 0 when the loop worked.
"""

from __future__ import annotations

import mailbox
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

REPLY_ADDRESS = "approvals@demo.example"
APPROVER = "alice@demo.example"


def _step(number: int, text: str) -> None:
    print(f"\n==> {number}. {text}", flush=True)


class _MaildirDelivery:
    """An aiosmtpd handler: every recipient gets the message in ROOT/<address>/ (a Maildir)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def maildir(self, address: str) -> mailbox.Maildir:
        self.root.mkdir(parents=True, exist_ok=True)
        return mailbox.Maildir(str(self.root / address.lower()), create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.maildir(rcpt).add(envelope.original_content or envelope.content)
        return "250 delivered to the local Maildir"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mailrelay(config: Path, env: dict[str, str], *args: str, check: bool = True) -> int:
    command = [sys.executable, "-m", "mailrelay_cli", "--config", str(config), *args]
    print("$ mailrelay " + " ".join(shlex.quote(arg) for arg in args), flush=True)
    done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"demo: `mailrelay {' '.join(args)}` exited {done.returncode}")
    return done.returncode


def _client_reply(request: EmailMessage) -> bytes:
    """Alice's answer as a mail client writes it: new text on top, the request quoted below."""
    body = request.get_body(("plain",))
    quoted = "".join(f"> {line}\n" for line in (body.get_content() if body else "").splitlines())
    answer = EmailMessage()
    answer["From"] = f"Alice <{APPROVER}>"
    answer["To"] = REPLY_ADDRESS
    answer["Subject"] = f"Re: {str(request['Subject']).strip()}"
    answer["Message-ID"] = make_msgid(domain="demo.example")
    answer["In-Reply-To"] = request["Message-ID"]
    answer["References"] = request["Message-ID"]
    answer.set_content(
        "Approve\n"
        "Looks good to me, go ahead after 22:00.\n\n"
        f"On {request['Date']}, {request['From']} wrote:\n" + quoted
    )
    return bytes(answer)


def main() -> int:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        print("demo: aiosmtpd is missing: pip install -e '.[demo]'", file=sys.stderr)
        return 69
    root = Path(tempfile.mkdtemp(prefix="mailrelay-demo-"))
    handler = _MaildirDelivery(root / "mail")
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    try:
        _step(1, "A local SMTP server that delivers into Maildirs")
        controller.start()
        port = controller.port
        reply_dir = handler.maildir(REPLY_ADDRESS)
        print(f"listening on 127.0.0.1:{port}; mail goes to {root / 'mail'}/<address>/")

        _step(2, "A settings file for it")
        config = root / "settings.toml"
        config.write_text(
            "[smtp]\n"
            'host = "127.0.0.1"\n'
            f"port = {port}\n"
            "# no password is sent, so plain SMTP on the loopback is acceptable here\n"
            'auth = "none"\n'
            "starttls = false\n"
            'from = "Release Bot <relay@demo.example>"\n\n'
            "[approval]\n"
            "enabled = true\n"
            f'mailbox = "maildir:{reply_dir._path}"\n'
            f'reply_address = "{REPLY_ADDRESS}"\n\n'
            "[state]\n"
            f'path = "{root / "state"}"\n',
            encoding="utf-8",
        )
        print(config.read_text(), end="")
        env = dict(os.environ)
        env.pop("MAILRELAY_CONFIG", None)
        # The signing key normally lives in the OS keyring; a demo must not touch the user's,
        # so it uses the documented environment fallback with a throwaway key.
        env["MAILRELAY_APPROVAL_HMAC_KEY"] = secrets.token_hex(32)

        _step(3, "Prove the settings work: mailrelay test (a checklist, one line per step)")
        _mailrelay(config, env, "test", "--to", "ops@demo.example")

        _step(4, f"Ask {APPROVER} for an approval")
        _mailrelay(
            config,
            env,
            "send",
            "--event",
            "approval-requested",
            "--to",
            APPROVER,
            "--var",
            "title=Deploy webshop 2.4.1 to production",
            "--var",
            "requested_by=CI pipeline #1234",
            "--expires-in",
            "1h",
        )
        inbox = handler.maildir(APPROVER)
        # keys(): iterating a Maildir yields messages, not keys
        [request_bytes] = [inbox.get_bytes(key) for key in inbox.keys()]  # noqa: SIM118
        request = message_from_bytes(request_bytes, policy=policy.default)
        assert isinstance(request, EmailMessage)
        approval_id = str(request["X-Mailrelay-Approval"])
        print(f"{APPROVER} received: {str(request['Subject']).strip()}")
        print(f"Reply-To: {request['Reply-To']}")

        _step(5, "Alice answers from her mail client (answer on top, request quoted below)")
        answer = _client_reply(request)
        reply_dir.add(answer)
        text = message_from_bytes(answer, policy=policy.default)
        print("\n".join("    " + line for line in bytes(text).decode().splitlines()[:16]))
        print("    …")

        _step(6, "The cron job runs: mailrelay process-replies")
        _mailrelay(config, env, "process-replies")

        _step(7, "The recorded decision")
        _mailrelay(config, env, "approvals", "show", approval_id)

        _step(8, "A pipeline step waits on it (exit 0 approved, 1 rejected, 3 expired)")
        code = _mailrelay(config, env, "approvals", "wait", approval_id, "--timeout", "10s", check=False)
        print(f"exit status {code}")
        if code != 0:
            return 1
        print("\nThe whole loop worked: asked by email, answered by email, recorded, waited on.")
        return 0
    finally:
        controller.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
