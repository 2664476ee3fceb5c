"""Receipts and the block number are read without the executor's lock: a block being built does
not hold them up, and nothing is seen before its block's commit is done (in-process executor with
a store, against a real anvil)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.anvil import AnvilProcess, free_port
from booster_cli.errors import RpcError
from booster_cli.executor import Executor, fetch_head_anchor
from booster_cli.l2api import methods
from booster_cli.solc import compile_file
from booster_cli.store import Store
from booster_cli.txsend import transact
from booster_cli.txsign import sign_eip1559

from .conftest import L1CALL, REPO, anvil_with_voting, signed_vote

pytestmark = pytest.mark.integration



@pytest.fixture
def setup(tmp_path):
    """(executor with a store, its RPC methods, a function that submits the next vote)."""
    with anvil_with_voting(tmp_path) as (l1, address):
        store = Store(tmp_path / "l2.sqlite")
        try:
            ex = Executor(l1, 31337, 167010, store=store)
            nonce = iter(range(1000))

            def vote(candidate: int = 1) -> str:
                return "0x" + ex.submit(signed_vote(address, next(nonce), candidate)).hex()

            node = SimpleNamespace(executor=ex, **{name: None for name in ("status", "delta", "nonces", "settle", "prove", "report", "register_contract", "contract", "transaction", "trace", "dump_state")})
            yield ex, methods(node), vote
        finally:
            store.close()


def test_receipts_are_answered_while_a_block_is_being_built(setup):
    ex, rpc, vote = setup
    mined = vote()
    ex.mine_pending()
    queued = vote()
    answers: dict = {}
    building = threading.Event()
    done = threading.Event()

    def build() -> None:  # holds the lock as mine_pending does while it builds a block
        with ex.lock:
            building.set()
            done.wait(30)

    builder = threading.Thread(target=build)
    builder.start()
    try:
        assert building.wait(10)
        reader = threading.Thread(target=lambda: answers.update(
            mined=rpc["eth_getTransactionReceipt"](mined), queued=rpc["eth_getTransactionReceipt"](queued),
            unknown=rpc["eth_getTransactionReceipt"]("0x" + "ab" * 32), number=rpc["eth_blockNumber"]()))
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), "a receipt read waited for the block being built"
    finally:
        done.set()
        builder.join()
    assert answers["mined"]["status"] == "0x1" and answers["mined"]["transactionHash"] == mined
    assert answers["queued"] is None and answers["unknown"] is None
    assert int(answers["number"], 16) == int(answers["mined"]["blockNumber"], 16)


def test_nothing_is_seen_before_its_block_is_committed(setup, monkeypatch):
    ex, rpc, vote = setup
    first = vote()
    ex.mine_pending()
    second = vote(2)
    seen: list = []
    commit = ex.store.commit

    def watched_commit(*args, **kwargs):
        # the block is built and its receipts recorded, not yet committed
        seen.append((rpc["eth_getTransactionReceipt"](first) is not None, rpc["eth_getTransactionReceipt"](second), rpc["eth_blockNumber"]()))
        commit(*args, **kwargs)

    monkeypatch.setattr(ex.store, "commit", watched_commit)
    head = int(rpc["eth_blockNumber"](), 16)
    ex.mine_pending()
    assert seen == [(True, None, hex(head))]
    receipt = rpc["eth_getTransactionReceipt"](second)
    assert receipt["status"] == "0x1" and int(rpc["eth_blockNumber"](), 16) == head + 1 == int(receipt["blockNumber"], 16)

    # a rebase replaces the batch's receipts: another client's read of one waits for the rebase;
    # the block number stays (the old branch is canonical until the rebase is committed)
    answers: dict = {}

    def commit_of_the_rebase(*args, **kwargs):
        reader = threading.Thread(target=lambda: answers.update(receipt=rpc["eth_getTransactionReceipt"](first)))
        reader.start()
        reader.join(0.5)
        answers.update(waited=reader.is_alive(), number=rpc["eth_blockNumber"](), reader=reader)
        commit(*args, **kwargs)

    monkeypatch.setattr(ex.store, "commit", commit_of_the_rebase)
    ex.rebase(fetch_head_anchor(ex.l1))
    answers["reader"].join(10)
    assert answers["waited"] and answers["number"] == hex(head + 1)
    assert answers["receipt"]["status"] == "0x1" and answers["receipt"] == rpc["eth_getTransactionReceipt"](first)
    assert int(rpc["eth_blockNumber"](), 16) == head + 2  # the rebased branch has one block more


def test_a_failed_rebase_builds_nothing_after_it(setup, monkeypatch):
    ex, rpc, vote = setup
    vote()
    ex.mine_pending()
    head = rpc["eth_blockNumber"]()
    build, calls = ex._build_block, []

    def fails_at_the_marker(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RpcError("L1 went away")
        return build(*args, **kwargs)

    monkeypatch.setattr(ex, "_build_block", fails_at_the_marker)
    with pytest.raises(RpcError):
        ex.rebase(fetch_head_anchor(ex.l1))
    assert ex.broken.startswith("a rebase failed half-way")
    assert rpc["eth_blockNumber"]() == head  # nothing was committed or published
    vote(2)
    with pytest.raises(RuntimeError, match="no more blocks"):
        ex.mine_pending()


def test_evicted_receipts_come_from_the_store(setup, monkeypatch):
    ex, rpc, vote = setup
    monkeypatch.setattr("booster_cli.executor.RECEIPTS_IN_MEMORY", 1)
    first = vote()
    ex.mine_pending()
    vote()
    ex.mine_pending()
    assert ex.txs[bytes.fromhex(first[2:])].receipt is None  # held no more
    receipt = rpc["eth_getTransactionReceipt"](first)
    assert receipt["transactionHash"] == first and receipt["status"] == "0x1"


FILLER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import "./BoosterTarget.sol";

/// fill() writes n fresh slots: its gas grows with n, which L1 sets.
contract Filler is BoosterTarget {
    uint256 public n;
    uint256 public calls;
    mapping(uint256 => uint256) public slots;

    constructor(address settlement) BoosterTarget(settlement) {}

    function setN(uint256 x) external { n = x; }

    function fill() external {
        uint256 base = ++calls * 1_000_000;
        for (uint256 i = 0; i < n; i++) slots[base + i] = 1;
    }
}
"""


