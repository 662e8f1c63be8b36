"""Hostile replies: the time one message costs the judge (issue 10 asks for at most ~1 s).

Each case is the shape of an attack from the audit, at the size that made it slow
(40 s to 486 s before the judge was bounded).
"""

from __future__ import annotations

import tempfile
import time
import tomllib
from pathlib import Path

CASES = {
    "1000 nested comments in From": b"From: " + b"(" * 1000 + b"a@example.com\r\n\r\nApprove",
    "message/rfc822 nested 1500 deep": b"From: a@example.com\r\n"
    + b"Content-Type: message/rfc822\r\n\r\n" * 1500
    + b"Approve",
    "300 KB of <a as HTML": b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n" + b"<a" * 150_000,
    "989 KB References header": b"From: a@example.com\r\nReferences: "
    + b" ".join(b"<%d@example.com>" % i for i in range(60_000))
    + b"\r\n\r\nApprove",
    "1.0 MB HTML mail, 5 parts": b"From: a@example.com\r\nContent-Type: multipart/alternative; "
    b"boundary=b\r\n\r\n"
    + b"".join(
        b"--b\r\nContent-Type: text/html\r\n\r\n" + b"<div><a href='x'>" * 11_000 + b"\r\n" for _ in range(5)
    )
    + b"--b--\r\n",
}


def main() -> None:
    from mailrelay_cli import store
    from mailrelay_cli.config.load import settings_from_table
    from mailrelay_cli.replies import run as replies
    from mailrelay_cli.replies.mailbox import FetchedMessage

    print("\nhostile replies: seconds to judge one message (bound: ~1 s)")
    with tempfile.TemporaryDirectory() as tmp:
        table = tomllib.loads('[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n')
        table["state"] = {"path": str(Path(tmp) / "state")}
        relay = settings_from_table(table, Path(tmp) / "settings.toml")
        with store.open_store(relay.state_dir) as db:
            for index, (name, raw) in enumerate(CASES.items()):
                fetched = FetchedMessage(str(index), len(raw), raw[:4096], raw)
                with db.transaction() as tx:
                    started = time.perf_counter()
                    recorded = replies._record_guarded(
                        relay, tx, b"k" * 32, "bench", 1, fetched, 2 * 1024 * 1024, True
                    )
                    elapsed = time.perf_counter() - started
                outcome = recorded.result.outcome if recorded.result else "left"
                print(f"  {name:<34} {len(raw) / 1024:7.0f} KB  {elapsed:6.3f} s  {outcome}")


if __name__ == "__main__":
    main()
