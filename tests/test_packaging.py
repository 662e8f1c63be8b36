"""What ``pip install .`` and the container image carry (issue 12, points 18 and 19).

The wheel is built offline (``--no-build-isolation``) from the source tree; the Dockerfile's
install commands run in a fresh venv whose dependencies come from this test venv, so the
default run needs no network. ``MAILRELAY_SLOW_TESTS=1`` runs the Dockerfile's commands
exactly as written (dependencies from the package registry).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("mailrelay-*.whl")
    return built


def test_the_wheel_carries_the_example_settings_and_the_man_page(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        example = archive.read("mailrelay_cli/data/settings.example.toml")
        man = archive.read("mailrelay_cli/data/mailrelay.1")
        assert any(name.endswith(".data/data/share/man/man1/mailrelay.1") for name in names)
    assert example == (ROOT / "examples" / "settings.toml").read_bytes()
    assert man == (ROOT / "man" / "mailrelay.1").read_bytes()


def test_the_license_is_an_spdx_string() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    lines: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        text = (pending + raw).strip()
        pending = ""
        word, _, rest = text.partition(" ")
        lines.append((word.upper(), rest.strip()))
    return lines


def test_the_image_is_slim_non_root_with_volumes_and_env_secrets() -> None:
    instructions = _dockerfile()
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms and all(args.split()[0].endswith("-slim") for args in froms)
    [user] = [args for word, args in instructions if word == "USER"]
    assert user not in ("root", "0")
    [volume] = [args for word, args in instructions if word == "VOLUME"]
    assert "/config" in volume and "/state" in volume
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "MAILRELAY_CONFIG_DIR=/config" in env and "MAILRELAY_STATE_DIR=/state" in env
    assert "PASSWORD=" not in env and "HMAC_KEY=" not in env  # secrets come from `docker run -e`


def _build_stage_context(tmp: Path) -> Path:
    """A directory holding what the build stage's COPY lines put in its WORKDIR."""
    context = tmp / "src"
    context.mkdir()
    for word, args in _dockerfile():
        if word == "FROM" and context.exists() and any(context.iterdir()):
            break  # only the first (build) stage copies from the context
        if word != "COPY" or args.startswith("--from"):
            continue
        *sources, target = shlex.split(args)
        for source in sources:
            src = ROOT / source
            dest = (
                context
                / (target if target not in ("./", ".") else "")
                / (src.name if target.endswith("/") else "")
            )
            if src.is_dir():
                shutil.copytree(
                    src, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
                )
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
    return context


def _install_commands() -> list[str]:
    runs = [args for word, args in _dockerfile() if word == "RUN" and "pip install" in args]
    assert len(runs) == 1, runs
    return [part.strip() for part in runs[0].split("&&")]


def _run_install(tmp_path: Path, offline: bool) -> Path:
    context = _build_stage_context(tmp_path)
    venv = tmp_path / "opt-mailrelay"
    for command in _install_commands():
        argv = shlex.split(command.replace("/opt/mailrelay", str(venv)))
        if argv[0] == "python":
            argv[0] = sys.executable
        if offline and "install" in argv:
            # This venv's packages stand in for the registry's.
            site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
            (site / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
            # The venv's own older setuptools would shadow the build backend pyproject asks for.
            subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q", "setuptools"],
                capture_output=True,
                timeout=120,
            )
            argv += ["--no-build-isolation", "--no-index", "-q"]
        done = subprocess.run(argv, cwd=context, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    return venv


def _check_entrypoint(venv: Path, tmp_path: Path) -> None:
    instructions = _dockerfile()
    [entrypoint] = [args for word, args in instructions if word == "ENTRYPOINT"]
    assert entrypoint == '["mailrelay"]'
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "PATH=/opt/mailrelay/bin:$PATH" in env
    found = shutil.which("mailrelay", path=str(venv / "bin"))
    assert found is not None
    (tmp_path / "config").mkdir()
    (tmp_path / "state").mkdir()
    result = subprocess.run(
        [found, "config", "path"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "MAILRELAY_CONFIG_DIR": str(tmp_path / "config"),
            "MAILRELAY_STATE_DIR": str(tmp_path / "state"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "config" / "settings.toml")
    init = subprocess.run(
        [found, "config", "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "MAILRELAY_CONFIG_DIR": str(tmp_path / "config"),
        },
    )
    assert init.returncode == 0, init.stderr  # the example settings are in the installed package


def test_the_dockerfile_install_gives_the_mailrelay_entrypoint(tmp_path: Path) -> None:
    venv = _run_install(tmp_path, offline=True)
    _check_entrypoint(venv, tmp_path)
    assert (venv / "share" / "man" / "man1" / "mailrelay.1").is_file()


@pytest.mark.skipif(
    not os.environ.get("MAILRELAY_SLOW_TESTS"),
    reason="installs from the package registry; set MAILRELAY_SLOW_TESTS=1",
)
def test_the_dockerfile_install_as_written(tmp_path: Path) -> None:
    venv = _run_install(tmp_path, offline=False)
    _check_entrypoint(venv, tmp_path)


def _docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _docker_works(), reason="no docker engine here")
def test_the_image_builds_and_runs_mailrelay(tmp_path: Path) -> None:
    subprocess.run(["docker", "build", "-q", "-t", "mailrelay-test", str(ROOT)], check=True, timeout=900)
    result = subprocess.run(
        ["docker", "run", "--rm", "mailrelay-test", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "mailrelay" in result.stdout
