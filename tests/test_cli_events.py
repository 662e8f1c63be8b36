"""``mailrelay events list|show``, and templates dir overrides seen through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def templates(write_config, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    directory = tmp_path / "templates"
    directory.mkdir()
    write_config(
        '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
        f'[notifications]\ntemplates_dir = "{directory}"\n'
    )
    return directory


def test_list_names_every_built_in_event_with_a_description(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("events", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines][:3] == ["test", "request-completed", "request-failed"]
    assert "A release request failed" in lines[2]


def test_list_json_is_one_object_per_event(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("events", "list", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["event"] for row in rows][:3] == ["test", "request-completed", "request-failed"]
    assert set(rows[0]) == {"event", "description", "source"}


def test_show_lists_variables_marking_the_required_ones(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("events", "show", "request-failed")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert rows["instance_name"] == "required"
    for name in ("project", "environment", "url", "requested_by", "failed_step", "error"):
        assert rows[name] == "optional"


def test_show_renders_a_sample_subject_text_and_html(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("events", "show", "request-completed")
    assert "sample subject: [webshop] Completed: Release 2.4.1 (production)" in result.stdout
    assert "sample text part:" in result.stdout
    assert "sample HTML part:" in result.stdout and "<html>" in result.stdout


def test_show_json_carries_variables_and_sample(run_cli) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run_cli("events", "show", "request-failed", "--json").stdout)
    assert data["variables"][0] == {
        "name": "instance_name",
        "required": True,
        "description": "the release request (instance) this is about",
    }
    assert set(data["sample"]) == {"subject", "text", "html"}


def test_show_of_an_unknown_event_is_a_usage_error(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("events", "show", "nope")
    assert result.exit_code == 2
    assert "no event named 'nope'" in result.stderr


def test_a_user_template_overrides_a_built_in_one(run_cli, templates: Path) -> None:  # type: ignore[no-untyped-def]
    (templates / "request-failed.subject").write_text("RED ALERT: {{ instance_name }}\n")
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=R 2.4",
        "--dry-run",
    )
    assert result.exit_code == 0, result.stderr
    assert "Subject: RED ALERT: R 2.4" in result.stdout
    show = run_cli("events", "show", "request-failed").stdout
    assert f"{templates / 'request-failed.subject'}" in show


def test_a_new_event_in_the_templates_dir_appears_and_can_be_sent(run_cli, templates: Path) -> None:  # type: ignore[no-untyped-def]
    (templates / "rollback.subject").write_text("Rolled back {{ instance_name }}\n")
    (templates / "rollback.txt").write_text("Because: {{ reason }}\n")
    (templates / "rollback.html").write_text("<p>Because: {{ reason }}</p>\n")
    (templates / "rollback.toml").write_text(
        'description = "A release was rolled back"\nrequired = ["reason"]\n'
    )
    listed = run_cli("events", "list").stdout
    assert "rollback" in listed and "A release was rolled back" in listed
    shown = run_cli("events", "show", "rollback").stdout
    assert "  reason" in shown and "required" in shown
    missing = run_cli("send", "--event", "rollback", "--to", "ops@example.com", "--dry-run")
    assert missing.exit_code == 65 and "reason" in missing.stderr
    sent = run_cli(
        "send",
        "--event",
        "rollback",
        "--to",
        "ops@example.com",
        "--dry-run",
        "--var",
        "instance_name=R",
        "--var",
        "reason=<bad> canary",
    )
    assert sent.exit_code == 0, sent.stderr
    assert "Subject: Rolled back R" in sent.stdout
    assert "&lt;bad&gt; canary" in sent.stdout  # HTML autoescaped in a user template too


def test_a_new_event_with_only_a_text_template_is_sent_as_plain_text(run_cli, templates: Path) -> None:  # type: ignore[no-untyped-def]
    (templates / "ping.subject").write_text("ping\n")
    (templates / "ping.txt").write_text("pong\n")
    result = run_cli("send", "--event", "ping", "--to", "ops@example.com", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "Content-Type: text/plain" in result.stdout
    assert "multipart" not in result.stdout


def test_show_renders_an_event_with_a_prepare_hook_without_side_effects(
    run_cli,
    write_config,  # type: ignore[no-untyped-def]
    isolated_env: Path,
) -> None:
    write_config('[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n')
    result = run_cli("events", "show", "approval-requested")
    assert result.exit_code == 0, result.stderr
    assert "  title" in result.stdout and "required" in result.stdout
    assert "alice@example.com, bob@example.com" in result.stdout  # the hook's dry-run values
    state = isolated_env / ".local" / "state" / "mailrelay"
    assert not state.exists() or not any(state.iterdir())
