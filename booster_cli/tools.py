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


def _find_foundry_tool(tool: str, env_var: str) -> str:
    found = (
        os.environ.get(env_var)
        or shutil.which(tool)
        # the platform package holds the real binary; .bin/<tool> is a node wrapper around it
        or _local(f"node_modules/@foundry-rs/{tool}-*/bin/{tool}", f"node_modules/.bin/{tool}")
    )
    if not found:
        raise ToolNotFound(tool, env_var)
    return found


def find_anvil() -> str:
    return _find_foundry_tool("anvil", "BOOSTER_ANVIL")


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
    return _find_foundry_tool("cast", "BOOSTER_CAST")
