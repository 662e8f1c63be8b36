"""Start-up: `mailrelay --help` and `mailrelay config check` against `python -c "import click"`.

Target (issue 2): each at most 1.5x the floor of a click tool.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import (
    ROOT,
    compile_everything,
    interleaved_medians,
    mailrelay_command,
    print_rows,
    run_env,
    time_once,
)


def main(rounds: int = 21) -> dict[str, float]:
    compile_everything()
    with tempfile.TemporaryDirectory() as home:
        env = run_env(
            {
                "HOME": home,
                "XDG_CONFIG_HOME": str(Path(home) / ".config"),
                "MAILRELAY_CONFIG": str(ROOT / "examples" / "settings.toml"),
            }
        )
        cmd = mailrelay_command()
        cases = {
            'python -c "import click"': lambda: time_once([sys.executable, "-c", "import click"], env),
            "mailrelay --help": lambda: time_once([*cmd, "--help"], env),
            "mailrelay config check": lambda: time_once([*cmd, "config", "check"], env),
        }
        medians = interleaved_medians(cases, rounds)
    print_rows(
        f"start-up, median of {rounds} runs",
        medians,
        'python -c "import click"',
        {"mailrelay --help": 1.5, "mailrelay config check": 1.5},
    )
    return medians


if __name__ == "__main__":
    main()
