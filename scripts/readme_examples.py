"""The README's examples, from a live devnet: they cannot drift from what booster prints.

The README's quick start (the ``sh`` block after ``<!-- quickstart -->``) is run as written, line
by line in one bash session, in a temporary folder (free ports through BOOSTER_L1_PORT /
BOOSTER_L2_PORT = 0, a terminal of COLUMNS columns, no colour). Each block between
``<!-- output: COMMAND -->`` and ``<!-- /output -->`` then gets what that quick-start line printed
(``<!-- output: COMMAND (first N lines) -->`` keeps the first N).

    .venv/bin/python scripts/readme_examples.py           # rewrite README.md (make docs)
    .venv/bin/python scripts/readme_examples.py --check   # exit 1, with a diff, if it would change

``--check`` ignores what differs from run to run by nature: 32-byte hashes (a settlement's hash
covers its anchor block's hash, which covers a timestamp), timings, and gas figures of 1,000 and
more with their ratios (a settlement's calldata gas depends on how many zero bytes its seal and
hashes happen to have).
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
COLUMNS = 120  # a wide terminal; the tables are tested at 80 as well (tests/unit/test_rendering.py)
QUICKSTART = re.compile(r"<!-- quickstart -->\n```sh\n(.*?)```", re.S)
OUTPUT = re.compile(r"(<!-- output: (.+?)(?: \(first (\d+) lines\))? -->\n```text\n)(.*?)(```\n<!-- /output -->)", re.S)
MARK = "@@readme-example-line "
VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]{64}"), "0x<hash>"),
    (re.compile(r"\d+\.\d+ ?s\b"), "<seconds>"),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+\b"), "<gas>"),
    (re.compile(r"\b\d+\.\d+×"), "<ratio>"),
]


def commands(readme: str) -> list[str]:
    found = QUICKSTART.search(readme)
    if not found:
        raise SystemExit("README.md has no <!-- quickstart --> sh block")
    return [line for line in found.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def run_quickstart(lines: list[str]) -> dict[str, str]:
    """Each line → what it printed (stdout and stderr, in order)."""
    booster_bin = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="booster-readme-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
        env.update(PATH=f"{booster_bin}{os.pathsep}{env.get('PATH', '')}", BOOSTER_L1_PORT="0", BOOSTER_L2_PORT="0",
                   COLUMNS=str(COLUMNS), NO_COLOR="1", TERM="dumb")
        script = ["set -e", "trap 'booster down >/dev/null 2>&1 || true' EXIT"]
        for i, line in enumerate(lines):
            script += [f"echo '{MARK}{i}'", f"{line} 2>&1"]
        res = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise SystemExit(f"the README's quick start failed (exit {res.returncode}):\n{res.stdout[-3000:]}{res.stderr[-2000:]}")
    printed: dict[str, str] = {}
    current = None
    for out_line in res.stdout.splitlines(keepends=True):
        if out_line.startswith(MARK):
            current = lines[int(out_line[len(MARK):])]
            printed.setdefault(current, "")
        elif current is not None:
            printed[current] += out_line
    return printed


def render(readme: str, printed: dict[str, str]) -> str:
    def fill(m: re.Match) -> str:
        command, first = m.group(2), m.group(3)
        if command not in printed:
            raise SystemExit(f"README.md shows the output of {command!r}, which its quick start does not run")
        text = printed[command]
        if first:
            text = "".join(text.splitlines(keepends=True)[: int(first)])
        return m.group(1) + text + m.group(5)

    return OUTPUT.sub(fill, readme)


def _steady(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    readme = README.read_text(encoding="utf-8")
    new = render(readme, run_quickstart(commands(readme)))
    if not check:
        README.write_text(new, encoding="utf-8")
        print("README.md: examples regenerated from a live devnet")
        return 0
    if _steady(new) == _steady(readme):
        print("README.md: examples match what booster prints")
        return 0
    diff = difflib.unified_diff(_steady(readme).splitlines(), _steady(new).splitlines(), "README.md", "what booster prints", lineterm="")
    print("\n".join(diff))
    print("README.md's examples drifted from what booster prints: run 'make docs'")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
