"""msal's HTTP cache kept between runs, so a run with a valid token needs no network.

msal caches the answers of Microsoft's discovery requests (instance discovery and
the tenant's OpenID configuration) for 24 hours in a dict-like ``http_cache``;
without it every process asks again, and a cron run with a perfectly valid
token fails when login.microsoftonline.com cannot be reached. The cache holds
no token and nothing personal (msal's documentation says so), so it lives in
a file beside the state, ``msal-http-cache.json`` (mode 0600 all the same).

It is written as JSON, never pickled: loading a pickle runs code, and a file
must never be able to do that. Values are msal's responses (status, text,
headers) and msal's own bookkeeping (lists, tuples, numbers, strings). A file
that cannot be read is an empty cache: msal asks the network again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mailrelay_cli.config.records import Settings
from mailrelay_cli.paths import write_private

FILE_NAME = "msal-http-cache.json"


def cache_path(settings: Settings) -> Path:
    return settings.state_dir / FILE_NAME


def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "status_code") and hasattr(value, "text"):
        return {
            "__response__": {
                "status_code": int(value.status_code),
                "text": str(value.text),
                "headers": dict(getattr(value, "headers", {}) or {}),
            }
        }
    raise TypeError(f"cannot keep {type(value).__name__} in the HTTP cache")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__response__"}:
            return _response(value["__response__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def _response(data: dict[str, Any]) -> Any:
    from msal.throttled_http_client import NormalizedResponse  # type: ignore[import-untyped]

    response = NormalizedResponse.__new__(NormalizedResponse)
    response.status_code = int(data["status_code"])
    response.text = str(data["text"])
    response.headers = {str(k): str(v) for k, v in dict(data.get("headers") or {}).items()}
    return response


class PersistedHttpCache(dict):  # type: ignore[type-arg,unused-ignore]
    """The dict msal writes into; ``save`` writes it back when it changed."""

    def __init__(self, path: Path, initial: dict[str, Any]) -> None:
        super().__init__(initial)
        self.path = path
        self._snapshot = json.dumps(_encode(dict(self)), sort_keys=True)

    def save(self) -> None:
        try:
            text = json.dumps(_encode(dict(self)), sort_keys=True)
        except TypeError:
            return  # something msal keeps that JSON cannot hold: simply not persisted
        if text == self._snapshot:
            return
        try:
            write_private(self.path, text)
        except OSError:
            return  # a cache: the next run asks the network again, nothing is lost
        self._snapshot = text


def load(settings: Settings) -> PersistedHttpCache:
    """The persisted cache (empty when missing or unreadable)."""
    path = cache_path(settings)
    initial: dict[str, Any] = {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            initial = _decode(data)
    except (OSError, ValueError, KeyError, TypeError):
        initial = {}
    return PersistedHttpCache(path, initial)
