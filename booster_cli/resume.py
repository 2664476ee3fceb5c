"""Resuming a devnet from its state directory: the settlement contract, the L1 anchor, and a
settlement that was sent but not recorded when the node stopped."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from eth_utils import keccak, to_checksum_address

from .errors import BoosterError, ExitCode
from .executor import Executor, fetch_head_anchor
from .rpc import RpcClient
from .store import Store

if TYPE_CHECKING:
    from .statedir import StateDir

log = logging.getLogger("booster.resume")

BATCH_SETTLED_TOPIC = "0x" + keccak(b"BatchSettled(uint256,uint256,bytes32,bytes32,uint256)").hex()


class L1Diverged(BoosterError):
    """L1 no longer has the block the pending batch was executed against."""

    exit_code = ExitCode.CONFLICT


def known_settlement(l1: RpcClient, store: Store) -> str | None:
    """The settlement contract this state directory used, if L1 still has its code."""
    address = store.meta("settlement")
    if address and l1.call("eth_getCode", address, "latest") not in ("0x", "0x0", None):
        return address
    if address and store.meta("executor"):
        raise L1Diverged(
            f"L1 no longer has the settlement contract {address} this devnet settled to (anvil's state was lost); "
            "start with --fresh to begin again (L2 history cannot be replayed on a different L1)"
        )
    return None


def check_anchor(ex: Executor, rebase: bool) -> list[dict]:
    """Is the anchor the L2 executed against still on L1, with the same hash?"""
    anchor = ex.view.anchor
    block = ex.l1.call("eth_getBlockByNumber", hex(anchor.number), False)
    if block and bytes.fromhex(block["hash"][2:]) == anchor.hash:
        return []
    head = fetch_head_anchor(ex.l1)
    pending_txs, changes = len(ex.batch.tx_hashes), len(ex.view.delta())
    if not pending_txs and not changes:
        ex.view.reanchor(head, keep_reads=False)
        ex.commit()
        return []
    if not rebase:
        raise L1Diverged(
            f"L1 lost block {anchor.number} (0x{anchor.hash.hex()[:12]}…), the anchor of the pending batch "
            f"({pending_txs} L2 tx(s), {changes} delta entr{'y' if changes == 1 else 'ies'}); nothing was settled. "
            "Start with --rebase to re-execute them on the L1 head, or --fresh to start empty"
        )
    log.warning("L1 lost the anchor block %s; re-executing the pending batch on L1 block %s", anchor.number, head.number)
    return ex.rebase(head)


def reconcile_settlement(ex: Executor, store: Store, l1: RpcClient, settlement: str) -> dict | None:
    """A settlement sent before the node stopped and not recorded: did it land? Applied → record
    it and clear the batch; not applied → the batch stays pending. Never applied twice, never
    dropped: the contract's batch counter decides."""
    settling = store.meta("settling")
    if not settling:
        return None
    next_id = int(l1.call("eth_call", {"to": settlement, "data": "0x" + keccak(b"nextBatchId()")[:4].hex()}, "latest"), 16)
    batch = settling["batch"]
    entry = None
    if next_id > batch:
        logs = l1.call("eth_getLogs", {"address": settlement, "fromBlock": "0x0", "toBlock": "latest", "topics": [BATCH_SETTLED_TOPIC, "0x" + batch.to_bytes(32, "big").hex()]})
        if not logs:
            raise BoosterError(f"L1 says batch {batch} was settled but its BatchSettled event is missing")
        ev = logs[-1]
        receipt = l1.call("eth_getTransactionReceipt", ev["transactionHash"])
        delta = [e for e in ex.view.delta() if not e.net_zero]
        entry = {
            "batch": batch,
            "l1_tx_hash": ev["transactionHash"],
            "l1_block": int(ev["blockNumber"], 16),
            "gas_used": int(receipt["gasUsed"], 16),
            "anchor": ex.view.anchor.to_json(),
            "txs": len(ex.batch.tx_hashes),
            "l2_blocks": [ex.batch.first_block, ex.head().block_number],
            "changes": [c.to_json() for c in delta],
            "recovered": True,
        }
        ex.view.clear_pending()
        ex.start_new_batch()
        ex.refresh_anchor()
        ex.commit(history=[(batch, entry)])
        log.info("batch %s was settled on L1 before the node stopped (tx %s); recorded", batch, ev["transactionHash"])
    store.set_meta("settling", None)
    return entry


def restore_l1_after_interrupted_report(state: "StateDir") -> bool:
    """A ``booster report`` interrupted before its evm_revert (the node died) may have left its
    replayed transactions in anvil's saved state: put back L1's state from before the report.
    Call before anvil starts. True when it did."""
    saved = state.anvil_state_before_report
    if not saved.exists():
        return False
    os.replace(saved, state.anvil_state)
    log.info("L1 restored to its state before an interrupted report (%s)", saved.name)
    return True


__all__ = ["restore_l1_after_interrupted_report", "known_settlement", "check_anchor", "reconcile_settlement", "L1Diverged", "to_checksum_address"]
