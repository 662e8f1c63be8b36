"""``process-replies --watch`` on a Graph mailbox: what it calls the mailbox it watches."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.replies import graph_mailbox
from mailrelay_cli.replies.mailbox_names import mailbox_name
from tests.fixtures.graph_server import USER, FakeGraph, graph_toml
from tests.fixtures.oauth_fakes import SENTINEL, FakeIdentityService

NAME = f"graph:{USER}@localhost/Approvals"  # the audit key of the folder's messages


@pytest.fixture
def settings(
    tmp_path: Path, graph_server: FakeGraph, server_certs, identity_service: FakeIdentityService, signing_key
) -> Settings:
    identity_service.client_secret = f"{SENTINEL}-SECRET"
    credentials.set_secret("default", "smtp.client_secret", f"{SENTINEL}-SECRET")
    graph_server.mailbox(USER)
    graph_server.folder(USER, "Approvals")
    table = tomllib.loads(graph_toml(graph_server, server_certs.ca, folder="Approvals"))
    table["approval"].update({"reply_address": USER})
    table["state"] = {"path": str(tmp_path / "state")}
    return settings_from_table(table, tmp_path / "settings.toml")


def test_the_graph_mailbox_name_is_its_audit_key(settings) -> None:
    assert mailbox_name(settings) == NAME
    with graph_mailbox.open_graph_mailbox(settings) as opened:
        assert opened.name == NAME


def test_the_watcher_names_a_graph_mailbox_graph_in_its_events_and_the_store(
    settings, start_watcher, monkeypatch
) -> None:
    monkeypatch.setattr(graph_mailbox, "POLL_INTERVAL", 0.05)
    watcher = start_watcher(settings)
    watcher.wait_for_event("connected")
    watcher.stop()
    started = next(e for e in watcher.events if e.kind == "started")
    connected = next(e for e in watcher.events if e.kind == "connected")
    assert started.fields["mailbox"] == connected.fields["mailbox"] == NAME
    with store.open_store(settings.state_dir) as db:
        assert db.last_watcher().mailbox == NAME
