"""Rendering an event's templates: sandboxed Jinja2, HTML autoescaped, strict about variables.

Templates run in ``jinja2.sandbox.SandboxedEnvironment`` because a templates
dir may be writable by more people than the settings file. Only ``.html``
templates are autoescaped; the subject and the text part are plain text. In
HTML, only ``http``, ``https`` and ``mailto`` URLs become links: the
``link_url`` filter (used by the built-in templates for every ``href``; use it
in your own) gives an empty string for any other scheme (``javascript:``,
``data:``, ``vbscript:``), which is then shown as text, never as a link. A
required variable that is missing or empty is a ``DataError`` (65) naming it;
an optional one renders empty; a template asking for anything else (a typo, an
attribute a value does not have) is a ``DataError`` naming that too.

Compiled templates are kept in ``paths.cache_dir()/templates`` (Jinja2's
bytecode cache; a template whose source changed is compiled again), which
saves compiling them on every send. The cache is only used when that
directory is the user's own and nobody else can write to it, since its files
are executed; when it cannot be created, read or written, templates are
compiled as before and nothing fails because of it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli import paths
from mailrelay_cli.errors import ConfigError, DataError
from mailrelay_cli.outbound.events import COMMON_VARIABLES, Event, builtin_dir

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


# Everything str.splitlines() breaks on, and the other C0/C1 controls: none belongs in a
# one-line header, and several make the email package refuse to write it.
_LINE_BREAK = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


class Rendered(NamedTuple):
    """An event rendered: one-line subject, text part, HTML part (None if the event has none)."""

    subject: str
    text: str
    html: str | None


def environment(templates_dir: Path | None) -> Any:
    """A sandboxed environment reading ``templates_dir`` first, then the built-in templates."""
    from jinja2 import ChoiceLoader, FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment

    loaders = [FileSystemLoader(str(templates_dir))] if templates_dir else []
    loaders.append(FileSystemLoader(str(builtin_dir())))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=lambda name: bool(name) and name.endswith(".html"),
        undefined=_undefined_class(),
        bytecode_cache=_bytecode_cache(),
        **_OPTIONS,
    )
    env.filters["link_url"] = link_url
    return env


LINK_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# Browsers drop these anywhere in a URL, so "java\tscript:" is still javascript:.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def link_url(value: Any) -> str:
    """``value`` when it is an http, https or mailto URL, else "" (never a link)."""
    text = str(value or "")
    scheme = _SCHEME.match(_URL_IGNORED.sub("", text))
    if scheme is None or scheme.group(1).lower() not in LINK_SCHEMES:
        return ""
    return text.strip()


# The compiled code depends on these (and on the sandbox), so they are part of the cache's file names.
_OPTIONS = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}


def _bytecode_cache() -> Any:
    """A bytecode cache in ``paths.cache_dir()/templates``, or None when that dir is unusable."""
    import hashlib

    import jinja2
    from jinja2 import FileSystemBytecodeCache

    directory = paths.cache_dir() / "templates"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    if os.name == "posix" and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        return None  # files someone else could write would run as this user

    class QuietCache(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged file: compile the template again
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass  # read-only or full: the template was compiled and renders all the same

    tag = hashlib.sha1(
        f"{jinja2.__version__} sandboxed autoescape=.html {sorted(_OPTIONS.items())}".encode()
    ).hexdigest()[:12]
    return QuietCache(str(directory), f"{tag}-%s.cache")


def _undefined_class() -> type:
    """StrictUndefined, except that a variable nobody passed is empty rather than an error.

    A name missing at the top level (``{{ ticket }}``, ``{% if logs %}``) renders empty, so
    every variable not required is optional without declaring it; a missing attribute or
    key of a value that was passed (``{{ build.numbr }}``) still fails, naming it.
    """
    from jinja2 import StrictUndefined
    from jinja2.utils import missing

    # StrictUndefined makes these raise (typed as returning Never); here they may return.
    class OptionalUndefined(StrictUndefined):
        __slots__ = ()

        def _top_level(self) -> bool:
            return self._undefined_obj is missing and self._undefined_hint is None

        def __str__(self) -> str:  # type: ignore[override]
            return "" if self._top_level() else self._fail_with_undefined_error()

        def __iter__(self) -> Any:
            return iter(()) if self._top_level() else self._fail_with_undefined_error()

        def __bool__(self) -> bool:  # type: ignore[override]
            return False if self._top_level() else self._fail_with_undefined_error()

        def __len__(self) -> int:  # type: ignore[override]
            return 0 if self._top_level() else self._fail_with_undefined_error()

    return OptionalUndefined


def template_names(event: Event, env: Any) -> dict[str, str | None]:
    """``{"subject": "EVENT.subject", "text": "EVENT.txt", "html": "EVENT.html" or None}``."""
    names: dict[str, str | None] = {}
    for part, suffix in (("subject", "subject"), ("text", "txt"), ("html", "html")):
        name = f"{event.name}.{suffix}"
        names[part] = name if _exists(env, name) else None
    for part, suffix in (("subject", "subject"), ("text", "txt")):
        if names[part] is None:
            raise ConfigError(
                f"event {event.name} has no {event.name}.{suffix} template",
                hint="add it to notifications.templates_dir",
            )
    return names


def _exists(env: Any, name: str) -> bool:
    from jinja2 import TemplateNotFound

    try:
        env.loader.get_source(env, name)
    except TemplateNotFound:
        return False
    return True


def _where(env: Any, name: str) -> str:
    _, filename, _ = env.loader.get_source(env, name)
    return filename or name


def variables_used(
    event: Event, env: Any | None = None, templates_dir: Path | None = None
) -> tuple[str, ...]:
    """Every variable the event's templates (and the templates they extend) refer to, sorted."""
    from jinja2 import TemplateSyntaxError, meta

    env = env or environment(templates_dir)
    found: set[str] = set()
    pending = [name for name in template_names(event, env).values() if name]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        source, filename, _ = env.loader.get_source(env, name)
        try:
            tree = env.parse(source, name, filename)
        except TemplateSyntaxError as e:
            raise _syntax_error(e, filename or name) from e
        found |= meta.find_undeclared_variables(tree)
        pending.extend(ref for ref in meta.find_referenced_templates(tree) if ref)
    return tuple(sorted(found))


