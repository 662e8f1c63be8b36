"""`make demo` runs the whole approval loop unattended and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_the_demo_runs_the_whole_loop_unattended_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailrelay_cli.demo"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "$ mailrelay send --event approval-requested" in out
    assert "read 1, deleted 1, left 0 (1 approved)" in out
    assert "status:     approved" in out
    assert "comment:    Looks good to me, go ahead after 22:00." in out
    assert "exit status 0" in out


def test_the_demo_never_touches_the_users_keyring(isolated_env) -> None:
    subprocess.run(
        [sys.executable, "-m", "mailrelay_cli.demo"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert not (isolated_env / ".local" / "share" / "python_keyring").exists()


def test_the_demo_prints_no_warnings() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "mailrelay_cli.demo"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr


def test_the_build_configuration_prints_no_deprecation_warning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `make demo` installs the package first; its build must not warn (SPDX license string).
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-v",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "deprecat" not in (done.stdout + done.stderr).lower()
