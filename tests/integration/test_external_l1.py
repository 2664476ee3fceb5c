"""A devnet on an external L1 (``booster up --l1-rpc URL``): a chain booster does not run.

No internet here: a separate anvil started by the test stands in for a real chain — one with
``--block-time 1`` (blocks come on their own, so settling is a race for block anchor+1) and one
with ``--no-mining`` (the test decides when blocks come: it mines while settle waits, and drops
the settlement from the pool once to make it miss its block). The relayer's key is a fresh one,
funded by the test, given only by environment (BOOSTER_L1_KEY); the test then looks for it in
every file of the state directory and in the processes' command lines and environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.rpc import RpcClient
from booster_cli.txsend import transact
from booster_cli.txsign import address_of

from .conftest import VOTING, Devnet, Result, clean_env, run_booster, started_devnet

pytestmark = pytest.mark.integration

CHAIN_ID = 1337  # not the bundled anvil's 31337: booster takes the chain id from the chain
E18 = 10**18


@contextmanager
def external_chain(folder: Path, *args: str, chain_id: int = CHAIN_ID) -> Iterator[tuple[AnvilProcess, RpcClient]]:
    anvil = AnvilProcess(free_port(), folder / f"external-anvil-{chain_id}.log", chain_id=chain_id, extra_args=args)
    rpc = anvil.start()
    try:
        yield anvil, rpc
    finally:
        anvil.stop()


class Miner:
    """Mines a block every ``interval`` s on a --no-mining chain while running (what up and
    deploy wait for), stopped for the parts where the test decides."""

    def __init__(self, rpc: RpcClient, interval: float = 0.2) -> None:
        self.rpc, self.interval, self.stopping = rpc, interval, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.rpc.call("evm_mine")

    def __enter__(self) -> "Miner":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()


def fresh_key(l1: RpcClient, funds: int = 100 * E18, miner: bool = False) -> str:
    """A new key with ``funds`` on ``l1``, from dev account 0 (no key of anvil's mnemonic)."""
    key = "0x" + os.urandom(32).hex()
    if miner:
        with Miner(l1):
            transact(l1, DEV_PRIVATE_KEYS[0], to=address_of(key), data=b"", value=funds, gas=21_000)
    else:
        transact(l1, DEV_PRIVATE_KEYS[0], to=address_of(key), data=b"", value=funds, gas=21_000)
    return key


def env_with_key(folder: Path, key: str) -> dict:
    return {**clean_env(folder), "BOOSTER_L1_KEY": key}


def up(folder: Path, env: dict, *args: str) -> Result:
    return run_booster(folder, env, "up", "-d", "--l2-port", "0", "--json", *args)


def votes_on(l1: RpcClient, voting: str, candidate: int) -> int:
    data = keccak(b"votes(uint256)")[:4] + encode(["uint256"], [candidate])
    return int(l1.call("eth_call", {"to": voting, "data": "0x" + data.hex()}, "latest"), 16)


def assert_key_nowhere(key: str, folder: Path) -> None:
    """Neither form of ``key`` (with 0x or without, any case) in any file under ``folder``."""
    digits = key[2:].lower().encode()
    for path in folder.rglob("*"):
        if path.is_file():
            assert digits not in path.read_bytes().lower(), f"the relayer's key is in {path}"


def proc_file(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def test_settles_on_a_chain_with_block_times_across_restarts_and_down_leaves_it_alone(tmp_path):
    with external_chain(tmp_path, "--block-time", "1") as (anvil, ext):
        key = fresh_key(ext)
        env = env_with_key(tmp_path, key)
        with started_devnet(tmp_path, env, ("--l1-rpc", anvil.rpc_url)) as dn:
            record = dn.record
            assert record["l1"]["kind"] == "external" and record["l1"]["chain_id"] == CHAIN_ID and record["l1"]["pid"] is None
            assert "anvil" not in record["processes"] and record["relayer"] == address_of(key)
            settlement = record["contracts"]["settlement"]
            assert ext.call("eth_getCode", settlement, "latest") not in ("0x", "0x0")
            st = dn.ok("status", "--json").json()
            assert st["l1"]["kind"] == "external" and st["l1"]["block"] > 0
            assert "external, chain 1337" in dn.ok("status").out
            # the key is on no command line, nor in the environment of the node's RPC front
            for role in ("node", "front"):
                pid = record["processes"][role]["pid"]
                assert key[2:].encode() not in proc_file(pid, "cmdline").lower() and anvil.rpc_url.encode() not in proc_file(pid, "cmdline")
            assert key[2:].encode() not in proc_file(record["processes"]["front"]["pid"], "environ").lower()

            voting = dn.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]
            for voter in (1, 2, 3):
                dn.ok("send", voting, "vote(uint256)", "7", "--from", str(voter))
            settled = dn.ok("settle", "--json").json()
            assert settled["batch"] == 1 and settled["attempts"] >= 1 and len(settled["attempt_log"]) == settled["attempts"]
            assert settled["attempt_log"][-1]["outcome"].startswith("landed in block")
            assert settled["l1_block"] == settled["anchor"]["number"] + 1
            assert votes_on(ext, voting, 7) == 3
            dn.ok("send", voting, "vote(uint256)", "7")
            text = dn.ok("settle").out
            assert "attempts: " in text and "settled batch 2" in text
            assert votes_on(ext, voting, 7) == 4

            dn.ok("down")
            # the external chain runs on, untouched: it answers and makes blocks; booster's contract is there
            assert anvil.alive()
            before = int(ext.call("eth_blockNumber"), 16)
            time.sleep(2.2)
            assert int(ext.call("eth_blockNumber"), 16) >= before + 2
            assert ext.call("eth_getCode", settlement, "latest") not in ("0x", "0x0")

            # a restart while it keeps running: no --l1-rpc needed (recorded), the key again by environment
            again = up(tmp_path, env)
            assert again.code == 0, again.err
            assert again.json()["contracts"]["settlement"] == settlement and again.json()["l1"]["kind"] == "external"
            for voter in (4, 5):
                dn.ok("send", voting, "vote(uint256)", "8", "--from", str(voter))
            settled = dn.ok("settle", "--json").json()
            assert settled["batch"] == 3 and votes_on(ext, voting, 8) == 2 and votes_on(ext, voting, 7) == 4
            dn.ok("down")
        # the key is in no file booster wrote: devnet.json, the store, the logs
        assert_key_nowhere(key, tmp_path / ".booster")
        assert (tmp_path / ".booster" / "logs" / "l2.log").exists()
        assert not (tmp_path / ".booster" / "anvil-state.json").exists()  # the chain keeps its own state


def test_settle_waits_for_the_block_and_replaces_a_settlement_that_missed_it(tmp_path):
    """--no-mining: the test makes the blocks. Settle sends, and waits; the test mines: it lands
    in block anchor+1 at the first attempt. Then the test drops the settlement from the pool
    and mines an empty block anchor+1: the relayer re-anchors, re-proves and replaces it (same
    nonce, higher fees), which the next block takes."""
    with external_chain(tmp_path, "--no-mining") as (anvil, ext):
        key = fresh_key(ext, miner=True)
        env = env_with_key(tmp_path, key)
        with Miner(ext):
            res = up(tmp_path, env, "--l1-rpc", anvil.rpc_url)
            assert res.code == 0, res.err
            dn = Devnet(tmp_path, env, res.json())
            voting = dn.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]
        try:
            dn.ok("send", voting, "vote(uint256)", "1")
            settle = subprocess.Popen([sys.executable, "-m", "booster_cli", "settle", "--json"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            head = int(ext.call("eth_blockNumber"), 16)
            pending = await_pending(ext)
            assert int(ext.call("eth_blockNumber"), 16) == head  # nothing mined meanwhile: settle waits
            ext.call("evm_mine")
            out, err = settle.communicate(timeout=60)
            assert settle.returncode == 0, err
            settled = json.loads(out)
            assert settled["attempts"] == 1 and settled["l1_tx_hash"] == pending and settled["l1_block"] == head + 1
            assert votes_on(ext, voting, 1) == 1

            dn.ok("send", voting, "vote(uint256)", "2")
            settle = subprocess.Popen([sys.executable, "-m", "booster_cli", "settle", "--json"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            first = await_pending(ext)
            ext.call("anvil_dropTransaction", first)  # the test plays the world: the transaction got lost
            ext.call("evm_mine")  # block anchor+1, without the settlement
            second = await_pending(ext, other_than=first)
            ext.call("evm_mine")
            out, err = settle.communicate(timeout=60)
            assert settle.returncode == 0, err
            settled = json.loads(out)
            log = settled["attempt_log"]
            assert settled["attempts"] == 2 and settled["l1_tx_hash"] == second
            assert log[0]["tx"] == first and log[0]["outcome"].startswith(f"missed block {log[0]['anchor'] + 1}")
            assert log[1]["anchor"] == log[0]["anchor"] + 1 and log[1]["nonce"] == log[0]["nonce"]
            assert log[1]["max_priority_fee_per_gas"] > log[0]["max_priority_fee_per_gas"] and log[1]["max_fee_per_gas"] > log[0]["max_fee_per_gas"]
            assert votes_on(ext, voting, 2) == 1
        finally:
            with Miner(ext):
                run_booster(tmp_path, env, "down", timeout=60)
        assert_key_nowhere(key, tmp_path / ".booster")


def await_pending(ext: RpcClient, other_than: str | None = None, timeout: float = 30) -> str:
    """The hash of the one transaction in the chain's pool (not ``other_than``), once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = ext.call("txpool_content")["pending"]
        hashes = [tx["hash"] for by_nonce in content.values() for tx in by_nonce.values() if tx["hash"] != other_than]
        if hashes:
            assert len(hashes) == 1, hashes
            return hashes[0]
        time.sleep(0.05)
    raise AssertionError("no settlement transaction reached the pool")


STAMP = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "./BoosterTarget.sol";

contract Stamp is BoosterTarget {
    uint256 public last;
    uint256 public count;

    constructor(address settlement) BoosterTarget(settlement) {}

    function stamp() external { last = block.timestamp; }
    function count_() external { count += 1; }
    function seen() external view returns (uint256) { return block.timestamp; }
}
"""


def test_dev_only_features_are_refused_on_an_external_l1(tmp_path):
    with external_chain(tmp_path, "--block-time", "1") as (anvil, ext):
        url = anvil.rpc_url
        key = fresh_key(ext)
        # refused before anything starts (exit 2, one line)
        for i, (args, words) in enumerate([
            (("--l1-rpc", url, "--emulate-apply"), "anvil_setStorageAt"),
            (("--l1-rpc", url, "--fork-url", url), "exclude each other"),
            (("--l1-rpc", url, "--rollups", "2"), "evm_setNextBlockTimestamp"),
            (("--settlement", "0x" + "11" * 20), "needs an external L1"),
            (("--l1-key", key), "needs an external L1"),
            (("--l1-keystore", "k.json"), "needs an external L1"),
            (("--l1-rpc", "ftp://example.org"), "expected an http(s)://"),
        ]):
            folder = tmp_path / f"refused-{i}"
            folder.mkdir()
            res = up(folder, env_with_key(folder, key), *args)
            assert res.code == 2 and words in res.err and res.err.count("\n") == 1, (args, res.err)
            assert key[2:] not in res.err + res.out
        for i, (env_key, words) in enumerate([("", "needs the relayer's key"), ("0x" + "zz" * 32, "not a private key")]):
            folder = tmp_path / f"no-key-{i}"
            folder.mkdir()
            res = up(folder, {**clean_env(folder), "BOOSTER_L1_KEY": env_key}, "--l1-rpc", url)
            assert res.code == 2 and words in res.err, res.err
        folder = tmp_path / "unfunded"
        folder.mkdir()
        res = up(folder, env_with_key(folder, "0x" + os.urandom(32).hex()), "--l1-rpc", url)
        assert res.code == 1 and "has no ETH on the external L1" in res.err, res.err

        (tmp_path / "BoosterTarget.sol").write_text((VOTING.parent / "BoosterTarget.sol").read_text())
        (tmp_path / "Stamp.sol").write_text(STAMP)
        env = env_with_key(tmp_path, key)
        with started_devnet(tmp_path, env, ("--l1-rpc", url)) as dn:
            for args, words in [(("report",), "evm_snapshot"), (("report", "--batch", "1"), "evm_snapshot"),
                                (("state", "dump", str(tmp_path / "dump.tgz")), "anvil_dumpState"), (("logs", "l1"), "external")]:
                res = dn.booster(*args)
                assert res.code == 2 and words in res.err and "external L1" in res.err, (args, res.err)
            assert dn.ok("logs").out  # l2.log only
            # L1 code that reads what an external L1 decides in block anchor+1 cannot write from it
            stamp = dn.ok("deploy", str(tmp_path / "Stamp.sol"), "settlement", "--json").json()["address"]
            refused = dn.booster("send", stamp, "stamp()")
            assert refused.code == 5 and "L1CALL read TIMESTAMP of block anchor+1" in refused.err, refused.err
            assert dn.ok("delta", "show", "--json").json()["changes"] == []
            assert int(dn.ok("call", stamp, "seen()(uint256)").out) > 0  # a read through L1SANDBOXCALL is fine
            dn.ok("send", stamp, "count_()")
            settled = dn.ok("settle", "--json").json()  # nothing read TIMESTAMP: the anchor moves, it settles
            assert settled["batch"] == 1 and int(ext.call("eth_call", {"to": stamp, "data": "0x" + keccak(b"count()")[:4].hex()}, "latest"), 16) == 1
        res = run_booster(tmp_path, env, "state", "dump", str(tmp_path / "dump.tgz"))
        assert res.code == 2 and "anvil_dumpState" in res.err, res.err
        res = run_booster(tmp_path, env, "state", "load", str(tmp_path / "dump.tgz"))
        assert res.code == 2 and "external L1" in res.err, res.err
        assert_key_nowhere(key, tmp_path / ".booster")


def test_fresh_keeps_the_old_settlement_and_l2_store_and_settlement_attaches(tmp_path):
    from eth_account import Account

    with external_chain(tmp_path, "--block-time", "1") as (anvil, ext):
        url = anvil.rpc_url
        key = fresh_key(ext)
        keystore = tmp_path / "relayer-keystore.json"  # the key encrypted; its password by environment only
        keystore.write_text(json.dumps(Account.encrypt(key, "correct horse")))
        env = {**clean_env(tmp_path), "BOOSTER_L1_KEYSTORE_PASSWORD": "correct horse"}
        (tmp_path / "wrong").mkdir()
        wrong = up(tmp_path / "wrong", {**env, "BOOSTER_STATE_DIR": str(tmp_path / "wrong" / ".booster"), "BOOSTER_L1_KEYSTORE_PASSWORD": "nope"},
                   "--l1-rpc", url, "--l1-keystore", str(keystore))
        assert wrong.code == 2 and "cannot decrypt" in wrong.err
        with started_devnet(tmp_path, env, ("--l1-rpc", url, "--l1-keystore", str(keystore))) as dn:
            first = dn.record["contracts"]["settlement"]
            assert dn.record["relayer"] == address_of(key)
            voting = dn.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]
            dn.ok("send", voting, "vote(uint256)", "3")
            assert dn.ok("settle", "--json").json()["batch"] == 1
            dn.ok("down")

            # another chain behind the recorded one's place is refused
            with external_chain(tmp_path, chain_id=4242) as (other_anvil, _):
                moved = up(tmp_path, env, "--l1-rpc", other_anvil.rpc_url, "--l1-keystore", str(keystore))
                assert moved.code == 2 and "chain 4242" in moved.err and "this devnet's is chain 1337" in moved.err, moved.err

            # --fresh: a new L2 with a settlement contract of its own; the old one and its L2 store are kept
            fresh = up(tmp_path, env, "--fresh", "--yes", "--l1-rpc", url, "--l1-keystore", str(keystore))
            assert fresh.code == 0, fresh.err
            second = fresh.json()["contracts"]["settlement"]
            previous = fresh.json()["previous"]
            assert second != first and previous["settlement"] == first and previous["settled_batches"] == 1
            assert (Path(previous["l2_store_kept_in"]) / "l2.sqlite").exists()
            assert "stay on its external L1" in (tmp_path / ".booster" / "logs" / "l2.log").read_text()
            next_batch = keccak(b"nextBatchId()")[:4].hex()
            assert int(ext.call("eth_call", {"to": first, "data": "0x" + next_batch}, "latest"), 16) == 2  # its history, readable
            assert votes_on(ext, voting, 3) == 1
            refused = dn.booster("up", "-d", "--l2-port", "0", "--l1-rpc", url)
            assert refused.code != 0 and "already running" in refused.err, refused.err
            dn.ok("down")
            # a restart naming another settlement contract than its own is refused
            res = up(tmp_path, env, "--l1-keystore", str(keystore), "--settlement", first)
            assert res.code == 2 and f"this devnet settles to {second}" in res.err, res.err

        # another state directory attaches to a settlement contract: one that settled nothing yet
        other = tmp_path / "other"
        other.mkdir()
        env2 = {**env, "BOOSTER_STATE_DIR": str(other / ".booster")}
        for address, words in [(first, "has settled 1 batch(es)"), (voting, "not a booster settlement contract"), ("0x" + "12" * 20, "holds no contract")]:
            res = up(other, env2, "--l1-rpc", url, "--l1-keystore", str(keystore), "--settlement", address)
            assert res.code == 2 and words in res.err, (address, res.err)
        with started_devnet(other, env2, ("--l1-rpc", url, "--l1-keystore", str(keystore), "--settlement", second)) as dn2:
            assert dn2.record["contracts"]["settlement"] == second
            # the first Voting takes updates from the first settlement contract only
            assert dn2.booster("send", voting, "vote(uint256)", "3").code == 5
            voting2 = dn2.ok("deploy", str(VOTING), "settlement", "--json").json()["address"]
            dn2.ok("send", voting2, "vote(uint256)", "3")
            assert dn2.ok("settle", "--json").json()["batch"] == 1 and votes_on(ext, voting2, 3) == 1
        assert_key_nowhere(key, tmp_path / ".booster")
        assert_key_nowhere(key, other / ".booster")
