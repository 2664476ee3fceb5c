"""Where booster finds its external tools: anvil and solcjs.

Order for each tool: its BOOSTER_* environment variable, then PATH, then the project-local
tools folder (``.tools/`` next to the package checkout, filled by ``make install``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import ToolNotFound

TOOLS_DIR = Path(__file__).resolve().parent.parent / ".tools"


def _local(*candidates: str) -> str | None:
    for pattern in candidates:
        for hit in sorted(TOOLS_DIR.glob(pattern)):
            if hit.is_file() and os.access(hit, os.X_OK):
                return str(hit)
    return None


def find_anvil() -> str:
    found = (
        os.environ.get("BOOSTER_ANVIL")
        or shutil.which("anvil")
        # the platform package holds the real binary; .bin/anvil is a node wrapper around it
        or _local("node_modules/@foundry-rs/anvil-*/bin/anvil", "node_modules/.bin/anvil")
    )
    if not found:
        raise ToolNotFound("anvil", "BOOSTER_ANVIL")
    return found


def find_solcjs() -> list[str]:
    """The command that runs solcjs (a list: it may be ``node path/to/solc.js``)."""
    env = os.environ.get("BOOSTER_SOLCJS")
    if env:
        return [env]
    on_path = shutil.which("solcjs")
    if on_path:
        return [on_path]
    script = TOOLS_DIR / "node_modules" / "solc" / "solc.js"
    node = shutil.which("node")
    if script.is_file() and node:
        return [node, str(script)]
    raise ToolNotFound("solcjs", "BOOSTER_SOLCJS")


def find_cast() -> str:
    """Foundry's cast (tests drive the L2 with it as a real client)."""
    found = (
        os.environ.get("BOOSTER_CAST")
        or shutil.which("cast")
        or _local("node_modules/@foundry-rs/cast-*/bin/cast", "node_modules/.bin/cast")
    )
    if not found:
        raise ToolNotFound("cast", "BOOSTER_CAST")
    return found
