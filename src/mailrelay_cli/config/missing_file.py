"""A settings file that does not exist: the first thing every command says, before any
"key is not set" that follows from it."""

from __future__ import annotations

from pathlib import Path

from mailrelay_cli import paths
from mailrelay_cli.errors import ConfigError


def missing_file_text(path: Path, given_by: str | None = None) -> tuple[str, str]:
    """(message, hint) for a settings file at ``path`` that does not exist.

    ``given_by`` (``--config``, ``MAILRELAY_CONFIG``) says the path was named on purpose: then
    the hint never offers to create it, as a mistyped path must not become a new empty file.
    """
    default = paths.config_dir() / "settings.toml"
    if given_by is None and path == default:
        return (
            f"{path} does not exist",
            "mailrelay config init (a commented settings file), then: mailrelay config set smtp.host HOST",
        )
    where = f" (given by {given_by})" if given_by else ""
    return (
        f"{path} does not exist{where}",
        f"check the path for a typo; the default settings file is {default}",
    )


def missing_file_error(path: Path, given_by: str | None = None) -> ConfigError:
    message, hint = missing_file_text(path, given_by)
    return ConfigError(message, hint=hint)
