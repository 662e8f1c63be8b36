"""Where mailrelay keeps its settings and state.

Settings file, first match wins:
  1. ``--config PATH`` on the command line
  2. ``$MAILRELAY_CONFIG``
  3. ``$MAILRELAY_CONFIG_DIR/settings.toml``
  4. the platform config dir: ``$XDG_CONFIG_HOME/mailrelay/settings.toml``
     (``~/.config`` when unset) on Linux, ``~/Library/Application Support/mailrelay``
     on macOS, ``%APPDATA%\\mailrelay`` on Windows.

State directory (SQLite database, archive, lock), first match wins:
  1. ``state.path`` in the settings file
  2. ``$MAILRELAY_STATE_DIR``
  3. ``$XDG_STATE_HOME/mailrelay`` (``~/.local/state`` when unset) on Linux,
     ``~/Library/Application Support/mailrelay/state`` on macOS,
     ``%LOCALAPPDATA%\\mailrelay\\state`` on Windows.

Cache directory (compiled templates; safe to delete), first match wins:
  1. ``$MAILRELAY_CACHE_DIR``
  2. ``$XDG_CACHE_HOME/mailrelay`` (``~/.cache`` when unset) on Linux,
     ``~/Library/Caches/mailrelay`` on macOS,
     ``%LOCALAPPDATA%\\mailrelay\\cache`` on Windows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "mailrelay"


def config_dir() -> Path:
    override = os.environ.get("MAILRELAY_CONFIG_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP


def config_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MAILRELAY_CONFIG")
    if env:
        return Path(env).expanduser()
    return config_dir() / "settings.toml"


def default_state_dir() -> Path:
    override = os.environ.get("MAILRELAY_STATE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")
        return Path(local) / APP / "state"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP / "state"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP


def cache_dir() -> Path:
    override = os.environ.get("MAILRELAY_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")
        return Path(local) / APP / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP


def write_private(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` atomically, readable by its owner only (0600 from the first
    byte, in a 0700 directory made if missing). The temporary name carries the pid, so two
    processes writing at once (cron beside the watcher) never share it. OSError is the caller's
    to translate (what the file is decides the exit code)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
