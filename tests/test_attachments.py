"""Log attachments: the attach-logs policy, safe names, the zip, the size cap."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mailrelay_cli.errors import DataError
from mailrelay_cli.outbound import attachments
from mailrelay_cli.outbound.attachments import LogFile


def _log(tmp_path: Path, name: str, text: str = "log line\n", **meta: object) -> LogFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    defaults = {"step": "1", "step_name": "Build", "endpoint": "ci-1", "execution_id": "981", "failed": False}
    defaults.update(meta)
    return LogFile(path, **defaults)  # type: ignore[arg-type]


def test_a_single_log_is_named_instance_step_name_endpoint_and_execution_id(tmp_path: Path) -> None:
    log = _log(tmp_path, "build.log", "hello\n")
    attachment = attachments.build([log], "Release 2.4", 10)
    assert attachment is not None
    assert attachment.filename == "Release 2.4_1_Build_ci-1(981).log"
    assert attachment.data == b"hello\n"


def test_several_logs_go_in_one_zip_with_the_exact_entry_names(tmp_path: Path) -> None:
    logs = [
        _log(tmp_path, "a.log", "A\n"),
        _log(tmp_path, "b.log", "B\n", step="2", step_name="Deploy", endpoint="web-1", execution_id="982"),
    ]
    attachment = attachments.build(logs, "Release 2.4", 10)
    assert attachment is not None
    assert attachment.filename == "Release 2.4_logs.zip"
    assert attachment.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(attachment.data)) as archive:
        assert archive.namelist() == ["1_Build_ci-1(981).log", "2_Deploy_web-1(982).log"]
        assert archive.read("2_Deploy_web-1(982).log") == b"B\n"


def test_no_logs_means_no_attachment() -> None:
    assert attachments.build([], "Release", 10) is None


@pytest.mark.parametrize(
    "policy,expected",
    [
        ("never", []),
        ("always", ["ok.log", "bad.log"]),
        ("on-failure", ["bad.log"]),
    ],
)
def test_the_policy_picks_the_logs(tmp_path: Path, policy: str, expected: list[str]) -> None:
    logs = [_log(tmp_path, "ok.log"), _log(tmp_path, "bad.log", failed=True)]
    assert [log.path.name for log in attachments.select(logs, policy)] == expected


def test_on_failure_without_a_failed_log_attaches_nothing(tmp_path: Path) -> None:
    logs = [_log(tmp_path, "ok.log"), _log(tmp_path, "ok2.log")]
    assert attachments.select(logs, "on-failure") == []


def test_a_path_traversal_step_name_keeps_only_its_readable_parts() -> None:
    assert attachments.safe_part("../../etc/passwd") == "etc_passwd"
    assert attachments.safe_part("..\\..\\windows\\system32") == "windows_system32"


def test_newlines_and_control_characters_in_names_become_underscores() -> None:
    assert attachments.safe_part("Deploy\r\nBcc: x\x00y\x1b[31m") == "Deploy_Bcc_ x_y_[31m"


def test_invisible_direction_overrides_are_removed_from_names() -> None:
    assert attachments.safe_part("invoice\u202egol.exe") == "invoice_gol.exe"


def test_characters_windows_forbids_are_replaced() -> None:
    assert attachments.safe_part('a<b>c:d"e|f?g*h') == "a_b_c_d_e_f_g_h"


def test_a_name_part_is_capped_in_utf8_bytes_without_splitting_a_character() -> None:
    capped = attachments.safe_part("ü" * 100, max_bytes=61)
    assert capped == "ü" * 30
    assert len(capped.encode("utf-8")) <= 61


def test_an_empty_or_dots_only_name_gets_a_readable_placeholder() -> None:
    assert attachments.safe_part("..", fallback="step") == "step"
    assert attachments.safe_part("", fallback="step") == "step"


def test_hostile_metadata_never_makes_a_zip_entry_with_a_folder(tmp_path: Path) -> None:
    logs = [
        _log(tmp_path, "a.log", step_name="../../etc/passwd", endpoint="/root"),
        _log(tmp_path, "b.log", step="2", step_name="x\ny", execution_id="../1"),
    ]
    attachment = attachments.build(logs, "../Release", 10)
    assert attachment is not None
    assert attachment.filename == "Release_logs.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "out")
    assert names == ["1_etc_passwd_root(981).log", "2_x_y_ci-1(1).log"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)


def test_every_name_stays_under_255_bytes(tmp_path: Path) -> None:
    log = _log(
        tmp_path, "a.log", step="9" * 300, step_name="ß" * 300, endpoint="e" * 300, execution_id="i" * 300
    )
    assert len(attachments.single_name("R" * 300, log).encode("utf-8")) < 255


def test_two_logs_with_the_same_name_get_distinct_zip_entries(tmp_path: Path) -> None:
    logs = [_log(tmp_path, "a.log"), _log(tmp_path, "b.log")]
    attachment = attachments.build(logs, "R", 10)
    assert attachment is not None
    with zipfile.ZipFile(io.BytesIO(attachment.data)) as archive:
        assert archive.namelist() == ["1_Build_ci-1(981).log", "1_Build_ci-1(981)-2.log"]


def test_a_log_over_the_cap_keeps_its_last_lines_after_a_line_saying_so(tmp_path: Path) -> None:
    lines = "".join(f"line {n:07d}\n" for n in range(200_000))  # 2.6 MB
    log = _log(tmp_path, "big.log", lines)
    attachment = attachments.build([log], "R", 1)
    assert attachment is not None
    first, rest = attachment.data.split(b"\n", 1)
    assert first.startswith(b"[mailrelay: log cut to its last ")
    assert b"notifications.max_attachment_mb" in first
    assert rest.endswith(b"line 0199999\n")
    assert rest.startswith(b"line ")  # cut at a line boundary
    assert len(rest) <= 1024 * 1024
    assert attachment.cut == (str(log.path),)


def test_a_log_under_the_cap_is_attached_whole(tmp_path: Path) -> None:
    log = _log(tmp_path, "small.log", "x\n" * 10)
    attachment = attachments.build([log], "R", 1)
    assert attachment is not None and attachment.data == b"x\n" * 10
    assert attachment.cut == ()


def test_a_missing_log_is_bad_input_naming_the_path(tmp_path: Path) -> None:
    missing = LogFile(tmp_path / "nope.log", "1", "Build", "ci", "1")
    with pytest.raises(DataError, match="nope.log does not exist") as caught:
        attachments.check_exist([missing])
    assert caught.value.exit_code == 65


def test_a_log_that_is_a_directory_is_bad_input_naming_the_path(tmp_path: Path) -> None:
    folder = LogFile(tmp_path, "1", "Build", "ci", "1")
    with pytest.raises(DataError, match=f"log {tmp_path} is a directory, not a file") as caught:
        attachments.check_exist([folder])
    assert caught.value.exit_code == 65
    assert caught.value.hint and "--log" in caught.value.hint


def test_logs_without_metadata_are_named_by_position_stem_and_local(tmp_path: Path) -> None:
    logs = attachments.logs_from_paths([tmp_path / "build.log"], [tmp_path / "deploy db.log"], start=3)
    assert [(log.step, log.step_name, log.endpoint, log.execution_id, log.failed) for log in logs] == [
        ("3", "build", "local", "3", False),
        ("4", "deploy db", "local", "4", True),
    ]


def test_payload_logs_carry_their_metadata(tmp_path: Path) -> None:
    logs = attachments.logs_from_payload(
        [
            {
                "path": "a.log",
                "step": 2,
                "step_name": "Deploy",
                "endpoint": "web-1",
                "execution_id": 77,
                "failed": True,
            },
            {"path": "b.log"},
        ]
    )
    assert logs[0] == LogFile(Path("a.log"), "2", "Deploy", "web-1", "77", True)
    assert logs[1] == LogFile(Path("b.log"), "2", "b", "local", "2", False)


@pytest.mark.parametrize("bad", ["a.log", [{"step": 1}], [{"path": 3}], ["a.log"]])
def test_a_malformed_payload_logs_list_is_bad_input(bad: object) -> None:
    with pytest.raises(DataError, match="logs"):
        attachments.logs_from_payload(bad)
