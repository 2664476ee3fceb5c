"""Where booster finds its external tools: anvil and solcjs (and cast and forge, for the tests).

Order for each tool: its BOOSTER_* environment variable (taken as it is), then the project-local
tools folder (``.tools/`` next to the package checkout, filled by ``make install`` with the
pinned versions below), then PATH — where a different version is refused with a message naming
the binary, its version and the ways out (another solcjs on PATH once failed with "unknown
option '--base-path'", naming neither).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from .errors import BoosterError, ToolNotFound

TOOLS_DIR = Path(__file__).resolve().parent.parent / ".tools"
# the versions `make install` pins (Makefile: ANVIL_VERSION, CAST_VERSION — forge too —, SOLC_VERSION)
PINNED = {"anvil": "1.7.1", "cast": "1.7.1", "forge": "1.7.1", "solcjs": "0.8.37"}


def _local(*candidates: str) -> str | None:
    for pattern in candidates:
        for hit in sorted(TOOLS_DIR.glob(pattern)):
            if hit.is_file() and os.access(hit, os.X_OK):
                return str(hit)
    return None


@functools.lru_cache(maxsize=None)
def _checked_on_path(tool: str, path: str) -> str:
    """``path`` (a ``tool`` found on PATH) if it is the pinned version, else a BoosterError."""
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        version = (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr).strip() else "unknown"
    except (OSError, subprocess.TimeoutExpired) as exc:
        version = f"unknown ({exc})"
    if PINNED[tool] not in version:
        env_var = _ENV[tool]
        raise BoosterError(
            f"{tool} on PATH ({path}) is version {version!r}, booster needs {PINNED[tool]}: run 'make install' in the booster "
            f"checkout for the pinned copy, or set {env_var}={path} to use this one anyway"
        )
    return path


_ENV = {"anvil": "BOOSTER_ANVIL", "cast": "BOOSTER_CAST", "forge": "BOOSTER_FORGE", "solcjs": "BOOSTER_SOLCJS"}


def _find_foundry_tool(tool: str) -> str:
    env_var = _ENV[tool]
    # the platform package holds the real binary; .bin/<tool> is a node wrapper around it
    found = os.environ.get(env_var) or _local(f"node_modules/@foundry-rs/{tool}-*/bin/{tool}", f"node_modules/.bin/{tool}")
    if found:
        return found
    on_path = shutil.which(tool)
    if not on_path:
        raise ToolNotFound(tool, env_var)
    return _checked_on_path(tool, on_path)


def find_anvil() -> str:
    return _find_foundry_tool("anvil")


def find_solcjs() -> list[str]:
    """The command that runs solcjs (a list: it may be ``node path/to/solc.js``)."""
    env = os.environ.get("BOOSTER_SOLCJS")
    if env:
        return [env]
    script = TOOLS_DIR / "node_modules" / "solc" / "solc.js"
    node = shutil.which("node")
    if script.is_file() and node:
        return [node, str(script)]
    on_path = shutil.which("solcjs")
    if on_path:
        return [_checked_on_path("solcjs", on_path)]
    raise ToolNotFound("solcjs", "BOOSTER_SOLCJS")


def find_cast() -> str:
    """Foundry's cast (tests drive the L2 with it as a real client)."""
    return _find_foundry_tool("cast")


def find_forge() -> str:
    """Foundry's forge (tests run a forge script against the L2 as a real client)."""
    return _find_foundry_tool("forge")
