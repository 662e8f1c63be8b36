"""IMAP Properties: the JavaMail-style text a release server's settings page holds.

``imap.properties`` is pasted from such a page. Lines are ``key=value``; ``#``
and ``!`` comments and blank lines are ignored. ``PROTOCOL=imap`` (or
``imaps``) sets ``${{PROTOCOL}}``; ``${{IMAP_HOST_NAME}}``,
``${{IMAP_HOST_PORT}}`` and ``${{IMAP_ENABLE_STARTTLS}}`` come from the fields
``imap.host``, ``imap.port`` and ``imap.starttls``. After substitution, keys
``mail.PROTOCOL.*`` keep their JavaMail meaning and override the fields.

Choices where JavaMail's own behaviour would be unsafe for a cron job (each is
documented in the man page, section IMAP PROPERTIES):

* ``ssl.checkserveridentity`` defaults to *true* here (JavaMail: false); only an
  explicit ``false`` turns the host-name check off, with a warning on every run.
* ``starttls.enable=true`` makes STARTTLS required unless ``starttls.required=false``
  is written explicitly (JavaMail would silently continue in plain text).
* ``socketFactory.fallback=true`` is not honoured: mailrelay never falls back to a
  plain connection when TLS fails. It is listed as ignored.
* ``connectiontimeout=0`` / ``timeout=0`` (JavaMail: wait forever) keep the field
  ``imap.timeout``: a cron run must not hang.
* When the block says nothing about TLS (no ``ssl.enable``, ``socketFactory.class``,
  ``starttls.*``, and protocol ``imap``), the fields ``imap.tls`` / ``imap.starttls``
  decide. When it says anything, it decides TLS completely, as JavaMail would.

This module is pure: it never connects, prints or reads the environment.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from mailrelay_cli.config.display import ConfigRow
from mailrelay_cli.config.records import ServerSettings
from mailrelay_cli.config.schema import refuse_secrets
from mailrelay_cli.errors import ConfigError

VARIABLES = ("PROTOCOL", "IMAP_HOST_NAME", "IMAP_HOST_PORT", "IMAP_ENABLE_STARTTLS")
PROTOCOLS = ("imap", "imaps")
SSL_FACTORIES = (
    "javax.net.ssl.SSLSocketFactory",
    "com.sun.mail.util.MailSSLSocketFactory",
    "org.eclipse.angus.mail.util.MailSSLSocketFactory",
)
PLAIN_FACTORIES = ("javax.net.SocketFactory",)
# Keys (after ``mail.PROTOCOL.``) that mean something here.
KNOWN_KEYS = (
    "host",
    "port",
    "ssl.enable",
    "socketFactory.class",
    "socketFactory.port",
    "socketFactory.fallback",
    "starttls.enable",
    "starttls.required",
    "ssl.protocols",
    "ssl.trust",
    "ssl.checkserveridentity",
    "connectiontimeout",
    "timeout",
)
# JavaMail keys that have a home elsewhere, or none: said when `config check` lists them.
_ELSEWHERE = {
    "user": "set imap.user instead",
    "auth.mechanisms": "set imap.auth instead",
    "auth.login.disable": "set imap.auth instead",
    "auth.plain.disable": "set imap.auth instead",
    "auth.xoauth2.disable": "set imap.auth instead",
    "sasl.enable": "set imap.auth instead",
    "sasl.mechanisms": "set imap.auth instead",
    "writetimeout": "mailrelay applies timeout to writes as well",
    "ssl.socketFactory.class": "mailrelay makes its own TLS sockets; see ssl.trust",
    "ssl.socketFactory.port": "mailrelay makes its own TLS sockets; set port",
    "ssl.ciphersuites": "mailrelay uses OpenSSL's default ciphers",
    "partialfetch": "mailrelay fetches whole replies up to approval.max_message_kb",
    "fetchsize": "mailrelay fetches whole replies up to approval.max_message_kb",
}
_VAR = re.compile(r"\$\{\{([^{}]*)\}\}")
_OLD_TLS = ("SSLv2Hello", "SSLv3", "TLSv1", "TLSv1.1")
_TLS = ("TLSv1.2", "TLSv1.3")
_HINT = "edit imap.properties in the settings file (mailrelay config path), then run: mailrelay config check"


# NamedTuples, not dataclasses: `config check` loads this module, and creating a
# dataclass costs ~2 ms of start-up against ~0.2 ms for a NamedTuple.
class Line(NamedTuple):
    """One ``key=value`` line after substitution (``key`` without ``mail.PROTOCOL.`` when ours)."""

    number: int
    key: str
    value: str


class Ignored(NamedTuple):
    """A line with no meaning here; ``config check`` lists it (never silently dropped)."""

    number: int
    key: str
    reason: str


class Override(NamedTuple):
    """A value the properties set on the connection.

    ``name`` is the ``Endpoint`` attribute; ``field`` the settings key it overrides
    (None when no field has that meaning); ``number`` the line that decided it
    (0 for the protocol ``imaps`` inferred from the keys).
    """

    number: int
    key: str
    name: str
    value: Any
    field: str | None = None
    field_value: Any = None

    @property
    def disagrees(self) -> bool:
        return self.field is not None and self.value != self.field_value

    @property
    def source(self) -> str:
        return f"imap.properties line {self.number}" if self.number else "imap.properties"


class Parsed(NamedTuple):
    """The properties after substitution and validation."""

    protocol: str
    protocol_line: int | None
    lines: dict[str, Line]  # short key -> the line that counts (Java: the last wins)
    ignored: tuple[Ignored, ...]


def _error(number: int, what: str, hint: str = _HINT) -> ConfigError:
    return ConfigError(f"imap.properties line {number}: {what}", hint=hint)


def _split(text: str) -> list[tuple[int, str, str]]:
    """(line number, key, value) of every ``key=value`` line; comments and blanks dropped."""
    refuse_secrets(text)
    pairs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#!":
            continue
        key, sep, value = stripped.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise _error(number, f"not a key=value line: {stripped[:60]!r}")
        if re.search(r"\s", key):
            raise _error(number, f"a key has no spaces: {key[:60]!r}")
        pairs.append((number, key, value))
    return pairs


def _variables(
    pairs: list[tuple[int, str, str]], server: ServerSettings
) -> tuple[dict[str, str | None], int | None]:
    protocol: str | None = None
    protocol_line: int | None = None
    for number, key, value in pairs:
        if key != "PROTOCOL":
            continue
        if value not in PROTOCOLS:
            raise _error(number, f"PROTOCOL must be imap or imaps, not {value!r}")
        if protocol is not None and value != protocol:
            raise _error(number, f"PROTOCOL={value} contradicts PROTOCOL={protocol} on line {protocol_line}")
        protocol, protocol_line = value, number
    return {
        "PROTOCOL": protocol,
        "IMAP_HOST_NAME": server.host,
        "IMAP_HOST_PORT": str(server.port),
        "IMAP_ENABLE_STARTTLS": "true" if server.starttls else "false",
    }, protocol_line


def _substitute(number: int, text: str, variables: dict[str, str | None]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in variables:
            raise _error(
                number,
                f"unknown variable ${{{{{name}}}}}",
                hint="known variables: " + ", ".join(f"${{{{{v}}}}}" for v in VARIABLES),
            )
        value = variables[name]
        if value is None:
            if name == "PROTOCOL":
                raise _error(
                    number,
                    "${{PROTOCOL}} is used but no line sets PROTOCOL",
                    hint="add the line PROTOCOL=imap (or imaps) first in imap.properties",
                )
            raise _error(
                number,
                f"${{{{{name}}}}} is used but imap.host is not set",
                hint="mailrelay config set imap.host imap.example.com",
            )
        return value

    result = _VAR.sub(one, text)
    if "${" in result:
        raise _error(
            number,
            "a variable is written ${{NAME}}, with double braces",
            hint="known variables: " + ", ".join(f"${{{{{v}}}}}" for v in VARIABLES),
        )
    return result


def parse(text: str, server: ServerSettings) -> Parsed:
    """Substitute variables, choose the protocol and sort lines into ours and ignored ones.

    Raises ConfigError (naming the line) for a malformed line or an unknown variable.
    Values are checked by ``resolve``.
    """
    pairs = _split(text)
    variables, protocol_line = _variables(pairs, server)
    substituted = []
    for number, key, value in pairs:
        if key == "PROTOCOL":
            continue
        substituted.append(
            (number, _substitute(number, key, variables), _substitute(number, value, variables))
        )
    protocol = variables["PROTOCOL"]
    if protocol is None:
        store = [(n, v) for n, k, v in substituted if k == "mail.store.protocol"]
        if store:
            protocol_line, protocol = store[-1]
            if protocol not in PROTOCOLS:
                raise _error(protocol_line, f"mail.store.protocol must be imap or imaps, not {protocol!r}")
        else:
            # Only mail.imaps.* keys: the block was written for the imaps store.
            prefixes = {k.split(".")[1] for _, k, _ in substituted if k.startswith("mail.imap")}
            protocol = "imaps" if prefixes == {"imaps"} else "imap"
    prefix = f"mail.{protocol}."
    other = "mail.imaps." if protocol == "imap" else "mail.imap."
    lines: dict[str, Line] = {}
    ignored: list[Ignored] = []
    for number, key, value in substituted:
        if key == "mail.store.protocol":
            continue
        if key.startswith(prefix):
            short = key[len(prefix) :]
            if short in KNOWN_KEYS:
                if short in lines:
                    earlier = lines[short]
                    ignored.append(Ignored(earlier.number, key, f"line {number} sets it again"))
                lines[short] = Line(number, short, value)
                continue
            reason = _ELSEWHERE.get(short)
            if reason is None:
                import difflib

                close = difflib.get_close_matches(short, KNOWN_KEYS, n=1, cutoff=0.75)
                reason = "no meaning here"
                if close:
                    reason += f" (did you mean {prefix}{close[0]}?)"
            ignored.append(Ignored(number, key, reason))
        elif key.startswith(other):
            where = f"line {protocol_line}" if protocol_line else "the keys used"
            ignored.append(
                Ignored(
                    number,
                    key,
                    f"applies to protocol {other.split('.')[1]}, but the protocol is {protocol} ({where})",
                )
            )
        else:
            ignored.append(Ignored(number, key, f"not an IMAP key (only {prefix}* has a meaning here)"))
    return Parsed(protocol, protocol_line, lines, tuple(sorted(ignored, key=lambda i: i.number)))


def _bool(line: Line) -> bool:
    lowered = line.value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise _error(line.number, f"{line.key} must be true or false, not {line.value!r}")


def _port(line: Line) -> int:
    if not line.value.isdigit() or not 1 <= int(line.value) <= 65535:
        raise _error(line.number, f"{line.key} must be a port number (1-65535), not {line.value!r}")
    return int(line.value)


def _millis(line: Line) -> float | None:
    if not line.value.isdigit():
        raise _error(
            line.number, f"{line.key} is in milliseconds and must be a whole number, not {line.value!r}"
        )
    millis = int(line.value)
    return None if millis == 0 else millis / 1000


_SECURITY_WORDS = {"tls": "implicit TLS", "starttls": "STARTTLS", "plain": "no TLS"}


def _field_security(server: ServerSettings) -> tuple[str, str]:
    """The fields' security and how to say where it came from."""
    if server.tls:
        return "tls", "field imap.tls = true"
    if server.starttls:
        return "starttls", "field imap.starttls = true"
    return "plain", "fields imap.tls and imap.starttls = false"