def test_a_rebase_keeps_the_transactions_a_rebuilt_block_no_longer_holds(tmp_path):
    import shutil

    (tmp_path / "src").mkdir()
    shutil.copy(REPO / "templates" / "BoosterTarget.sol", tmp_path / "src" / "BoosterTarget.sol")
    (tmp_path / "src" / "Filler.sol").write_text(FILLER)
    filler = compile_file(tmp_path / "src" / "Filler.sol")
    anvil = AnvilProcess(free_port(), tmp_path / "anvil.log")
    l1 = anvil.start()
    # 12 x 100 fresh slots would not fit one settlement on a 30M-gas L1 (the batch closes at
    # ~1,120): this test is about L2 blocks, so L1 gets room for the batch
    l1.call("evm_setBlockGasLimit", hex(100_000_000))
    store = Store(tmp_path / "l2.sqlite")
    try:
        address = transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=filler.bytecode + encode(["address"], ["0x" + "00" * 20]))["contractAddress"]
        ex = Executor(l1, 31337, 167010, store=store)
        fill = encode(["address", "bytes"], [address, keccak(b"fill()")[:4]])
        hashes = []
        for nonce in range(12):  # 10M gas each: all fit the first block while fill() is cheap
            raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[1], chain_id=167010, nonce=nonce, to=L1CALL, data=fill, gas=10_000_000,
                                  max_fee_per_gas=10**10, max_priority_fee_per_gas=1)
            hashes.append(ex.submit(raw))
        ex.mine_pending()
        first = ex.batch.first_block
        assert {ex.receipt(h)["blockNumber"] for h in hashes} == {hex(first)}
        transact(l1, DEV_PRIVATE_KEYS[0], to=address, data=keccak(b"setN(uint256)")[:4] + encode(["uint256"], [100]))
        changed = ex.rebase(fetch_head_anchor(l1))
        receipts = [ex.receipt(h) for h in hashes]
        # >2M gas each now: a 30M block takes a 10M-gas transaction only while 10M are left
        assert all(r is not None and r["status"] == "0x1" and int(r["gasUsed"], 16) > 2_000_000 for r in receipts)
        blocks, gas = [int(r["blockNumber"], 16) for r in receipts], [int(r["gasUsed"], 16) for r in receipts]
        held = blocks.count(first)
        assert blocks == [first] * held + [first + 1] * (12 - held) and held < 12
        assert sum(gas[:held - 1]) + 10_000_000 <= 30_000_000 < sum(gas[:held]) + 10_000_000
        assert ex.batch.tx_hashes == hashes and len(changed) == 12
        assert [ex.published_receipt(h) for h in hashes] == receipts  # committed, published
    finally:
        store.close()
        anvil.stop()
