"""Chained rollups in one process (chain.py): two rollups on one L1 view, swaps on a real
constant-product pool alternating between them. The outside oracle is anvil itself: the same
swaps made directly on L1, in the same order, in the block the settlement would land in, leave
exactly the storage that the chain's combined delta leaves once applied. The prover re-executes
the chain in its global order from one witness, and its L1 commitments chain across rollups and
match L1's storage roots."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from booster_cli.accounts import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from booster_cli.accounts import PROVER_KEY_LABEL, dev_key
from booster_cli.artifacts import load_settlement_artifact
from booster_cli.chain import RollupChain, _settlement_state, prove_chain, register_rollups, settle_chain
from booster_cli.executor import l2_genesis_state_root
from booster_cli.prover import MockProver
from booster_cli.solc import compile_file
from booster_cli.txsend import transact, wait_for_receipt
from booster_cli.txsign import sign_eip1559

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
L1CALL = "0x0000000000000000000000000000000000001001"
ZERO = "0x" + "00" * 20
CHAIN_IDS = [167010, 167011]
RELAYER = DEV_PRIVATE_KEYS[9]
UNIT = 10**18


def _call(sig: str, types: list[str], args: list) -> bytes:
    return keccak(sig.encode())[:4] + encode(types, args)


def _setup(l1, settlement: str) -> tuple[str, str, str]:
    """Two tokens and their pool on L1 (taking updates from ``settlement``), liquidity from dev 0,
    traders 1 and 2 funded and approved."""
    deploy = lambda code: transact(l1, DEV_PRIVATE_KEYS[0], to=None, data=code)["contractAddress"]  # noqa: E731
    token = compile_file(REPO / "templates" / "Token.sol", "Token").bytecode
    a = deploy(token + encode(["address", "string", "string", "uint256"], [settlement, "A", "A", 10**6 * UNIT]))
    b = deploy(token + encode(["address", "string", "string", "uint256"], [settlement, "B", "B", 10**6 * UNIT]))
    pool = deploy(compile_file(REPO / "templates" / "Pool.sol", "Pool").bytecode + encode(["address", "address", "address"], [settlement, a, b]))
    approve = _call("approve(address,uint256)", ["address", "uint256"], [pool, 2**256 - 1])
    for t in (a, b):
        transact(l1, DEV_PRIVATE_KEYS[0], to=t, data=approve)
        for trader in (1, 2):
            transact(l1, DEV_PRIVATE_KEYS[0], to=t, data=_call("transfer(address,uint256)", ["address", "uint256"], [DEV_ADDRESSES[trader], 1000 * UNIT]))
            transact(l1, DEV_PRIVATE_KEYS[trader], to=t, data=approve)
    transact(l1, DEV_PRIVATE_KEYS[0], to=pool, data=_call("addLiquidity(uint256,uint256)", ["uint256", "uint256"], [10_000 * UNIT, 20_000 * UNIT]))
    return a, b, pool


def test_swaps_alternating_between_two_rollups_leave_what_the_same_swaps_leave_on_l1(tmp_path):
    from booster_cli.anvil import AnvilProcess, free_port

    anvil = AnvilProcess(free_port(), tmp_path / "anvil.log")
    l1 = anvil.start()
    try:
        prover = MockProver(dev_key(PROVER_KEY_LABEL))
        artifact = load_settlement_artifact()
        settlement = transact(l1, RELAYER, to=None, data=bytes.fromhex(artifact["bytecode"][2:])
                              + encode(["address", "uint256", "bytes32"], [prover.address, CHAIN_IDS[0], l2_genesis_state_root()]))["contractAddress"]
        assert register_rollups(l1, settlement, prover, RELAYER, CHAIN_IDS) == CHAIN_IDS[1:]  # the contract's own L2 needs none
        a, b, pool = _setup(l1, settlement)
        chain = RollupChain(l1, 31337, CHAIN_IDS, bytes.fromhex(settlement[2:]))
        # (rollup, trader, token in, amount in): A and B alternate, each trader on its own rollup
        swaps = [(0, 1, a, 10), (1, 2, a, 25), (0, 1, b, 40), (1, 2, b, 7), (0, 1, a, 3), (1, 2, b, 90)]
        nonces: dict = {}
        hashes = []
        for rollup, trader, token_in, amount in swaps:
            nonce = nonces[(rollup, trader)] = nonces.get((rollup, trader), -1) + 1
            data = encode(["address", "bytes"], [pool, _call("swap(address,uint256,uint256)", ["address", "uint256", "uint256"], [token_in, amount * UNIT, 1])])
            raw, tx_hash = sign_eip1559(DEV_PRIVATE_KEYS[trader], chain_id=CHAIN_IDS[rollup], nonce=nonce, to=L1CALL, data=data, gas=400_000,
                                        max_fee_per_gas=10**10, max_priority_fee_per_gas=1)
            assert chain.rollups[rollup].submit(raw) == tx_hash
            assert chain.mine(rollup) == 1
            hashes.append((rollup, tx_hash))
        receipts = [chain.rollups[r].receipt(h) for r, h in hashes]
        assert all(int(r["status"], 16) == 1 for r in receipts), [r.get("revertReason") for r in receipts]
        # each rollup's own L2 state: its trader's nonce there, none of the other's
        assert [chain.rollups[0].nonce(bytes.fromhex(DEV_ADDRESSES[t][2:])) for t in (1, 2)] == [3, 0]
        assert [chain.rollups[1].nonce(bytes.fromhex(DEV_ADDRESSES[t][2:])) for t in (1, 2)] == [0, 3]
        swapped = keccak(b"Swap(address,address,uint256,address,uint256)")
        l2_swaps = [next(log["data"] for log in r["logs"] if log["topics"][0] == "0x" + swapped.hex()) for r in receipts]

        proof = prove_chain(chain)
        assert proof.reexecuted_txs == 6
        anchor = l1.call("eth_getBlockByNumber", hex(chain.view.anchor.number), False)
        links = proof.l1_commitments
        assert [c["l2_chain_id"] for c in links] == [CHAIN_IDS[r] for r, *_ in swaps]
        assert links[0]["l1_state_before"] == anchor["stateRoot"]
        assert all(later["l1_state_before"] == earlier["l1_state_after"] for earlier, later in zip(links, links[1:]))

        # the oracle: the same swaps straight on L1, in this order, in one block at the time the
        # L1 context gave them (the anchor's + 1 s: the pool records it)
        snapshot = l1.call("evm_snapshot")
        l1.call("evm_setAutomine", False)
        sent = []
        for k, (_, trader, token_in, amount) in enumerate(swaps):
            calldata = _call("swap(address,uint256,uint256)", ["address", "uint256", "uint256"], [token_in, amount * UNIT, 1])
            # anvil orders a block by tip: the earlier swap pays more
            nonce = int(l1.call("eth_getTransactionCount", DEV_ADDRESSES[trader], "pending"), 16)
            raw, _ = sign_eip1559(DEV_PRIVATE_KEYS[trader], chain_id=31337, nonce=nonce, to=pool, data=calldata, gas=400_000,
                                  max_priority_fee_per_gas=(len(swaps) - k) * 10**9, max_fee_per_gas=100 * 10**9)
            sent.append(l1.call("eth_sendRawTransaction", "0x" + raw.hex()))
        l1.call("evm_setNextBlockTimestamp", hex(int(anchor["timestamp"], 16) + 1))
        l1.call("evm_mine")
        l1.call("evm_setAutomine", True)
        direct = [wait_for_receipt(l1, h) for h in sent]
        assert [int(r["transactionIndex"], 16) for r in direct] == list(range(len(swaps)))
        assert all(r["status"] == "0x1" for r in direct)
        assert l2_swaps == [next(log["data"] for log in r["logs"] if log["topics"][0] == "0x" + swapped.hex()) for r in direct]
        direct_roots = {c: l1.call("eth_getProof", c, [], "latest")["storageHash"] for c in (a, b, pool)}
        l1.call("evm_revert", snapshot)

        # one settlement of both rollups' batches through the settlement contract
        settled = settle_chain(chain, settlement, prover, RELAYER)
        assert settled["status"] == "0x1" and int(settled["blockNumber"], 16) == chain.view.anchor.number + 1
        settled_roots = {c: l1.call("eth_getProof", c, [], "latest")["storageHash"] for c in (a, b, pool)}
        assert settled_roots == direct_roots
        computed: dict = {}
        for c in settled["proof"].l1_commitments:
            computed.update({k.lower(): v for k, v in c["storage_roots"].items()})
        assert {k.lower(): v for k, v in direct_roots.items()} == computed
        # the contract holds each rollup's new L2 state root and next batch id
        for executor in chain.rollups:
            assert _settlement_state(l1, settlement, executor.l2_chain_id) == (2, executor.head().state_root)
        # the same seal cannot settle again
        again = settle_chain_data_replayed(l1, settled)
        assert again["status"] == "0x0"
    finally:
        anvil.stop()


def settle_chain_data_replayed(l1, settled: dict) -> dict:
    """The settlement transaction's calldata sent again, from another account."""
    tx = l1.call("eth_getTransactionByHash", settled["transactionHash"])
    return transact(l1, DEV_PRIVATE_KEYS[8], to=tx["to"], data=bytes.fromhex(tx["input"][2:]), gas=3_000_000)
