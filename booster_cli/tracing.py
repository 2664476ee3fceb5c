"""Tracing L2 transactions across layers: geth's ``callTracer``, ``prestateTracer`` and struct
logger (``debug_traceTransaction`` / ``debug_traceCall``), with the L1 code that the booster
precompiles ran nested where it ran.

A traced run uses computation classes made for it (``Tracer.l2_class`` / ``l1_class``): py-evm's
own interpreter loop (not fastevm's inline one, which has no place to look between opcodes), each
frame's start and end recorded (``apply_computation``), the CALL/CREATE opcodes noting which kind
of frame they open, and with the struct logger every opcode wrapped. The L1 context picks its
classes from ``L1View.tracer`` (see l1context._execute). Nothing of this is on the path of an
untraced transaction.

How L1 shows (docs/commands.md, "Traces across layers"):
- callTracer: the frame of a call to a booster precompile (``to`` 0x…1001/1002/1003) holds, as its
  child, the L1 code's frame: from the L2 caller (the L1 code's ``msg.sender``) to the L1
  contract, and every frame under it, each with ``"layer": "L1"``. L1DELEGATECALL's child is a
  DELEGATECALL frame to the L1 address whose code ran on the caller's L2 storage, with
  ``"codeLayer": "L1"``. With ``withL1Writes`` (booster's own option) an L1 frame lists the L1
  slots it wrote (``l1Writes``: contract, slot, before, after; a reverted frame's writes were
  undone). L2 frames have no ``layer`` field: a plain transaction's trace
  is geth's, field for field.
- prestateTracer: L2 accounts as geth has them; the L1 accounts and slots the transaction read or
  wrote under one more key, ``"l1"`` (address → account), in both modes.
- struct logger: L1 opcodes carry ``"layer": "L1"``; their depth continues from the precompile's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth.abc import ComputationAPI
from eth.exceptions import (
    ContractCreationCollision,
    Halt,
    InsufficientFunds,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
    Revert,
    StackDepthLimit,
    WriteProtection,
)
from eth.vm.opcode_values import CALL, CALLCODE, CREATE, CREATE2, DELEGATECALL, SLOAD, SSTORE, STATICCALL

from .fastevm import FastInterpreter
from .l1context import L1AccountDB
from .precompiles import ERROR_SELECTOR, L1CALL_ADDRESS, L1DELEGATECALL_ADDRESS, L1SANDBOXCALL_ADDRESS

_KINDS = {CALL: "CALL", CALLCODE: "CALLCODE", DELEGATECALL: "DELEGATECALL", STATICCALL: "STATICCALL", CREATE: "CREATE", CREATE2: "CREATE2"}
_L1_PRECOMPILES = (L1CALL_ADDRESS, L1SANDBOXCALL_ADDRESS, L1DELEGATECALL_ADDRESS)
TRACERS = ("callTracer", "prestateTracer")
_PANICS = {
    0x01: "assert(false)", 0x11: "arithmetic underflow or overflow", 0x12: "division or modulo by zero",
    0x21: "enum overflow", 0x22: "invalid encoded storage byte array accessed", 0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN", 0x41: "out of memory", 0x51: "uninitialized function",
}


def _hex(value: int) -> str:
    return hex(value)


def _data(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _address(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


# geth's words for a frame's error, by py-evm's exception (the first that matches)
_ERRORS = (
    (Revert, "execution reverted"), (OutOfGas, "out of gas"), (InvalidJumpDestination, "invalid jump destination"),
    (WriteProtection, "write protection"), (StackDepthLimit, "max call depth exceeded"),
    (InsufficientFunds, "insufficient balance for transfer"), (ContractCreationCollision, "contract address collision"),
)


def error_string(error: Exception) -> str:
    """geth's words for a frame's error."""
    for kind, words in _ERRORS:
        if isinstance(error, kind):
            return words
    if isinstance(error, InvalidInstruction):
        return f"invalid opcode: {error}" if str(error) else "invalid opcode"
    return str(error) or type(error).__name__


def revert_reason(output: bytes) -> str | None:
    """The reason of a revert with ``Error(string)`` or ``Panic(uint256)`` data, else None."""
    from .abicodec import decode

    output = bytes(output)
    try:
        if output[:4] == ERROR_SELECTOR:
            return decode(["string"], output[4:])[0]
        if output[:4] == bytes.fromhex("4e487b71") and len(output) == 36:
            code = int.from_bytes(output[4:], "big")
            return _PANICS.get(code, f"unknown panic code: {code:#x}")
    except Exception:  # noqa: BLE001 - malformed data has no reason
        return None
    return None


@dataclass
class Frame:
    kind: str
    sender: bytes
    to: bytes
    value: int | None
    gas: int
    input: bytes
    layer: str  # "L2" or "L1"
    code_layer: str = ""  # "L1" for L1DELEGATECALL's frame (L1 code on L2 storage)
    sandbox: bool = False  # under an L1SANDBOXCALL: its L1 writes and logs are thrown away
    gas_used: int = 0
    output: bytes | None = None
    error: str = ""
    reason: str | None = None
    calls: list["Frame"] = field(default_factory=list)
    logs: list[tuple[int, bytes, tuple, bytes, int | None]] = field(default_factory=list)  # (position, address, topics, data, index)
    l1_writes: list[tuple[bytes, int, int, int]] = field(default_factory=list)  # (contract, slot, before, after)

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def to_json(self, with_log: bool = False, with_l1_writes: bool = False, only_top: bool = False) -> dict:
        out: dict[str, Any] = {"from": _address(self.sender), "gas": _hex(self.gas), "gasUsed": _hex(self.gas_used), "to": _address(self.to), "input": _data(self.input)}
        if self.error and self.kind in ("CREATE", "CREATE2"):
            del out["to"]  # as geth: a creation that failed created nothing
        if self.output:  # geth's omitempty: no output field for empty output
            out["output"] = _data(self.output)
        if self.error:
            out["error"] = self.error
            if self.reason is not None:
                out["revertReason"] = self.reason
        if self.calls and not only_top:
            out["calls"] = [c.to_json(with_log, with_l1_writes) for c in self.calls]
        if with_log and self.logs:
            out["logs"] = [
                {"address": _address(a), "topics": [_word(t) for t in topics], "data": _data(d), "position": _hex(p), **({"index": _hex(i)} if i is not None else {})}
                for p, a, topics, d, i in self.logs
            ]
        if self.value is not None:
            out["value"] = _hex(self.value)
        out["type"] = self.kind
        if self.layer == "L1":
            out["layer"] = "L1"
        if self.code_layer:
            out["codeLayer"] = self.code_layer
        if with_l1_writes and self.l1_writes:
            out["l1Writes"] = [{"contract": _address(a), "slot": _word(s), "before": _word(b), "after": _word(v)} for a, s, b, v in self.l1_writes]
        return out


class _KindNote:
    """A CALL/CREATE opcode that tells the tracer which kind of frame it opens."""

    def __init__(self, opcode: Any, kind: str, tracer: "Tracer") -> None:
        self.opcode, self.kind, self.tracer = opcode, kind, tracer
        self.mnemonic = mnemonic(opcode, kind)

    def __call__(self, computation: ComputationAPI) -> None:
        self.tracer.next_kind = self.kind
        try:
            self.opcode(computation=computation)
        finally:
            self.tracer.next_kind = None


class _Stepped:
    """An opcode that adds a struct log entry (the default tracer) before it runs."""

    def __init__(self, opcode: Any, tracer: "Tracer", layer: str, code: int) -> None:
        self.opcode, self.tracer, self.layer, self.code = opcode, tracer, layer, code
        self.mnemonic = mnemonic(opcode, f"opcode {code:#04x}")

    def __call__(self, computation: ComputationAPI) -> None:
        self.tracer.step(computation, self, self.layer, self.code)


def mnemonic(opcode: Any, default: str) -> str:
    """An opcode's name (py-evm wraps some in plain functions, as its own debug log knows)."""
    return getattr(opcode, "mnemonic", None) or getattr(getattr(opcode, "__wrapped__", None), "mnemonic", None) or default


