"""``paths.write_private``: the one way mailrelay writes a file only its owner may read."""

from __future__ import annotations

from pathlib import Path

from mailrelay_cli.paths import write_private


def test_a_private_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token.json"
    write_private(path, "secret-ish")
    assert path.read_text() == "secret-ish"
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_directory_it_makes_is_private_too(tmp_path: Path) -> None:
    write_private(tmp_path / "state" / "cache.json", b"{}")
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700


def test_writing_again_replaces_the_file_and_leaves_no_temporary_behind(tmp_path: Path) -> None:
    path = tmp_path / "state" / "cache.json"
    write_private(path, "first")
    write_private(path, "second")
    assert path.read_text() == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["cache.json"]