def _syntax_error(error: Exception, where: str) -> ConfigError:
    line = getattr(error, "lineno", None)
    at = f"{where}:{line}" if line else where
    return ConfigError(f"template {at}: {getattr(error, 'message', error)}", hint=f"fix the template {where}")


def check_required(event: Event, variables: Mapping[str, Any]) -> None:
    """DataError (65) naming the first required variable that is missing or empty."""
    for name in event.required:
        value = variables.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DataError(
                f"event {event.name} requires the variable {name}, which is "
                + ("empty" if name in variables else "missing"),
                hint=f"mailrelay send --event {event.name} --var {name}=VALUE "
                f'(or put "{name}" in the --payload JSON)',
            )


def context_for(event: Event, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables: given values, empty strings for optional ones; 65 for a missing one."""
    check_required(event, variables)
    context: dict[str, Any] = dict.fromkeys((*COMMON_VARIABLES, *event.optional), "")
    context.update(variables)
    return context


def render_event(
    event: Event,
    variables: Mapping[str, Any],
    templates_dir: Path | None = None,
    *,
    subject: str | None = None,
) -> Rendered:
    """Render ``event``'s subject, text and HTML with ``variables`` (see the module docstring).

    A given ``subject`` (``--subject``) replaces the subject template, which is then not rendered.
    """
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    env = environment(templates_dir)
    names = template_names(event, env)
    context = context_for(event, variables)
    parts: dict[str, str | None] = {}
    for part, name in names.items():
        if name is None or (part == "subject" and subject is not None):
            parts[part] = subject if part == "subject" else None
            continue
        try:
            parts[part] = env.get_template(name).render(context)
        except TemplateSyntaxError as e:
            raise _syntax_error(e, _where(env, name)) from e
        except UndefinedError as e:
            raise DataError(
                f"template {_where(env, name)}: {e.message}",
                hint=f"pass it with --var or the payload, or use |default('') in {name}",
            ) from e
        except SecurityError as e:
            raise ConfigError(
                f"template {_where(env, name)} did something the sandbox forbids: {e}",
                hint=f"fix the template {name}",
            ) from e
        except (TypeError, ValueError, ArithmeticError, LookupError) as e:
            # A template computing with a value of the wrong kind (a string compared to a
            # number): the data or the template is wrong, not mailrelay.
            raise DataError(
                f"template {_where(env, name)} failed: {type(e).__name__}: {e}",
                hint=f"check the variables passed, or fix the template {name}",
            ) from e
    # Optional sections leave blank-line runs behind; one blank line reads better in any client.
    text = re.sub(r"\n{3,}", "\n\n", parts["text"] or "")
    if subject is not None:
        return Rendered(subject=subject, text=text, html=parts["html"])
    subject = (parts["subject"] or "").strip()
    if _LINE_BREAK.search(subject):
        from jinja2 import meta

        source, filename, _ = env.loader.get_source(env, names["subject"])
        in_subject = meta.find_undeclared_variables(env.parse(source, names["subject"], filename))
        culprits = [
            k for k in in_subject if isinstance(context.get(k), str) and _LINE_BREAK.search(context[k])
        ]
        named = f" (from {', '.join(sorted(culprits))})" if culprits else ""
        raise DataError(
            f"event {event.name}: the subject would contain a line break{named}",
            hint="remove line breaks (CR, LF, VT, FF, NEL U+0085, U+2028, U+2029) "
            "and control characters from variables used in the subject",
        )
    return Rendered(subject=subject, text=text, html=parts["html"])


class VariableInfo(NamedTuple):
    name: str
    required: bool
    description: str


class EventInfo(NamedTuple):
    """What ``events show`` prints: the event, its variables, its templates, a rendered sample."""

    name: str
    description: str
    source: str
    variables: tuple[VariableInfo, ...]
    templates: tuple[str, ...]
    subject: str
    text: str
    html: str | None

    def to_json(self) -> dict[str, Any]:
        """The ``events show --json`` line."""
        return {
            "event": self.name,
            "description": self.description,
            "source": self.source,
            "variables": [
                {"name": v.name, "required": v.required, "description": v.description} for v in self.variables
            ],
            "templates": list(self.templates),
            "sample": {"subject": self.subject, "text": self.text, "html": self.html},
        }


def _approval_samples(event: Event, sample: dict[str, Any], settings: Any) -> dict[str, Any]:
    """What approvals add to an approval-requested message in a dry run, or {} when it cannot
    run here (or the event asks for no approval)."""
    if not event.asks_approval or settings is None:
        return {}
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.approvals.options import ApprovalOptions
    from mailrelay_cli.errors import MailrelayError

    try:
        draft = approvals.prepare_request(
            settings,
            sample,
            ["alice@example.com", "bob@example.com"],
            "<sample@example.com>",
            ApprovalOptions(),
            dry_run=True,
        )
    except MailrelayError:
        # e.g. no smtp.from configured yet: the catalogue's sample values still show the shape.
        return {}
    return dict(draft.variables)


def describe_event(name: str, templates_dir: Path | None = None, settings: Any = None) -> EventInfo:
    """``name``'s variables (required first, then common, then the rest) and a sample rendering.

    With ``settings``, an approval-requested event's approval is drafted (dry run, nothing
    recorded) to fill in its variables.
    """
    from mailrelay_cli.outbound.events import describe_variable, get_event, sample_value

    event = get_event(name, templates_dir)
    env = environment(templates_dir)
    names = template_names(event, env)
    used = variables_used(event, env)
    ordered = dict.fromkeys([*event.required, *COMMON_VARIABLES, *event.optional, *used])
    variables = tuple(VariableInfo(v, v in event.required, describe_variable(v)) for v in ordered)
    sample = {v: sample_value(v) for v in ordered}
    sample.update(_approval_samples(event, sample, settings))
    rendered = render_event(event, sample, templates_dir)
    return EventInfo(
        event.name,
        event.description,
        event.source,
        variables,
        tuple(_where(env, n) for n in names.values() if n),
        rendered.subject,
        rendered.text,
        rendered.html,
    )
