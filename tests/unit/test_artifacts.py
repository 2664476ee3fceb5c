"""The shipped settlement artifact must be exactly what its source compiles to."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from booster_cli import artifacts


def test_shipped_artifact_hashes_the_shipped_source() -> None:
    shipped = artifacts.load_settlement_artifact()
    assert shipped["contract"] == "BoosterSettlement"
    assert shipped["source_sha256"] == hashlib.sha256(artifacts.SETTLEMENT_SOURCE.read_bytes()).hexdigest(), (
        "BoosterSettlement.sol changed without 'make artifacts'"
    )


def test_recompiling_the_source_gives_the_shipped_bytecode_and_abi() -> None:
    shipped = artifacts.load_settlement_artifact()
    rebuilt = artifacts.build_settlement_artifact()
    assert rebuilt["settings"] == shipped["settings"]
    assert rebuilt["abi"] == shipped["abi"]
    # differs too when only the solc version or settings differ, which is the point
    assert rebuilt["bytecode"] == shipped["bytecode"], (
        f"shipped artifact was built with solc {shipped['solc']}, this is {rebuilt['solc']}: run 'make artifacts'"
    )


def test_artifact_file_is_in_canonical_form() -> None:
    # main() writes sorted keys / indent 1; a hand-edited file would show up as a noisy diff later
    text = artifacts.SETTLEMENT_ARTIFACT.read_text(encoding="utf-8")
    assert text == artifacts.render(artifacts.load_settlement_artifact())


def test_loading_the_artifact_does_not_touch_the_compiler() -> None:
    # fresh interpreter: other tests in this process have imported booster_cli.solc already
    probe = (
        "import sys; from booster_cli.artifacts import load_settlement_artifact as load; "
        "assert load()['bytecode'].startswith('0x'); print('booster_cli.solc' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
