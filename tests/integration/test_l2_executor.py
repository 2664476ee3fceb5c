"""The L2's transaction executor and receipts (l2vm.BoosterTransactionExecutor,
BoosterVM.make_receipt) against py-evm's Prague ones: the same transactions, built into blocks by
two executors, give the same receipts and the same blocks (state root, receipt root, gas, bloom)
with either (in-process, against a real anvil)."""

from __future__ import annotations

import random

import pytest
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth_abi import encode
from eth_keys import keys
from eth_utils import keccak

from booster_cli.accounts import DEV_PRIVATE_KEYS
from booster_cli.executor import Executor
from booster_cli.l2vm import BoosterL2State, BoosterTransactionExecutor, BoosterVM

from .conftest import anvil_with_voting

pytestmark = pytest.mark.integration

L1CALL = bytes.fromhex("0000000000000000000000000000000000001001")
IDENTITY = bytes.fromhex("0000000000000000000000000000000000000004")
CHAIN = 167010
GWEI = 10**9

# runtime: v = calldata[0:32]; v == 2: revert; v == 3: loop until out of gas; else SSTORE(0, v)
RUNTIME = bytes.fromhex("600035" "80600214601557" "80600314601b57" "60005500" "5b60006000fd" "5b601b56")
INIT = bytes.fromhex(f"60{len(RUNTIME):02x}600c60003960{len(RUNTIME):02x}6000f3") + RUNTIME


def transactions(vm_class, voting: bytes) -> list[bytes]:
    """A deterministic mix: L1CALL votes with various tips, transfers (to new accounts, zero
    value to empty ones, to precompiles), a contract creation, and calls that store, clear
    (a refund), revert and run out of gas, as type-2, type-1 (access list) and legacy."""
    rng = random.Random(7)
    builder = vm_class.get_transaction_builder()
    signers = [keys.PrivateKey(bytes.fromhex(k[2:])) for k in DEV_PRIVATE_KEYS[:4]]
    nonces = [0, 0, 0, 0]
    contract = keccak(b"\xd6\x94" + signers[0].public_key.to_canonical_address() + b"\x80")[12:]  # creator's nonce 0
    raws = []

    def add(s: int, to: bytes, data: bytes = b"", value: int = 0, gas: int = 300_000, kind: int = 2, tip: int = GWEI) -> None:
        nonce = nonces[s]
        nonces[s] += 1
        if kind == 2:
            tx = builder.new_unsigned_dynamic_fee_transaction(CHAIN, nonce, tip, 50 * GWEI, gas, to, value, data, [])
        elif kind == 1:
            tx = builder.new_unsigned_access_list_transaction(CHAIN, nonce, 20 * GWEI, gas, to, value, data, [(voting, [0, 1])])
        else:
            tx = builder.create_unsigned_transaction(nonce=nonce, gas_price=20 * GWEI, gas=gas, to=to, value=value, data=data)
        raws.append(tx.as_signed_transaction(signers[s], chain_id=CHAIN).encode())

    add(0, b"", INIT, gas=200_000)  # creation: py-evm's path
    for i in range(60):
        s = rng.randrange(4)
        pick = rng.randrange(9)
        vote = encode(["address", "bytes"], [voting, keccak(b"vote(uint256)")[:4] + encode(["uint256"], [rng.randrange(3)])])
        if pick <= 2:
            add(s, L1CALL, vote, tip=rng.choice([0, 1, GWEI, 100 * GWEI]), kind=rng.choice([2, 2, 1, 0]))
        elif pick == 3:
            add(s, rng.randbytes(20), value=rng.choice([0, 1, 10**18]), gas=21_000)
        elif pick == 4:
            add(s, IDENTITY, b"hello", value=rng.choice([0, 5]))
        else:
            v = rng.choice([0, 1, 2, 3, 0x1234])
            add(s, contract, v.to_bytes(32, "big"), value=rng.choice([0, 7]), gas=rng.choice([30_000, 60_000, 100_000]), kind=rng.choice([2, 1, 0]))
    return raws


def run(l1, raws: list[bytes]) -> tuple[list, list]:
    ex = Executor(l1, 31337, CHAIN)
    hashes = [ex.submit(raw) for raw in raws]
    while ex.mine_pending():
        pass
    keep = ("status", "gasUsed", "cumulativeGasUsed", "logs", "logsBloom", "contractAddress", "effectiveGasPrice", "blockNumber", "transactionIndex")
    receipts = [{k: (ex.receipt(h) or {}).get(k) for k in keep} for h in hashes]
    for r in receipts:  # a block's hash holds its timestamp: the two runs may straddle a second
        r["logs"] = [{k: v for k, v in log.items() if k != "blockHash"} for log in r["logs"] or []]
    chain = ex.chain
    blocks = []
    for n in range(1, chain.get_canonical_head().block_number + 1):
        h = chain.get_canonical_block_header_by_number(n)
        blocks.append((h.state_root, h.receipt_root, h.transaction_root, h.gas_used, h.bloom))
    return receipts, blocks


def test_the_l2_executor_gives_py_evms_results(tmp_path, monkeypatch):
    with anvil_with_voting(tmp_path) as (l1, address):
        ours = run(l1, raws := transactions(Executor(l1, 31337, CHAIN).chain.get_vm().__class__, bytes.fromhex(address[2:])))
        assert BoosterL2State.transaction_executor_class is BoosterTransactionExecutor
        monkeypatch.setattr(BoosterL2State, "transaction_executor_class", PragueTransactionExecutor)
        monkeypatch.delattr(BoosterVM, "make_receipt")  # py-evm's receipts (and blooms)
        reference = run(l1, raws)
    receipts, blocks = ours
    assert {r["status"] for r in receipts} == {"0x0", "0x1"}  # failures are in the mix
    assert any(r["contractAddress"] for r in receipts)
    assert len(blocks) >= 1
    assert receipts == reference[0]
    assert blocks == reference[1]
