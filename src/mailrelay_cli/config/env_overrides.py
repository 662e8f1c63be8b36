"""Settings from the environment: ``MAILRELAY__SECTION__KEY`` overrides ``section.key``.

For containers and CI, where writing a file is awkward. The scheme: ``MAILRELAY__``
(two underscores), then the key's dotted parts in upper case joined by ``__``:
``smtp.host`` is ``MAILRELAY__SMTP__HOST``, ``name`` is ``MAILRELAY__NAME``,
``events.request-failed.to`` is ``MAILRELAY__EVENTS__REQUEST_FAILED__TO`` (an event
name's hyphens are written as underscores). The double underscore keeps these apart
from the secret variables (``MAILRELAY_SMTP_PASSWORD``, one underscore) and the
path variables (``MAILRELAY_CONFIG``, ``MAILRELAY_STATE_DIR``). Values are written as
for ``mailrelay config set`` (``true``, ``587``, ``72h``, ``["a", "b"]`` or
``a@x,b@x``). An empty variable counts as unset. A variable naming no key, or a
secret, is a configuration error (78): a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mailrelay_cli.config.schema import KEYS, is_secret_key, spec_for
from mailrelay_cli.config.text_values import parse_cli_value
from mailrelay_cli.errors import ConfigError

PREFIX = "MAILRELAY__"


def env_name(key: str) -> str:
    """The variable that overrides ``key``: ``smtp.host`` -> ``MAILRELAY__SMTP__HOST``."""
    return PREFIX + "__".join(part.upper().replace("-", "_").replace(".", "_") for part in key.split("."))


def key_of(name: str) -> str:
    """The settings key a ``MAILRELAY__…`` variable names (the inverse of ``env_name``)."""
    parts = [part.lower() for part in name[len(PREFIX) :].split("__")]
    if len(parts) == 3 and parts[0] == "events":
        parts[1] = parts[1].replace("_", "-")
    return ".".join(parts)


def _suggest(key: str) -> str:
    import difflib

    known = [spec.key for spec in KEYS if "*" not in spec.key]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {env_name(close[0])}?"
    return "see `mailrelay config show` for every key; the variable is MAILRELAY__SECTION__KEY"


def overrides(environ: Mapping[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """``{key: (value, "env NAME")}`` for every non-empty ``MAILRELAY__…`` variable."""
    environ = os.environ if environ is None else environ
    found: dict[str, tuple[Any, str]] = {}
    for name in sorted(environ):
        if not name.upper().startswith(PREFIX) or not environ[name]:
            continue
        key = key_of(name)
        if is_secret_key(key):
            secret_var = "MAILRELAY_" + key.upper().replace(".", "_")
            raise ConfigError(
                f"{name}: {key} is a secret and secrets are not settings",
                hint=f"unset {name}; pass the secret as {secret_var} (one underscore) "
                f"or store it: mailrelay secret set {key}",
            )
        if spec_for(key) is None:
            raise ConfigError(f"{name}: no settings key {key}", hint=_suggest(key))
        try:
            value = parse_cli_value(key, environ[name])
        except ConfigError as e:
            raise ConfigError(f"{name}: {e.message}", hint=f"fix or unset {name}") from e
        found[key] = (value, f"env {name}")
    return found
