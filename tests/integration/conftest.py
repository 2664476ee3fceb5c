"""Integration fixtures: a real devnet (anvil + booster L2 node) on free ports, always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.rpc import RpcClient
from booster_cli.txsign import sign_eip1559

REPO = Path(__file__).resolve().parents[2]
VOTING = REPO / "templates" / "Voting.sol"
L1CALL = "0x0000000000000000000000000000000000001001"


def signed_vote(voting: str, nonce: int, candidate: int = 1, key: str = DEV_PRIVATE_KEYS[1], gas: int = 300_000, max_fee: int = 10**10,
                chain_id: int = 167010) -> bytes:
    """A signed L2 transaction (chain 167010 unless told, tip 1 wei): ``vote(candidate)`` on L1's
    Voting at ``voting``, through L1CALL."""
    data = encode(["address", "bytes"], [voting, keccak(b"vote(uint256)")[:4] + encode(["uint256"], [candidate])])
    raw, _ = sign_eip1559(key, chain_id=chain_id, nonce=nonce, to=L1CALL, data=data, gas=gas, max_fee_per_gas=max_fee, max_priority_fee_per_gas=1)
    return raw


@contextmanager
def anvil_with_voting(folder: Path) -> Iterator[tuple[RpcClient, str]]:
    """A plain anvil on a free port with Voting deployed by dev account 0 (any settlement address
    does); yields (its RPC client, Voting's address); always stopped."""
    from booster_cli.anvil import AnvilProcess, free_port
    from booster_cli.solc import compile_file
    from booster_cli.txsend import transact

    anvil = AnvilProcess(free_port(), folder / "anvil.log")
    l1 = anvil.start()
    try:
        code = compile_file(VOTING).bytecode + encode(["address"], ["0x" + "00" * 20])
        yield l1, transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code)["contractAddress"]
    finally:
        anvil.stop()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@dataclass
class Devnet:
    cwd: Path
    env: dict
    record: dict

    def booster(self, *args: str, timeout: float = 120) -> Result:
        return run_booster(self.cwd, self.env, *args, timeout=timeout)

    def ok(self, *args: str) -> Result:
        res = self.booster(*args)
        assert res.code == 0, f"booster {' '.join(args)} → {res.code}: {res.err}"
        return res

    @property
    def l1(self) -> RpcClient:
        return RpcClient(self.record["l1"]["rpc_url"])

    def deploy_voting(self) -> str:
        return self.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]


def run_booster(cwd: Path, env: dict, *args: str, timeout: float = 120) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "booster_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, TypeError):
        pass


def clean_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
    env["BOOSTER_STATE_DIR"] = str(tmp_path / ".booster")
    env["NO_COLOR"] = "1"
    return env


@contextmanager
def started_devnet(folder: Path, extra_env: dict | None = None, up_args: tuple = ()) -> Iterator[Devnet]:
    """A devnet on free ports with its state in ``folder``; always stopped (and its processes
    killed if ``down`` could not). ``extra_env``: more environment for the devnet and the
    commands run on it (e.g. a fault to inject); ``up_args``: more for ``up`` (``--rollups 2``)."""
    env = {**clean_env(folder), **(extra_env or {})}
    res = run_booster(folder, env, "up", "-d", *up_args, "--l1-port", "0", "--l2-port", "0", "--json")
    assert res.code == 0, res.err
    devnet = Devnet(folder, env, res.json())
    try:
        yield devnet
    finally:
        run_booster(folder, env, "down", timeout=60)
        for pid in (devnet.record["l2"]["pid"], devnet.record["l1"]["pid"]):
            _kill(pid)
        time.sleep(0.05)


@pytest.fixture
def devnet(tmp_path: Path):
    with started_devnet(tmp_path) as dn:
        yield dn
