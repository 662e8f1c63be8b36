"""``mailrelay schedule``: the crontab lines or systemd units that run ``process-replies``.

The interval is ``approval.interval_minutes``. cron can only say "every N
minutes" with ``*/N`` when N divides 60, so for other intervals the lines list
the minutes (and hours) of each run in a day. When N does not divide a day
(1440 minutes) the count restarts at midnight and the last gap of the day is
shorter: the job never waits longer than the interval, and ``comment`` says so.
A systemd timer (``OnUnitActiveSec``) keeps any interval exactly.

``systemd_watch`` is the other way to run it: one long-running
``process-replies --watch`` service (``Type=simple``, restarted on failure
except for the settings and auth faults that need a person, 78 and 77) under
``ProtectSystem=strict``, with write access only where it writes: the state
directory, a Maildir reply mailbox, and a file keyring's folder (the OAuth
token cache is refreshed there).

The job gets the keyring backend of the shell that ran ``schedule``
(``keyring_backend``, from ``PYTHON_KEYRING_BACKEND``): on a headless host the
keyring is a file backend, and without it the job finds no keyring and exits 78.
cron gets it through ``env NAME=value`` on the job line itself (a crontab
``NAME=value`` line would also apply to every later line of the user's crontab);
systemd through ``Environment=`` in the service. Secrets are never carried:
``withheld`` names the secret variables that are set here, and a comment says the
job will not have them.
"""

from __future__ import annotations

import itertools
import math
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailrelay_cli.auth import credentials
from mailrelay_cli.auth.credentials import KEYRING_BACKEND_VARIABLE as KEYRING_BACKEND
from mailrelay_cli.config.records import Settings

SERVICE_NAME = "mailrelay-replies.service"
TIMER_NAME = "mailrelay-replies.timer"
WATCH_SERVICE_NAME = "mailrelay-watch.service"
DAY = 1440
# How long systemd waits before starting the watcher again after it failed.
WATCH_RESTART_SECONDS = 30


@dataclass(frozen=True)
class CronSchedule:
    """Crontab lines (several only when one line cannot express the interval)."""

    interval_minutes: int
    lines: tuple[str, ...]
    exact: bool
    every: str  # "every 5 minutes"
    note: str | None  # when not exact: what the lines do instead, and why
    comments: tuple[str, ...] = ()  # the job's environment: what is carried, what is not

    def to_json(self) -> dict[str, Any]:
        return {
            "interval_minutes": self.interval_minutes,
            "lines": list(self.lines),
            "exact": self.exact,
            "every": self.every,
            "note": self.note,
            "comments": list(self.comments),
        }


@dataclass(frozen=True)
class SystemdUnits:
    """A service and a timer, with where to put them and how to start them."""

    service_name: str
    service: str
    timer_name: str
    timer: str
    directory: str  # where user units live
    install: tuple[str, ...]  # the commands that start the timer once the units are saved
    comments: tuple[str, ...] = ()  # the job's environment: what is carried, what is not

    def to_json(self) -> dict[str, Any]:
        return {
            "service_name": self.service_name,
            "service": self.service,
            "timer_name": self.timer_name,
            "timer": self.timer,
            "directory": self.directory,
            "install": list(self.install),
            "comments": list(self.comments),
        }


@dataclass(frozen=True)
class WatchUnit:
    """The long-running ``process-replies --watch`` service, and how to start it."""

    service_name: str
    service: str
    directory: str  # where user units live
    install: tuple[str, ...]
    comments: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "service_name": self.service_name,
            "service": self.service,
            "directory": self.directory,
            "install": list(self.install),
            "comments": list(self.comments),
        }


def find_command() -> tuple[str, ...]:
    """The absolute command that runs mailrelay here.

    First match wins: the running program when it is the installed ``mailrelay``
    script; ``mailrelay`` on ``$PATH``; else this Python with ``-m mailrelay_cli``.
    """
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == "mailrelay" and running.is_file():
        return (str(running.absolute()),)
    found = shutil.which("mailrelay")
    if found:
        return (str(Path(found).absolute()),)
    return (str(Path(sys.executable).absolute()), "-m", "mailrelay_cli")


