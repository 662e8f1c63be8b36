"""The one outcome-to-exit-code function beside the exit-code table."""

from __future__ import annotations

import pytest

from mailrelay_cli.errors import AuthError, ExitCode, Outcome, exit_code_for


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        ("ok", ExitCode.OK),
        ("approved", ExitCode.OK),
        ("rejected", ExitCode.REJECTED),
        ("expired", ExitCode.EXPIRED),
        ("cancelled", ExitCode.EXPIRED),
        ("timed-out", ExitCode.EXPIRED),
        ("stale", ExitCode.TEMPFAIL),
    ],
)
def test_each_outcome_has_its_design_exit_code(outcome: Outcome, code: ExitCode) -> None:
    assert exit_code_for(outcome) == code


def test_no_outcome_is_success() -> None:
    assert exit_code_for(None) == ExitCode.OK


def test_an_error_outcome_exits_with_the_error_code() -> None:
    assert exit_code_for(AuthError("login refused")) == ExitCode.NOPERM


def test_an_outcome_without_an_exit_code_is_a_bug_not_a_silent_zero() -> None:
    with pytest.raises(KeyError):
        exit_code_for("pending")  # type: ignore[arg-type]
