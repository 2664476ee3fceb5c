"""The shipped BoosterSettlement artifact: loading it (hot path) and rebuilding it (``make artifacts``).

Loading only reads JSON, so starting a devnet needs neither node nor solcjs; the unit tests
recompile the source and fail when the shipped artifact has drifted from it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import BoosterError

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
SETTLEMENT_SOURCE = CONTRACTS_DIR / "BoosterSettlement.sol"
SETTLEMENT_ARTIFACT = CONTRACTS_DIR / "BoosterSettlement.json"
SETTLEMENT_CONTRACT = "BoosterSettlement"


def source_sha256(path: Path = SETTLEMENT_SOURCE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_settlement_artifact() -> dict:
    try:
        return json.loads(SETTLEMENT_ARTIFACT.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BoosterError(f"{SETTLEMENT_ARTIFACT} is missing: run 'make artifacts' in the booster checkout") from None


def build_settlement_artifact() -> dict:
    # imported here so the hot path (load_settlement_artifact) never pulls in the compiler
    from .solc import SETTINGS, compile_file, solc_version

    # a fixed base path keeps the source unit name, and with it the metadata hash inside the
    # bytecode, the same whatever directory the build runs from
    compiled = compile_file(SETTLEMENT_SOURCE, SETTLEMENT_CONTRACT, base_path=CONTRACTS_DIR)
    return {
        "contract": compiled.name,
        "solc": solc_version(),
        "source_sha256": source_sha256(),
        "settings": SETTINGS,
        "abi": compiled.abi,
        "bytecode": "0x" + compiled.bytecode.hex(),
    }


def render(artifact: dict) -> str:
    return json.dumps(artifact, sort_keys=True, indent=1) + "\n"


def main() -> None:
    artifact = build_settlement_artifact()
    SETTLEMENT_ARTIFACT.write_text(render(artifact), encoding="utf-8")
    print(f"wrote {SETTLEMENT_ARTIFACT} ({len(artifact['bytecode']) // 2 - 1} bytes of init code, solc {artifact['solc']})")


if __name__ == "__main__":
    main()
