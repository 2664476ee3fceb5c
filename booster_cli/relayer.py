"""The relayer: turns the pending delta into one settlement transaction on L1.

Steps: read the L1 head H; if the anchor is older, check the batch's read set at H (a change →
``SettlementConflict``, exit 4, nothing lost; none → re-anchor on H); have the mock prover seal the
public inputs; send ``BoosterSettlement.settle`` so it lands in block anchor+1; on a lost race
(another L1 transaction got there first) try again, a bounded number of times.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from eth_abi import encode as abi_encode
from eth_utils import keccak

from .abi import decode_revert, error_table, parse_signature
from .delta import UPDATES_TYPE, DeltaEntry, delta_hash, encode_updates, hex32, settleable  # noqa: F401 (re-exported)
from .errors import BoosterError, RpcError, SettlementConflict, UsageError
from .executor import Executor, fetch_head_anchor
from .prover import MockProver, prove_batch
from .report_model import calldata_gas
from .txsign import address_of
from .rpc import RpcClient
from .txsend import send_transaction, wait_for_receipt

SETTLE_SIG = parse_signature(
    "settle((uint256,uint256,bytes32,bytes32,bytes32,bytes32,bytes32),(address,(bytes32,bytes32)[])[],bytes)"
)
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
    proof: dict = field(default_factory=dict)
    gas: dict = field(default_factory=dict)
    rebased: list[dict] = field(default_factory=list)
    l2_blocks: list[int] = field(default_factory=list)  # [first, last] L2 block of the batch

    def to_json(self) -> dict:
        return {
            "batch": self.batch,
            "l1_tx_hash": self.l1_tx_hash,
            "l1_block": self.l1_block,
            "gas_used": self.gas_used,
            "anchor": self.anchor,
            "txs": self.txs,
            "changes": [c.to_json() for c in self.changes],
            "proof": self.proof,
            "gas": self.gas,
            "rebased": self.rebased,
            "l2_blocks": self.l2_blocks,
        }


# EIP-2929 / EIP-2200 costs, for the gas breakdown (a model; "other" is what it does not explain)
COLD_SLOAD, SSTORE_SET, SSTORE_RESET, COLD_ACCOUNT = 2_100, 20_000, 2_900, 2_600
ECRECOVER = 3_000
# the settlement's own two slots (batch counter + last anchor, L2 state root), both non-zero
# from the constructor on: a cold read and a nonzero-to-nonzero write each
BOOKKEEPING = 2 * (COLD_SLOAD + SSTORE_RESET)


def gas_breakdown(total: int, calldata: bytes, entries: list[DeltaEntry]) -> dict:
    """Where a settlement's gas goes: intrinsic, calldata, storage writes, proof verification,
    per-contract calls, the settlement's bookkeeping, and the rest (ABI decoding, hashing, the
    event, the targets' loops)."""
    storage = sum(COLD_SLOAD + (SSTORE_SET if e.before == 0 else SSTORE_RESET) for e in entries)
    contracts = len({e.contract for e in entries})
    parts = {
        "intrinsic": 21_000,
        "calldata": calldata_gas(calldata),
        "storage_writes": storage,
        "proof_verification": ECRECOVER,
        "contract_calls": COLD_ACCOUNT * contracts,
        "bookkeeping": BOOKKEEPING,
    }
    return {"total": total, "calldata_bytes": len(calldata), "slots": len(entries), "contracts": contracts, **parts, "other": total - sum(parts.values())}


def _show(value: object) -> object:
    return hex32(value) if isinstance(value, int) else value


