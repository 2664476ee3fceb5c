"""Generate the shell completion scripts in completions/ (``make completions``).

The scripts call back into ``booster`` at completion time, so they only change when typer's
templates do; a unit test regenerates them and fails on drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.completion import get_completion_script

SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    return get_completion_script(prog_name="booster", complete_var="_BOOSTER_COMPLETE", shell=shell) + "\n"


def main(out_dir: str = "completions") -> None:
    for shell in SHELLS:
        path = Path(out_dir) / f"booster.{shell}"
        path.write_text(script(shell))
        print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
