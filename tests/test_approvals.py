"""Approvals: creation, signed references, votes, expiry, cancel and wait."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import DataError, ExitCode, NotFoundError, UsageError, exit_code_for
from tests.fixtures.approval_settings import approval_settings


@pytest.fixture
def settings(tmp_path: Path, state_url: str | None) -> Settings:
    """Every test here runs on SQLite and on PostgreSQL (``state_url``)."""
    return approval_settings(tmp_path)._replace(state_url=state_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[store.Store]:
    with store.open_store(settings) as opened:
        yield opened


def ask(settings: Settings, db: store.Store, *approvers: str, **kwargs: object) -> approvals.ApprovalRequest:
    return approvals.create_approval(
        settings,
        db,
        title="Deploy 1.4 to production",
        approvers=approvers or ("alice@example.com",),
        **kwargs,
    )


def test_a_new_approval_is_pending_with_the_default_lifetime(settings, db) -> None:
    with freeze_time("2026-03-01 12:00:00"):
        request = ask(settings, db)
        assert request.approval.status == "pending"
        assert request.approval.created_at == "2026-03-01T12:00:00+00:00"
        assert request.approval.expires_at == "2026-03-04T12:00:00+00:00"


def test_the_subject_carries_the_reference_and_the_title(settings, db) -> None:
    request = ask(settings, db)
    assert request.subject == f"[{request.reference}] Approval requested: Deploy 1.4 to production"
    assert request.subject_tag == f"[{request.reference}]"


@pytest.mark.parametrize("title", ["a\nb", "a\r\nBcc: victim@example.com", "a\rb"])
def test_a_line_break_in_the_title_is_bad_data_naming_the_variable(settings, db, title: str) -> None:
    with pytest.raises(DataError, match="variable title contains a line break") as caught:
        approvals.create_approval(settings, db, title=title, approvers=["alice@example.com"])
    assert caught.value.exit_code == ExitCode.DATAERR
    assert approvals.list_approvals(db) == []


def test_tabs_and_runs_of_spaces_in_the_title_become_one_space(settings, db) -> None:
    request = approvals.create_approval(
        settings, db, title="  Deploy\t1.4   now ", approvers=["alice@example.com"]
    )
    assert request.subject == f"[{request.reference}] Approval requested: Deploy 1.4 now"


def test_the_reference_is_mr_then_id_then_ten_hex_digits(settings, db) -> None:
    request = ask(settings, db)
    assert approvals.REFERENCE_RE.fullmatch(request.reference)
    assert request.reference.split("-")[1] == request.approval.id


def test_the_signing_key_is_made_once_and_kept_in_the_keyring(settings, db) -> None:
    assert credentials.get_internal("default", "approval.hmac_key") is None
    first = ask(settings, db)
    stored = credentials.get_internal("default", "approval.hmac_key")
    assert stored is not None and len(bytes.fromhex(stored)) == 32
    ask(settings, db)
    assert credentials.get_internal("default", "approval.hmac_key") == stored
    assert approvals.verified_ids(bytes.fromhex(stored), first.subject) == [first.approval.id]


def test_an_altered_signature_is_not_verified(settings, db) -> None:
    request = ask(settings, db)
    key = approvals.signing_key("default")
    last = request.reference[-1]
    altered = request.reference[:-1] + ("0" if last != "0" else "1")
    assert approvals.verified_ids(key, f"Re: [{altered}]") == []


def test_a_reference_signed_with_another_key_is_not_verified(settings, db) -> None:
    request = ask(settings, db)
    forged = approvals.make_reference(b"x" * 32, request.approval.id)
    assert approvals.verified_ids(approvals.signing_key("default"), forged) == []


def test_a_reference_is_found_whatever_its_case(settings, db) -> None:
    request = ask(settings, db)
    key = approvals.signing_key("default")
    assert approvals.verified_ids(key, "re: " + request.reference.lower()) == [request.approval.id]


def test_approvers_are_stored_bare_with_lower_case_domains(settings, db) -> None:
    request = ask(settings, db, "Alice Smith <Alice@EXAMPLE.com>", "bob@example.org")
    assert request.approval.approvers == ("Alice@example.com", "bob@example.org")


def test_an_approver_is_recognised_case_insensitively(settings, db) -> None:
    request = ask(settings, db, "Alice@Example.com")
    assert request.approval.is_approver("alice@example.com")
    assert not request.approval.is_approver("mallory@example.com")


def test_an_approver_that_is_not_an_address_is_bad_data(settings, db) -> None:
    with pytest.raises(DataError, match="'alice'"):
        ask(settings, db, "alice")


def test_required_more_than_the_approvers_is_a_usage_error(settings, db) -> None:
    with pytest.raises(UsageError, match="--required 3"):
        ask(settings, db, "a@example.com", "b@example.com", required=3)


def test_mailto_links_prefill_the_reply_with_the_word_and_reference(settings, db) -> None:
    request = ask(settings, db)
    assert request.mailto_approve.startswith("mailto:approvals@example.com?subject=Re%3A%20")
    assert "body=APPROVE" in request.mailto_approve
    assert "body=REJECT" in request.mailto_reject
    assert request.reference in request.mailto_approve


def test_a_pending_approval_past_its_expiry_reads_as_expired(settings, db) -> None:
    with freeze_time("2026-03-01 12:00:00") as frozen:
        request = ask(settings, db, expires_in=3600)
        frozen.tick(timedelta(seconds=3601))
        assert approvals.get_approval(db, request.approval.id).status == "expired"
        assert db.pending_approvals() == []


def test_show_accepts_the_whole_reference_or_a_lower_case_id(settings, db) -> None:
    request = ask(settings, db)
    assert approvals.get_approval(db, request.reference).id == request.approval.id
    assert approvals.get_approval(db, request.approval.id.lower()).id == request.approval.id


def test_an_unknown_id_is_not_found_with_a_hint_to_list(settings, db) -> None:
    with pytest.raises(NotFoundError) as caught:
        approvals.get_approval(db, "ZZZZZZ")
    assert caught.value.hint == "mailrelay approvals list"


def test_list_filters_by_effective_status(settings, db) -> None:
    with freeze_time("2026-03-01 12:00:00") as frozen:
        short = ask(settings, db, expires_in=60)
        long = ask(settings, db)
        frozen.tick(timedelta(minutes=5))
        assert [a.id for a in approvals.list_approvals(db, "expired")] == [short.approval.id]
        assert [a.id for a in approvals.list_approvals(db, "pending")] == [long.approval.id]


def test_one_approve_decides_a_single_approver_approval(settings, db) -> None:
    request = ask(settings, db)
    with db.transaction() as tx:
        result = approvals.record_vote(tx, request.approval, "alice@example.com", "approve", "ship it", None)
    assert result.outcome == "approved"
    decided = approvals.get_approval(db, request.approval.id)
    assert (decided.status, decided.decided_by, decided.comment) == (
        "approved",
        "alice@example.com",
        "ship it",
    )


def test_required_two_needs_two_distinct_approvers(settings, db) -> None:
    request = ask(settings, db, "a@example.com", "b@example.com", "c@example.com", required=2)
    with db.transaction() as tx:
        first = approvals.record_vote(tx, request.approval, "a@example.com", "approve", None, None)
    assert first.decided is None
    assert approvals.get_approval(db, request.approval.id).status == "pending"
    with db.transaction() as tx:
        again = approvals.record_vote(tx, request.approval, "A@example.com", "approve", None, None)
    assert again.outcome == "too-late"
    assert approvals.get_approval(db, request.approval.id).status == "pending"
    with db.transaction() as tx:
        second = approvals.record_vote(tx, request.approval, "b@example.com", "approve", None, None)
    assert second.decided is not None and second.decided.status == "approved"


def test_addresses_differing_beyond_ascii_case_are_two_voters(settings, db) -> None:
    # DESIGN: the local part is exact except ASCII case, so É and é are two mailboxes
    # (PostgreSQL's lower() would fold them into one).
    request = ask(settings, db, "\u00c9lise@example.com", "\u00e9lise@example.com", required=2)
    with db.transaction() as tx:
        first = approvals.record_vote(tx, request.approval, "\u00c9lise@example.com", "approve", None, None)
        assert not tx.has_voted(request.approval.id, "\u00e9lise@example.com")
        assert tx.has_voted(request.approval.id, "\u00c9LISE@EXAMPLE.COM")
    assert first.outcome == "vote"
    with db.transaction() as tx:
        second = approvals.record_vote(tx, request.approval, "\u00e9lise@example.com", "approve", None, None)
    assert second.decided is not None and second.decided.status == "approved"


def test_any_single_reject_rejects_a_multi_approver_approval(settings, db) -> None:
    request = ask(settings, db, "a@example.com", "b@example.com", required=2)
    with db.transaction() as tx:
        approvals.record_vote(tx, request.approval, "a@example.com", "approve", None, None)
        result = approvals.record_vote(tx, request.approval, "b@example.com", "reject", "no", None)
    assert result.decided is not None and result.decided.status == "rejected"


def test_a_vote_after_the_decision_is_too_late_and_changes_nothing(settings, db) -> None:
    request = ask(settings, db, "a@example.com", "b@example.com")
    with db.transaction() as tx:
        approvals.record_vote(tx, request.approval, "a@example.com", "approve", None, None)
        late = approvals.record_vote(tx, request.approval, "b@example.com", "reject", None, None)
    assert late.outcome == "too-late"
    assert approvals.get_approval(db, request.approval.id).status == "approved"


def test_cancel_makes_a_pending_approval_cancelled(settings, db) -> None:
    request = ask(settings, db)
    assert approvals.cancel_approval(db, request.approval.id).status == "cancelled"


def test_cancelling_a_decided_approval_is_an_error(settings, db) -> None:
    request = ask(settings, db)
    with db.transaction() as tx:
        approvals.record_vote(tx, request.approval, "alice@example.com", "reject", None, None)
    with pytest.raises(DataError, match="already rejected"):
        approvals.cancel_approval(db, request.approval.id)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("approved", ExitCode.OK),
        ("rejected", ExitCode.REJECTED),
        ("expired", ExitCode.EXPIRED),
        ("cancelled", ExitCode.EXPIRED),
    ],
)
def test_each_final_status_has_its_wait_exit_code(
    status: str, code: ExitCode, db: store.Store, settings: Settings
) -> None:
    approval = replace(ask(settings, db).approval, status=status)
    assert exit_code_for(approvals.WaitResult(approval, timed_out=False).outcome) == code


def test_a_timed_out_wait_exits_3(db: store.Store, settings: Settings) -> None:
    approval = ask(settings, db).approval
    assert approval.status == "pending"
    assert exit_code_for(approvals.WaitResult(approval, timed_out=True).outcome) == ExitCode.EXPIRED


def test_wait_returns_as_soon_as_a_decision_is_recorded(settings, db) -> None:
    request = ask(settings, db)
    sleeps: list[float] = []

    def decide_while_sleeping(seconds: float) -> None:
        sleeps.append(seconds)
        with db.transaction() as tx:
            approvals.record_vote(tx, request.approval, "alice@example.com", "approve", None, None)

    result = approvals.wait_for(db, request.approval.id, poll=5, sleep=decide_while_sleeping)
    assert (result.approval.status, result.timed_out) == ("approved", False)
    assert sleeps == [5]


def test_wait_gives_up_after_the_timeout(settings, db) -> None:
    request = ask(settings, db)
    now = [0.0]

    def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    result = approvals.wait_for(
        db, request.approval.id, timeout=25, poll=10, sleep=fake_sleep, clock=lambda: now[0]
    )
    assert result.timed_out and result.approval.status == "pending"
    assert now[0] == 25
