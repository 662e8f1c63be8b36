"""Exit codes and the one exception tree that carries them.

This is the only module where exit numbers appear. Every failure a user can
cause or fix is a ``MailrelayError`` subclass carrying a one-line message
(what failed and where) and a hint (what to do next). The click layer has one
handler that prints both and exits with ``exit_code``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal


class ExitCode(IntEnum):
    """sysexits-style codes, as msmtp and sendmail use them (see DESIGN.md)."""

    OK = 0
    REJECTED = 1
    USAGE = 2
    EXPIRED = 3
    DATAERR = 65
    UNAVAILABLE = 69
    SOFTWARE = 70
    TEMPFAIL = 75
    NOPERM = 77
    CONFIG = 78
    INTERRUPTED = 130


# What a command ended with when that is not an error: an approval's final status
# (`approvals wait`), "timed-out" (`wait --timeout` ran out), "stale" (`status --max-age`).
Outcome = Literal["ok", "approved", "rejected", "expired", "cancelled", "timed-out", "stale"]

_OUTCOME_CODES: dict[str, ExitCode] = {
    "ok": ExitCode.OK,
    "approved": ExitCode.OK,
    "rejected": ExitCode.REJECTED,
    "expired": ExitCode.EXPIRED,
    "cancelled": ExitCode.EXPIRED,
    "timed-out": ExitCode.EXPIRED,
    "stale": ExitCode.TEMPFAIL,  # cron should have fixed it by now
}


def exit_code_for(outcome: Outcome | MailrelayError | None) -> ExitCode:
    """The one place an outcome becomes an exit code.

    An outcome is a value (``"rejected"``, ``"stale"``), or the error a step failed with
    (``mailrelay test`` reports every step and exits with the first failure's code);
    None is success. Anything else (``"pending"`` without a time-out) is a bug.
    """
    if outcome is None:
        return ExitCode.OK
    if isinstance(outcome, MailrelayError):
        return outcome.exit_code
    return _OUTCOME_CODES[outcome]


class MailrelayError(Exception):
    """Base of every error mailrelay reports to a user; never raised itself."""

    exit_code: ExitCode = ExitCode.SOFTWARE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MailrelayError):
    """Raised when the command line itself is wrong (missing or contradictory options)."""

    exit_code = ExitCode.USAGE


class DataError(MailrelayError):
    """Raised for bad input data: a payload, variable, address or log path that cannot be used."""

    exit_code = ExitCode.DATAERR


class ServerRefusedError(MailrelayError):
    """Raised when a server refuses permanently (SMTP 5xx, IMAP NO/BAD on a command)."""

    exit_code = ExitCode.UNAVAILABLE


class StartTLSUnavailableError(ServerRefusedError):
    """Raised when STARTTLS is configured but the server does not offer it (never downgrade)."""


class TemporaryError(MailrelayError):
    """Raised for failures worth retrying later: DNS, refused or dropped connection, timeout, 4xx."""

    exit_code = ExitCode.TEMPFAIL


class UnknownHostError(TemporaryError):
    """Raised when DNS says a server's host name does not exist (EAI_NONAME).

    Still 75 like every DNS failure, but a retry within the same run cannot help, so
    ``delivery`` gives up at once instead of waiting out ``smtp.retry_for``.
    """


class PartlyDeliveredError(TemporaryError):
    """Raised when delivery gave up (75) after the message may already have reached someone.

    ``reached`` names them: the recipients an SMTP server accepted before the others ran
    out of ``smtp.retry_for``, or every recipient when Graph's answer to the send was lost
    (a timeout or 504 after the request went out). A caller must not undo what the message
    started (an approval its recipients may answer) while ``reached`` is not empty.
    """

    def __init__(self, message: str, hint: str | None = None, reached: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint)
        self.reached = reached


class LockedError(TemporaryError):
    """Raised when another run holds the process-replies lock."""


class StateBusyError(TemporaryError):
    """Raised when the state store stays locked by another process past its wait (retry later)."""


class AuthError(MailrelayError):
    """Raised when a server rejects the credentials or a token cannot be had without a person."""

    exit_code = ExitCode.NOPERM


class ConfigError(MailrelayError):
    """Raised for a settings file, key or value that is wrong or missing."""

    exit_code = ExitCode.CONFIG


class CertificateError(ConfigError):
    """Raised when a server certificate fails verification (expired, wrong host, unknown CA)."""


class StateError(ConfigError):
    """Raised when the state store or state dir cannot be opened, read or written: a corrupt,
    truncated or read-only database, a full disk, an unwritable directory. Names the path."""


class UnknownApprovalError(ConfigError):
    """Raised when replies carry references signed with this key to approvals the store never
    issued (another host's state dir, a wrong state.url, an emptied database): fail closed."""


class NoKeyringError(ConfigError):
    """Raised when no usable keyring backend exists and no environment fallback is set."""


class KeyringSettingError(NoKeyringError):
    """Raised when ``PYTHON_KEYRING_BACKEND`` (or keyringrc.cfg) names a backend that does not exist."""


class NotFoundError(DataError):
    """Raised when a named thing (approval id, event, secret) does not exist."""


class TimedOut(MailrelayError):
    """Raised when `approvals wait --timeout` runs out with the approval still pending."""

    exit_code = ExitCode.EXPIRED


class InternalError(MailrelayError):
    """Raised for a bug: a state mailrelay should never reach."""

    exit_code = ExitCode.SOFTWARE


class Interrupted(MailrelayError):
    """Raised when the user interrupts (Ctrl-C) a command that waits."""

    exit_code = ExitCode.INTERRUPTED
