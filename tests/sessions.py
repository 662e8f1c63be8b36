"""Sessions opened from settings, as the use cases open them (resolve_session, then open)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from mailrelay_cli.auth.logins import resolve_session
from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.config.records import Settings
from mailrelay_cli.transport import imap, smtp
from mailrelay_cli.transport.transcript import Transcript


def open_smtp(
    settings: Settings, *, transcript: Transcript | None = None, endpoint: Endpoint | None = None
) -> AbstractContextManager[smtp.MailrelaySMTP]:
    resolved, login = resolve_session(settings, "smtp")
    return smtp.open_smtp(endpoint or resolved, login, transcript=transcript)


def open_imap(
    settings: Settings, *, transcript: Transcript | None = None
) -> AbstractContextManager[imap.MailrelayIMAP]:
    return imap.open_imap(*resolve_session(settings, "imap"), transcript=transcript)
