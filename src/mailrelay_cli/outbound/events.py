"""The event catalogue: which events exist, their variables, and which one asks for an approval.

Built-in events are the entries of ``BUILTIN_EVENTS``; their templates are the
package files ``templates/EVENT.subject``, ``templates/EVENT.txt`` and
``templates/EVENT.html``. A user's ``notifications.templates_dir`` holds files
with the same names: a file there overrides the built-in one, and a new
``EVENT.subject`` + ``EVENT.txt`` (``EVENT.html`` optional) adds an event. A
new event may declare itself in ``EVENT.toml`` beside its templates::

    description = "A deployment was rolled back"
    required = ["instance_name", "reason"]   # missing -> exit 65 naming it
    optional = ["ticket"]                    # documented in `events show`

Every variable a template uses and nobody declared is optional (it renders
empty when not given). Every event gets ``COMMON_VARIABLES``.

An event that asks for an approval
----------------------------------
``approval-requested`` is the one event that does more than render: its entry
has ``asks_approval=True``, and ``sending.send`` then calls
``approvals.service.prepare_request`` itself (after validating the input,
before rendering). That records the approval and returns an ``ApprovalDraft``
(variables such as the approval id and the reference for the subject, the
``X-Mailrelay-Approval`` header, a Reply-To, and a ``forget`` callback that
``send`` runs when delivery fails). With ``--dry-run`` it records nothing.
Only such an event takes ``--expires-in``, ``--required`` and ``--notify``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli.errors import ConfigError, UsageError

EVENT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TEMPLATE_SUFFIXES = ("subject", "txt", "html")
COMMON_VARIABLES = ("instance_name", "project", "environment", "url", "requested_by")

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.

# name -> (what it means, the value `events show` renders its sample with)
VARIABLE_DOCS: dict[str, tuple[str, Any]] = {
    "instance_name": ("the release request (instance) this is about", "Release 2.4.1"),
    "project": ("project or application name", "webshop"),
    "environment": ("target environment", "production"),
    "url": ("link to the request in the release server", "https://release.example.com/r/42"),
    "requested_by": ("who started the request", "Alice Example"),
    "duration": ("how long the request ran", "12m"),
    "failed_step": ("the step that failed", "3 Deploy database"),
    "error": ("the error message of the failed step", "timeout waiting for db-1"),
    "logs": (
        "payload log list: path, step, step_name, endpoint, execution_id, failed",
        [
            {"step": 1, "step_name": "Build", "endpoint": "ci-1", "execution_id": "981", "failed": False},
            {
                "step": 3,
                "step_name": "Deploy database",
                "endpoint": "db-1",
                "execution_id": "983",
                "failed": True,
            },
        ],
    ),
    "attachments": ("names of the files attached (filled in by mailrelay)", ["Release_logs.zip"]),
    "title": ("what is to be approved", "Deploy 2.4.1 to production"),
    "details": ("more about what is to be approved", "Change window 22:00-23:00"),
    # Filled in by approvals for approval-requested; listed so `events show` can explain them.
    "approval_id": ("the approval's id (filled in by mailrelay)", "A7K2"),
    "approval_subject": (
        "the subject with the reference (filled in by mailrelay)",
        "Approval requested: Deploy 2.4.1 to production [MR-A7K2]",
    ),
    "approvers": ("who may decide: the --to addresses (filled in by mailrelay)", ["approver@example.com"]),
    "required": ("approvals needed, --required (filled in by mailrelay)", 1),
    "expires_at": ("when the approval expires (filled in by mailrelay)", "2026-11-28 15:00 UTC"),
    "reference": ("the signed reference a reply must keep (filled in by mailrelay)", "MR-A7K2"),
    "mailto_approve": (
        "mailto: link answering APPROVE (filled in by mailrelay)",
        "mailto:approvals@example.com?subject=APPROVE",
    ),
    "mailto_reject": (
        "mailto: link answering REJECT (filled in by mailrelay)",
        "mailto:approvals@example.com?subject=REJECT",
    ),
}


class Event(NamedTuple):
    """One catalogue entry. ``source`` is ``built-in`` or the templates dir that added it."""

    name: str
    description: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    # request-completed / request-failed carry logs (DESIGN.md "Attach logs").
    attach_logs: bool = False
    # approval-requested: `send` records an approval (see the module docstring).
    asks_approval: bool = False
    source: str = "built-in"

    def to_json(self) -> dict[str, Any]:
        """The ``events list --json`` line."""
        return {"event": self.name, "description": self.description, "source": self.source}


BUILTIN_EVENTS: tuple[Event, ...] = (
    Event("test", "A test notification: proves the templates, From address and delivery work"),
    Event(
        "request-completed",
        "A release request finished successfully",
        required=("instance_name",),
        optional=("duration", "logs", "attachments"),
        attach_logs=True,
    ),
    Event(
        "request-failed",
        "A release request failed",
        required=("instance_name",),
        optional=("failed_step", "error", "duration", "logs", "attachments"),
        attach_logs=True,
    ),
    Event(
        "approval-requested",
        "Someone is asked to approve a release step by replying",
        required=("title",),
        optional=("details",),
        asks_approval=True,
    ),
)


def builtin_dir() -> Path:
    """The package's own templates."""
    return Path(__file__).parent / "templates"


