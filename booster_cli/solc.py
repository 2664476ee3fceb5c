"""Compile Solidity with solcjs in standard-JSON mode.

solcjs quirks this module works around (solc 0.8.37 / solc-js 0.8.37):

* ``--standard-json`` only installs the file-import callback when ``--base-path`` is given;
  without it every import fails with "File import callback not supported".
* The callback resolves an import by plain string concatenation ``<base>/<source unit name>``
  (then each ``--include-path``), so source unit names must be relative to the base path.
  A ``../`` that climbs above the base path is silently dropped by solc, which is why the
  default base path is the working directory rather than the file's own folder.
* When no SMT solver is installed it prints a ``>>> Cannot retry compilation with SMT`` line on
  stdout before the JSON, and it exits 0 even when compilation fails.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import CompileError, ToolNotFound
from .tools import TOOLS_DIR, find_solcjs

# Part of the shipped artifact too: changing these changes every bytecode booster deploys.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
}
OUTPUT_SELECTION = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "storageLayout"]
TIMEOUT_S = 120

# " --> templates/Voting.sol:12:5:" inside a formattedMessage
_LOCATION = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+):")


@dataclass(frozen=True)
class CompiledContract:
    name: str
    source: str  # source unit name as given to solc (relative to the base path)
    abi: list
    bytecode: bytes
    deployed_bytecode: bytes
    storage_layout: dict


def _run(
    args: list[str], stdin: str | None = None, cmd: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    # stdout goes to a file, not a pipe: node writes to pipes asynchronously and solcjs exits
    # without flushing, which cut large outputs at 64 KiB
    try:
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
            proc = subprocess.run(
                (cmd or find_solcjs()) + args, input=stdin, stdout=out, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT_S
            )
            out.seek(0)
            return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), proc.stderr)
    except FileNotFoundError:
        # BOOSTER_SOLCJS (or node) pointing at nothing is the same problem as no solcjs at all
        raise ToolNotFound("solcjs", "BOOSTER_SOLCJS") from None
    except subprocess.TimeoutExpired:
        raise CompileError(f"solcjs did not finish within {TIMEOUT_S}s") from None


# keyed on the command so pointing BOOSTER_SOLCJS elsewhere is not answered from a stale cache
@lru_cache(maxsize=4)
def _version(cmd: tuple[str, ...]) -> str:
    proc = _run(["--version"], cmd=list(cmd))
    if proc.returncode != 0 or not proc.stdout.strip():
        raise CompileError(f"solcjs --version failed: {_last_line(proc.stderr)}")
    return proc.stdout.strip().splitlines()[-1].strip()


def solc_version() -> str:
    """Full compiler version, e.g. ``0.8.37+commit.f401782d.Emscripten.clang``."""
    return _version(tuple(find_solcjs()))


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _parse_output(stdout: str) -> dict:
    # skip solcjs's chatter lines: the JSON document starts on the first line opening with "{"
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("{"):
            try:
                return json.loads("\n".join(lines[i:]))
            except json.JSONDecodeError as exc:
                raise CompileError(f"solcjs printed invalid JSON: {exc}") from None
    raise CompileError(f"solcjs printed no JSON: {_last_line(stdout)}")


def compile_standard_json(
    input: dict, base_path: Path, include_paths: tuple[Path, ...] = ()
) -> dict:
    """Run one standard-JSON compilation and return solc's output document as-is.

    Compiler diagnostics stay inside the returned ``errors`` list; only failures of solcjs
    itself (missing, crashed, unparsable output) raise here.
    """
    args = ["--standard-json", "--base-path", str(Path(base_path).resolve())]
    for extra in include_paths:
        args += ["--include-path", str(Path(extra).resolve())]
    for attempt in (1, 2):
        proc = _run(args, stdin=json.dumps(input))
        if proc.returncode == 0:
            return _parse_output(proc.stdout)
        # node itself died (seen once under heavy load, a WebAssembly/V8 crash): try once more
    raise CompileError(f"solcjs failed: {_crash_line(proc.stderr or proc.stdout)}")


def _crash_line(text: str) -> str:
    """The most telling line of a node crash (its last line is only the Node.js version)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        if "Error" in line or "error:" in line:
            return line
    return lines[-1] if lines else "no output"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _first_error(output: dict, display: dict[str, str], base_path: Path) -> str | None:
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if not errors:
        return None
    err = errors[0]
    kind = err.get("type", "Error")
    message = _one_line(err.get("message", "")) or _one_line(err.get("formattedMessage", ""))
    located = _LOCATION.search(err.get("formattedMessage", ""))
    source = (err.get("sourceLocation") or {}).get("file") or (located and located["file"])
    if not source:
        return f"{kind}: {message}"
    where = display.get(source) or _display_path(base_path / source)
    if located:
        where += f":{located['line']}"
    return f"{where}: {kind}: {message}"


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        # "__$<hash>$__" placeholders: the contract calls an external library we do not link
        raise CompileError(f"{what} needs library linking, which booster does not support") from None


