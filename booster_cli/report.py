"""What ``booster report`` measures, inside the node (it holds the executor's lock throughout).

- **L1-direct gas.** Each L2 transaction's L1CALLs that took effect are sent to anvil as L1
  transactions — in the batch's order, from the call's ``msg.sender`` (impersonated with
  ``anvil_impersonateAccount``), one transaction per call — inside ``evm_snapshot`` /
  ``evm_revert``; their receipts' gas is summed per L2 transaction. For a settled batch the slots
  it wrote are first put back to their values before it (``anvil_setStorageAt``, inside the same
  snapshot), so the replay starts from the state the batch saw.
- **Settlement gas.** Pending batch: the real settlement transaction (proven, sealed) is sent
  inside a snapshot and reverted; its receipt's gas is the figure. Settled batch: its receipt.
- **Per-transaction marginal settlement cost**: see ``report_model``.

L1 is left as it was: every change is made inside a snapshot that is always reverted (the
block number and state afterwards are the ones before; a test checks it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING, Iterator

from eth_utils import to_checksum_address

from .delta import DeltaEntry, encode_delta, encode_updates, hex32, settleable
from .errors import BoosterError, UsageError
from .report_model import calldata_gas
from .txsend import wait_for_receipt
from .relayer import COLD_ACCOUNT, COLD_SLOAD, ECRECOVER, SETTLE_EMULATED_SIG, SETTLE_SIG, SSTORE_RESET, SSTORE_SET, emulated_summary, gas_breakdown

if TYPE_CHECKING:
    from .node import Node
    from .rpc import RpcClient

REPLAY_GAS_LIMIT = 30_000_000
REPLAY_FUNDS = 10**30  # wei given to each impersonated sender inside the snapshot


@contextlib.contextmanager
def l1_snapshot(l1: "RpcClient") -> Iterator[None]:
    """Run the block with L1 as it is, then put L1 back exactly (evm_snapshot / evm_revert)."""
    snapshot = l1.call("evm_snapshot")
    try:
        yield
        if os.environ.get("BOOSTER_FAULT") == "crash-during-report":
            time.sleep(1.5)  # L1's state is saved every second when it changed, but never during a report
            os.kill(os.getpid(), signal.SIGKILL)  # fault injection for the crash test
    finally:
        if l1.call("evm_revert", snapshot) is not True:
            raise BoosterError(f"anvil did not revert to snapshot {snapshot}: L1 may keep the report's replayed transactions")


def replay_direct(l1: "RpcClient", traces: list) -> tuple[list[int], int, int]:
    """Send every trace's L1 calls as L1 transactions (call this inside ``l1_snapshot``).
    Returns (gas per L2 transaction, L1 calls sent, replays that reverted)."""
    senders = {call.sender for trace in traces for call in trace.calls}
    for sender in senders:
        address = to_checksum_address(sender)
        l1.call("anvil_impersonateAccount", address)
        l1.call("anvil_setBalance", address, hex(REPLAY_FUNDS))
    per_tx, calls, reverted = [], 0, 0
    try:
        for trace in traces:
            gas = 0
            for call in trace.calls:
                tx_hash = l1.call("eth_sendTransaction", {
                    "from": to_checksum_address(call.sender),
                    "to": to_checksum_address(call.target),
                    "data": "0x" + call.data.hex(),
                    "gas": hex(REPLAY_GAS_LIMIT),
                })
                receipt = wait_for_receipt(l1, tx_hash)
                gas += int(receipt["gasUsed"], 16)
                reverted += receipt["status"] != "0x1"
                calls += 1
            per_tx.append(gas)
    finally:
        for sender in senders:
            l1.call("anvil_stopImpersonatingAccount", to_checksum_address(sender))
    return per_tx, calls, reverted


def marginal_costs(traces: list, entries: list[DeltaEntry]) -> list[int]:
    """Per L2 transaction, the settlement gas its first writes add (see ``report_model``)."""
    settled = {(bytes.fromhex(e.contract[2:]), e.slot): e for e in entries}
    contracts_seen: set[bytes] = set()
    out = []
    for trace in traces:
        gas = 0
        for key in trace.first_writes:
            entry = settled.get(key)
            if entry is None:
                continue  # written back to its value before the batch: not settled
            gas += COLD_SLOAD + (SSTORE_SET if entry.before == 0 else SSTORE_RESET)
            gas += calldata_gas(entry.slot.to_bytes(32, "big") + entry.after.to_bytes(32, "big"))
            if key[0] not in contracts_seen:
                contracts_seen.add(key[0])
                gas += COLD_ACCOUNT + calldata_gas(bytes(12) + key[0])
        out.append(gas)
    return out


def _fees(l1: "RpcClient") -> tuple[int, int]:
    block = l1.call("eth_getBlockByNumber", "latest", False)
    base_fee = int(block.get("baseFeePerGas") or "0x0", 16)
    try:
        blob_base_fee = int(l1.call("eth_blobBaseFee"), 16)
    except Exception:  # an L1 without blobs
        blob_base_fee = 0
    return base_fee, blob_base_fee


def _measurements(traces: list, direct: list[int], entries: list[DeltaEntry], settlement_gas: int, calldata: bytes, seal: bytes) -> dict:
    delta = encode_delta(encode_updates(entries))  # the delta as the settlement carries it
    marginal = marginal_costs(traces, entries)
    mock = ECRECOVER + calldata_gas(seal)
    return {
        "txs": len(traces),
        "l1_direct_gas": sum(direct),
        "settlement_gas": settlement_gas,
        "breakdown": gas_breakdown(settlement_gas, calldata, entries),
        "per_tx": {"l1_direct": direct, "settlement_marginal": marginal},
        "fixed_gas": settlement_gas - sum(marginal) - mock,
        "mock_verifier_gas": mock,
        "slots": len(entries),
        "contracts": len({e.contract for e in entries}),
        "delta_bytes": len(delta),
        "delta_calldata_gas": calldata_gas(delta),
    }


def report_pending(node: "Node") -> dict:
    ex, relayer, l1 = node.executor, node.relayer, node.executor.l1
    while ex.mine_pending():
        pass
    if not ex.batch.tx_hashes:
        raise BoosterError("no pending L2 transactions: send some first, or report on a settled batch with --batch N")
    relayer.anchor_on_head(rebase=False)  # a conflict is exit 4, as for settle
    prepared = relayer.prepare()
    if prepared is None:
        raise BoosterError("the pending batch writes nothing on L1: there is no settlement to compare with")
    proof, entries, data = prepared
    anchor = ex.view.anchor
    head = int(l1.call("eth_blockNumber"), 16)
    if head != anchor.number:
        raise BoosterError(f"the L1 head moved to block {head} while the report was prepared (anchor {anchor.number}): run it again")
    with l1_snapshot(l1):
        gas = relayer.gas_limit(data, anchor.number, len({e.contract for e in entries}), len(entries))
        _, receipt = relayer.send(data, gas)
        if receipt["status"] != "0x1":
            raise BoosterError(f"the settlement reverted inside the report's snapshot: {relayer.revert_reason(receipt['transactionHash'], receipt)}")
        settlement_gas = int(receipt["gasUsed"], 16)
    with l1_snapshot(l1):
        direct, calls, reverted = replay_direct(l1, proof.traces)
    base_fee, blob_base_fee = _fees(l1)
    emulated, extra, note = _emulated(proof.inputs.emulated_contracts, entries)
    settlement_gas += extra
    return {
        "batch": proof.inputs.batch_id,
        "pending": True,
        "anchor": anchor.to_json(),
        "settlement_measured": "the proven settlement sent inside an evm_snapshot, then reverted" + note,
        **emulated,
        "l1_calls": calls,
        "replays_reverted": reverted,
        "base_fee_wei": base_fee,
        "blob_base_fee_wei": blob_base_fee,
        **_measurements(proof.traces, direct, entries, settlement_gas, data, proof.seal),
    }


def report_chain_pending(node: "Node") -> dict:
    """``report`` of a chained devnet's pending batch: every rollup's transactions' L1 calls
    replayed straight on L1 in the chain's global order, against the one settleChain."""
    from .chain import chain_settlement, send_chain_settlement

    chain, relayer = node.chain, node.relayer
    l1 = chain.l1
    chain.mine_all()
    if not any(e.batch.tx_hashes for e in chain.rollups):
        raise BoosterError("no pending L2 transactions on any rollup: send some first")
    relayer.anchor_on_head(rebase=False)  # a conflict is exit 4, as for settle
    if not settleable(chain.view.delta()):
        raise BoosterError("the pending batch writes nothing on L1: there is no settlement to compare with")
    traces: list = []
    proof, data, seal = chain_settlement(chain, relayer.settlement, relayer.prover, traces)
    entries = settleable(proof.delta)
    anchor = chain.view.anchor
    if int(l1.call("eth_blockNumber"), 16) != anchor.number:
        raise BoosterError(f"the L1 head moved while the report was prepared (anchor {anchor.number}): run it again")
    with l1_snapshot(l1):
        receipt = send_chain_settlement(chain, relayer.settlement, relayer.key, data)
        if receipt["status"] != "0x1":
            raise BoosterError("the chain's settlement reverted inside the report's snapshot")
        settlement_gas = int(receipt["gasUsed"], 16)
    with l1_snapshot(l1):
        direct, calls, reverted = replay_direct(l1, traces)
    base_fee, blob_base_fee = _fees(l1)
    return {
        "batch": _settled_id(node),
        "pending": True,
        "anchor": anchor.to_json(),
        "settlement_measured": f"the proven settleChain of {len(chain.rollups)} rollups sent inside an evm_snapshot, then reverted",
        "rollups": [{**part, "txs": len(e.batch.tx_hashes)} for part, e in zip(proof.rollups, chain.rollups)],
        "l1_calls": calls,
        "replays_reverted": reverted,
        "base_fee_wei": base_fee,
        "blob_base_fee_wei": blob_base_fee,
        **_measurements(traces, direct, entries, settlement_gas, data, seal),
    }


