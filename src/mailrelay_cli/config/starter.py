"""``mailrelay config init``: a new settings file, every key commented, from the shipped example.

The example (``examples/settings.toml`` in the source tree) is package data, so a
``pip install`` carries it. In the new file every ``key = value`` line is commented
out, the section headers and the explanations stay: nothing takes effect until the
user (or ``config set``) writes a value, and ``config check`` names what is missing.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from mailrelay_cli.errors import ConfigError

_ASSIGNMENT = re.compile(r"^[A-Za-z0-9_.-]+\s*=")


def example_text() -> str:
    """The shipped example settings file, every key set to an example value."""
    return resources.files("mailrelay_cli").joinpath("data/settings.example.toml").read_text("utf-8")


def starter_text() -> str:
    """The example with every key commented out (multi-line values included)."""
    out: list[str] = [
        "# mailrelay settings, written by `mailrelay config init`. Uncomment and edit,",
        "# or run `mailrelay config set KEY VALUE` (it keeps these comments).",
    ]
    in_block = False
    for line in example_text().splitlines()[1:]:  # the example's own first line says "copy me"
        if in_block:
            out.append("# " + line if line else "#")
            if line.rstrip().endswith(('"""', "'''")):
                in_block = False
        elif _ASSIGNMENT.match(line):
            out.append("# " + line)
            value = line.partition("=")[2].strip()
            if value in ('"""', "'''"):
                in_block = True
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def write_starter(path: Path, *, force: bool = False) -> None:
    """Write ``starter_text()`` to ``path`` (ConfigError when it exists, unless ``force``)."""
    if path.exists() and not force:
        raise ConfigError(
            f"{path} already exists; nothing written",
            hint="edit it with mailrelay config set KEY VALUE, "
            "or overwrite it: mailrelay config init --force",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(starter_text(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise ConfigError(
            f"cannot write {path}: {e.strerror}", hint="check the directory and its permissions"
        ) from e
