"""The ``mailrelay send`` use case: validate, render, attach, build, deliver; return a SendResult.

Everything that can be wrong with the input (unknown event, bad address,
missing variable, missing log, header injection) fails before any server is
contacted. ``--dry-run`` stops after building and contacts nothing (no DNS).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import DataError, MailrelayError, PartlyDeliveredError, UsageError
from mailrelay_cli.outbound.events import Event

if TYPE_CHECKING:
    from mailrelay_cli.approvals.options import ApprovalOptions
    from mailrelay_cli.approvals.service import ApprovalDraft

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class SendRequest(NamedTuple):
    """What the command line (or another caller) asks for."""

    event: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    variables: Mapping[str, Any] = MappingProxyType({})
    payload: Mapping[str, Any] | None = None
    logs: tuple[Path, ...] = ()
    failed_logs: tuple[Path, ...] = ()
    subject: str | None = None
    dry_run: bool = False
    # For an event that asks for an approval (--required, --expires-in, --notify);
    # None: the defaults. Other events never look at it (the command line refuses it there).
    approval: ApprovalOptions | None = None


class SendResult(NamedTuple):
    """What was sent. ``refused`` are (address, code, reply); ``mime`` is set by dry runs only."""

    event: str
    message_id: str
    recipients: tuple[str, ...]
    refused: tuple[tuple[str, int, str], ...]
    approval_id: str | None
    subject: str
    attachments: tuple[str, ...] = ()
    cut_logs: tuple[str, ...] = ()
    attempts: int = 0
    dry_run: bool = False
    mime: str | None = None
    # Logs given but not attached, and why ("notifications.attach_logs is never").
    skipped_logs: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md JSON line of ``send``."""
        return {
            "event": self.event,
            "message_id": self.message_id,
            "recipients": list(self.recipients),
            "refused": [{"address": a, "code": c, "reply": r} for a, c, r in self.refused],
            "approval_id": self.approval_id,
        }


def parse_payload(text: str, where: str) -> dict[str, Any]:
    """The ``--payload`` JSON object; DataError naming ``where`` when it is not one."""
    if not text.strip():
        raise DataError(
            f"{where} is empty",
            hint='give one JSON object, e.g. {"instance_name": "R 2.4"}, or leave out --payload',
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(
            f"{where}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
            hint='the payload is one JSON object, e.g. {"instance_name": "R 2.4"}',
        ) from e
    if not isinstance(value, dict):
        raise DataError(
            f"{where}: the payload must be a JSON object, not {type(value).__name__}",
            hint='the payload is one JSON object, e.g. {"instance_name": "R 2.4"}',
        )
    return value


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--var KEY=VALUE`` pairs as a dict; UsageError for one without ``=``."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--var {pair!r} is not KEY=VALUE",
                hint="mailrelay send --event EVENT --var instance_name='Release 2.4'",
            )
        result[key.strip()] = value
    return result


def _recipients(settings: Settings, request: SendRequest) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    from mailrelay_cli.outbound.message import parse_addresses

    configured = settings.events.get(request.event)
    to_texts = request.to or (configured.to if configured else ())
    cc_texts = request.cc or (configured.cc if configured else ())
    to_where = "--to" if request.to else f"events.{request.event}.to"
    cc_where = "--cc" if request.cc else f"events.{request.event}.cc"
    to = parse_addresses(to_texts, to_where)
    cc = parse_addresses(cc_texts, cc_where)
    if not to and not cc:
        raise UsageError(
            f"no recipient for event {request.event}: give --to, or set events.{request.event}.to "
            f"in {settings.path}",
            hint=f'mailrelay config set events.{request.event}.to "ops@example.com"',
        )
    return to, cc