def _failed_target(reason: str) -> str | None:
    if reason.startswith("ApplyFailed("):
        return reason[len("ApplyFailed("):].split(",")[0]
    return None


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

    def settle(self, dry_run: bool = False, rebase: bool = False) -> Settlement | dict | None:
        """Prove and settle the pending delta; ``None`` when there is nothing to settle. With
        ``dry_run``: prove, estimate, and report — nothing is sent, nothing changes. With
        ``rebase``: when L1 changed what the batch read, re-execute the batch on the L1 head
        first (reported in ``rebased``) instead of refusing."""
        if dry_run and rebase:
            raise UsageError("--dry-run and --rebase exclude each other: a rebase re-executes the batch")
        ex = self.executor
        rebased: list[dict] = []
        with ex.lock:
            while ex.mine_pending():
                pass  # every acknowledged transaction belongs to this batch
            if not settleable(ex.view.delta()):
                return None
            last_error = ""
            for _ in range(MAX_ATTEMPTS):
                rebased += self.anchor_on_head(rebase)
                prepared = self.prepare()
                if prepared is None:
                    return {"batch": None, "changes": [], "rebased": rebased, "message": "nothing to settle after the rebase: the delta is empty"}
                proof, entries, data = prepared
                inputs = proof.inputs
                if dry_run:
                    return self._dry_run(proof, data, entries)
                gas = self.gas_limit(data, inputs.anchor_number, len({e.contract for e in entries}), len(entries))
                if ex.store:
                    # a crash from here until the commit below is reconciled on restart
                    ex.store.set_meta("settling", {"batch": inputs.batch_id, "delta_hash": "0x" + inputs.delta_hash.hex(), "attempt_at": time.time()})
                tx_hash, receipt = self.send(data, gas)
                if os.environ.get("BOOSTER_FAULT") == "crash-after-settlement-sent":
                    os.kill(os.getpid(), signal.SIGKILL)  # fault injection for the crash tests
                block = int(receipt["blockNumber"], 16)
                if receipt["status"] == "0x1":
                    gas_used = int(receipt["gasUsed"], 16)
                    result = Settlement(inputs.batch_id, tx_hash, block, gas_used, ex.view.anchor.to_json(), len(ex.batch.tx_hashes), entries)
                    result.l2_blocks = [ex.batch.first_block, ex.head().block_number]
                    result.proof = proof.to_json()
                    result.gas = gas_breakdown(gas_used, data, entries)
                    result.rebased = rebased
                    ex.view.clear_pending()
                    ex.start_new_batch()
                    ex.refresh_anchor()
                    ex.commit(history=[(result.batch, result.to_json())])
                    if ex.store:
                        ex.store.set_meta("settling", None)
                    return result
                last_error = self.revert_reason(tx_hash, receipt)
                if block != inputs.anchor_number + 1:
                    time.sleep(0.05)  # someone else's L1 transaction landed first: try again
                    continue
                target = _failed_target(last_error)
                raise BoosterError(f"settlement reverted on L1: {last_error}" + (f" (target contract {target})" if target else ""))
            raise SettlementConflict(f"settlement lost the race for block anchor+1 {MAX_ATTEMPTS} times (last: {last_error})")

    def prepare(self):
        """Prove the pending batch on its current anchor and encode its ``settle`` call:
        (proof, settleable entries, calldata), or None when the delta is empty. Callers hold the
        executor's lock and have anchored the batch (``anchor_on_head``)."""
        entries = settleable(self.executor.view.delta())
        if not entries:
            return None
        proof = prove_batch(self.executor, self._next_batch_id(), self.prover)
        data = SETTLE_SIG.selector + abi_encode(SETTLE_SIG.inputs, [proof.inputs.batch_tuple(), encode_updates(entries), proof.seal])
        return proof, entries, data

    def send(self, data: bytes, gas: int) -> tuple[str, dict]:
        """Send a settle call; (tx hash, receipt)."""
        tx_hash = send_transaction(self.l1, self.key, to=self.settlement, data=data, gas=gas)
        return tx_hash, wait_for_receipt(self.l1, tx_hash)

    def gas_limit(self, data: bytes, anchor_number: int, contracts: int, slots: int) -> int:
        """anvil's estimate in the block the settlement lands in, with a margin; a revert found
        here is reported before anything is sent."""
        call = {"from": address_of(self.key), "to": self.settlement, "data": "0x" + data.hex()}
        try:
            estimate = int(self.l1.call("eth_estimateGas", call, hex(anchor_number), None, {"number": hex(anchor_number + 1)}), 16)
        except RpcError as exc:
            raw = exc.data if isinstance(exc.data, str) and exc.data.startswith("0x") and len(exc.data) > 2 else None
            if raw is None:  # no revert data: estimation unavailable, use the model
                return GAS_BASE + GAS_PER_CONTRACT * contracts + GAS_PER_SLOT * slots
            reason = decode_revert(bytes.fromhex(raw[2:]), self.errors)
            target = _failed_target(reason)
            raise BoosterError(f"the settlement would revert on L1: {reason}" + (f" (target contract {target})" if target else "")) from None
        return estimate * 6 // 5 + 20_000

    def _dry_run(self, proof, data: bytes, entries: list[DeltaEntry]) -> dict:
        anchor = self.executor.view.anchor
        call = {"from": address_of(self.key), "to": self.settlement, "data": "0x" + data.hex()}
        try:
            estimate = int(self.l1.call("eth_estimateGas", call, hex(anchor.number), None, {"number": hex(anchor.number + 1)}), 16)
            error = None
        except RpcError as exc:
            estimate, error = None, decode_revert(bytes.fromhex(exc.data[2:]), self.errors) if isinstance(exc.data, str) and len(exc.data) > 2 else str(exc)
        return {
            "dry_run": True,
            "batch": proof.inputs.batch_id,
            "anchor": anchor.to_json(),
            "txs": len(self.executor.batch.tx_hashes),
            "changes": [c.to_json() for c in entries],
            "proof": proof.to_json(),
            "estimated_gas": estimate,
            "estimate_error": error,
            "gas": gas_breakdown(estimate, data, entries) if estimate else None,
        }

    def anchor_on_head(self, rebase: bool) -> list[dict]:
        """Anchor the batch on the L1 head (under the executor's lock); returns the outcomes a
        rebase changed."""
        ex = self.executor
        head = fetch_head_anchor(self.l1)
        if head.hash == ex.view.anchor.hash:
            return []
        conflicts = ex.view.reader.changed_since(head.number)
        if not conflicts:
            ex.view.reanchor(head, keep_reads=True)
            return []
        if rebase:
            return ex.rebase(head)
        raise SettlementConflict(
            f"L1 changed {len(conflicts)} value(s) this batch read since anchor block {ex.view.anchor.number}; "
            "nothing was settled and the batch stays pending (settle --rebase re-executes it on the L1 head)",
            [{**c, "slot": c["slot"] if isinstance(c["slot"], str) else hex32(c["slot"]),
              "l2_saw": _show(c["l2_saw"]), "l1_now": _show(c["l1_now"])} for c in conflicts],
        )

    def revert_reason(self, tx_hash: str, receipt: dict) -> str:
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
