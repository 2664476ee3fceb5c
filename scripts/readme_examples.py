"""The examples of README.md and docs/chaining.md, from a live devnet: they cannot drift from
what booster prints.

Each ``sh`` block after a ``<!-- quickstart -->`` (or ``<!-- quickstart: NAME -->``) marker is
run as written, line by line in one bash session, in a temporary folder of its own (free ports
through BOOSTER_L1_PORT / BOOSTER_L2_PORT = 0, a terminal of COLUMNS columns, no colour). Each
block between ``<!-- output: COMMAND -->`` (``<!-- output: NAME: COMMAND -->`` for a named
quick start) and ``<!-- /output -->`` in the same file then gets what that line printed
(``... (first N lines) -->`` keeps the first N).

    .venv/bin/python scripts/readme_examples.py           # rewrite the files (make docs)
    .venv/bin/python scripts/readme_examples.py --check   # exit 1, with a diff, if one would change

``--check`` ignores what differs from run to run by nature: 32-byte hashes (a settlement's hash
covers its anchor block's hash, which covers a timestamp), timings, and gas figures of 1,000 and
more with their ratios (a settlement's calldata gas depends on how many zero bytes its seal and
hashes happen to have), L1 block times a contract recorded, ports and pids.
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
FILES = [REPO / "README.md", REPO / "docs" / "chaining.md", REPO / "docs" / "fork.md"]
COLUMNS = 120  # a wide terminal; the tables are tested at 80 as well (tests/unit/test_rendering.py)
QUICKSTART = re.compile(r"<!-- quickstart(?:: (\w+))? -->\n```sh\n(.*?)```", re.S)
OUTPUT = re.compile(r"(<!-- output: (?:(\w+): )?(.+?)(?: \(first (\d+) lines\))? -->\n```text\n)(.*?)(```\n<!-- /output -->)", re.S)
MARK = "@@readme-example-line "
VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]{64}"), "0x<hash>"),
    (re.compile(r"\d+\.\d+ ?s\b"), "<seconds>"),
    (re.compile(r"\b\d{1,3}(?:,\d{3})+\b"), "<gas>"),
    (re.compile(r"\b\d+\.\d+×"), "<ratio>"),
    (re.compile(r"\b1[7-9]\d{8}\b"), "<timestamp>"),  # L1 block times a contract recorded (Pool.lastUpdate)
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),  # free ports
    (re.compile(r"\bpid \d+"), "pid <pid>"),
]


def quickstarts(text: str) -> dict[str, list[str]]:
    """Each quick start's name ("" when it has none) → its command lines."""
    return {m.group(1) or "": [line for line in m.group(2).splitlines() if line.strip() and not line.lstrip().startswith("#")]
            for m in QUICKSTART.finditer(text)}


def run_quickstart(lines: list[str], name: str = "") -> dict[str, str]:
    """Each line → what it printed (stdout and stderr, in order). The quick start named "fork"
    (docs/fork.md) forks a chain holding Uniswap V2: scripts/uniswap_chain.py starts one, and its
    addresses are the shell's $UPSTREAM, $PAIR, $TOKEN0 and $TOKEN1."""
    from contextlib import ExitStack

    booster_bin = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="booster-readme-") as tmp, ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
        env.update(PATH=f"{booster_bin}{os.pathsep}{env.get('PATH', '')}", BOOSTER_L1_PORT="0", BOOSTER_L2_PORT="0",
                   COLUMNS=str(COLUMNS), NO_COLOR="1", TERM="dumb")
        if name == "fork":
            sys.path.insert(0, str(REPO / "scripts"))
            from uniswap_chain import uniswap_chain

            upstream, pool = stack.enter_context(uniswap_chain(Path(tmp)))
            env.update(pool.env(upstream.url))
        script = ["set -e", "trap 'booster down >/dev/null 2>&1 || true' EXIT"]
        for i, line in enumerate(lines):
            script += [f"echo '{MARK}{i}'", f"{line} 2>&1"]
        res = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise SystemExit(f"a quick start failed (exit {res.returncode}):\n{res.stdout[-3000:]}{res.stderr[-2000:]}")
    printed: dict[str, str] = {}
    current = None
    for out_line in res.stdout.splitlines(keepends=True):
        if out_line.startswith(MARK):
            current = lines[int(out_line[len(MARK):])]
            printed.setdefault(current, "")
        elif current is not None:
            printed[current] += out_line
    return printed


def render(text: str, printed: dict[str, dict[str, str]]) -> str:
    """``text`` with its output blocks filled from ``printed``: quick start name → (command →
    what it printed)."""

    def fill(m: re.Match) -> str:
        block, command, first = m.group(2) or "", m.group(3), m.group(4)
        outputs = printed.get(block, {})
        if command not in outputs:
            raise SystemExit(f"an output block shows {command!r}, which the quick start {block or '(unnamed)'} does not run")
        shown = outputs[command]
        if first:
            shown = "".join(shown.splitlines(keepends=True)[: int(first)])
        return m.group(1) + shown + m.group(6)

    return OUTPUT.sub(fill, text)


def _steady(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    texts = {path: path.read_text(encoding="utf-8") for path in FILES}
    # every quick start runs once (names are unique across the files); any file may show its outputs
    printed = {name: run_quickstart(lines, name) for text in texts.values() for name, lines in quickstarts(text).items()}
    drifted = False
    for path, text in texts.items():
        new = render(text, printed)
        name = path.relative_to(REPO)
        if not check:
            path.write_text(new, encoding="utf-8")
            print(f"{name}: examples regenerated from a live devnet")
        elif _steady(new) != _steady(text):
            drifted = True
            print("\n".join(difflib.unified_diff(_steady(text).splitlines(), _steady(new).splitlines(), str(name), "what booster prints", lineterm="")))
            print(f"{name}'s examples drifted from what booster prints: run 'make docs'")
        else:
            print(f"{name}: examples match what booster prints")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