def _settled_id(node: "Node") -> int:
    """The first rollup's next batch id (a chain's batches are numbered per rollup)."""
    from .chain import _settlement_state

    return _settlement_state(node.chain.l1, node.settlement, node.chain.rollups[0].l2_chain_id)[0]


def report_settled(node: "Node", batch: int) -> dict:
    from eth_abi import decode as abi_decode

    from .l1view import Anchor
    from .prover import run_blocks

    ex, l1 = node.executor, node.executor.l1
    entry = next((h for h in node.history if h.get("batch") == batch), None)
    if entry is None:
        settled = ", ".join(str(h["batch"]) for h in node.history) or "none yet"
        raise UsageError(f"--batch {batch}: no such settled batch (settled: {settled})")
    if not entry.get("l2_blocks"):
        raise BoosterError(f"batch {batch} was recorded without its L2 block range (settled by an older booster): it cannot be re-executed")
    first, last = entry["l2_blocks"]
    block = l1.call("eth_getBlockByNumber", hex(entry["anchor"]["number"]), False)
    if block is None or block["hash"] != entry["anchor"]["hash"]:
        raise BoosterError(f"batch {batch}'s anchor block {entry['anchor']['number']} is no longer on L1")
    view = ex.view.derived(Anchor.from_rpc_block(block))  # emulation allowed as it was (l1source.py)
    traces: list = []
    run_blocks(ex, view, first, last, traces)
    entries = settleable(view.delta())
    recorded = [(c["contract"], c["slot"], c["after"]) for c in entry["changes"]]
    if [(e.contract, hex32(e.slot), hex32(e.after)) for e in entries] != recorded:
        raise BoosterError(f"re-executing batch {batch} on its anchor does not give the delta it settled (is the anchor's L1 state still served?)")
    tx = l1.call("eth_getTransactionByHash", entry["l1_tx_hash"])
    calldata = bytes.fromhex(tx["input"][2:])
    targets: list[str] = []
    if calldata[:4] == SETTLE_EMULATED_SIG.selector:
        _, _, emulated_args, seal = abi_decode(SETTLE_EMULATED_SIG.inputs, calldata[4:])
        targets = [to_checksum_address(a) for a in emulated_args]
    else:
        _, _, seal = abi_decode(SETTLE_SIG.inputs, calldata[4:])
    with l1_snapshot(l1):
        for e in entries:  # the state the batch saw (later batches and L1 transactions aside)
            l1.call("anvil_setStorageAt", e.contract, hex32(e.slot), hex32(e.before))
        direct, calls, reverted = replay_direct(l1, traces)
    base_fee, blob_base_fee = _fees(l1)
    emulated, extra, note = _emulated(targets, entries)
    return {
        "batch": batch,
        "pending": False,
        "anchor": entry["anchor"],
        "settlement_measured": f"the settlement's receipt (L1 tx {entry['l1_tx_hash']})" + note,
        **emulated,
        "l1_calls": calls,
        "replays_reverted": reverted,
        "base_fee_wei": base_fee,
        "blob_base_fee_wei": blob_base_fee,
        **_measurements(traces, direct, entries, entry["gas_used"] + extra, calldata, seal),
    }


def _emulated(targets: list[str], entries: list[DeltaEntry]) -> tuple[dict, int, str]:
    """A settlement that applied some targets' writes by emulation (l1source.py) is priced as if
    they implemented applyStateUpdates (relayer.hook_gas): its extra fields, the modelled gas
    added to its receipt's, and what the "measured" note says of it."""
    if not targets:
        return {}, 0, ""
    summary = emulated_summary(targets, entries)
    extra = sum(t["modelled_gas"] for t in summary)
    note = f", plus {extra:,} gas modelled for the applyStateUpdates of {len(summary)} target(s) it applied by emulation"
    return {"emulated": summary, "emulated_modelled_gas": extra}, extra, note


__all__ = ["l1_snapshot", "marginal_costs", "replay_direct", "report_chain_pending", "report_pending", "report_settled"]
