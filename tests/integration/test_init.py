"""`booster init`'s project, for real: its Makefile's demo settles on a devnet started from the
project folder, and its Token and Pool templates trade through L1CALL and settle on L1."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_utils import keccak

from booster_cli.abi import encode_call
from booster_cli.accounts import DEV_ADDRESSES
from booster_cli.scaffold import init_project

from .conftest import _kill

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("make") is None, reason="make not installed"),
]


def project_env() -> dict:
    """No BOOSTER_* from the outside (so the project's own .booster is used), any free ports,
    and this interpreter's bin folder (where `booster` is installed) first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOSTER_")}
    env["BOOSTER_L1_PORT"] = "0"
    env["BOOSTER_L2_PORT"] = "0"
    env["NO_COLOR"] = "1"
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def make(project: Path, env: dict, target: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["make", target], cwd=project, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def read_record(project: Path) -> dict | None:
    try:
        return json.loads((project / ".booster" / "devnet.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def test_make_demo_in_a_new_project_settles(tmp_path: Path) -> None:
    project = tmp_path / "my-rollup"
    init_project(project)
    env = project_env()
    assert shutil.which("booster", path=env["PATH"]), "booster is not installed next to this interpreter"
    record = None
    try:
        demo = make(project, env, "demo")
        record = read_record(project)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        out = demo.stdout
        assert "settled batch 1" in out
        assert "settled L1 diff of batch 1" in out
        # the demo's five votes: candidate 1 three times, 2 and 3 once each, read after settling
        assert "votes(1) = 3" in out and "votes(2) = 1" in out and "votes(3) = 1" in out
        address = (project / ".booster" / "voting.address").read_text().strip()
        assert address.startswith("0x") and len(address) == 42 and address in out

        status = make(project, env, "status")
        assert status.returncode == 0, status.stderr
        assert "pending: 0 tx(s), 0 change(s)" in status.stdout
        # the state is the project's own, git-ignored
        assert ".booster/" in (project / ".gitignore").read_text().splitlines()
    finally:
        record = record or read_record(project)
        down = make(project, env, "down", timeout=60)
        if record:
            for pid in (record["l2"]["pid"], record["l1"]["pid"]):
                _kill(pid)
            time.sleep(0.05)
    assert down.returncode == 0, down.stderr
    assert "booster devnet stopped" in down.stdout
    assert not (project / ".booster" / "devnet.json").exists()


# --- Token + Pool through booster -------------------------------------------------------------

SUPPLY = 10**24
MAX = 2**256 - 1
OWNER, ALICE, BOB = DEV_ADDRESSES[0], DEV_ADDRESSES[1], DEV_ADDRESSES[2]


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def selector(error: str) -> str:
    return keccak(error.encode())[:4].hex()


class Market:
    """Drives the deployed tokens and pool through the CLI and keeps the expected state."""

    def __init__(self, devnet, token_a: str, token_b: str, pool: str) -> None:
        self.devnet = devnet
        self.a, self.b, self.pool = token_a, token_b, pool
        self.balances = {token_a: {OWNER: SUPPLY}, token_b: {OWNER: SUPPLY}}
        self.allowances: dict[tuple[str, str, str], int] = {}
        self.reserves = {token_a: 0, token_b: 0}
        self.shares: dict[str, int] = {}

    def send(self, sender: int, to: str, sig: str, *args) -> dict:
        res = self.devnet.ok("send", to, sig, *map(str, args), "--from", str(sender), "--json").json()
        assert res["status"] == 1, res
        return res

    def reverts(self, sender: int, to: str, sig: str, *args) -> str:
        res = self.devnet.booster("send", to, sig, *map(str, args), "--from", str(sender))
        assert res.code == 5, (res.code, res.out, res.err)
        return res.err

    def call(self, to: str, sig: str, *args) -> int:
        out = self.devnet.ok("call", to, sig, *map(str, args), "--json").json()["result"]
        return int(out[0])

    def l1(self, to: str, sig: str, *args) -> int:
        data = encode_call(sig, [str(a) for a in args])
        return int(self.devnet.l1.call("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest"), 16)

    def balance(self, token: str, who: str) -> int:
        return self.balances[token].get(who, 0)

    def move(self, token: str, src: str, dst: str, value: int) -> None:
        self.balances[token][src] = self.balance(token, src) - value
        self.balances[token][dst] = self.balance(token, dst) + value

    def spend(self, token: str, owner: str, spender: str, value: int) -> None:
        allowed = self.allowances.get((token, owner, spender), 0)
        if allowed != MAX:
            self.allowances[(token, owner, spender)] = allowed - value

    def other(self, token: str) -> str:
        return self.b if token == self.a else self.a

    def check(self, read) -> None:
        """Compare every balance, allowance, reserve and share with the model through ``read``
        (``call``: L1 plus the pending delta; ``l1``: L1 alone)."""
        holders = {OWNER, ALICE, BOB, self.pool}
        for token in (self.a, self.b):
            for who in holders:
                assert read(token, "balanceOf(address)(uint256)", who) == self.balance(token, who), (token, who)
            assert sum(self.balances[token].values()) == SUPPLY
            assert read(token, "totalSupply()(uint256)") == SUPPLY
        for (token, owner, spender), value in self.allowances.items():
            assert read(token, "allowance(address,address)(uint256)", owner, spender) == value
        assert read(self.pool, "reserveA()(uint256)") == self.reserves[self.a]
        assert read(self.pool, "reserveB()(uint256)") == self.reserves[self.b]
        # the reserves are backed by the pool's token balances
        assert self.reserves[self.a] == self.balance(self.a, self.pool)
        assert self.reserves[self.b] == self.balance(self.b, self.pool)
        assert read(self.pool, "totalShares()(uint256)") == sum(self.shares.values())
        for who, value in self.shares.items():
            assert read(self.pool, "sharesOf(address)(uint256)", who) == value

    # --- the operations, sent through L1CALL, with their expected effect ---

    def transfer(self, sender: int, token: str, to: str, value: int) -> None:
        self.send(sender, token, "transfer(address,uint256)", to, value)
        self.move(token, DEV_ADDRESSES[sender], to, value)

    def approve(self, sender: int, token: str, spender: str, value: int) -> None:
        self.send(sender, token, "approve(address,uint256)", spender, value)
        self.allowances[(token, DEV_ADDRESSES[sender], spender)] = value

    def add_liquidity(self, sender: int, amount_a: int, amount_b: int) -> int:
        who = DEV_ADDRESSES[sender]
        total = sum(self.shares.values())
        if total == 0:
            minted = math.isqrt(amount_a * amount_b)
        else:
            minted = min(amount_a * total // self.reserves[self.a], amount_b * total // self.reserves[self.b])
        self.send(sender, self.pool, "addLiquidity(uint256,uint256)", amount_a, amount_b)
        for token, value in ((self.a, amount_a), (self.b, amount_b)):
            self.move(token, who, self.pool, value)
            self.spend(token, who, self.pool, value)
            self.reserves[token] += value
        self.shares[who] = self.shares.get(who, 0) + minted
        return minted

    def swap(self, sender: int, token_in: str, amount_in: int) -> int:
        who = DEV_ADDRESSES[sender]
        token_out = self.other(token_in)
        reserve_in, reserve_out = self.reserves[token_in], self.reserves[token_out]
        out = amount_out(amount_in, reserve_in, reserve_out)
        assert 0 < out
        # the quote, the slippage guard one unit above it, then the swap at exactly the quote
        assert self.call(self.pool, "getAmountOut(address,uint256)(uint256)", token_in, amount_in) == out
        err = self.reverts(sender, self.pool, "swap(address,uint256,uint256)", token_in, amount_in, out + 1)
        assert "InsufficientOutput(amountOut=" in err  # Pool's custom error, decoded from its registered ABI
        self.send(sender, self.pool, "swap(address,uint256,uint256)", token_in, amount_in, out)
        self.move(token_in, who, self.pool, amount_in)
        self.spend(token_in, who, self.pool, amount_in)
        self.move(token_out, self.pool, who, out)
        self.reserves[token_in] += amount_in
        self.reserves[token_out] -= out
        # x*y=k with the 0.3% fee: k grows, and the same trade without the fee would pay more
        assert (reserve_in + amount_in) * (reserve_out - out) > reserve_in * reserve_out
        assert out < amount_in * reserve_out // (reserve_in + amount_in)
        return out

    def remove_liquidity(self, sender: int, shares: int) -> tuple[int, int]:
        who = DEV_ADDRESSES[sender]
        total = sum(self.shares.values())
        out_a = self.reserves[self.a] * shares // total
        out_b = self.reserves[self.b] * shares // total
        self.send(sender, self.pool, "removeLiquidity(uint256)", shares)
        self.move(self.a, self.pool, who, out_a)
        self.move(self.b, self.pool, who, out_b)
        self.reserves[self.a] -= out_a
        self.reserves[self.b] -= out_b
        self.shares[who] -= shares
        return out_a, out_b


def test_token_and_pool_trade_on_l2_and_settle_on_l1(devnet, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    init_project(project)
    contracts = project / "contracts"

    def deploy(name: str, *args: str) -> str:
        res = devnet.ok("deploy", str(contracts / f"{name}.sol"), "settlement", *args, "--json").json()
        assert res["contract"] == name and res["layer"] == "l1"
        return res["address"]

    token_a = deploy("Token", "Token A", "TKA", str(SUPPLY))
    token_b = deploy("Token", "Token B", "TKB", str(SUPPLY))
    pool = deploy("Pool", token_a, token_b)
    market = Market(devnet, token_a, token_b, pool)

    # deployed straight on L1: the deployer holds the supply, nothing is pending
    market.check(market.l1)
    assert market.l1(pool, "tokenA()(address)") == int(token_a, 16)
    assert devnet.ok("delta", "show", "--json").json()["changes"] == []

    # the owner funds the pool (infinite approvals are never spent down)
    market.approve(0, token_a, pool, MAX)
    market.approve(0, token_b, pool, MAX)
    assert market.add_liquidity(0, 10**21, 4 * 10**21) == 2 * 10**21

    # Alice gets some A, approves exactly what she swaps, and sells A for B
    market.transfer(0, token_a, ALICE, 10**20)
    market.approve(1, token_a, pool, 5 * 10**19)
    out_b = market.swap(1, token_a, 5 * 10**19)
    assert out_b == amount_out(5 * 10**19, 10**21, 4 * 10**21)
    assert market.allowances[(token_a, ALICE, pool)] == 0

    # her allowance is used up: a second swap would fail in transferFrom, and is not sent
    err = market.reverts(1, pool, "swap(address,uint256,uint256)", token_a, 10**19, 0)
    assert selector("InsufficientAllowance(address,uint256,uint256)") in err  # raised by the token inside the pool: raw (only the target's errors are decoded)
    # Bob holds nothing: his transfer fails on the balance
    err = market.reverts(2, token_a, "transfer(address,uint256)", ALICE, 1)
    assert "InsufficientBalance(" in err
    # a token the pool does not trade
    err = market.reverts(0, pool, "swap(address,uint256,uint256)", DEV_ADDRESSES[3], 1, 0)
    assert "UnknownToken(" in err

    # the owner sells B back (the other direction), then adds at the new price and takes some out
    market.swap(0, token_b, 3 * 10**20)
    market.add_liquidity(0, 10**20, 10**20)  # unbalanced: the smaller ratio sets the shares
    market.approve(1, token_a, pool, 10**18)
    market.approve(1, token_b, pool, MAX)
    market.add_liquidity(1, 10**18, 10**19)
    market.remove_liquidity(0, 5 * 10**20)

    # L1CALL reads (L1 + the pending delta) follow the model; L1 itself has not moved yet
    market.check(market.call)
    assert market.l1(token_a, "balanceOf(address)(uint256)", ALICE) == 0
    assert market.l1(pool, "reserveA()(uint256)") == 0
    delta = devnet.ok("delta", "show", "--json").json()
    touched = {c["contract"] for c in delta["changes"] if not c["net_zero"]}
    assert touched == {token_a, token_b, pool}

    settled = devnet.ok("settle", "--json").json()
    assert settled["batch"] == 1 and settled["gas_used"] > 0
    assert settled["txs"] == delta["txs"]

    # after settlement L1 holds exactly the expected balances, allowances, reserves and shares
    market.check(market.l1)
    assert market.l1(token_a, "balanceOf(address)(uint256)", ALICE) == 5 * 10**19 - 10**18
    assert market.l1(token_b, "balanceOf(address)(uint256)", ALICE) == out_b - 10**19
    assert devnet.ok("delta", "show", "--json").json()["changes"] == []
