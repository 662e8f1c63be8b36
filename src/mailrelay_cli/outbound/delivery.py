"""Delivering a built message: one SMTP session for all recipients, retries, refusals.

``deliver(settings, built)`` opens one connection (``smtp.open_smtp``) and
sends to every recipient in it. What happens on failure:

- temporary (connection refused or lost, timeout, 421, any 4xx): retried in a
  new session with backoff (the first wait is ``smtp.retry_for``/8, at most
  5 s, doubling up to 60 s) until ``smtp.retry_for`` has passed, then
  ``TemporaryError`` (75). Recipients already accepted are not sent to again;
  only those deferred with a 4xx are retried. When some recipients had accepted
  the message before time ran out, the error is a ``PartlyDeliveredError`` whose
  ``reached`` names them (they may answer an approval request). A host name that does not exist
  (``UnknownHostError``, also 75) is not retried: it will not appear in minutes;
- permanent (5xx for the sender, the data, or every recipient):
  ``ServerRefusedError`` (69) at once, with the server's reply;
- some recipients refused with 5xx and others accepted: the message goes to
  the accepted ones and ``Delivery.refused`` lists the others with the
  server's reply. ``deliver`` does not raise for that; the caller decides
  (``mailrelay send`` exits 69 unless ``--allow-partial``).

Authentication and certificate errors from ``open_smtp`` are never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import (
    MailrelayError,
    PartlyDeliveredError,
    ServerRefusedError,
    TemporaryError,
    UnknownHostError,
)
from mailrelay_cli.outbound.delivery_result import Delivery, Refusal, RetryNotice
from mailrelay_cli.outbound.message import Address, Built

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

FIRST_WAIT_MAX = 5.0
WAIT_MAX = 60.0


def first_wait(retry_for: float) -> float:
    return min(FIRST_WAIT_MAX, max(0.05, retry_for / 8))


def _reply(raw: Any) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


def _where(settings: Settings) -> str:
    return f"{settings.smtp.host}:{settings.smtp.port}"


class _Deferred(Exception):
    """One session ended in a temporary failure; carries what to say if time runs out."""

    def __init__(self, error: TemporaryError) -> None:
        super().__init__(error.message)
        self.error = error


def _session(
    settings: Settings, built: Built, pending: list[Address], data: bytes, connect: Callable[..., Any]
) -> tuple[list[Address], list[Refusal], list[Refusal]]:
    """One SMTP session to ``pending``: (accepted, permanently refused, temporarily refused)."""
    import smtplib

    where = _where(settings)
    result: tuple[list[Address], list[Refusal], list[Refusal]] | None = None
    try:
        with connect(settings) as smtp:
            smtp.ehlo_or_helo_if_needed()
            options: list[str] = []
            if built.smtputf8:
                if not smtp.has_extn("smtputf8"):
                    needing = [a.envelope for a in (built.sender, *pending) if a.needs_smtputf8]
                    raise ServerRefusedError(
                        f"{where} does not offer SMTPUTF8, which {', '.join(needing)} needs",
                        hint="use an ASCII address for these recipients, or a server with SMTPUTF8",
                    )
                options.append("SMTPUTF8")
                if smtp.has_extn("8bitmime"):
                    options.append("BODY=8BITMIME")
            by_envelope = {a.envelope: a for a in pending}
            try:
                refused_raw = smtp.sendmail(
                    built.sender.envelope, list(by_envelope), data, mail_options=options
                )
            except smtplib.SMTPRecipientsRefused as e:
                if any(code == 421 for code, _ in e.recipients.values()):
                    raise _Deferred(
                        TemporaryError(
                            f"{where} is closing the connection (421) while taking recipients",
                            hint="mailrelay retries within smtp.retry_for; cron can run it again",
                        )
                    ) from e
                refused_raw, accepted_now = e.recipients, []
            else:
                accepted_now = [a for env, a in by_envelope.items() if env not in refused_raw]
            permanent: list[Refusal] = []
            temporary: list[Refusal] = []
            for envelope, (code, reply) in refused_raw.items():
                refusal = Refusal(by_envelope[envelope].bare, code, _reply(reply))
                (temporary if 400 <= code < 500 else permanent).append(refusal)
            result = (accepted_now, permanent, temporary)
    except smtplib.SMTPSenderRefused as e:
        _raise_for(e.smtp_code, e.smtp_error, where, f"MAIL FROM <{e.sender}>", e)
    except smtplib.SMTPDataError as e:
        _raise_for(e.smtp_code, e.smtp_error, where, "the message (DATA)", e)
    except (smtplib.SMTPException, OSError) as e:
        if result is None:
            raise _Deferred(
                TemporaryError(
                    f"connection to {where} failed while sending: {_reply(e) or type(e).__name__}",
                    hint="mailrelay retries within smtp.retry_for; cron can run it again",
                )
            ) from e
        # The server took the message; a failure while saying goodbye changes nothing.
    except TemporaryError as e:
        raise _Deferred(e) from e
    assert result is not None
    return result


def _raise_for(code: int, reply: Any, where: str, what: str, error: Exception) -> None:
    text = f"{where} refused {what}: {code} {_reply(reply)}"
    if 400 <= code < 500:
        raise _Deferred(
            TemporaryError(text, hint="mailrelay retries within smtp.retry_for; cron can run it again")
        ) from error
    raise ServerRefusedError(
        text, hint="read the server's reply; fix the sender, recipient or message it names"
    ) from error


def _open_smtp(settings: Settings) -> AbstractContextManager[Any]:
    """The SMTP session of the settings: endpoint and login resolved here, once."""
    from mailrelay_cli.auth.logins import resolve_session
    from mailrelay_cli.transport.smtp import open_smtp

    return open_smtp(*resolve_session(settings, "smtp"))


def _given_up(failure: MailrelayError, why: str, accepted: list[str]) -> MailrelayError:
    """The error ``deliver`` ends with: a ``PartlyDeliveredError`` when someone got the message."""
    failure.message += why
    if not accepted:
        return failure
    delivered = f" (delivered to {', '.join(accepted)})"
    message = failure.message if delivered in failure.message else failure.message + delivered
    error = PartlyDeliveredError(message, failure.hint, reached=tuple(accepted))
    error.__cause__ = failure.__cause__
    return error


def deliver(
    settings: Settings,
    built: Built,
    *,
    connect: Callable[..., Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> Delivery:
    """Send ``built`` to its recipients (see the module docstring for failures and retries).

    ``connect(settings)`` is the connection factory, ``smtp.open_smtp`` on the settings'
    endpoint and login unless given.
    With ``smtp.transport = "graph"`` the message goes through Microsoft Graph instead
    (``graph_send``; its retries are Graph's throttling within ``smtp.retry_for``).
    ``on_retry`` hears of each SMTP retry before its wait (the CLI prints it; this never does).
    """
    if settings.smtp.transport == "graph" and connect is None:
        from mailrelay_cli.outbound.graph_send import deliver_graph

        return deliver_graph(settings, built, sleep=sleep)
    if connect is None:
        connect = _open_smtp
    data = built.as_bytes()
    deadline = clock() + settings.smtp.retry_for
    wait = first_wait(settings.smtp.retry_for)
    pending = list(built.recipients)
    accepted: list[str] = []
    refused: list[Refusal] = []
    attempts = 0
    while True:
        attempts += 1
        try:
            accepted_now, permanent, temporary = _session(settings, built, pending, data, connect)
        except _Deferred as deferred:
            failure: MailrelayError = deferred.error
        else:
            accepted.extend(a.bare for a in accepted_now)
            refused.extend(permanent)
            if not temporary:
                break
            pending = [a for a in pending if a.bare in {r.address for r in temporary}]
            failure = TemporaryError(
                f"{_where(settings)} deferred {', '.join(str(r) for r in temporary)}"
                + (f" (delivered to {', '.join(accepted)})" if accepted else ""),
                hint="mailrelay retries within smtp.retry_for; cron can run it again",
            )
        tried = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if isinstance(failure, UnknownHostError):
            raise _given_up(failure, f" (gave up after {tried}: the name does not exist)", accepted)
        remaining = deadline - clock()
        if remaining <= 0:
            raise _given_up(failure, f" (gave up after {tried})", accepted)
        pause = min(wait, remaining)
        if on_retry is not None:
            on_retry(RetryNotice(pause, failure.message, attempts + 1, time.time() + remaining))
        sleep(pause)
        wait = min(wait * 2, WAIT_MAX)
    if not accepted:
        raise ServerRefusedError(
            f"{_where(settings)} refused every recipient: " + "; ".join(str(r) for r in refused),
            hint="check the addresses; the server's reply says why",
        )
    return Delivery(built.message_id, tuple(accepted), tuple(refused), attempts)
