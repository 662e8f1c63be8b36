"""Every option that takes a duration reads it with one type (cli.common.DURATION): the same
usage error (2), worded alike, for --timeout, --poll, --max-age and --expires-in."""

from __future__ import annotations

import pytest

WORDING = "'soon' is not a duration; write it like 30s, 5m, 72h or 2d"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["approvals", "wait", "K7Q2XD", "--timeout", "soon"], "--timeout"),
        (["approvals", "wait", "K7Q2XD", "--poll", "soon"], "--poll"),
        (["status", "--max-age", "soon"], "--max-age"),
        (
            ["send", "--event", "approval-requested", "--to", "a@example.com", "--expires-in", "soon"],
            "--expires-in",
        ),
    ],
)
def test_a_malformed_duration_is_the_same_usage_error_for_every_option(
    run_cli, args: list[str], option: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    first, hint = result.stderr.splitlines()
    assert first == f"mailrelay: error: Invalid value for '{option}': {WORDING}"
    assert hint == f"hint: mailrelay {' '.join(args[: 2 if args[0] == 'approvals' else 1])} --help"


def test_durations_are_read_in_every_unit(run_cli) -> None:
    """A well-formed duration passes the option (the command then fails for its own reason)."""
    for value in ("30s", "5m", "72h", "2d", "1h30m"):
        result = run_cli("status", "--max-age", value)
        assert "is not a duration" not in result.stderr, result.stderr
