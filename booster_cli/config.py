"""``booster.toml``: settings for a project folder, validated, applied below flags and BOOSTER_*
variables (precedence: flags > environment > booster.toml > defaults).

The file is looked up in the current folder (or at ``BOOSTER_CONFIG``). Each setting maps to its
environment variable; a setting only fills a variable that is not set, and every flag reads its
variable, so the precedence holds everywhere — also in the detached node process.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Callable

from .errors import UsageError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def _port(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 65535:
        raise ValueError("an integer port 0-65535 (0: any free port)")
    return str(v)


def _chain_id(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 2**64:
        raise ValueError("a positive integer chain id")
    return str(v)


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("a string")
    return v


def _block_number(v: Any) -> str:
    if v == "latest":
        return ""  # the default: the forked chain's head
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError('a block number (an integer, 0 or more) or "latest"')
    return str(v)


def _flag(v: Any) -> str:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return "1" if v else ""  # "": not set (the default, off)


def _sender(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ValueError("a dev account index (0-9) or an address")
    return str(v)


def _verifier_gas(v: Any) -> str:
    if not isinstance(v, list) or not all(isinstance(x, str) and "=" in x and " " not in x for x in v):
        raise ValueError('a list of "NAME=GAS" strings, e.g. ["groth16=250000"]')
    return " ".join(v)  # a list option reads its variable split on whitespace


def _origins(v: Any) -> str:
    from .errors import UsageError
    from .origins import parse_origins

    values = [v] if isinstance(v, str) else v
    if not isinstance(values, list) or not all(isinstance(x, str) for x in values):
        raise ValueError('a list of origins, e.g. ["http://localhost:5173"], or "*"')
    try:
        return " ".join(parse_origins(values))  # a list option reads its variable split on whitespace
    except UsageError as exc:
        raise ValueError(f"a list of origins such as http://localhost:5173, or \"*\" ({exc})") from None


def _rollups(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 26:
        raise ValueError("a number of rollups from 1 to 26")
    return str(v)


ROLLUP_SPECS_ENV = "BOOSTER_ROLLUP_SPECS"  # what [[rollup]] entries say, as "name:chain_id:port ..."


def _rollup_specs(path: Path, entries: Any) -> str:
    """``[[rollup]]`` entries (name, chain_id, port; chained rollups, docs/chaining.md), checked,
    as the value of BOOSTER_ROLLUP_SPECS."""
    import re

    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{path}: rollup must be a list of [[rollup]] tables with name, chain_id and port")
    specs, names, ids = [], set(), set()
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"name", "chain_id", "port"}:
            raise UsageError(f"{path}: [[rollup]] entry {i} must have exactly name, chain_id and port")
        name = entry["name"]
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", name) or name in names:
            raise UsageError(f"{path}: [[rollup]] entry {i}: name must be a new lower-case word (a-z, 0-9, -), got {name!r}")
        try:
            chain_id, port = _chain_id(entry["chain_id"]), _port(entry["port"])
        except ValueError as exc:
            raise UsageError(f"{path}: [[rollup]] entry {i} ({name}): {exc}") from None
        if chain_id in ids:
            raise UsageError(f"{path}: [[rollup]] entry {i} ({name}): chain id {chain_id} is another rollup's")
        names.add(name)
        ids.add(chain_id)
        specs.append(f"{name}:{chain_id}:{port}")
    return " ".join(specs)


def parse_rollup_specs(text: str) -> list[tuple[str, int, int]]:
    """BOOSTER_ROLLUP_SPECS ("name:chain_id:port ..."; config.py writes it from [[rollup]])."""
    specs = []
    for item in text.split():
        parts = item.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            raise UsageError(f"rollup {item!r}: expected NAME:CHAIN_ID:PORT")
        specs.append((parts[0], int(parts[1]), int(parts[2])))
    return specs


# section → key → (environment variable, validator)
SETTINGS: dict[str, dict[str, tuple[str, Callable[[Any], str]]]] = {
    "devnet": {
        "l1_port": ("BOOSTER_L1_PORT", _port),
        "l2_port": ("BOOSTER_L2_PORT", _port),
        "l2_chain_id": ("BOOSTER_L2_CHAIN_ID", _chain_id),
        "state_dir": ("BOOSTER_STATE_DIR", _text),
        "allow_origin": ("BOOSTER_ALLOW_ORIGIN", _origins),
        "rollups": ("BOOSTER_ROLLUPS", _rollups),
        "fork_url": ("BOOSTER_FORK_URL", _text),
        "fork_block_number": ("BOOSTER_FORK_BLOCK_NUMBER", _block_number),
        "emulate_apply": ("BOOSTER_EMULATE_APPLY", _flag),
        "l1_rpc": ("BOOSTER_L1_RPC", _text),
        "l1_keystore": ("BOOSTER_L1_KEYSTORE", _text),
        "settlement": ("BOOSTER_SETTLEMENT", _text),
    },
    "prover": {"key": ("BOOSTER_PROVER_KEY", _text)},
    "client": {"rpc_url": ("BOOSTER_RPC_URL", _text), "from": ("BOOSTER_FROM", _sender)},
    "report": {"verifier_gas": ("BOOSTER_VERIFIER_GAS", _verifier_gas)},
}


def config_path() -> Path:
    """``BOOSTER_CONFIG``, else the project's ``booster.toml`` (in the current folder or the
    nearest parent holding one or a ``.booster/``, see statedir.project_root)."""
    if os.environ.get("BOOSTER_CONFIG"):
        return Path(os.environ["BOOSTER_CONFIG"])
    from .statedir import project_root

    root = project_root()
    return Path("booster.toml") if root is None or root == Path.cwd().absolute() else root / "booster.toml"


def read(path: Path) -> dict[str, str]:
    """The file's settings as {ENV_VAR: value}; empty strings mean "use the default"."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if "BOOSTER_CONFIG" in os.environ:
            raise UsageError(f"{path}: no such file (BOOSTER_CONFIG)") from None
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    out: dict[str, str] = {}
    for section, values in data.items():
        if section == "rollup":  # [[rollup]] entries: chained rollups with names, chain ids, ports
            out[ROLLUP_SPECS_ENV] = _rollup_specs(path, values)
            continue
        known = SETTINGS.get(section)
        if known is None or not isinstance(values, dict):
            raise UsageError(f"{path}: unknown section [{section}]{_hint(section, SETTINGS)}")
        for key, value in values.items():
            if key not in known:
                raise UsageError(f"{path}: unknown key {section}.{key}{_hint(key, known)}")
            env, check = known[key]
            try:
                text = check(value)
            except ValueError as exc:
                raise UsageError(f"{path}: {section}.{key} must be {exc}, got {value!r}") from None
            if text != "":
                out[env] = text
    return out


def apply(path: Path | None = None) -> dict[str, str]:
    """Fill unset BOOSTER_* variables from booster.toml; returns what was applied."""
    path = path or config_path()
    applied = {k: v for k, v in read(path).items() if k not in os.environ}
    if "BOOSTER_STATE_DIR" in applied:  # relative to the file's folder, wherever the command runs
        applied["BOOSTER_STATE_DIR"] = str((path.absolute().parent / applied["BOOSTER_STATE_DIR"]).absolute())
    os.environ.update(applied)
    return applied


def _hint(word: str, choices: dict) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else f" (expected one of: {', '.join(choices)})"
