"""A faster interpreter loop for py-evm computations: same results, a fraction of the overhead.

py-evm runs every opcode through four Python calls (the opcode object, the computation's and
the gas meter's ``consume_gas``, the logic function) plus a tuple-building stack pop. For the
opcodes that make up most of any Solidity contract (PUSH/DUP/SWAP, jumps, arithmetic and
comparisons, MLOAD/MSTORE, CALLDATALOAD) ``FastInterpreter`` does the same work inline, on
the computation's own stack, gas meter, memory and code stream; every other opcode goes
through py-evm's opcode object exactly as before. So the state a computation leaves behind
(stack, memory, gas, program counter, errors) is py-evm's.

An opcode is only inlined if the class's opcode table holds py-evm's own implementation of it
(the same logic function); its gas cost is read from that table. A class that replaces an
opcode (as the L1 context does for SHA3, CALL, CREATE…) keeps its replacement. With py-evm's
debug2 logging on, py-evm's own loop runs.

The equivalence is checked by ``tests/unit/test_fastevm.py``: random and real contracts run
through both loops must agree on success, output, gas, logs, storage and error type.
"""

from __future__ import annotations

from typing import Any

from eth.exceptions import FullStack, Halt, InsufficientStack, InvalidInstruction, InvalidJumpDestination, OutOfGas
from eth.vm.logic import arithmetic, comparison, context, duplication, flow, memory, sha3, stack, swap
from eth.vm.logic.invalid import InvalidOpcode
from eth.vm.opcode import _FastOpcode
from eth_hash.auto import keccak

_MASK = (1 << 256) - 1
_SIGN = 1 << 255
_JUMPDEST = 0x5B
_NO_RESULT = object()

# opcode → the py-evm logic function the inline version stands for
_INLINE = {
    0x01: arithmetic.add, 0x02: arithmetic.mul, 0x03: arithmetic.sub, 0x04: arithmetic.div,
    0x10: comparison.lt, 0x11: comparison.gt, 0x12: comparison.slt, 0x13: comparison.sgt,
    0x14: comparison.eq, 0x15: comparison.iszero, 0x16: comparison.and_op, 0x17: comparison.or_op,
    0x18: comparison.xor, 0x19: comparison.not_op, 0x1B: arithmetic.shl, 0x1C: arithmetic.shr,
    0x20: sha3.sha3,
    0x34: context.callvalue, 0x35: context.calldataload, 0x36: context.calldatasize,
    0x50: stack.pop, 0x51: memory.mload, 0x52: memory.mstore,
    0x56: flow.jump, 0x57: flow.jumpi, 0x5B: flow.jumpdest, 0x5F: stack.push0,
}
_INLINE.update({0x60 + i: getattr(stack, f"push{i + 1}") for i in range(32)})
_INLINE.update({0x80 + i: getattr(duplication, f"dup{i + 1}") for i in range(16)})
_INLINE.update({0x90 + i: getattr(swap, f"swap{i + 1}") for i in range(16)})

# what depends on a code's bytes only, shared by every run of it: the jump-destination analysis
# (py-evm starts it afresh in each computation) and the value of every PUSH
_CODE_INFO: dict[bytes, tuple[set[int], set[int], dict[int, int]]] = {}


def _push_values(code: bytes) -> dict[int, int]:
    """Position after each PUSH1..PUSH32 opcode → the value it pushes (zero-padded on the right
    when the code ends inside it, as py-evm reads it)."""
    values, pc, size = {}, 0, len(code)
    while pc < size:
        op = code[pc]
        pc += 1
        if 0x60 <= op <= 0x7F:
            n = op - 0x5F
            values[pc] = int.from_bytes(code[pc:pc + n].ljust(n, b"\x00"), "big")
            pc += n
    return values


def _inline_gas(cls: type) -> list:
    """Per opcode value: its gas cost if it may run inline in ``cls``, else None."""
    table: list = [None] * 256
    for value, fn in _INLINE.items():
        op = cls.opcodes.get(value)
        if type(op) is _FastOpcode and (op.logic_fn is fn or op.logic_fn is cls._inline_equivalents.get(value)):
            table[value] = op.gas_cost
    return table


def _out_of_gas(needed: int, remaining: int, reason: str) -> OutOfGas:
    return OutOfGas(f"Out of gas: Needed {needed} - Remaining {remaining} - Reason: {reason}")