class Tracer:
    """One traced run. ``kind``: "callTracer", "prestateTracer" or "" (the struct logger)."""

    def __init__(self, kind: str = "callTracer", config: dict | None = None, options: dict | None = None) -> None:
        config, options = config or {}, options or {}
        self.kind = kind
        self.with_log = bool(config.get("withLog"))
        self.only_top = bool(config.get("onlyTopCall"))
        self.with_l1_writes = bool(config.get("withL1Writes"))
        self.diff_mode = bool(config.get("diffMode"))
        self.struct = kind == ""
        self.memory = bool(options.get("enableMemory"))
        self.stack = not options.get("disableStack")
        self.storage = not options.get("disableStorage")
        self.return_data = bool(options.get("enableReturnData"))
        self.frames: list[Frame] = []
        self.root: Frame | None = None
        self.next_kind: str | None = None
        self.log_index = 0
        self.steps: list[dict] = []
        self.touched: dict[bytes, set[int]] = {}  # L2 address → slots
        self.created: set[bytes] = set()  # contracts the run created (not in a diff's "pre", as geth)
        self.l1_touched: dict[bytes, set[int]] = {}
        self.l1_pre: dict[tuple, Any] = {}  # ("storage", address, slot) / ("account", address) → value before the transaction
        self._step_storage: dict[bytes, dict[int, int]] = {}
        # struct logger: the opcodes running (entry, computation, whether a frame they opened has
        # set the entry's gas cost), innermost last
        self._running: list[tuple[dict, Any, Any]] = []
        self._after: dict[int, int] = {}  # a running computation's program counter after its last step
        self.l2_class: type | None = None
        self.l1_class: type | None = None
        # called with the state at the end of a traced call, before it is thrown away (tracerun)
        self.finish: Any = None

    # -- classes for one traced run --
    def attach(self, state: Any, view: Any) -> None:
        """Trace what runs on the L2 ``state`` from now on, and on the L1 ``view`` (an
        ``L1View``; None: no L1 code can run there)."""
        from .l1context import L1Computation

        self.l2_class = self._traced(state.computation_class, "L2")
        self.l1_class = self._traced(L1Computation, "L1")
        state.computation_class = self.l2_class
        if view is not None:
            view.tracer = self
        if self.kind == "prestateTracer":
            self.watch_l2(state)

    def _traced(self, base: type, layer: str) -> type:
        tracer = self
        opcodes = dict(base.opcodes)
        for code, kind in _KINDS.items():
            if code in opcodes:
                opcodes[code] = _KindNote(opcodes[code], kind, tracer)
        if self.struct:
            opcodes = {code: _Stepped(op, tracer, layer, code) for code, op in opcodes.items()}

        def apply_computation(cls, state, message, transaction_context, parent_computation=None):  # type: ignore[no-untyped-def]
            frame = tracer.enter(layer, message, state)
            computation = super(FastInterpreter, cls).apply_computation(state, message, transaction_context, parent_computation)
            if not message.is_create:  # a creation's frame ends after its code is deposited
                tracer.exit(frame, computation)
            return computation

        def apply_create_message(cls, state, message, transaction_context, parent_computation=None):  # type: ignore[no-untyped-def]
            depth = len(tracer.frames)
            computation = super(traced, cls).apply_create_message(state, message, transaction_context, parent_computation)
            if len(tracer.frames) > depth:  # refused before it ran (an address collision): no frame
                tracer.exit(tracer.frames[-1], computation)
            return computation

        def add_log_entry(self, account, topics, data):  # type: ignore[no-untyped-def]
            super(traced, self).add_log_entry(account, topics, data)
            tracer.log(account, topics, data)

        traced = type(base.__name__, (base,), {
            "opcodes": opcodes, "apply_computation": classmethod(apply_computation),
            "apply_create_message": classmethod(apply_create_message), "add_log_entry": add_log_entry,
        })
        return traced

    # -- frames --
    def enter(self, layer: str, message: Any, state: Any) -> Frame:
        parent = self.frames[-1] if self.frames else None
        kind, self.next_kind = self.next_kind, None
        if self._running and self._running[-1][2] is None:
            # the CALL/CREATE opcode opening this frame costs, as geth counts, what it took
            # before the frame started: its own cost and the gas it passed on
            entry, caller, _ = self._running[-1]
            entry["gasCost"] = entry["gas"] - caller.get_gas_remaining()
            self._running[-1] = (entry, caller, True)
        code_layer = ""
        sandbox = bool(parent and (parent.sandbox or parent.to == L1SANDBOXCALL_ADDRESS and layer == "L1"))
        if parent is not None and parent.layer == "L2" and parent.to == L1DELEGATECALL_ADDRESS and layer == "L2" and kind is None:
            kind, code_layer = "DELEGATECALL", "L1"
        if kind is None:  # the transaction's own frame, or the L1 code's first frame
            kind = "CREATE" if message.is_create else ("STATICCALL" if message.is_static and layer == "L1" else "CALL")
        if message.is_create:
            sender, to, data = message.sender, message.storage_address, message.code
        elif kind in ("DELEGATECALL", "CALLCODE"):
            sender, to, data = message.storage_address, message.code_address, message.data
        else:
            sender, to, data = message.sender, message.storage_address, message.data
        value = None if kind == "STATICCALL" else message.value
        frame = Frame(kind, sender, to, value, message.gas, bytes(data), layer, code_layer, sandbox)
        if parent is None:
            self.root = frame
        else:
            parent.calls.append(frame)
        self.frames.append(frame)
        self._touch(state, layer, to)
        return frame

    def exit(self, frame: Frame, computation: ComputationAPI) -> None:
        self._after.pop(id(computation), None)
        popped = self.frames.pop()
        assert popped is frame, "trace frames out of order"
        if frame.kind in ("CREATE", "CREATE2") and not computation.is_error and frame.layer == "L2":
            self.created.add(frame.to)
        frame.gas_used = frame.gas - computation.get_gas_remaining()
        if computation.is_error:
            frame.error = error_string(computation.error)
            if isinstance(computation.error, Revert):
                frame.output = bytes(computation.output)
                frame.reason = revert_reason(computation.output)
            else:
                frame.output = None
                frame.gas_used = frame.gas
        else:
            frame.output = bytes(computation.output)

    def log(self, address: bytes, topics: Any, data: bytes) -> None:
        frame = self.frames[-1]
        if frame.layer == "L2" and frame.to in _L1_PRECOMPILES and not frame.code_layer:
            return  # the L1 code's logs, again: recorded in its own frames
        index = None
        if not frame.sandbox:
            index, self.log_index = self.log_index, self.log_index + 1
        frame.logs.append((len(frame.calls), bytes(address), tuple(topics), bytes(data), index))

    def l1_wrote(self, address: bytes, slot: int, before: int, after: int) -> None:
        if self.frames:
            self.frames[-1].l1_writes.append((address, slot, before, after))

    # -- what was touched (prestateTracer) --
    def _touch(self, state: Any, layer: str, address: bytes) -> None:
        (self.l1_touched if layer == "L1" else self.touched).setdefault(bytes(address), set())

    def watch_l2(self, state: Any) -> None:
        """Record in ``touched`` every L2 account and slot ``state`` is asked about."""
        touched = self.touched

        def wrap(name: str, with_slot: bool = False):  # type: ignore[no-untyped-def]
            inner = getattr(state, name)
            if with_slot:
                def watched(address, slot, *args, **kwargs):  # type: ignore[no-untyped-def]
                    touched.setdefault(bytes(address), set()).add(slot)
                    return inner(address, slot, *args, **kwargs)
            else:
                def watched(address, *args, **kwargs):  # type: ignore[no-untyped-def]
                    touched.setdefault(bytes(address), set())
                    return inner(address, *args, **kwargs)
            setattr(state, name, watched)

        for name in ("get_balance", "get_nonce", "get_code", "get_code_hash", "set_balance", "delta_balance", "set_nonce", "increment_nonce",
                     "set_code", "account_exists", "account_is_empty", "delete_account", "touch_account"):
            wrap(name)
        for name in ("get_storage", "set_storage"):
            wrap(name, with_slot=True)

    def l1_db(self, view: Any) -> L1AccountDB:
        return _TracedL1AccountDB(view, self)

    # -- the struct logger --
    def step(self, computation: ComputationAPI, opcode: Any, layer: str, code: int) -> None:
        if not len(computation.code):  # no code runs no step (geth does not enter its interpreter)
            opcode.opcode(computation=computation)
            return
        # py-evm reads an opcode by moving the program counter past it, except the STOP it gives
        # for running off the code's end: that one is at the counter (geth logs it there)
        now = computation.code.program_counter
        pc = now if self._after.get(id(computation)) == now else now - 1
        gas = computation.get_gas_remaining()
        entry: dict[str, Any] = {"pc": pc, "op": opcode.mnemonic, "gas": gas, "gasCost": 0, "depth": len(self.frames)}
        if self.stack:
            entry["stack"] = [hex(v if isinstance(v, int) else int.from_bytes(v, "big")) for v in computation._stack.values]
        if self.memory:
            mem = bytes(computation._memory._bytes)
            entry["memory"] = ["0x" + mem[i:i + 32].hex() for i in range(0, len(mem), 32)]
        if self.return_data:
            entry["returnData"] = _data(computation.return_data)
        if layer == "L1":
            entry["layer"] = "L1"
        entry["refund"] = computation.get_gas_refund()
        self.steps.append(entry)
        address = bytes(computation.msg.storage_address)
        if self.storage and code in (SLOAD, SSTORE) and computation._stack.values:
            seen = self._step_storage.setdefault(address, {})
            slot = _top(computation, 0)
            if code == SSTORE and len(computation._stack.values) > 1:
                seen[slot] = _top(computation, 1)
            else:
                seen[slot] = computation.state.get_storage(address, slot)
            entry["storage"] = {_word(k): _word(v) for k, v in seen.items()}
        self._running.append((entry, computation, None))
        try:
            opcode.opcode(computation=computation)
        except Exception as exc:
            if not isinstance(exc, (Halt, Revert)):  # REVERT is no step error, as geth sees it
                entry["error"] = error_string(exc)
                entry["gasCost"] = gas  # an exceptional halt takes all the frame's gas (as anvil counts it)
                self._running[-1] = (entry, computation, True)
            raise
        finally:
            if self._running.pop()[2] is None:
                entry["gasCost"] = gas - computation.get_gas_remaining()
            self._after[id(computation)] = computation.code.program_counter

    def struct_result(self, gas_used: int, failed: bool, output: bytes) -> dict:
        return {"failed": failed, "gas": gas_used, "returnValue": _data(output), "structLogs": self.steps}