class Resolution(NamedTuple):
    """What the properties do: every value they set, every line they ignore, and notes."""

    protocol: str
    overrides: tuple[Override, ...]
    ignored: tuple[Ignored, ...]
    notes: tuple[str, ...]

    def value(self, name: str) -> Any:
        for override in self.overrides:
            if override.name == name:
                return override.value
        return None


def _security(parsed: Parsed, server: ServerSettings, notes: list[str]) -> Override | None:
    """Implicit TLS, STARTTLS or plain, when the block says anything about it (JavaMail rules)."""
    lines = parsed.lines
    decided_by: Line | None = None
    implicit: bool | None = None
    if parsed.protocol == "imaps":
        implicit = True  # the imaps store is always TLS
    factory = lines.get("socketFactory.class")
    if factory is not None:
        if factory.value in SSL_FACTORIES:
            implicit, decided_by = True, factory
        elif factory.value not in PLAIN_FACTORIES:
            raise _error(
                factory.number,
                f"socketFactory.class {factory.value!r} cannot be used here",
                hint="use javax.net.ssl.SSLSocketFactory for implicit TLS, or remove "
                "the line for a plain or STARTTLS connection",
            )
    if "ssl.enable" in lines:
        if _bool(lines["ssl.enable"]):
            implicit, decided_by = True, decided_by or lines["ssl.enable"]
        elif implicit is None:
            implicit = False
    starttls_enable = _bool(lines["starttls.enable"]) if "starttls.enable" in lines else None
    starttls_required = _bool(lines["starttls.required"]) if "starttls.required" in lines else None
    starttls_line = lines.get("starttls.enable") or lines.get("starttls.required")
    if implicit is None and starttls_line is None and factory is None:
        return None
    # JavaMail: starttls.required implies trying STARTTLS.
    wants_starttls = bool(starttls_enable or starttls_required)
    if implicit:
        security = "tls"
        if wants_starttls and not server.starttls:
            notes.append("starttls.enable has no effect: the connection is implicit TLS already")
    elif wants_starttls:
        security, decided_by = "starttls", starttls_line
    else:
        security = "plain"
        decided_by = lines.get("ssl.enable") or starttls_line or factory
    number = decided_by.number if decided_by is not None else (parsed.protocol_line or 0)
    field_security, field_words = _field_security(server)
    override = Override(
        number,
        decided_by.key if decided_by else "PROTOCOL",
        "security",
        security,
        "imap.security",
        field_security,
    )
    if security != field_security:
        notes.append(f"{_SECURITY_WORDS[security]} from {override.source} ({field_words})")
    if security == "tls" and server.starttls:
        notes.append(
            f"imap.starttls = true, but {override.source} makes the connection implicit "
            "TLS; for STARTTLS remove that line (and any ssl.enable=true)"
        )
    return override


