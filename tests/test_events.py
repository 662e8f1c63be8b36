"""The event catalogue: built-in events, events added by a templates dir, the approval event."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrelay_cli.errors import ConfigError, UsageError
from mailrelay_cli.outbound import events


def test_the_built_in_events_start_with_test_request_completed_and_request_failed() -> None:
    assert list(events.catalogue())[:3] == ["test", "request-completed", "request-failed"]


@pytest.mark.parametrize("name", ["request-completed", "request-failed"])
def test_request_events_require_instance_name_and_carry_logs(name: str) -> None:
    event = events.get_event(name)
    assert event.required == ("instance_name",)
    assert event.attach_logs


def test_the_test_event_requires_nothing_and_carries_no_logs() -> None:
    event = events.get_event("test")
    assert event.required == () and not event.attach_logs


def test_every_built_in_event_has_its_three_template_files() -> None:
    for event in events.BUILTIN_EVENTS:
        for suffix in events.TEMPLATE_SUFFIXES:
            assert (events.builtin_dir() / f"{event.name}.{suffix}").is_file()


def test_an_unknown_event_is_a_usage_error_with_the_known_ones_listed() -> None:
    with pytest.raises(UsageError, match="known: test, request-completed") as caught:
        events.get_event("deploy-started")
    assert caught.value.hint == "mailrelay events list"


def test_a_subject_and_text_file_add_an_event(tmp_path: Path) -> None:
    (tmp_path / "rollback.subject").write_text("Rolled back {{ instance_name }}\n")
    (tmp_path / "rollback.txt").write_text("{{ reason }}\n")
    event = events.catalogue(tmp_path)["rollback"]
    assert event.source == str(tmp_path)
    assert event.required == ()


def test_an_event_toml_declares_description_and_required_variables(tmp_path: Path) -> None:
    (tmp_path / "rollback.subject").write_text("Rolled back\n")
    (tmp_path / "rollback.txt").write_text("{{ reason }}\n")
    (tmp_path / "rollback.toml").write_text(
        'description = "A release was rolled back"\nrequired = ["reason"]\n'
    )
    event = events.get_event("rollback", tmp_path)
    assert event.description == "A release was rolled back"
    assert event.required == ("reason",)


def test_a_toml_may_add_required_variables_to_a_built_in_event(tmp_path: Path) -> None:
    (tmp_path / "request-failed.toml").write_text('required = ["ticket"]\n')
    assert events.get_event("request-failed", tmp_path).required == ("instance_name", "ticket")


def test_a_new_event_without_its_text_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "rollback.subject").write_text("Rolled back\n")
    with pytest.raises(ConfigError, match="rollback.txt"):
        events.catalogue(tmp_path)


def test_a_toml_with_an_unknown_key_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "test.toml").write_text('requird = ["x"]\n')
    with pytest.raises(ConfigError, match="unknown key requird"):
        events.catalogue(tmp_path)


def test_a_templates_dir_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="notifications.templates_dir"):
        events.catalogue(tmp_path / "missing")


def test_files_that_are_not_event_templates_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "_layout.html").write_text("<html></html>")
    (tmp_path / "README.md").write_text("notes")
    assert list(events.catalogue(tmp_path)) == list(events.catalogue())


def test_only_approval_requested_asks_for_an_approval() -> None:
    assert [e.name for e in events.catalogue().values() if e.asks_approval] == ["approval-requested"]


def test_a_templates_dir_keeps_approval_requested_asking_for_an_approval(tmp_path: Path) -> None:
    (tmp_path / "approval-requested.toml").write_text('description = "Sign-off"\n')
    assert events.get_event("approval-requested", tmp_path).asks_approval