def _top(computation: ComputationAPI, depth: int) -> int:
    value = computation._stack.values[-1 - depth]
    return value if isinstance(value, int) else int.from_bytes(value, "big")


class _TracedL1AccountDB(L1AccountDB):
    """The L1 context's accounts, noting for the tracer what was read (with its value before
    the transaction's first write) and what each frame wrote."""

    def __init__(self, view: Any, tracer: Tracer) -> None:
        super().__init__(view)
        self._tracer = tracer

    def _seen_slot(self, address: bytes, slot: int) -> None:
        self._tracer.l1_touched.setdefault(bytes(address), set()).add(slot)
        self._tracer.l1_pre.setdefault(("storage", bytes(address), slot), self._view.get_storage(address, slot))

    def _seen(self, address: bytes) -> None:
        address = bytes(address)
        self._tracer.l1_touched.setdefault(address, set())
        if ("account", address) not in self._tracer.l1_pre:
            v = self._view
            self._tracer.l1_pre[("account", address)] = (v.get_balance(address), v.get_nonce(address), v.get_code(address))

    def get_storage(self, address: bytes, slot: int, from_journal: bool = True) -> int:
        self._seen(address)
        self._seen_slot(address, slot)
        return super().get_storage(address, slot, from_journal)

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        self._seen(address)
        self._seen_slot(address, slot)
        before = self._view.get_storage(address, slot)
        super().set_storage(address, slot, value)
        self._tracer.l1_wrote(bytes(address), slot, before, value)

    def get_balance(self, address: bytes) -> int:
        self._seen(address)
        return super().get_balance(address)

    def get_nonce(self, address: bytes) -> int:
        self._seen(address)
        return super().get_nonce(address)

    def get_code(self, address: bytes) -> bytes:
        self._seen(address)
        return super().get_code(address)