def resolve(text: str, server: ServerSettings) -> Resolution:
    """Check every value and work out what it overrides. ConfigError names the bad line."""
    parsed = parse(text, server)
    lines = parsed.lines
    prefix = f"mail.{parsed.protocol}."
    overrides: list[Override] = []
    ignored = list(parsed.ignored)
    notes: list[str] = []

    def add(line: Line, name: str, value: Any, field: str | None = None, field_value: Any = None) -> None:
        overrides.append(Override(line.number, prefix + line.key, name, value, field, field_value))

    if "host" in lines:
        host = lines["host"].value
        if not host:
            raise _error(lines["host"].number, "host is empty")
        add(lines["host"], "host", host, "imap.host", server.host)
    elif not server.host:
        raise ConfigError(
            f"imap.host is not set and imap.properties sets no {prefix}host",
            hint="mailrelay config set imap.host imap.example.com",
        )

    security = _security(parsed, server, notes)
    if security is not None:
        overrides.append(security)
        if (
            security.value == "starttls"
            and lines.get("starttls.required") is not None
            and not _bool(lines["starttls.required"])
        ):
            add(lines["starttls.required"], "starttls_required", False)

    port_line, sf_line = lines.get("port"), lines.get("socketFactory.port")
    port = _port(port_line) if port_line else None
    sf_port = _port(sf_line) if sf_line else None
    if sf_line is not None and "socketFactory.class" not in lines:
        ignored.append(
            Ignored(
                sf_line.number, prefix + sf_line.key, "used only with socketFactory.class, which is not set"
            )
        )
        sf_line = None
    if sf_line is not None:
        # JavaMail connects to socketFactory.port when a socket factory is set.
        add(sf_line, "port", sf_port, "imap.port", server.port)
        if port_line is not None and sf_port != port:
            notes.append(
                f"socketFactory.port={sf_port} (line {sf_line.number}) wins over "
                f"port={port} (line {port_line.number}), as in JavaMail"
            )
    elif port_line is not None:
        add(port_line, "port", port, "imap.port", server.port)

    fallback = lines.get("socketFactory.fallback")
    if fallback is not None and _bool(fallback):
        ignored.append(
            Ignored(
                fallback.number,
                prefix + fallback.key,
                "mailrelay never falls back to a plain connection when TLS fails",
            )
        )

    if "ssl.protocols" in lines:
        line = lines["ssl.protocols"]
        versions = line.value.split()
        if not versions or any(v not in _TLS + _OLD_TLS for v in versions):
            raise _error(
                line.number,
                f"ssl.protocols must list TLSv1.2 and/or TLSv1.3, not {line.value!r}",
                hint="write ssl.protocols=TLSv1.2 TLSv1.3",
            )
        kept = tuple(v for v in _TLS if v in versions)
        if not kept:
            raise _error(
                line.number,
                f"ssl.protocols allows only {line.value}, which mailrelay refuses as insecure",
                hint="write ssl.protocols=TLSv1.2 TLSv1.3",
            )
        dropped = [v for v in versions if v in _OLD_TLS]
        if dropped:
            notes.append(
                f"{', '.join(dropped)} from imap.properties line {line.number} dropped "
                f"(insecure): allowing {' '.join(kept)}"
            )
        add(line, "tls_versions", kept)
    if "ssl.trust" in lines:
        line = lines["ssl.trust"]
        hosts = tuple(line.value.split())
        if "*" in hosts:
            add(line, "verify", False)
        elif hosts:
            add(line, "trusted_hosts", hosts)
        else:
            raise _error(line.number, "ssl.trust is empty; write * or host names")
    if "ssl.checkserveridentity" in lines:
        identity = lines["ssl.checkserveridentity"]
        add(identity, "check_hostname", _bool(identity))
    for key, name in (("connectiontimeout", "connect_timeout"), ("timeout", "timeout")):
        if key not in lines:
            continue
        seconds = _millis(lines[key])
        if seconds is None:
            ignored.append(
                Ignored(
                    lines[key].number,
                    prefix + key,
                    f"0 (wait forever) is not honoured; imap.timeout = {server.timeout:g}s applies",
                )
            )
        else:
            add(lines[key], name, seconds, "imap.timeout", server.timeout)

    for override in overrides:
        if override.disagrees and override.name != "security":
            value = f"{override.value:g}s" if isinstance(override.value, float) else override.value
            was = (
                f"{override.field_value:g}s"
                if isinstance(override.field_value, float)
                else override.field_value
            )
            label = override.name.replace("_", " ")
            notes.append(f"{label} {value} from {override.source} ({override.field} = {was})")
    return Resolution(
        parsed.protocol, tuple(overrides), tuple(sorted(ignored, key=lambda i: i.number)), tuple(notes)
    )


