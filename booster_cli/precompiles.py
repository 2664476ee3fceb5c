"""The booster precompiles on L2: L1CALL (0x…1001), L1SANDBOXCALL (0x…1002), L1DELEGATECALL (0x…1003).

Input of each: ``abi.encode(address target, bytes data)``; output: the raw return data; a revert
of the L1 code reverts the precompile with the same data. ``msg.value`` must be 0.

Gas: a call costs ``L1CALL_BASE_GAS`` plus the gas the L1 code used (refunds of the L1
computation are not passed on). All remaining gas of the precompile call is offered to the L1
code; callers bound it with the CALL's gas argument, as with any call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth.exceptions import Revert, VMError
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from eth.vm.message import Message

from .l1context import run_l1_call

if TYPE_CHECKING:
    from eth.abc import ComputationAPI

L1CALL_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001001")
L1SANDBOXCALL_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001002")
L1DELEGATECALL_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001003")
L1CALL_BASE_GAS = 2_600  # the cost of a cold account access on L1

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


def error_data(message: str) -> bytes:
    return ERROR_SELECTOR + abi_encode(["string"], [message])


def _revert(computation: "ComputationAPI", message: str) -> None:
    computation.output = error_data(message)
    raise Revert(computation.output)


def decode_call_input(data: bytes) -> tuple[bytes, bytes]:
    """``abi.encode(address target, bytes data)`` → (target, data). The canonical encoding (what
    ``abi.encode`` produces) is read directly; anything else goes through eth_abi's decoder."""
    if len(data) >= 96 and not any(data[:12]) and int.from_bytes(data[32:64], "big") == 64:
        size = int.from_bytes(data[64:96], "big")
        end = 96 + size
        if len(data) == end + (-size % 32) and not any(data[end:]):
            return data[12:32], data[96:end]
    target, calldata = abi_decode(["address", "bytes"], data)
    return bytes.fromhex(target[2:]), calldata


def _prepare(computation: "ComputationAPI", name: str) -> tuple[bytes, bytes]:
    if computation.msg.value:
        _revert(computation, f"booster: msg.value must be 0 for {name} (ETH cannot move on L1 through a state delta)")
    try:
        target, calldata = decode_call_input(bytes(computation.msg.data))
    except Exception:
        _revert(computation, f"booster: {name} input must be abi.encode(address target, bytes data)")
    computation.consume_gas(L1CALL_BASE_GAS, reason=f"{name} base cost")
    return target, calldata


DELEGATION_PREFIX = b"\xef\x01\x00"  # EIP-7702: an EOA's code pointing at another account's


def _caller_identity_refusal(computation: "ComputationAPI", view) -> str | None:  # type: ignore[no-untyped-def]
    """Why L1 code must not see this precompile call's ``msg.sender``, or None.

    The rule (see docs/design.md, "Who is msg.sender on L1"): an address means the same owner on
    both layers only where the owner is the same. An EOA is one key on both, so a transaction's
    signer (``msg.sender == tx.origin``, no L2 code) and an EOA running its EIP-7702 delegation
    act as themselves. An L2 contract — deployed, or still in its constructor — acts on L1 only
    where L1 holds no code at its address, or exactly its code: otherwise CREATE on L2 (same
    deployer, same nonce) would let anyone who controls the deployer on L2 impersonate the L1
    contract there, above all the settlement contract, whose deployer's key is public."""
    sender = computation.msg.sender
    state = computation.state
    l2_code = state.get_code(sender)
    is_contract = (sender != computation.transaction_context.origin or l2_code) and not l2_code.startswith(DELEGATION_PREFIX)
    if not is_contract:
        return None
    l1_code = view.get_code(sender)
    if not l1_code or l1_code == l2_code:
        return None
    from eth_utils import to_checksum_address

    who = to_checksum_address(sender)
    what = "the settlement contract" if sender == view.settlement else f"a different contract ({len(l1_code)} bytes of code)"
    l2_what = "is being constructed" if not l2_code else f"has {len(l2_code)} bytes of code"
    return (
        f"booster: msg.sender {who} is an L2 contract that {l2_what}, but on L1 that address holds {what}; "
        "L1 code may see an L2 contract as its caller only where L1 holds no code or the same code at its address"
    )