# -- prestateTracer's result --
def account_json(balance: int, nonce: int, code: bytes, storage: dict[int, int], keep_zero_storage: bool = True) -> dict:
    out: dict[str, Any] = {"balance": hex(balance)}
    if code:
        out["code"] = _data(code)
    if nonce:
        out["nonce"] = nonce
    slots = {_word(k): _word(v) for k, v in sorted(storage.items()) if keep_zero_storage or v}
    if slots:
        out["storage"] = slots
    return out


def prestate_result(pre: dict, post: dict | None, l1_pre: dict, l1_post: dict | None, diff: bool, created: frozenset = frozenset()) -> dict:
    """``pre``/``post``: address → (balance, nonce, code, {slot: value}, exists). geth's layout:
    without ``diff``, every touched account as it was; with it, ``pre`` holds what changed as it
    was (but the contracts the transaction ``created``; slots non-zero before) and ``post`` only
    the changed fields (slots non-zero after; an account that is gone is left out)."""

    def layer(pre_: dict, post_: dict | None) -> dict | tuple[dict, dict]:
        if not diff:
            return {_address(a): account_json(b, n, c, s) for a, (b, n, c, s, exists) in sorted(pre_.items())}
        before, after = {}, {}
        for address in sorted(pre_):
            b0, n0, c0, s0, e0 = pre_[address]
            b1, n1, c1, s1, e1 = post_[address]
            changed = {k for k in s0 if s0[k] != s1.get(k, 0)}
            if (b0, n0, c0, e0) == (b1, n1, c1, e1) and not changed:
                continue
            if address not in created:
                before[_address(address)] = account_json(b0, n0, c0, {k: s0[k] for k in changed}, keep_zero_storage=False)
            if e1:
                out: dict[str, Any] = {}
                if b1 != b0:
                    out["balance"] = hex(b1)
                if c1 != c0 and c1:
                    out["code"] = _data(c1)
                if n1 != n0:
                    out["nonce"] = n1
                slots = {_word(k): _word(s1[k]) for k in sorted(changed) if s1.get(k, 0)}
                if slots:
                    out["storage"] = slots
                after[_address(address)] = out
        return before, after

    l2 = layer(pre, post)
    l1 = layer(l1_pre, l1_post)
    if not diff:
        return {**l2, **({"l1": l1} if l1 else {})}
    (b2, a2), (b1, a1) = l2, l1
    return {"post": {**a2, **({"l1": a1} if a1 else {})}, "pre": {**b2, **({"l1": b1} if b1 else {})}}