def command(settings: Settings, executable: Sequence[str] | None = None) -> tuple[str, ...]:
    """The ``process-replies`` command line, with absolute paths and ``-q`` for cron."""
    program = tuple(executable) if executable is not None else find_command()
    return (*program, "--config", str(Path(os.path.abspath(settings.path))), "-q", "process-replies")


def _cron_escape(text: str) -> str:
    # cron turns an unescaped % into a newline (stdin for the command).
    return text.replace("%", "\\%")


def _field(values: list[int], top: int) -> str:
    """A cron field for sorted ``values`` out of ``0..top-1``: ``*``, ``*/N``, ``A-B/N``, a list."""
    if values == list(range(top)):
        return "*"
    if len(values) == 1:
        return str(values[0])
    step = values[1] - values[0]
    if all(b - a == step for a, b in itertools.pairwise(values)):
        if values[0] == 0 and top % step == 0 and values[-1] + step == top:
            return f"*/{step}"
        if len(values) > 2:
            return f"{values[0]}-{values[-1]}/{step}"
    return ",".join(str(v) for v in values)


def cron_fields(interval: int) -> tuple[tuple[str, ...], str | None]:
    """The time fields of each line for a run every ``interval`` minutes, and a note when
    cron cannot keep that interval exactly (None when it can)."""
    if interval < 1:
        raise ValueError("interval must be at least one minute")
    every = _in_words(interval)
    if interval >= DAY:
        days, rest = divmod(interval, DAY)
        if days == 1:
            note = (
                None
                if rest == 0
                else (
                    f"cron cannot run every {every}: this runs daily at "
                    "midnight; mailrelay schedule --systemd keeps it exact"
                )
            )
            return ("0 0 * * *",), note
        # Day-of-month steps restart on the 1st, so the gap there can be shorter.
        return (
            (f"0 0 */{days} * *",),
            f"cron cannot run every {every}: this runs every {days} days at midnight counted "
            "from the 1st of each month, so the gap at a month's end can be shorter; "
            "mailrelay schedule --systemd keeps it exact",
        )
    runs = range(0, DAY, interval)
    by_hour: dict[int, list[int]] = {}
    for minute_of_day in runs:
        by_hour.setdefault(minute_of_day // 60, []).append(minute_of_day % 60)
    groups: dict[tuple[int, ...], list[int]] = {}
    for hour, minutes in by_hour.items():
        groups.setdefault(tuple(minutes), []).append(hour)
    lines = tuple(
        f"{_field(list(minutes), 60)} {_field(hours, 24)} * * *" for minutes, hours in groups.items()
    )
    if DAY % interval == 0:
        return lines, None
    last_gap = DAY - runs[-1]
    return (
        lines,
        f"{every} do not divide a day, so cron restarts the count at midnight: the last run "
        f"of the day is {last_gap} minutes before it (a shorter gap, never a longer one); "
        "mailrelay schedule --systemd keeps the interval exact",
    )


def _in_words(minutes: int) -> str:
    if minutes == 1:
        return "minute"
    if minutes % 60 == 0 and minutes < DAY:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    if minutes % DAY == 0:
        days = minutes // DAY
        return "day" if days == 1 else f"{days} days"
    return f"{minutes} minutes"


def _carried_backend(keyring_backend: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The backend to carry (None when unset or unusable in a job line) and what to say."""
    if not keyring_backend:
        return None, ()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in keyring_backend):
        return None, (
            f"{KEYRING_BACKEND} is set here but holds a control character, so the "
            "job does not get it: set it in the job's environment yourself",
        )
    return keyring_backend, ()


def _withheld_comments(withheld: Sequence[str], where: str, instead: str) -> tuple[str, ...]:
    if not withheld:
        return ()
    one = len(withheld) == 1
    return (
        f"{', '.join(withheld)} {'is' if one else 'are'} set here but the job will not "
        f"have {'it' if one else 'them'} (secrets never go in {where}): store secrets in "
        f"the keyring with mailrelay secret set NAME, or {instead}",
    )


def cron(
    settings: Settings,
    executable: Sequence[str] | None = None,
    *,
    keyring_backend: str | None = None,
    withheld: Sequence[str] = (),
) -> CronSchedule:
    """The crontab lines for ``process-replies`` every ``approval.interval_minutes``.

    ``keyring_backend`` (``PYTHON_KEYRING_BACKEND`` here) is put before the command with
    ``env``; ``withheld`` (names of secret variables set here) only gets a comment.
    """
    interval = settings.approval.interval_minutes
    fields, note = cron_fields(interval)
    backend, comments = _carried_backend(keyring_backend)
    argv = command(settings, executable)
    if backend is not None:
        argv = ("env", f"{KEYRING_BACKEND}={backend}", *argv)
        comments += (
            f"{KEYRING_BACKEND} is set for the job with env on its line (a crontab "
            "NAME=value line would apply to every later line of the crontab too)",
        )
    comments += _withheld_comments(
        withheld, "a crontab", "use mailrelay schedule --systemd with an EnvironmentFile= of mode 0600"
    )
    line = _cron_escape(shlex.join(argv))
    return CronSchedule(
        interval,
        tuple(f"{f} {line}" for f in fields),
        note is None,
        f"every {_in_words(interval)}",
        note,
        comments,
    )


def cron_here(settings: Settings) -> CronSchedule:
    """The crontab lines for a job started from this shell: ``cron`` with this shell's keyring
    backend and secret variables. ``schedule --cron`` prints them and ``status`` shows them."""
    return cron(
        settings,
        keyring_backend=credentials.keyring_backend_variable(),
        withheld=credentials.secret_variables_set(),
    )


def systemd_here(settings: Settings) -> SystemdUnits:
    """``systemd`` with this shell's keyring backend and secret variables (as ``cron_here``)."""
    return systemd(
        settings,
        keyring_backend=credentials.keyring_backend_variable(),
        withheld=credentials.secret_variables_set(),
    )


def systemd(
    settings: Settings,
    executable: Sequence[str] | None = None,
    *,
    keyring_backend: str | None = None,
    withheld: Sequence[str] = (),
) -> SystemdUnits:
    """A oneshot service and a timer that starts it every ``approval.interval_minutes``.

    ``keyring_backend`` becomes an ``Environment=`` line of the service; ``withheld``
    (names of secret variables set here) only gets a comment.
    """
    interval = settings.approval.interval_minutes
    exec_start = " ".join(_systemd_quote(arg) for arg in command(settings, executable))
    backend, comments = _carried_backend(keyring_backend)
    environment = (
        "" if backend is None else f"Environment={_systemd_environment(f'{KEYRING_BACKEND}={backend}')}\n"
    )
    comments += _withheld_comments(
        withheld, "a unit file", "add an EnvironmentFile= of mode 0600 to the service"
    )
    # A short interval needs a finer accuracy than systemd's default of one minute.
    accuracy = max(1, min(60, math.floor(interval * 60 / 10)))
    service = f"""\
[Unit]
Description=mailrelay: record the decisions in approval replies (process-replies)
Documentation=man:mailrelay(1)

[Service]
Type=oneshot
{environment}ExecStart={exec_start}
"""
    timer = f"""\
[Unit]
Description=Run mailrelay process-replies every {_in_words(interval)}
Documentation=man:mailrelay(1)

[Timer]
# The first run soon after boot (or at once when enabled later), then one every
# {interval} minutes after the last one started. Persistent= is left out: it applies
# to OnCalendar= only, and a missed run is made up by the next.
OnBootSec=1min
OnUnitActiveSec={interval}min
AccuracySec={accuracy}s
Unit={SERVICE_NAME}

[Install]
WantedBy=timers.target
"""
    install = (
        "systemctl --user daemon-reload",
        f"systemctl --user enable --now {TIMER_NAME}",
        'loginctl enable-linger "$USER"   # keep user timers running when logged out',
    )
    return SystemdUnits(SERVICE_NAME, service, TIMER_NAME, timer, "~/.config/systemd/user", install, comments)


def watch_command(settings: Settings, executable: Sequence[str] | None = None) -> tuple[str, ...]:
    """The ``process-replies --watch`` command line, with absolute paths (no ``-q``: its log
    lines are the service's journal)."""
    program = tuple(executable) if executable is not None else find_command()
    return (*program, "--config", str(Path(os.path.abspath(settings.path))), "process-replies", "--watch")


def keyring_file_dir() -> Path | None:
    """The folder of the keyring's file when the backend keeps one (keyrings.alt), else None."""
    try:
        import keyring

        path = getattr(keyring.get_keyring(), "file_path", None)
    except Exception:
        return None
    return Path(path).parent if isinstance(path, str) and path else None


def systemd_watch_here(settings: Settings) -> WatchUnit:
    """``systemd_watch`` with this shell's keyring backend, its file and secret variables."""
    return systemd_watch(
        settings,
        keyring_backend=credentials.keyring_backend_variable(),
        withheld=credentials.secret_variables_set(),
        keyring_dir=keyring_file_dir(),
    )


def systemd_watch(
    settings: Settings,
    executable: Sequence[str] | None = None,
    *,
    keyring_backend: str | None = None,
    withheld: Sequence[str] = (),
    keyring_dir: Path | None = None,
) -> WatchUnit:
    """A ``Type=simple`` user service running ``process-replies --watch`` (module docstring).

    Same environment rules as ``systemd``: ``keyring_backend`` becomes ``Environment=``,
    secret variables set here (``withheld``) only get a comment.
    """
    exec_start = " ".join(_systemd_quote(arg) for arg in watch_command(settings, executable))
    backend, comments = _carried_backend(keyring_backend)
    environment = (
        "" if backend is None else f"Environment={_systemd_environment(f'{KEYRING_BACKEND}={backend}')}\n"
    )
    comments += _withheld_comments(
        withheld, "a unit file", "add an EnvironmentFile= of mode 0600 to the service"
    )
    state_dir = Path(os.path.abspath(settings.state_dir))
    writable = [_systemd_path(state_dir)]
    maildir = settings.approval.maildir
    if maildir is not None:
        writable.append(_systemd_path(Path(os.path.abspath(maildir))))
    if keyring_dir is not None:
        # "-": a folder that does not exist yet is skipped instead of failing the start.
        writable.append("-" + _systemd_path(Path(os.path.abspath(keyring_dir))))
    service = f"""\
[Unit]
Description=mailrelay: decide approval replies as they arrive (process-replies --watch)
Documentation=man:mailrelay(1)

[Service]
Type=simple
{environment}ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
# A dropped connection is retried inside the process; it exits only on a fault.
Restart=on-failure
RestartSec={WATCH_RESTART_SECONDS}s
# Settings (78) and auth (77) faults need a person: stay failed (systemctl --user status).
RestartPreventExitStatus=77 78
# SIGTERM finishes the message in hand, commits and logs out within 5 s.
TimeoutStopSec=15s
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={" ".join(writable)}
PrivateTmp=yes

[Install]
WantedBy=default.target
"""
    install = (
        f"mkdir -p -m 700 {shlex.quote(str(state_dir))}   # ReadWritePaths= must exist",
        "systemctl --user daemon-reload",
        f"systemctl --user enable --now {WATCH_SERVICE_NAME}",
        'loginctl enable-linger "$USER"   # keep it running when logged out',
        f"systemctl --user disable --now {TIMER_NAME}   # if the timer was installed (optional)",
    )
    return WatchUnit(WATCH_SERVICE_NAME, service, "~/.config/systemd/user", install, comments)


def _systemd_path(path: Path) -> str:
    # ReadWritePaths= takes space-separated paths and expands % specifiers.
    text = str(path).replace("%", "%%")
    return f'"{text}"' if any(c in text for c in " \t\"'\\") else text


def _systemd_quote(arg: str) -> str:
    # systemd expands % specifiers and $VAR in ExecStart=; double quotes keep spaces.
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if any(c in escaped for c in " \t\"'\\"):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def _systemd_environment(assignment: str) -> str:
    # Environment= expands % specifiers but not $VAR; double quotes keep spaces.
    escaped = assignment.replace("%", "%%")
    if any(c in escaped for c in " \t\"'\\"):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped
