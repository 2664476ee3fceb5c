"""The relayer: turns the pending delta into one settlement transaction on L1.

Steps: read the L1 head H; if the anchor is older, check the batch's read set at H (a change →
``SettlementConflict``, exit 4, nothing lost; none → re-anchor on H); have the mock prover seal the
public inputs; send ``BoosterSettlement.settle`` so it lands in block anchor+1; on a lost race
(another L1 transaction got there first) try again, a bounded number of times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from eth_abi import encode as abi_encode
from eth_utils import keccak

from .abi import decode_revert, error_table, parse_signature
from .delta import DeltaEntry, group_by_contract, hex32, settleable
from .errors import BoosterError, RpcError, SettlementConflict
from .executor import Executor, fetch_head_anchor
from .prover import MockProver, PublicInputs
from .rpc import RpcClient
from .txsend import send_transaction, wait_for_receipt

SETTLE_SIG = parse_signature(
    "settle((uint256,uint256,bytes32,bytes32,bytes32,bytes32,bytes32),(address,(bytes32,bytes32)[])[],bytes)"
)
UPDATES_TYPE = "(address,(bytes32,bytes32)[])[]"
MAX_ATTEMPTS = 3
# intrinsic + verification + event, then per contract call and per slot written (cold SSTORE)
GAS_BASE, GAS_PER_CONTRACT, GAS_PER_SLOT = 120_000, 40_000, 30_000


@dataclass
class Settlement:
    batch: int
    l1_tx_hash: str
    l1_block: int
    gas_used: int
    anchor: dict
    txs: int
    changes: list[DeltaEntry] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "batch": self.batch,
            "l1_tx_hash": self.l1_tx_hash,
            "l1_block": self.l1_block,
            "gas_used": self.gas_used,
            "anchor": self.anchor,
            "txs": self.txs,
            "changes": [c.to_json() for c in self.changes],
        }


def encode_updates(entries: list[DeltaEntry]) -> list:
    return [
        (contract, [(s.to_bytes(32, "big"), v.to_bytes(32, "big")) for s, v in changes])
        for contract, changes in group_by_contract(entries)
    ]


def delta_hash(updates: list) -> bytes:
    return keccak(abi_encode([UPDATES_TYPE], [updates]))


class Relayer:
    def __init__(self, executor: Executor, l1: RpcClient, settlement: str, abi: list, relayer_key: str, prover: MockProver) -> None:
        self.executor = executor
        self.l1 = l1
        self.settlement = settlement
        self.errors = error_table(abi)
        self.key = relayer_key
        self.prover = prover

    def _next_batch_id(self) -> int:
        out = self.l1.call("eth_call", {"to": self.settlement, "data": "0x" + keccak(b"nextBatchId()")[:4].hex()}, "latest")
        return int(out, 16)

    def settle(self) -> Settlement | None:
        """Settle the pending delta; ``None`` when nothing is there to settle."""
        ex = self.executor
        with ex.lock:
            while ex.mine_pending():
                pass  # every acknowledged transaction belongs to this batch
            entries = settleable(ex.view.delta())
            if not entries:
                return None
            updates = encode_updates(entries)
            d_hash = delta_hash(updates)
            last_error = ""
            for _ in range(MAX_ATTEMPTS):
                self._anchor_on_head()
                anchor = ex.view.anchor
                inputs = PublicInputs(
                    l1_chain_id=ex.view.chain_id,
                    batch_id=self._next_batch_id(),
                    anchor_number=anchor.number,
                    anchor_hash=anchor.hash,
                    l2_chain_id=ex.l2_chain_id,
                    l2_pre_state_root=ex.batch.pre_state_root,
                    l2_post_state_root=ex.head().state_root,
                    tx_list_hash=ex.tx_list_hash(),
                    delta_hash=d_hash,
                )
                data = SETTLE_SIG.selector + abi_encode(SETTLE_SIG.inputs, [inputs.batch_tuple(), updates, self.prover.seal(inputs)])
                gas = GAS_BASE + GAS_PER_CONTRACT * len(updates) + GAS_PER_SLOT * len(entries)
                tx_hash = send_transaction(self.l1, self.key, to=self.settlement, data=data, gas=gas)
                receipt = wait_for_receipt(self.l1, tx_hash)
                block = int(receipt["blockNumber"], 16)
                if receipt["status"] == "0x1":
                    result = Settlement(inputs.batch_id, tx_hash, block, int(receipt["gasUsed"], 16), anchor.to_json(), len(ex.batch.tx_hashes), entries)
                    ex.view.clear_pending()
                    ex.start_new_batch()
                    ex.refresh_anchor()
                    return result
                last_error = self._revert_reason(tx_hash, receipt)
                if block == anchor.number + 1:
                    raise BoosterError(f"settlement reverted on L1: {last_error}")
                # someone else's L1 transaction landed first: the anchor is stale, try again
                time.sleep(0.05)
            raise SettlementConflict(f"settlement lost the race for block anchor+1 {MAX_ATTEMPTS} times (last: {last_error})")

    def _anchor_on_head(self) -> None:
        ex = self.executor
        head = fetch_head_anchor(self.l1)
        if head.hash == ex.view.anchor.hash:
            return
        conflicts = ex.view.reader.changed_since(head.number)
        if conflicts:
            raise SettlementConflict(
                f"L1 changed {len(conflicts)} value(s) this batch read since anchor block {ex.view.anchor.number}; "
                "nothing was settled and the batch stays pending",
                [{**c, "slot": c["slot"] if isinstance(c["slot"], str) else hex32(c["slot"])} for c in conflicts],
            )
        ex.view.reanchor(head, keep_reads=True)

    def _revert_reason(self, tx_hash: str, receipt: dict) -> str:
        """Replay the failed transaction on its parent block to read its revert data."""
        try:
            tx = self.l1.call("eth_getTransactionByHash", tx_hash)
            block = int(receipt["blockNumber"], 16)
            self.l1.call(
                "eth_call",
                {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]},
                hex(block - 1),
                None,
                {"number": hex(block)},
            )
        except RpcError as exc:
            data = exc.data if isinstance(exc.data, str) else ""
            if data.startswith("0x") and len(data) > 2:
                return decode_revert(bytes.fromhex(data[2:]), self.errors)
            return str(exc)
        return "unknown reason"
