"""The booster precompiles on L2. L1CALL runs L1 code against the L1 view and keeps its writes.

Gas: a call costs ``L1CALL_BASE_GAS`` plus the gas the L1 computation used (refunds of the L1
computation are not passed on). All remaining gas of the precompile call is offered to L1 code;
callers bound it with the CALL's gas argument, as with any call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth.exceptions import Revert, VMError
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

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
    """``abi.encode(address target, bytes data)`` → (target, data)."""
    target, calldata = abi_decode(["address", "bytes"], data)
    return bytes.fromhex(target[2:]), calldata


def l1call(computation: "ComputationAPI") -> "ComputationAPI":
    msg = computation.msg
    if msg.value:
        _revert(computation, "booster: msg.value must be 0 for L1CALL (ETH cannot move on L1 through a state delta)")
    try:
        target, calldata = decode_call_input(bytes(msg.data))
    except Exception:
        _revert(computation, "booster: L1CALL input must be abi.encode(address target, bytes data)")
    computation.consume_gas(L1CALL_BASE_GAS, reason="L1CALL base cost")
    view = computation.state.l1_view
    result = run_l1_call(
        view,
        sender=msg.sender,
        origin=computation.transaction_context.origin,
        target=target,
        data=calldata,
        gas=computation.get_gas_remaining(),
        is_static=msg.is_static,
    )
    computation.consume_gas(result.gas_used, reason="L1CALL execution")
    for address, topics, data in result.logs:
        computation.add_log_entry(address, topics, data)
    if not result.success:
        if result.is_revert:
            computation.output = result.output
            raise Revert(result.output)
        if result.error.startswith("not allowed"):
            _revert(computation, "booster: " + result.error)
        raise VMError(f"L1CALL to 0x{target.hex()} failed: {result.error}")
    computation.output = result.output
    return computation


BOOSTER_PRECOMPILES = {L1CALL_ADDRESS: l1call}
