"""The click layer: global options, the one error handler, and lazily loaded commands.

Each command lives in its own ``cmd_*.py`` module and is imported only when it
runs (or when ``--help`` lists it), so heavy libraries never load for commands
that do not use them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from mailrelay_cli import __version__
from mailrelay_cli.cli.common import AppContext, Group
from mailrelay_cli.errors import ExitCode, MailrelayError

# name -> ("module:attribute", the summary `mailrelay --help` lists); the order is --help's.
# The summaries are written here so that `mailrelay --help` imports no command module
# (tests/test_contract.py keeps each one equal to its command's own first docstring line).
COMMANDS: dict[str, tuple[str, str]] = {
    "test": (
        "mailrelay_cli.cli.cmd_test:test_command",
        "Send a test message, then open the IMAP reply folder, reporting every step.",
    ),
    "send": (
        "mailrelay_cli.cli.cmd_send:send_command",
        "Render EVENT's templates and send them to --to/--cc (or the event's configured recipients).",
    ),
    "events": (
        "mailrelay_cli.cli.cmd_events:events_group",
        "The events `mailrelay send` knows, their variables and a sample.",
    ),
    "config": (
        "mailrelay_cli.cli.cmd_config:config_group",
        "Show, check, locate and edit the settings file.",
    ),
    "secret": (
        "mailrelay_cli.cli.cmd_secret:secret_group",
        "Store passwords and client secrets in the OS keyring.",
    ),
    "auth": (
        "mailrelay_cli.cli.cmd_auth:auth_group",
        "OAuth logins for SMTP and IMAP (microsoft-oauth, google-oauth).",
    ),
    "process-replies": (
        "mailrelay_cli.cli.cmd_replies:process_replies_command",
        "Read the reply folder, record decisions, delete what was processed.",
    ),
    "replies": (
        "mailrelay_cli.cli.cmd_replies_explain:replies_group",
        "Look at replies the way process-replies reads them.",
    ),
    "approvals": (
        "mailrelay_cli.cli.cmd_approvals:approvals_group",
        "The recorded approvals: list, show, wait for, cancel.",
    ),
    "status": (
        "mailrelay_cli.cli.cmd_status:status_command",
        "Health of the process-replies cron job or watcher: last run, last success, the watcher's "
        "heartbeat, pending approvals, failing hooks, OAuth refresh and the schedule.",
    ),
    "schedule": (
        "mailrelay_cli.cli.cmd_schedule:schedule_command",
        "Print how to run process-replies every approval.interval_minutes, or (--systemd --watch) as "
        "a service that decides each reply as it arrives.",
    ),
    "state": (
        "mailrelay_cli.cli.cmd_state:state_group",
        "The state store: create or upgrade its schema, or copy it to PostgreSQL.",
    ),
    "hooks": (
        "mailrelay_cli.cli.cmd_hooks:hooks_group",
        "The on_decision hooks still owed: list them, retry them now, or drop them.",
    ),
    "completion": (
        "mailrelay_cli.cli.completion:completion_command",
        "Print the shell completion script for SHELL (bash, zsh or fish).",
    ),
}


class MailrelayGroup(Group):
    """A group that loads its commands lazily and turns MailrelayError into an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def command_summaries(self, ctx: click.Context) -> list[tuple[str, str]]:
        return [(name, summary) for name, (_target, summary) in COMMANDS.items()]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name][0].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        from mailrelay_cli.cli.global_options import accept_global_options

        accept_global_options(command)
        return command

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run, reporting click's own usage errors the way every other error is reported."""
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()  # a reader that closed the pipe shows here when the output was short
        except (_PipeClosed, BrokenPipeError):  # `mailrelay … | head -1`: the reader has enough
            _stdout_to_devnull()
            result = 0
        except click.exceptions.NoArgsIsHelpError as e:  # bare `mailrelay`: help, as git and gh do
            click.echo(e.ctx.get_help() if e.ctx is not None else e.format_message())
            result = 0
        except click.ClickException as e:
            from mailrelay_cli.cli import render
            from mailrelay_cli.errors import DataError, UsageError

            ctx = getattr(e, "ctx", None)  # UsageError carries the context; other errors may not
            path = ctx.command_path if ctx is not None else "mailrelay"
            kind = UsageError if isinstance(e, click.UsageError) else DataError  # FileError: 65
            error = kind(e.format_message(), hint=f"{path} --help")
            render.error(error, as_json="--json" in argv, verbose=False)
            result = int(error.exit_code)
        except click.exceptions.Abort:  # Ctrl-C before or after the command ran
            _interrupted(as_json="--json" in argv)
            result = int(ExitCode.INTERRUPTED)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        from mailrelay_cli.cli import render

        try:
            return super().invoke(ctx)
        except MailrelayError as e:
            app = ctx.find_object(AppContext) or AppContext()
            render.error(e, as_json=app.json, verbose=app.verbose > 0)
            ctx.exit(int(e.exit_code))
        except (KeyboardInterrupt, click.exceptions.Abort):
            app = ctx.find_object(AppContext) or AppContext()
            _interrupted(as_json=app.json)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except BrokenPipeError as e:  # click would exit 1 ("rejected"): main exits 0 instead
            raise _PipeClosed from e
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise  # click handles these: exit codes, usage errors
        except Exception as e:  # a bug: say so, exit 70, keep the traceback behind -v
            app = ctx.find_object(AppContext) or AppContext()
            render.internal_error(e, as_json=app.json, verbose=app.verbose > 0)
            ctx.exit(int(ExitCode.SOFTWARE))


class _PipeClosed(Exception):
    """Raised (from BrokenPipeError) when the reader of standard output closed the pipe, so that
    it passes click, which would exit 1, and reaches ``MailrelayGroup.main``."""


def _stdout_to_devnull() -> None:
    """Point standard output at /dev/null, so that the flush at exit cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _interrupted(*, as_json: bool) -> None:
    from mailrelay_cli.cli import render
    from mailrelay_cli.errors import Interrupted

    error = Interrupted("interrupted", hint="run the command again to finish its work")
    render.error(error, as_json=as_json, verbose=False)


@click.group("mailrelay", cls=MailrelayGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="MAILRELAY_CONFIG",
    help="Settings file (env MAILRELAY_CONFIG; default: the user config dir).",
)
@click.option("-v", "--verbose", count=True, help="More detail; tracebacks for errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something failed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")
@click.version_option(__version__, prog_name="mailrelay")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool, as_json: bool) -> None:
    """Email for release pipelines: notifications, approvals by email, reply processing.

    The options above also work after the command: mailrelay send -q --config FILE ...
    """
    from mailrelay_cli.cli import render

    render.reset_consoles()
    ctx.obj = AppContext(config_path=config_path, verbose=verbose, quiet=quiet, json=as_json)


def main() -> None:
    try:
        cli.main(prog_name="mailrelay")
    except KeyboardInterrupt:  # Ctrl-C between click's handlers
        _interrupted(as_json="--json" in sys.argv[1:])
        sys.exit(int(ExitCode.INTERRUPTED))
