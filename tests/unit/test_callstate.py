"""What one eth_call runs on: the past block's stand-in L1 view, the per-call precompiles, and
state overrides written into a py-evm state (tests/integration/test_call_params.py compares
the calls themselves with anvil)."""

from __future__ import annotations

import pytest
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM

from booster_cli.callstate import AccountOverride, PastL1Access, PastView, apply_overrides, computation_class
from booster_cli.l2vm import BoosterComputation
from booster_cli.precompiles import BOOSTER_PRECOMPILES, L1CALL_ADDRESS

A = b"\x0a" * 20
IDENTITY = b"\x00" * 19 + b"\x04"


class FakeView:
    settlement = b"\x55" * 20
    chain_id = 31337


def test_past_view_passes_what_never_changes_and_refuses_the_rest():
    view = PastView(FakeView())
    assert view.settlement == FakeView.settlement and view.chain_id == 31337
    view.checkpoint(1)
    view.discard(1)
    view.commit(2)
    for name in ("get_storage", "journal", "reader", "anchor"):
        with pytest.raises(PastL1Access, match="cannot be read on past state"):
            getattr(view, name)


def test_computation_class_per_call():
    assert computation_class(BoosterComputation, False, frozenset()) is BoosterComputation
    assert computation_class(BoosterComputation, False, frozenset({A})) is BoosterComputation  # not a precompile
    past = computation_class(BoosterComputation, True, frozenset())
    assert issubclass(past, BoosterComputation) and past is computation_class(BoosterComputation, True, frozenset())
    for address in BOOSTER_PRECOMPILES:
        with pytest.raises(PastL1Access, match="cannot run on past state"):
            past._precompiles[address](None)
    assert BoosterComputation._precompiles[L1CALL_ADDRESS] is BOOSTER_PRECOMPILES[L1CALL_ADDRESS]  # the base is untouched
    dropped = computation_class(BoosterComputation, True, frozenset({L1CALL_ADDRESS, IDENTITY, A}))
    assert L1CALL_ADDRESS not in dropped._precompiles and IDENTITY not in dropped._precompiles
    assert IDENTITY in BoosterComputation._precompiles


def test_overrides_replace_or_patch_storage_and_are_the_original_values():
    chain = MiningChain.configure(vm_configuration=((0, PragueVM),), chain_id=1).from_genesis(
        AtomicDB(), {"difficulty": 0, "gas_limit": 30_000_000, "timestamp": 1, "base_fee_per_gas": 10**9},
        {A: {"balance": 1, "nonce": 1, "code": b"\x00", "storage": {1: 11, 2: 22}}},
    )
    state = chain.get_vm().state
    apply_overrides(state, {A: AccountOverride(state={2: 5})})
    assert [state.get_storage(A, s) for s in (1, 2)] == [0, 5]
    assert [state.get_storage(A, s, from_journal=False) for s in (1, 2)] == [0, 5]  # SSTORE gas compares with these
    assert (state.get_balance(A), state.get_nonce(A), state.get_code(A)) == (1, 1, b"\x00")

    state = chain.get_vm().state
    apply_overrides(state, {A: AccountOverride(balance=7, nonce=9, code=b"\x60", state_diff={2: 5, 3: 6})})
    assert [state.get_storage(A, s, from_journal=False) for s in (1, 2, 3)] == [11, 5, 6]
    assert (state.get_balance(A), state.get_nonce(A), state.get_code(A)) == (7, 9, b"\x60")
    assert chain.get_vm().state.get_storage(A, 2) == 22  # another call's state: nothing leaked