def _run_in_l1(computation: "ComputationAPI", name: str, keep_writes: bool) -> "ComputationAPI":
    target, calldata = _prepare(computation, name)
    msg = computation.msg
    refusal = _caller_identity_refusal(computation, computation.state.l1_view)
    if refusal:
        _revert(computation, refusal)
    result = run_l1_call(
        computation.state.l1_view,
        sender=msg.sender,
        origin=computation.transaction_context.origin,
        target=target,
        data=calldata,
        gas=computation.get_gas_remaining(),
        is_static=msg.is_static,
        keep_writes=keep_writes,
    )
    computation.consume_gas(result.gas_used, reason=f"{name} execution")
    for address, topics, data in result.logs:
        computation.add_log_entry(address, topics, data)
    if result.logs:  # which of the receipt's logs L1 code emitted (see l1_log_positions)
        computation.booster_l1_logs = {entry[0] for entry in computation._log_entries[-len(result.logs):]}
    if result.refusal:
        _revert(computation, "booster: " + result.refusal)
    if not result.success:
        if result.is_revert:
            computation.output = result.output
            raise Revert(result.output)
        raise VMError(f"{name} to 0x{target.hex()} failed: {result.error}")
    computation.output = result.output
    if keep_writes:
        computation.booster_l1_call = L1Call(msg.sender, target, calldata)
    return computation


@dataclass(frozen=True)
class L1Call:
    """An L1CALL that took effect: what the same work is as an L1 transaction (``booster report``
    replays these on anvil)."""

    sender: bytes  # msg.sender of the L1 code: the replay's L1 sender
    target: bytes
    data: bytes


def l1_calls_of(computation: "ComputationAPI") -> list[L1Call]:
    """The L1CALLs of a finished transaction's computation whose effects stayed (none inside a
    reverted frame), in the order they ran. L1SANDBOXCALL and L1DELEGATECALL leave nothing on L1."""
    calls: list[L1Call] = []
    stack = [computation]
    while stack:  # pre-order, children in call order; iterative: frames nest up to 1,024 deep
        c = stack.pop()
        if c.is_error:
            continue
        call = getattr(c, "booster_l1_call", None)
        if call is not None:
            calls.append(call)
        stack.extend(reversed(c.children))
    return calls


def l1call(computation: "ComputationAPI") -> "ComputationAPI":
    """Run L1 code against L1 state; its writes stay (the delta)."""
    return _run_in_l1(computation, "L1CALL", keep_writes=True)


def l1sandboxcall(computation: "ComputationAPI") -> "ComputationAPI":
    """Run L1 code against L1 state; its writes are thrown away when the call ends."""
    return _run_in_l1(computation, "L1SANDBOXCALL", keep_writes=False)


def l1delegatecall(computation: "ComputationAPI") -> "ComputationAPI":
    """Run the code stored on L1 at ``target`` on the L2, with the caller's L2 storage (as if the
    caller DELEGATECALLed it): ``address(this)`` and ``msg.sender`` are the caller, nothing
    reaches the delta. The code may call the booster precompiles: it runs in the L2 context."""
    target, calldata = _prepare(computation, "L1DELEGATECALL")
    msg = computation.msg
    code = computation.state.l1_view.get_code(target)
    gas = computation.get_gas_remaining()
    computation.consume_gas(gas, reason="L1DELEGATECALL gas for the L1 code")
    child = Message(
        gas=gas,
        to=msg.sender,
        sender=msg.sender,
        value=0,
        data=calldata,
        code=code,
        depth=msg.depth + 1,
        code_address=target,
        should_transfer_value=False,
        is_static=msg.is_static,
    )
    result = computation.apply_child_computation(child)
    if result.is_error:
        if isinstance(result.error, Revert):
            computation.return_gas(result.get_gas_remaining())
            computation.output = result.output
            raise Revert(result.output)
        raise VMError(f"L1DELEGATECALL to 0x{target.hex()} failed: {result.error}")
    computation.return_gas(result.get_gas_remaining())
    computation.output = result.output
    return computation


BOOSTER_PRECOMPILES = {
    L1CALL_ADDRESS: l1call,
    L1SANDBOXCALL_ADDRESS: l1sandboxcall,
    L1DELEGATECALL_ADDRESS: l1delegatecall,
}


def l1_log_positions(computation: "ComputationAPI") -> list[int]:
    """The positions, among a finished transaction's logs (its receipt's), of those emitted by
    L1 code through the precompiles: in the receipt they look like any other log."""
    counters: set[int] = set()
    stack = [computation]
    while stack:  # iterative: frames nest up to 1,024 deep
        c = stack.pop()
        counters |= getattr(c, "booster_l1_logs", set())
        stack.extend(c.children)
    if not counters:
        return []
    return [i for i, entry in enumerate(computation.get_raw_log_entries()) if entry[0] in counters]

