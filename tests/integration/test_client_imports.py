"""Client commands answer fast because they import little: never py-evm, and not eth_abi,
eth_utils, pyrlp or pydantic either (eth_utils imports pydantic: ~0.1 s; typer 0.29 coerced
arguments through pydantic: ~0.05 s), nor websockets (only the RPC front serves WebSockets). The
numbers are in benchmarks/client_and_prover.py; this test keeps the imports from coming back."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("eth", "eth_abi", "eth_utils", "eth_account", "rlp", "pydantic", "web3", "websockets")

DRIVER = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["booster"] + sys.argv[1:]
from booster_cli.cli.main import run
run()
"""


def _modules(devnet, tmp_path, *args: str) -> list[str]:
    out = tmp_path / "modules.json"
    res = subprocess.run([sys.executable, "-c", DRIVER, str(out), *args], cwd=devnet.cwd, env=devnet.env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    "command",
    [
        ("status",),
        ("delta", "show"),
        ("nonces",),
        ("send", "{voting}", "vote(uint256)", "2"),
        ("call", "{voting}", "votes(uint256)(uint256)", "2"),
        ("send", "{voting}", "vot(uint256)", "2"),  # refused with the selector hint
        ("tx", "{tx}"),
        ("trace", "{tx}"),
        ("send", "{voting}", "applyStateUpdates((bytes32,bytes32)[])", "[]"),  # would revert: OnlySettlement decoded
    ],
)
def test_client_commands_import_nothing_heavy(devnet, tmp_path, command):
    voting = devnet.deploy_voting()
    tx = devnet.ok("send", voting, "vote(uint256)", "1", "--json").json()["tx_hash"] if "{tx}" in command else ""
    args = [a.format(voting=voting, tx=tx) for a in command]
    refused = {"vot(uint256)": (2, "did you mean vote(uint256)"), "applyStateUpdates((bytes32,bytes32)[])": (5, "OnlySettlement(")}
    if args[:1] == ["send"] and args[2] in refused:
        out = tmp_path / "modules.json"
        res = subprocess.run([sys.executable, "-c", DRIVER, str(out), *args], cwd=devnet.cwd, env=devnet.env, capture_output=True, text=True, timeout=60)
        code, said = refused[args[2]]
        assert res.returncode == code and said in res.stderr, res.stderr
        modules = json.loads(out.read_text())
    else:
        modules = _modules(devnet, tmp_path, *args)
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"booster {' '.join(command)} imported {heavy[:8]}"
