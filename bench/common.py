"""Shared helpers for the benchmarks: timing commands and printing side-by-side rows."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def mailrelay_command() -> list[str]:
    script = VENV_BIN / "mailrelay"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailrelay_cli"]


def compile_everything() -> None:
    """Write bytecode for the project and the venv, so no side pays for compiling.

    These machines set PYTHONDONTWRITEBYTECODE=1: without this, every run of the
    command would recompile modules that the baseline never imports.
    """
    import site

    targets = [str(ROOT / "src")] + [p for p in site.getsitepackages() if Path(p).is_dir()]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *targets],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


def time_once(argv: Sequence[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv), env=env, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n"
            + proc.stderr.decode(errors="replace")
        )
    return elapsed


def interleaved_medians(cases: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Run every case once per round, in turn, so machine noise hits all sides alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            samples[name].append(case())
    return {name: statistics.median(values) for name, values in samples.items()}


def print_rows(
    title: str, medians: dict[str, float], baseline: str, targets: dict[str, float] | None = None
) -> None:
    print(f"\n{title}")
    base = medians[baseline]
    width = max(len(name) for name in medians)
    for name, value in medians.items():
        ratio = value / base
        target = (targets or {}).get(name)
        verdict = (
            ""
            if target is None
            else (f"  target <= {target:.2f}x: " + ("ok" if ratio <= target else "MISSED"))
        )
        print(f"  {name:<{width}}  {value * 1000:8.1f} ms  {ratio:5.2f}x{verdict}")


def ensure_program(program: str, package: str) -> str | None:
    """The path of ``program``, installing Debian's ``package`` first when we may (root).

    A fresh machine has stale package lists, so a failed install is retried after
    ``apt-get update``; what apt says is shown, so a missing baseline is never silent.
    """
    import shutil

    def find() -> str | None:
        return shutil.which(program) or next(
            (str(p) for p in (Path("/usr/sbin") / program, Path("/usr/bin") / program) if p.exists()), None
        )

    if find() or os.geteuid() != 0 or not shutil.which("apt-get"):
        return find()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", package]
    print(f"installing {package} (apt-get)")
    if subprocess.run(install, env=env, check=False, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False, stdout=subprocess.DEVNULL)
    return find()