def send(
    settings: Settings, request: SendRequest, *, connect: Any = None, on_retry: Any = None
) -> SendResult:
    """Send ``request`` (see the module docstring); an event that asks for an approval records
    it first, and forgets it again when the message cannot be built or reached nobody. When
    delivery gave up after the message may have reached some recipients
    (``PartlyDeliveredError``), the approval stays pending: they may answer it.

    ``on_retry`` is ``delivery.deliver``'s: called with a ``RetryNotice`` before each retry."""
    from mailrelay_cli.outbound import delivery, events
    from mailrelay_cli.outbound import templating as rendering
    from mailrelay_cli.outbound.message import new_message_id, parse_address

    templates_dir = settings.notifications.templates_dir
    event = events.get_event(request.event, templates_dir)
    sender = parse_address(settings.require("smtp.from"), "smtp.from")
    to, cc = _recipients(settings, request)

    variables: dict[str, Any] = dict(request.payload or {})
    variables.update(request.variables)

    chosen: list[Any] = []  # attachments.LogFile
    skipped: tuple[tuple[str, str], ...] = ()
    if event.attach_logs:
        from mailrelay_cli.outbound import attachments  # only events that carry logs import it

        logs = attachments.logs_from_payload((request.payload or {}).get("logs"), "payload")
        logs += attachments.logs_from_paths(request.logs, request.failed_logs, len(logs) + 1)
        attachments.check_exist(logs)
        policy = settings.notifications.attach_logs
        chosen = attachments.select(logs, policy)
        reason = (
            f"notifications.attach_logs is {policy}"
            if policy == "never"
            else f"notifications.attach_logs is {policy} and the log is not marked failed"
        )
        skipped = tuple((str(log.path), reason) for log in logs if log not in chosen)
    elif request.logs or request.failed_logs:
        raise UsageError(
            f"event {event.name} does not carry logs",
            hint="logs are attached to request-completed and request-failed",
        )

    rendering.check_required(event, variables)
    message_id = new_message_id(sender)
    prepared = None
    if event.asks_approval:
        # Imported here: only this event pays for the approvals store.
        from mailrelay_cli.approvals import service as approvals
        from mailrelay_cli.approvals.options import ApprovalOptions

        prepared = approvals.prepare_request(
            settings,
            dict(variables),
            [address.bare for address in to],
            message_id,
            request.approval or ApprovalOptions(),
            dry_run=request.dry_run,
        )
        variables.update(prepared.variables)

    try:
        built, attachment, subject = _compose(
            settings, event, variables, request, chosen, prepared, sender, to, cc, message_id
        )
    except MailrelayError:
        _forget(prepared)
        raise
    attached = (attachment.filename,) if attachment else ()
    approval_id = prepared.approval_id if prepared else None
    cut = attachment.cut if attachment else ()
    if request.dry_run:
        return SendResult(
            event.name,
            message_id,
            tuple(a.bare for a in built.recipients),
            (),
            approval_id,
            subject,
            attached,
            cut,
            0,
            True,
            built.as_text(),
            skipped,
        )
    try:
        outcome = delivery.deliver(settings, built, connect=connect, on_retry=on_retry)
    except PartlyDeliveredError as e:
        if not e.reached:
            _forget(prepared)
        raise  # otherwise someone may have the request and answer it; unanswered, it expires
    except MailrelayError:
        _forget(prepared)
        raise
    return SendResult(
        event.name,
        message_id,
        outcome.accepted,
        tuple((r.address, r.code, r.reply) for r in outcome.refused),
        approval_id,
        subject,
        attached,
        cut,
        outcome.attempts,
        skipped_logs=skipped,
    )


def _forget(prepared: ApprovalDraft | None) -> None:
    if prepared is not None and prepared.forget is not None:
        prepared.forget()


def _compose(
    settings: Settings,
    event: Event,
    variables: dict[str, Any],
    request: SendRequest,
    chosen: list[Any],
    prepared: ApprovalDraft | None,
    sender: Any,
    to: Any,
    cc: Any,
    message_id: str,
) -> tuple[Any, Any, str]:
    from mailrelay_cli.outbound import templating as rendering
    from mailrelay_cli.outbound.message import build_message, parse_address

    attachment = None
    if chosen:
        from mailrelay_cli.outbound import attachments

        instance = str(variables.get("instance_name") or event.name)
        attachment = attachments.build(chosen, instance, settings.notifications.max_attachment_mb)
        if attachment is not None:
            variables.setdefault("attachments", [attachment.filename])
    rendered = rendering.render_event(
        event, variables, settings.notifications.templates_dir, subject=request.subject
    )
    subject = rendered.subject
    if prepared is not None and prepared.remember is not None:
        prepared.remember(subject, rendered.text, rendered.html)
    reply_to = parse_address(prepared.reply_to, "Reply-To") if prepared else None
    built = build_message(
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        text=rendered.text,
        html=rendered.html,
        attachments=[attachment] if attachment else [],
        headers=prepared.headers if prepared else None,
        reply_to=reply_to,
        message_id=message_id,
    )
    return built, attachment, subject
