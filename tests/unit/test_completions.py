"""The shipped completion scripts are exactly what the CLI generates (`make completions`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from booster_cli.cli.completions import SHELLS, script

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_scripts_match_the_cli(shell: str) -> None:
    generated = script(shell)
    assert "_BOOSTER_COMPLETE" in generated
    shipped = (COMPLETIONS / f"booster.{shell}").read_text()
    assert shipped == generated, f"completions/booster.{shell} is stale: run 'make completions'"


def test_each_shell_gets_its_own_script() -> None:
    assert len({script(s) for s in SHELLS}) == len(SHELLS)
