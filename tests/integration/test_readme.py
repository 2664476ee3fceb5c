"""The quick starts of README.md and docs/chaining.md work as written and their outputs are what
booster prints: the lines are run on live devnets (scripts/readme_examples.py --check; `make
docs` rewrites them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_examples_are_what_booster_prints() -> None:
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "readme_examples.py"), "--check"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_a_drifted_example_is_found(tmp_path, monkeypatch) -> None:
    """The check compares what it should: an output edited by hand is a difference."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import readme_examples
    finally:
        sys.path.remove(str(REPO / "scripts"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "votes[3]" in readme
    printed = {name: {command: f"output of {command}\n" for command in lines}
               for path in readme_examples.FILES for name, lines in readme_examples.quickstarts(path.read_text(encoding="utf-8")).items()}
    rendered = readme_examples.render(readme, printed)
    assert rendered != readme
    assert "output of booster delta show\n" in rendered
    assert readme_examples.render(rendered, printed) == rendered
