"""The name of the reply mailbox: its audit key, and what the watcher shows (never a secret).

A module of its own so that every mailbox (``replies.mailbox``, ``replies.graph_mailbox``)
and the watcher build it the same way without importing each other.
"""

from __future__ import annotations

from pathlib import Path

from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError


def maildir_name(path: Path) -> str:
    """The audit key of the Maildir at ``path``."""
    return f"maildir:{path}"


def mailbox_name(settings: Settings) -> str:
    """The audit key of the reply mailbox of ``settings`` (``ReplyMailbox.name``), also what the
    watcher shows: ``maildir:PATH``, ``imap:user@host/FOLDER`` or ``graph:user@host/FOLDER``.

    No port: the same mailbox reached over 993 or 143 is the same mailbox. Never a secret.
    """
    maildir = settings.approval.maildir
    if maildir is not None:
        return maildir_name(maildir)
    folder = settings.approval.folder
    if settings.approval.graph:
        from urllib.parse import urlsplit

        host = urlsplit(settings.graph_endpoint).hostname or ""  # the host GraphClient talks to
        return f"graph:{settings.imap.user}@{host}/{folder}"
    from mailrelay_cli.config.endpoints import endpoint_for

    try:
        host = endpoint_for(settings.imap).host  # imap.properties may name the host
    except ConfigError:  # no host yet: opening the mailbox says so
        host = settings.imap.host or ""
    return f"imap:{settings.imap.user or ''}@{host}/{folder}"
