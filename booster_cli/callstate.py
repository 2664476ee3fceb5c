"""What one ``eth_call`` / ``eth_estimateGas`` runs on besides the head: geth's state overrides,
and a past block's L2 state, on which the L1 precompiles refuse to run (the L1 view, anchor and
pending delta, is kept only for the head). Used by ``Executor.call``; the call's state is thrown
away after it, overrides with it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .precompiles import BOOSTER_PRECOMPILES, L1CALL_ADDRESS, L1DELEGATECALL_ADDRESS, L1SANDBOXCALL_ADDRESS

PRECOMPILE_NAMES = {L1CALL_ADDRESS: "L1CALL", L1SANDBOXCALL_ADDRESS: "L1SANDBOXCALL", L1DELEGATECALL_ADDRESS: "L1DELEGATECALL"}


@dataclass(frozen=True)
class AccountOverride:
    """One account of geth's state override set; None: left as it is."""

    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    state: dict[int, int] | None = None  # the whole storage, replaced
    state_diff: dict[int, int] | None = None  # these slots, patched


class PastL1Access(Exception):
    """A call on a past block's state reached an L1 precompile (or the L1 view). Not an EVM
    error (which the calling frame could catch and go on): the whole call stops, since no answer
    it gives would be that block's. ``reason`` completes "the L1 view is kept only for the head
    block; …"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refuse(name: str):  # type: ignore[no-untyped-def]
    def refuse(computation: Any) -> Any:
        raise PastL1Access(f"{name} cannot run on past state")

    return refuse


class PastView:
    """The L1 view as a past block's L2 state holds it (``state.l1_view``): the settlement
    address and the L1 chain id, which never change; frame checkpoints that have nothing to undo
    (no L1 code runs on past state); any other use stops the call with ``PastL1Access``, never
    answering from the head's L1 state. The real view's journal is left untouched."""

    __slots__ = ("settlement", "chain_id")

    def __init__(self, view: Any) -> None:
        self.settlement, self.chain_id = view.settlement, view.chain_id

    def checkpoint(self, key: Any) -> None:
        pass

    discard = commit = checkpoint

    def __getattr__(self, name: str) -> Any:
        raise PastL1Access(f"L1 state ({name}) cannot be read on past state")


def apply_overrides(state: Any, overrides: dict[bytes, AccountOverride]) -> None:
    """Write ``overrides`` into ``state`` as geth does (nonce, code, balance, then storage), then
    make them the state the call starts from: SSTORE's gas (EIP-2200) compares with them as
    the slots' original values, as after geth's Finalise."""
    for address, o in overrides.items():
        if o.nonce is not None:
            state.set_nonce(address, o.nonce)
        if o.code is not None:
            state.set_code(address, o.code)
        if o.balance is not None:
            state.set_balance(address, o.balance)
        if o.state is not None:
            state.delete_storage(address)
        for slot, value in (o.state if o.state is not None else o.state_diff or {}).items():
            state.set_storage(address, slot, value)
    state.lock_changes()


def computation_class(base: type, past: bool, overridden: frozenset[bytes]) -> type:
    """``base``, or a subclass of it for one call: at a past block the L1 precompiles raise
    ``PastL1Access``; a precompile address given a state override is a plain account (geth
    drops an overridden address from the call's precompiles, so code put there runs)."""
    if not past and not overridden & base._precompiles.keys():
        return base
    return _computation_class(base, past, frozenset(overridden & base._precompiles.keys()))


@lru_cache(maxsize=64)
def _computation_class(base: type, past: bool, dropped: frozenset[bytes]) -> type:
    precompiles = dict(base._precompiles)
    if past:
        precompiles.update({address: _refuse(PRECOMPILE_NAMES[address]) for address in BOOSTER_PRECOMPILES})
    for address in dropped:
        del precompiles[address]
    return type(base.__name__, (base,), {"_precompiles": precompiles})