def _to_contract(name: str, source: str, out: dict) -> CompiledContract:
    evm = out.get("evm", {})
    return CompiledContract(
        name=name,
        source=source,
        abi=out.get("abi", []),
        bytecode=_hex(evm.get("bytecode", {}).get("object", ""), name),
        deployed_bytecode=_hex(evm.get("deployedBytecode", {}).get("object", ""), name),
        storage_layout=out.get("storageLayout", {}),
    )


def _pick(contracts: dict[str, dict], wanted: str | None, shown: str) -> str:
    # abstract contracts and interfaces come back with empty bytecode
    deployable = sorted(n for n, c in contracts.items() if c.get("evm", {}).get("bytecode", {}).get("object"))
    if wanted is None:
        if len(deployable) == 1:
            return deployable[0]
        if not deployable:
            raise CompileError(f"no deployable contract in {shown} (abstract contracts and interfaces cannot be deployed)")
        raise CompileError(f"several contracts in {shown}: {', '.join(deployable)}; pick one with --contract")
    if wanted in deployable:
        return wanted
    if wanted in contracts:
        raise CompileError(f"{wanted} in {shown} is abstract or an interface; deployable: {', '.join(deployable) or 'none'}")
    close = difflib.get_close_matches(wanted, deployable, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise CompileError(f"no contract {wanted} in {shown}; {hint}available: {', '.join(deployable) or 'none'}")


PROJECT_MARKERS = ("booster.toml", "foundry.toml", "package.json", ".git")


def _project_root(file: Path) -> Path:
    """The nearest folder above ``file`` that looks like a project root, so ``../`` imports
    inside the project resolve (solc drops ``../`` that climbs above the base path)."""
    for folder in file.parents:
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return file.parent


def compile_file(
    path: str | Path, contract: str | None = None, *, base_path: str | Path | None = None
) -> CompiledContract:
    """Compile one Solidity file and return the contract to deploy from it.

    ``base_path`` anchors source unit names and import resolution. It defaults to the working
    directory when the file is inside it (so ``../`` imports work), else the file's folder.
    Source unit names end up in the bytecode's metadata hash, so a caller that needs
    reproducible bytecode must pass a fixed ``base_path``.
    """
    shown = str(path)
    file = Path(path).resolve()
    try:
        content = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompileError(f"no such Solidity file: {shown}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompileError(f"cannot read {shown}: {exc}") from None

    if base_path is not None:
        base = Path(base_path).resolve()
    elif file.is_relative_to(Path.cwd()):
        base = Path.cwd()
    else:
        base = _project_root(file)
    if not file.is_relative_to(base):
        raise CompileError(f"{shown} is not inside the base path {base}")
    source = file.relative_to(base).as_posix()
    # package-manager imports ("@openzeppelin/...") resolve from node_modules next to the base,
    # then from booster's own tools folder
    includes = tuple(p for p in (base / "node_modules", TOOLS_DIR / "node_modules") if p.is_dir())

    output = compile_standard_json(
        {
            "language": "Solidity",
            "sources": {source: {"content": content}},
            "settings": {**SETTINGS, "outputSelection": {"*": {"*": OUTPUT_SELECTION}}},
        },
        base,
        includes,
    )
    failure = _first_error(output, {source: shown}, base)
    if failure:
        raise CompileError(failure)

    contracts = output.get("contracts", {}).get(source, {})
    name = _pick(contracts, contract, shown)
    return _to_contract(name, source, contracts[name])