def _user_event(directory: Path, name: str, builtin: Event | None) -> Event:
    declared: dict[str, Any] = {}
    spec = directory / f"{name}.toml"
    if spec.is_file():
        try:
            declared = tomllib.loads(spec.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"{spec}: cannot read the event declaration: {e}",
                hint=f"fix {spec} (keys: description, required, optional)",
            ) from e
        for key in ("required", "optional"):
            value = declared.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f"{spec}: {key} must be a list of variable names",
                    hint=f'{key} = ["instance_name"] in {spec}',
                )
        unknown = set(declared) - {"description", "required", "optional"}
        if unknown:
            raise ConfigError(
                f"{spec}: unknown key {min(unknown)}", hint="keys are: description, required, optional"
            )
    if builtin is not None:
        # A user may tighten a built-in event (more required variables), never loosen it.
        return Event(
            builtin.name,
            str(declared.get("description", builtin.description)),
            required=_merge(builtin.required, declared.get("required", ())),
            optional=_merge(builtin.optional, declared.get("optional", ())),
            attach_logs=builtin.attach_logs,
            asks_approval=builtin.asks_approval,
            source=builtin.source,
        )
    return Event(
        name,
        str(declared.get("description", f"{name} (from {directory})")),
        required=tuple(declared.get("required", ())),
        optional=tuple(declared.get("optional", ())),
        source=str(directory),
    )


def _merge(first: tuple[str, ...], second: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


def catalogue(templates_dir: Path | None = None) -> dict[str, Event]:
    """Every event: the built-ins, then those ``templates_dir`` adds, in name order."""
    events = {event.name: event for event in BUILTIN_EVENTS}
    if templates_dir is None:
        return events
    if not templates_dir.is_dir():
        raise ConfigError(
            f"notifications.templates_dir {templates_dir} is not a directory",
            hint=f"mkdir -p {templates_dir}, or mailrelay config set notifications.templates_dir DIR",
        )
    names = set()
    for path in templates_dir.iterdir():
        stem, _, suffix = path.name.rpartition(".")
        if suffix in ("subject", "txt", "toml") and EVENT_NAME.match(stem) and path.is_file():
            names.add(stem)
    added = {}
    for name in sorted(names):
        if name in events:
            events[name] = _user_event(templates_dir, name, events[name])
        elif (templates_dir / f"{name}.subject").is_file() and (templates_dir / f"{name}.txt").is_file():
            added[name] = _user_event(templates_dir, name, None)
        else:
            raise ConfigError(
                f"{templates_dir}: event {name} needs both {name}.subject and {name}.txt",
                hint=f"add {templates_dir / (name + '.subject')} and "
                f"{templates_dir / (name + '.txt')} ({name}.html is optional)",
            )
    events.update(added)
    return events


def get_event(name: str, templates_dir: Path | None = None) -> Event:
    """The event ``name``, or a usage error (2) suggesting the closest one."""
    events = catalogue(templates_dir)
    try:
        return events[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(events), n=1, cutoff=0.5)
        raise UsageError(
            f"no event named {name!r}"
            + (f"; did you mean {close[0]}?" if close else "")
            + f" (known: {', '.join(events)})",
            hint=f"mailrelay events show {close[0]}" if close else "mailrelay events list",
        ) from None


def describe_variable(name: str) -> str:
    return VARIABLE_DOCS.get(name, ("", None))[0]


def sample_value(name: str) -> Any:
    """The value ``events show`` renders ``name`` with (a readable placeholder when unknown)."""
    doc = VARIABLE_DOCS.get(name)
    return doc[1] if doc else f"<{name}>"
