"""Compile Solidity 0.5.16 sources (Uniswap V2 core) with solcjs 0.5.16 (npm ``solc@0.5.16``,
installed as ``.tools/node_modules/solc05``).

solcjs 0.5.16's ``--standard-json`` has neither ``--base-path`` nor an import callback, so every
source unit goes into the input document: imports are followed here, resolved the way solc names
them (``./x`` and ``../x`` relative to the importing unit, anything else as is), units under
``@`` read from the tools' node_modules, the rest from the repository.

Settings are Uniswap V2 core's own (optimizer, 999,999 runs, istanbul). The bytecode runs
unchanged on Prague: nothing istanbul emits changed meaning since.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
from functools import lru_cache
from pathlib import Path

from booster_cli.errors import CompileError
from booster_cli.solc import _parse_output, _run
from booster_cli.tools import TOOLS_DIR

REPO = Path(__file__).resolve().parents[1]
SOLCJS05 = TOOLS_DIR / "node_modules" / "solc05" / "solcjs"
SETTINGS = {"optimizer": {"enabled": True, "runs": 999999}, "evmVersion": "istanbul"}
_IMPORT = re.compile(r"""^\s*import\s+(?:[^'";]*\sfrom\s+)?["']([^"']+)["']""", re.MULTILINE)


def _file(unit: str) -> Path:
    return TOOLS_DIR / "node_modules" / unit if unit.startswith("@") else REPO / unit


def _sources(root: str) -> dict[str, dict]:
    sources: dict[str, dict] = {}
    todo = [root]
    while todo:
        unit = todo.pop()
        if unit in sources:
            continue
        text = _file(unit).read_text(encoding="utf-8")
        sources[unit] = {"content": text}
        for name in _IMPORT.findall(text):
            if name.startswith(("./", "../")):
                name = posixpath.normpath(posixpath.join(posixpath.dirname(unit), name))
            todo.append(name)
    return sources


@lru_cache(maxsize=None)
def compile05(path: str) -> dict[str, dict]:
    """Every contract of ``path`` (repository-relative): name → {"abi", "bytecode" (bytes)}."""
    node = shutil.which("node")
    if node is None or not SOLCJS05.is_file():
        raise CompileError("solcjs 0.5.16 not installed (make install puts it in .tools/node_modules/solc05)")
    document = {
        "language": "Solidity",
        "sources": _sources(path),
        "settings": {**SETTINGS, "outputSelection": {path: {"*": ["abi", "evm.bytecode.object"]}}},
    }
    proc = _run(["--standard-json"], stdin=json.dumps(document), cmd=[node, str(SOLCJS05)])
    out = _parse_output(proc.stdout)
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError(errors[0])
    return {
        name: {"abi": c["abi"], "bytecode": bytes.fromhex(c["evm"]["bytecode"]["object"])}
        for name, c in out["contracts"][path].items()
    }
