"""Send: `mailrelay send --event test` against a plain smtplib script and msmtp.

All three send one small message to the same local aiosmtpd server (STARTTLS
with a throwaway CA, AUTH PLAIN), with the same password kept in the same
keyring (the keyrings.alt file backend): the script reads it from there with
`keyring`, mailrelay through its credentials module, msmtp from its own
mode-600 config file (its usual place). Targets (issue 3): mailrelay at most
1.3x the plain script, and no slower than msmtp.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from common import (
    compile_everything,
    ensure_program,
    interleaved_medians,
    mailrelay_command,
    print_rows,
    run_env,
    time_once,
)

USER = "relay@example.com"
PASSWORD = "bench-Pa55-word"
TO = "ops@example.com"

BASELINE = textwrap.dedent("""\
    import smtplib, ssl, sys
    from email.message import EmailMessage
    import keyring

    host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    password = keyring.get_password("mailrelay", "default:smtp.password")
    message = EmailMessage()
    message["From"] = "relay@example.com"
    message["To"] = "ops@example.com"
    message["Subject"] = "[mailrelay] Test notification"
    message.set_content("This is a test notification from mailrelay.\\n")
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=ca))
        smtp.login("relay@example.com", password)
        smtp.send_message(message)
""")

MESSAGE = (
    b"From: relay@example.com\r\nTo: ops@example.com\r\n"
    b"Subject: [mailrelay] Test notification\r\n\r\n"
    b"This is a test notification from mailrelay.\r\n"
)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 2.0.0 Message accepted"


def _start_server(directory: Path) -> tuple[Any, int, Path, _Counter]:
    import socket
    import ssl

    import trustme
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = _Counter()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    return controller, port, ca_file, handler


def main(rounds: int = 15) -> dict[str, float]:
    import warnings

    # aiosmtpd warns about its own deprecated attribute on every AUTH.
    warnings.filterwarnings("ignore", message="Session.login_data")
    compile_everything()
    msmtp = ensure_program("msmtp", "msmtp")
    with tempfile.TemporaryDirectory(prefix="mailrelay-bench-send-") as tmp:
        directory = Path(tmp)
        controller, port, ca_file, handler = _start_server(directory)
        try:
            settings = directory / "settings.toml"
            settings.write_text(
                f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nuser = "{USER}"\n'
                f'from = "Release Bot <{USER}>"\nstarttls = true\ntls_ca_file = "{ca_file}"\n'
            )
            env = run_env(
                {
                    "HOME": str(directory),
                    "XDG_DATA_HOME": str(directory / "data"),
                    "XDG_CONFIG_HOME": str(directory / "config"),
                    "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
                    "MAILRELAY_CONFIG": str(settings),
                }
            )
            for name in list(env):
                if name.startswith("MAILRELAY_") and name != "MAILRELAY_CONFIG":
                    del env[name]
            subprocess.run(
                [*mailrelay_command(), "secret", "set", "smtp.password", "--stdin"],
                input=PASSWORD.encode() + b"\n",
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            script = directory / "baseline.py"
            script.write_text(BASELINE)
            cases = {
                "python smtplib + keyring": lambda: time_once(
                    [sys.executable, str(script), "127.0.0.1", str(port), str(ca_file)], env
                ),
                "mailrelay send --event test": lambda: time_once(
                    [*mailrelay_command(), "send", "--event", "test", "--to", TO], env
                ),
            }
            if msmtp:
                config = directory / "msmtprc"
                config.write_text(
                    f"account bench\nhost 127.0.0.1\nport {port}\nfrom {USER}\nauth plain\n"
                    f"user {USER}\npassword {PASSWORD}\ntls on\ntls_starttls on\n"
                    f"tls_trust_file {ca_file}\naccount default : bench\n"
                )
                config.chmod(0o600)
                cases["msmtp"] = lambda: time_once([msmtp, "-C", str(config), TO], env, stdin=MESSAGE)
            for case in cases.values():  # warm-up: bytecode, page cache
                case()
            medians = interleaved_medians(cases, rounds)
        finally:
            controller.stop()
    print_rows(
        f"send one message over STARTTLS + AUTH, median of {rounds} runs",
        medians,
        "python smtplib + keyring",
        {"mailrelay send --event test": 1.3},
    )
    if "msmtp" in medians:
        ratio = medians["mailrelay send --event test"] / medians["msmtp"]
        print(f"  mailrelay / msmtp: {ratio:.2f}x  target <= 1.00x: " + ("ok" if ratio <= 1.0 else "MISSED"))
    else:
        print("  msmtp: not installed (apt-get install msmtp)")
    print(f"  (server received {handler.count} messages)")
    return medians


if __name__ == "__main__":
    main()
