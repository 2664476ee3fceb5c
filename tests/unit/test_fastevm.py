"""The fast interpreter loop against py-evm's own: random programs (built mostly from the inlined
opcodes, mixed with ones py-evm runs, with valid and invalid jumps, stack under- and overflow,
memory growth and tight gas) must end the same way: success or the same error, the same gas,
output, logs, storage, memory and stack."""

from __future__ import annotations

import pytest
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booster_cli.fastevm import _INLINE, FastInterpreter, _inline_gas
from booster_cli.l1context import L1Computation


class FastPrague(FastInterpreter, PragueComputation):
    pass


CONTRACT = b"\x11" * 20
SENDER = b"\x22" * 20
INLINE = sorted(_INLINE)
# run by py-evm, among them the ones that end a computation or touch state
OTHERS = [0x00, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x1A, 0x1D, 0x30, 0x33, 0x37, 0x38, 0x39, 0x3D,
          0x53, 0x54, 0x55, 0x58, 0x59, 0x5A, 0x5C, 0x5D, 0x5E, 0xA0, 0xA1, 0xA2, 0xF3, 0xFD, 0xFE, 0x0C, 0xEF]
SMALL = st.sampled_from([0, 1, 2, 31, 32, 33, 64, 255, 256, 257, 2**255, 2**256 - 1, 2**64])


@st.composite
def programs(draw) -> bytes:
    """A program of instructions; jump targets are pushed as values that are often JUMPDESTs."""
    code = bytearray()
    dests: list[int] = []
    for _ in range(draw(st.integers(1, 80))):
        kind = draw(st.integers(0, 9))
        if kind <= 2:  # a push of a small or boundary value, sometimes a jump destination
            if dests and draw(st.booleans()):
                value = draw(st.sampled_from(dests))
            else:
                value = draw(st.one_of(SMALL, st.integers(0, 2**256 - 1)))
            width = draw(st.integers(max(1, (value.bit_length() + 7) // 8), 32))
            code += bytes([0x5F + width]) + value.to_bytes(width, "big")
        elif kind == 3:
            dests.append(len(code))
            code.append(0x5B)
        elif kind <= 7:
            code.append(draw(st.sampled_from(INLINE)))
        else:
            code.append(draw(st.sampled_from(OTHERS)))
    if draw(st.booleans()):  # a PUSH cut short by the end of the code
        code += bytes([0x7F]) + b"\x01\x02"
    return bytes(code)


CHAIN = MiningChain.configure(vm_configuration=((0, PragueVM),), chain_id=1).from_genesis(
    AtomicDB(), {"difficulty": 0, "gas_limit": 30_000_000, "timestamp": 1, "base_fee_per_gas": 1}, {SENDER: {"balance": 10**18, "nonce": 0, "code": b"", "storage": {}}})


def _run(cls, code: bytes, data: bytes, gas: int):
    state = CHAIN.get_vm().state  # a fresh state on the genesis root: nothing is persisted
    state.set_code(CONTRACT, code)
    state.set_storage(CONTRACT, 7, 9)
    message = Message(gas=gas, to=CONTRACT, sender=SENDER, value=5, data=data, code=code, code_address=CONTRACT)
    context = state.get_transaction_context_class()(gas_price=1, origin=SENDER)
    c = cls.apply_message(state, message, context)
    storage = {slot: state.get_storage(CONTRACT, slot) for slot in range(0, 300)}
    ended = {
        # what an error leaves on the stack and in memory is never seen
        "stack": [v if isinstance(v, int) else int.from_bytes(v, "big") for v in c._stack.values],
        "memory": bytes(c._memory._bytes),
    } if c.is_success else {}
    return ended | {
        "error": type(c.error).__name__ if c.is_error else None,
        "gas_remaining": c.get_gas_remaining(),
        "refund": c.get_gas_refund(),
        "output": c.output,
        "logs": c.get_log_entries(),
        "storage": {k: v for k, v in storage.items() if v},
    }


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=programs(), data=st.binary(max_size=70), gas=st.sampled_from([30, 200, 2_000, 100_000]))
def test_random_programs_end_as_in_py_evm(code: bytes, data: bytes, gas: int) -> None:
    assert _run(FastPrague, code, data, gas) == _run(PragueComputation, code, data, gas)


def test_a_loop_that_counts_and_stores():
    # i = 0; do { i += 1; mstore(0, i) } while (i < 100); sstore(1, i); return mload(0)
    code = bytes.fromhex(
        "6000"          # PUSH1 0
        "5b"            # JUMPDEST (2)
        "600101"        # PUSH1 1 ADD
        "80600052"      # DUP1 PUSH1 0 MSTORE
        "80606490"      # DUP1 PUSH1 100 SWAP1
        "10"            # LT  (i < 100)
        "600257"        # PUSH1 2 JUMPI
        "600155"        # PUSH1 1 SSTORE
        "60206000f3"    # RETURN mload(0..32)
    )
    fast, slow = _run(FastPrague, code, b"", 100_000), _run(PragueComputation, code, b"", 100_000)
    assert fast == slow
    assert fast["error"] is None and fast["storage"][1] == 100 and int.from_bytes(fast["output"], "big") == 100


@pytest.mark.parametrize("op", [0xF0, 0xF5, 0xFF, 0xF1, 0xF2])
def test_opcodes_the_l1_context_replaces_are_not_inlined(op):
    table = _inline_gas(L1Computation)
    assert table[op] is None
    assert table[0x60] == 3 and table[0x56] == 8