def config_rows(rows: list[ConfigRow], server: ServerSettings) -> list[ConfigRow]:
    """``config show`` rows with what the properties override, and a row per other property.

    An overridden field keeps its key; its value becomes the property's and its source
    says so, e.g. ``imap.properties line 3 (file: 143)``.
    """
    if not server.properties:
        return rows
    resolution = resolve(server.properties, server)
    by_key = {row.key: index for index, row in enumerate(rows)}
    result = list(rows)
    extra: list[ConfigRow] = []

    def override(key: str, value: Any, source: str) -> None:
        index = by_key.get(key)
        if index is None:
            extra.append(ConfigRow(key, value, source))
            return
        old = result[index]
        if old.value == value:
            result[index] = ConfigRow(key, value, f"{old.source}; {source} agrees")
        else:
            shown = "unset" if old.value is None else old.value
            result[index] = ConfigRow(key, value, f"{source} ({old.source}: {shown})")

    for item in resolution.overrides:
        if item.name == "security":
            override("imap.tls", item.value == "tls", item.source)
            override("imap.starttls", item.value == "starttls", item.source)
        elif item.name in ("host", "port", "timeout"):
            override(f"imap.{item.name}", item.value, item.source)
        else:
            value = " ".join(item.value) if isinstance(item.value, tuple) else item.value
            extra.append(ConfigRow(item.key, value, item.source))
    for ignored in resolution.ignored:
        extra.append(
            ConfigRow(ignored.key, None, f"imap.properties line {ignored.number}: ignored, {ignored.reason}")
        )
    position = by_key.get("imap.properties", len(result) - 1) + 1
    return result[:position] + extra + result[position:]