class FastInterpreter:
    """Mixin for a py-evm computation class (put it first among the bases)."""

    _inline_table: list | None = None
    # opcode → a replacement logic function that the inline version also stands for
    _inline_equivalents: dict = {}
    # whether the inline SHA3 keeps 32- and 64-byte preimages in ``state.preimages`` (as the L1
    # context's SHA3 does)
    _keccak_preimages = False

    def __init__(self, state, message, transaction_context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(state, message, transaction_context)  # type: ignore[call-arg]
        known = _CODE_INFO.get(message.code)
        if known is None:
            if len(_CODE_INFO) >= 256:
                _CODE_INFO.clear()
            known = _CODE_INFO[message.code] = (set(), set(), _push_values(message.code))
        self.code.valid_positions, self.code.invalid_positions, self._push_values = known  # type: ignore[attr-defined]

    @classmethod
    def apply_computation(cls, state, message, transaction_context, parent_computation=None):  # type: ignore[no-untyped-def]
        if cls.logger.show_debug2:  # type: ignore[attr-defined]
            return super().apply_computation(state, message, transaction_context, parent_computation)  # type: ignore[misc]
        with cls(state, message, transaction_context) as computation:
            # as py-evm: the created-contracts list is shared down the call tree
            if computation.is_origin_computation:
                computation.contracts_created = []
                if message.is_create:
                    cls.consume_initcode_gas_cost(computation)  # type: ignore[attr-defined]
            if parent_computation is not None:
                computation.contracts_created = parent_computation.contracts_created
            if message.is_create:
                computation.contracts_created.append(message.storage_address)
            precompile = computation.precompiles.get(message.code_address, _NO_RESULT)
            if precompile is not _NO_RESULT:
                if not message.is_delegation:
                    precompile(computation)
                return computation
            table = cls.__dict__.get("_inline_table")
            if table is None:
                table = _inline_gas(cls)
                cls._inline_table = table
            _run(computation, table, computation.state.preimages if cls._keccak_preimages else None)
        return computation


def _run(computation: Any, table: list, preimages: dict | None) -> None:  # noqa: C901 - one loop on purpose: calls cost
    """Run ``computation``'s code from its program counter. Stack operand fetches and their
    conversions are written out in each opcode's branch on purpose: a helper call per opcode
    cost more than most opcodes themselves."""
    code = computation.code
    raw = code._raw_code_bytes
    size = len(raw)
    valid = code.valid_positions
    values = computation._stack.values
    push = values.append
    pop = values.pop
    meter = computation._gas_meter
    opcodes = computation.opcodes
    mem = computation._memory
    msg = computation.msg
    pushes = computation._push_values
    pc = code.program_counter
    try:
        while pc < size:
            op = raw[pc]
            pc += 1
            cost = table[op]
            if cost is None:
                code.program_counter = pc
                fn = opcodes.get(op)
                if fn is None:
                    fn = InvalidOpcode(op)
                try:
                    fn(computation=computation)
                except Halt:
                    return
                except IndexError as exc:  # not a stack underflow of ours: py-evm's own fault
                    raise RuntimeError(f"opcode 0x{op:02x} failed: {exc!r}") from exc
                pc = code.program_counter
                continue
            gas = meter.gas_remaining
            if cost > gas:
                raise _out_of_gas(cost, gas, opcodes[op].mnemonic)
            meter.gas_remaining = gas - cost
            if op >= 0x60:
                if op < 0x80:  # PUSH1..PUSH32
                    n = op - 0x5F
                    if len(values) > 1023:
                        raise FullStack("Stack limit reached")
                    # a PUSH reached only through data (never: jumps land on JUMPDESTs) is absent
                    value = pushes.get(pc)
                    if value is None:
                        value = int.from_bytes(raw[pc:pc + n].ljust(n, b"\x00"), "big")
                    push(value)
                    pc += n
                elif op < 0x90:  # DUP1..DUP16
                    if len(values) > 1023:
                        raise FullStack("Stack limit reached")
                    try:
                        push(values[0x7F - op])
                    except IndexError:
                        raise InsufficientStack(f"Insufficient stack items for DUP{op - 0x7F}") from None
                else:  # SWAP1..SWAP16
                    i = 0x8E - op
                    try:
                        values[-1], values[i] = values[i], values[-1]
                    except IndexError:
                        raise InsufficientStack(f"Insufficient stack items for SWAP{op - 0x8F}") from None
                continue
            if op == _JUMPDEST:
                continue
            if op == 0x56 or op == 0x57:  # JUMP, JUMPI
                dest = pop()
                if dest.__class__ is not int:
                    dest = int.from_bytes(dest, "big")
                if op == 0x57:
                    cond = pop()
                    if not (cond if cond.__class__ is int else int.from_bytes(cond, "big")):
                        continue
                if dest >= size or raw[dest] != _JUMPDEST:
                    code.program_counter = dest
                    raise InvalidJumpDestination("Invalid Jump Destination")
                if dest not in valid and not code.is_valid_opcode(dest):
                    code.program_counter = dest
                    raise InvalidInstruction("Jump resulted in invalid instruction")
                pc = dest
                continue
            if op == 0x50:  # POP
                pop()
                continue
            if op == 0x5F:  # PUSH0
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                push(0)
                continue
            if op == 0x51 or op == 0x52:  # MLOAD, MSTORE
                start = pop()
                if start.__class__ is not int:
                    start = int.from_bytes(start, "big")
                if op == 0x52:
                    v = pop()
                    v = v.to_bytes(32, "big") if v.__class__ is int else v.rjust(32, b"\x00")[-32:]
                end = start + 32
                if end > len(mem._bytes):
                    code.program_counter = pc
                    computation.extend_memory(start, 32)
                if op == 0x52:
                    mem._bytes[start:end] = v
                else:
                    if len(values) > 1023:
                        raise FullStack("Stack limit reached")
                    push(int.from_bytes(mem._bytes[start:end], "big"))
                continue
            if op == 0x20:  # KECCAK256
                start = pop()
                n = pop()
                if start.__class__ is not int:
                    start = int.from_bytes(start, "big")
                if n.__class__ is not int:
                    n = int.from_bytes(n, "big")
                if n and start + n > len(mem._bytes):
                    code.program_counter = pc
                    computation.extend_memory(start, n)
                words = 6 * ((n + 31) >> 5)
                gas = meter.gas_remaining
                if words > gas:
                    raise _out_of_gas(words, gas, "SHA3: word gas cost")
                meter.gas_remaining = gas - words
                data = bytes(mem._bytes[start:start + n]) if n else b""
                digest = keccak(data)
                if preimages is not None and (n == 32 or n == 64):
                    preimages[int.from_bytes(digest, "big")] = data
                push(digest)
                continue
            if op == 0x15:  # ISZERO
                a = pop()
                push(0 if (a if a.__class__ is int else int.from_bytes(a, "big")) else 1)
                continue
            if op == 0x19:  # NOT
                a = pop()
                push(_MASK ^ (a if a.__class__ is int else int.from_bytes(a, "big")))
                continue
            if op == 0x35:  # CALLDATALOAD
                start = pop()
                if start.__class__ is not int:
                    start = int.from_bytes(start, "big")
                push(int.from_bytes(msg.data_as_bytes[start:start + 32].ljust(32, b"\x00"), "big"))
                continue
            if op == 0x34 or op == 0x36:  # CALLVALUE, CALLDATASIZE
                if len(values) > 1023:
                    raise FullStack("Stack limit reached")
                push(msg.value if op == 0x34 else len(msg.data))
                continue
            # binary operators: a is the top of the stack, b the one below
            a = pop()
            b = pop()
            if a.__class__ is not int:
                a = int.from_bytes(a, "big")
            if b.__class__ is not int:
                b = int.from_bytes(b, "big")
            if op == 0x01:
                push((a + b) & _MASK)
            elif op == 0x03:
                push((a - b) & _MASK)
            elif op == 0x16:
                push(a & b)
            elif op == 0x14:
                push(1 if a == b else 0)
            elif op == 0x10:
                push(1 if a < b else 0)
            elif op == 0x11:
                push(1 if a > b else 0)
            elif op == 0x1B:
                push(0 if a >= 256 else (b << a) & _MASK)
            elif op == 0x1C:
                push(0 if a >= 256 else b >> a)
            elif op == 0x17:
                push(a | b)
            elif op == 0x18:
                push(a ^ b)
            elif op == 0x02:
                push((a * b) & _MASK)
            elif op == 0x04:
                push(a // b if b else 0)
            elif op == 0x12 or op == 0x13:
                sa = a - (1 << 256) if a & _SIGN else a
                sb = b - (1 << 256) if b & _SIGN else b
                push(1 if (sa < sb if op == 0x12 else sa > sb) else 0)
            else:  # a table entry without an inline version: cannot happen
                raise AssertionError(f"opcode 0x{op:02x} has no inline version")
    except IndexError:
        code.program_counter = pc
        raise InsufficientStack("Stack underflow") from None
    code.program_counter = pc  # past the end: as py-evm's code stream, a STOP
