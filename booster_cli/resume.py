"""Resuming a devnet from its state directory: the settlement contract, the L1 anchor, a
settlement that was sent but not recorded when the node stopped, and whether L1 and the L2 agree
on what was settled."""

from __future__ import annotations

import logging
import time

from eth_utils import keccak, to_checksum_address

from .delta import delta_hash, encode_updates, settleable
from .errors import BoosterError, ExitCode
from .executor import Executor, fetch_head_anchor
from .relayer import EXTERNAL_WAIT_S, apply_emulated, settlement_getter
from .rpc import RpcClient
from .store import Store

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


def reconcile_settlement(ex: Executor, store: Store, l1: RpcClient, settlement: str, external: bool = False) -> dict | None:
    """A settlement sent before the node stopped and not recorded: did it land? Applied → record
    it and clear the batch; not applied → the batch stays pending. Never applied twice, never
    dropped: the contract's batch counter decides. On an external L1 (``external``) a
    transaction sent for block anchor+1 may still land while that block is not there: the
    answer waits for it (at most EXTERNAL_WAIT_S, else an error: nothing decided)."""
    settling = store.meta("settling")
    if not settling:
        return None
    if external and settling.get("anchor") is not None:
        _await_block(l1, settling["anchor"] + 1, settling.get("txs") or [])
    next_id = settlement_getter(l1, settlement, "nextBatchId")
    batch = settling["batch"]
    entry = None
    if next_id > batch:
        logs = l1.call("eth_getLogs", {"address": settlement, "fromBlock": hex(settling.get("anchor", -1) + 1), "toBlock": "latest", "topics": [BATCH_SETTLED_TOPIC, "0x" + batch.to_bytes(32, "big").hex()]})
        if not logs:
            raise BoosterError(f"L1 says batch {batch} was settled but its BatchSettled event is missing")
        ev = logs[-1]
        if external and settling.get("delta_hash") != "0x" + delta_hash(encode_updates(settleable(ex.view.delta()))).hex():
            # L2 transactions came after the settle that sent it gave up waiting: the batch that
            # landed is not the pending one; booster does not split batches
            raise BoosterError(f"batch {batch} landed on L1 (tx {ev['transactionHash']}) with the delta its settle sent, but the pending batch "
                               "has changed since (L2 transactions after that settle stopped waiting): it cannot be recorded as settled. "
                               "Keep this state directory aside and start with --fresh (docs/external-l1.md)")
        receipt = l1.call("eth_getTransactionReceipt", ev["transactionHash"])
        # its emulated writes (l1source.py) may have been cut short: applied again (final values)
        apply_emulated(l1, settling.get("emulated") or [])
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
            **({"emulated": [{"contract": c, "changes": n} for c, n in _count(settling["emulated"])]} if settling.get("emulated") else {}),
        }
        ex.view.clear_pending()
        ex.start_new_batch()
        ex.refresh_anchor()
        ex.commit(history=[(batch, entry)])
        log.info("batch %s was settled on L1 before the node stopped (tx %s); recorded", batch, ev["transactionHash"])
    store.set_meta("settling", None)
    return entry


def _await_block(l1: RpcClient, number: int, txs: list[str]) -> None:
    """Wait until L1 has block ``number`` (the only one the recorded settlement ``txs`` could land in)."""
    deadline = time.monotonic() + EXTERNAL_WAIT_S
    while int(l1.call("eth_blockNumber"), 16) < number:
        if time.monotonic() > deadline:
            raise BoosterError(f"the settlement {txs[-1] if txs else ''} sent for L1 block {number} may still land, and the external L1 has made "
                               f"no block since {EXTERNAL_WAIT_S:.0f}s: nothing was decided; try again once it makes blocks")
        time.sleep(0.2)


def _count(writes: list[list[str]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for contract, _, _ in writes:
        counts[contract] = counts.get(contract, 0) + 1
    return list(counts.items())


def check_settled_batches(ex: Executor, store: Store, l1: RpcClient, settlement: str, rebase: bool) -> tuple[list[int], list[dict]]:
    """Do L1 and the L2 agree on what was settled? The settlement contract's batch counter,
    last anchor and L2 state root against the L2's history. A settlement L1 lost (its state
    saved before it landed: anvil killed, an older state file) is never silently forgotten:
    without ``rebase`` the start stops (exit 4) naming the batches; with it, their L2
    transactions go back into the pending batch and are re-executed on the L1 head, and their
    history entries are kept aside (``lost_history``). Returns (the batches put back, the
    outcomes that changed)."""
    history = store.history()
    recorded = history[-1]["batch"] if history else 0
    on_l1 = settlement_getter(l1, settlement, "nextBatchId") - 1
    where = f"L1's settlement contract {settlement} counts {on_l1} settled batch{'' if on_l1 == 1 else 'es'}, the L2 recorded {recorded}"
    ways = "restore a devnet saved whole with 'booster state load FILE', or start over with --fresh"
    if on_l1 > recorded:
        raise L1Diverged(f"{where}: the L2's store is older than L1's state. Nothing was changed; {ways}")
    if on_l1 == recorded:
        if history:
            last = history[-1]
            root = ex.chain.get_canonical_block_header_by_number(last["l2_blocks"][1]).state_root
            anchor = settlement_getter(l1, settlement, "lastAnchorNumber")
            if anchor != last["anchor"]["number"] or settlement_getter(l1, settlement, "l2StateRoot") != int.from_bytes(root, "big"):
                raise L1Diverged(f"L1's settlement contract {settlement} and the L2 disagree about batch {recorded} (its anchor or L2 state root): "
                                 f"they are not from the same devnet. Nothing was changed; {ways}")
        return [], []
    lost = [h for h in history if h["batch"] > on_l1]
    ids = ", ".join(str(h["batch"]) for h in lost)
    if not rebase:
        raise L1Diverged(
            f"L1 lost settled batch{'es' if len(lost) > 1 else ''} {ids} ({where}): L1's saved state is older than the L2's. "
            f"Start with --rebase to put {'their' if len(lost) > 1 else 'its'} L2 transactions back into the pending batch and "
            f"re-execute them on the L1 head (the lost records are kept aside), or {ways}"
        )
    log.warning("L1 lost settled batch(es) %s; their L2 transactions are pending again, re-executed on the L1 head", ids)
    ex.reopen(lost[0]["l2_blocks"][0], lost[0]["batch"])
    return [h["batch"] for h in lost], ex.rebase(fetch_head_anchor(l1))


__all__ = ["known_settlement", "check_anchor", "check_settled_batches", "reconcile_settlement", "L1Diverged", "to_checksum_address"]
