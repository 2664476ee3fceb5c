"""Running a mined L2 transaction again, traced (``debug_traceTransaction``).

The L2 side: the transaction's block is rebuilt on its parent's state and the transactions
before it in the block applied again (untraced), then the transaction itself, traced.

The L1 side: what the transaction's L1 code saw was its batch's anchor plus every L1 write made
before it in the batch. A fresh ``L1View`` at that anchor is given those writes — each earlier
transaction's ``l1Writes`` (its receipt), in order — so the traced L1 code reads what it read
then, and writes nothing anywhere but into that throw-away view. The anchor is the pending
batch's, or for a settled batch the one its settlement recorded (the L1 node must still hold
that block's state: anvil keeps it). Chained rollups interleave their blocks on one L1 view: the
writes before a transaction are those of every rollup's blocks built before its block, in the
chain's global order (``ChainOrder``), then its own block's. That order is kept only for the
pending batch: a transaction of a settled chained batch is traced with its L1 frames refused,
with the reason, as on past state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .callstate import PastL1Access, PastView
from .errors import BoosterError, RpcError
from .l1view import Anchor, L1View
from .l2vm import ENVIRONMENT_ERRORS, apply_atomically, rebuilt
from .tracing import Tracer, prestate_result

if TYPE_CHECKING:
    from .executor import Executor


def trace_transaction(ex: "Executor", tx_hash: bytes, tracer: Tracer) -> Any:
    """The trace of mined transaction ``tx_hash`` as ``tracer`` records it (a JSON value)."""
    from .executor import GasTally

    with ex.lock:
        rec = ex.txs.get(tx_hash)
        if rec is None or rec.block_number < 0 or rec.block_number > ex.published_head:
            raise RpcError("transaction not found", -32000)
        number, index = rec.block_number, rec.index
        chaindb = ex.chain.chaindb
        header = chaindb.get_canonical_block_header_by_number(number)
        parent = chaindb.get_canonical_block_header_by_number(number - 1)
        block = ex.chain.get_block_by_header(header)
        receipt = ex.receipt(tx_hash)
        view = _view_before(ex, number, index)
        vm = ex.chain.get_vm(rebuilt(header, state_root=parent.state_root, gas_used=0, bloom=0))
        state = vm.state
        state.l1_view = view
        tally = GasTally(header.gas_limit, 0)
        try:
            for tx in block.transactions[:index]:
                done, _ = apply_atomically(vm, tally, tx)
                tally.gas_used = done.gas_used
            tx = block.transactions[index]
            tracer.attach(state, view if isinstance(view, L1View) else None)
            state.lock_changes()
            snapshot = state.snapshot()
            gas_before = tally.gas_used
            vm.validate_transaction_against_header(tally, tx)
            computation = state.apply_transaction(tx)
        except PastL1Access as exc:
            raise RpcError(f"debug_traceTransaction: the L1 state this transaction saw cannot be rebuilt: {exc.reason}", -32000) from None
        except (RpcError, BoosterError, *ENVIRONMENT_ERRORS):
            raise
        except Exception as exc:  # noqa: BLE001 - it failed inside booster when it ran (its receipt says so) or now
            raise RpcError(f"debug_traceTransaction: running the transaction again failed inside booster: {type(exc).__name__}: {exc}", -32000) from None
        gas_used = int(receipt["gasUsed"], 16) if receipt else vm.make_receipt(tally, tx, computation, state).gas_used - gas_before
        if tracer.kind == "prestateTracer":
            post = _accounts(state, tracer, (tx.sender, tx.to, header.coinbase))
            l1_post = _l1_accounts(view, tracer) if isinstance(view, L1View) else {}
            state.revert(snapshot)
            pre = _accounts(state, tracer, (tx.sender, tx.to, header.coinbase))
            return prestate_result(pre, post, _l1_pre(tracer), l1_post, tracer.diff_mode, frozenset(tracer.created))
        return result(tracer, computation, gas_used)


def trace_call(
    ex: "Executor", tracer: Tracer, sender: bytes, to: bytes | None, data: bytes, value: int, gas: int, at: Any, overrides: dict | None, intrinsic: int,
) -> Any:
    """``debug_traceCall``: the call as ``eth_call`` runs it (``Executor.call``), traced. The top
    frame's gas used counts the intrinsic gas a transaction would pay, as geth's does."""
    from .callstate import apply_overrides

    with ex.lock:
        collected: dict = {}
        if tracer.kind == "prestateTracer":
            def finish(state: Any) -> None:
                collected["post"] = _accounts(state, tracer, (sender, to, state.coinbase))
                collected["l1_post"] = _l1_accounts(ex.view, tracer) if at is None else {}
                collected["coinbase"] = state.coinbase

            tracer.finish = finish
        # the message gets what a transaction's would: its gas less the intrinsic gas (as geth's)
        ok, output, error, used = ex.call(sender, to, data, value, max(gas - intrinsic, 0), at=at, overrides=overrides, what="debug_traceCall", tracer=tracer)
        if tracer.kind == "prestateTracer":
            state = ex.chain.get_vm(at).state
            if overrides:
                apply_overrides(state, overrides)
            pre = _accounts(state, tracer, (sender, to, collected["coinbase"]))
            return prestate_result(pre, collected["post"], _l1_pre(tracer), collected["l1_post"], tracer.diff_mode, frozenset(tracer.created))
    if tracer.kind == "":
        return tracer.struct_result(used + intrinsic, not ok, output)
    root = tracer.root  # as a transaction's: gas after the intrinsic, gas used with it
    root.gas, root.gas_used = gas - intrinsic, min(gas, used + intrinsic)
    return root.to_json(tracer.with_log, tracer.with_l1_writes, tracer.only_top)


def result(tracer: Tracer, computation: Any, gas_used: int) -> Any:
    """callTracer's top frame (with the transaction's gas used, as geth) or the struct logger's
    result."""
    if tracer.kind == "":
        return tracer.struct_result(gas_used, computation.is_error, bytes(computation.output))
    tracer.root.gas_used = gas_used
    return tracer.root.to_json(tracer.with_log, tracer.with_l1_writes, tracer.only_top)


def _view_before(ex: "Executor", number: int, index: int) -> Any:
    """An L1 view holding what transaction ``index`` of block ``number`` saw on L1 (see the
    module doc), or a ``PastView`` whose use refuses with the reason."""
    live = ex.view
    if number >= ex.batch.first_block:
        anchor = live.anchor
        if ex.chain_order is None:
            blocks = [(ex, n) for n in range(ex.batch.first_block, number)]
        else:  # every rollup's blocks built before this one, in the chain's global order
            order = [(b.rollup, b.number) for b in ex.chain_order.blocks]
            if (ex.chain_index, number) not in order or ex.siblings is None:
                return _Refusing(live, f"L2 block {number} is not in the chain's record of its batch")
            blocks = [(ex.siblings[r], n) for r, n in order[:order.index((ex.chain_index, number))]]
    else:
        entry = next((e for e in ex.store.history() if e.get("l2_blocks") and e["l2_blocks"][0] <= number <= e["l2_blocks"][1]), None) if ex.store else None
        if entry is None:
            return _Refusing(live, "its batch's L1 anchor is not recorded")
        if ex.chain_order is not None:
            return _Refusing(live, "a settled batch of chained rollups (the order of their blocks is not kept)")
        block = ex.l1.call("eth_getBlockByNumber", hex(entry["anchor"]["number"]), False)
        if block is None or block["hash"] != entry["anchor"]["hash"]:
            return _Refusing(live, f"its anchor, L1 block {entry['anchor']['number']}, is no longer on L1")
        anchor = Anchor.from_rpc_block(block)
        blocks = [(ex, n) for n in range(entry["l2_blocks"][0], number)]
    view = live.derived(anchor)
    for executor, n in blocks:
        _replay_writes(view, executor, _hashes(executor, n))
    _replay_writes(view, ex, _hashes(ex, number)[:index])
    return view


def _hashes(ex: "Executor", number: int) -> list[bytes]:
    chaindb = ex.chain.chaindb
    return list(chaindb.get_block_transaction_hashes(chaindb.get_canonical_block_header_by_number(number)))


def _replay_writes(view: L1View, ex: "Executor", hashes: list[bytes]) -> None:
    """Put into ``view`` the L1 writes of these transactions of ``ex``, in order (their receipts'
    ``l1Writes``)."""
    for h in hashes:
        for w in (ex.receipt(h) or {}).get("l1Writes", ()):
            view.storage[(bytes.fromhex(w["contract"][2:]), int(w["slot"], 16))] = int(w["after"], 16)


class _Refusing(PastView):
    """The L1 view of a transaction whose L1 state cannot be rebuilt: any use refuses, saying why."""

    __slots__ = ("why",)

    def __init__(self, live: L1View, why: str) -> None:
        super().__init__(live)
        self.why = why

    def __getattr__(self, name: str) -> Any:
        raise PastL1Access(self.why)


def _accounts(state: Any, tracer: Tracer, also: tuple) -> dict:
    """Every touched L2 account, and those ``also`` names, as ``state`` has them: (balance,
    nonce, code, slots, exists)."""
    touched = dict(tracer.touched)
    for address in also:
        if address:
            touched.setdefault(bytes(address), set())
    out = {}
    for address, slots in touched.items():
        out[address] = (
            state.get_balance(address), state.get_nonce(address), state.get_code(address),
            {slot: state.get_storage(address, slot) for slot in slots}, state.account_exists(address),
        )
    return out


def _l1_accounts(view: L1View, tracer: Tracer) -> dict:
    return {
        address: (view.get_balance(address), view.get_nonce(address), view.get_code(address), {s: view.get_storage(address, s) for s in slots}, True)
        for address, slots in tracer.l1_touched.items()
    }


def _l1_pre(tracer: Tracer) -> dict:
    out = {}
    for address, slots in tracer.l1_touched.items():
        balance, nonce, code = tracer.l1_pre.get(("account", address), (0, 0, b""))
        out[address] = (balance, nonce, code, {s: tracer.l1_pre[("storage", address, s)] for s in slots}, True)
    return out

