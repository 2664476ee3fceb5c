"""A transaction's call tree for people (``booster_traceTransaction``, shown by ``booster trace``):
geth's callTracer frames (tracing.py, with the L1 code's frames nested under the precompile's)
with what booster knows added to each frame — the registered L1 contract's name, the function
called and its arguments, the revert reason (custom errors decoded), the events decoded, and the
L1 slots the frame wrote named through the storage layouts, as ``delta show`` names them.

Names come from the contracts ``booster deploy`` registered, which are L1 contracts: an L2
frame's address is only shown (an L2 contract may sit at an L1 contract's address)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .abicodec import decode as abi_decode
from .abicodec import to_checksum_address
from .errors import RpcError
from .txinfo import _function_of, decode_log, known, revert_reason

if TYPE_CHECKING:
    from .node import Node

PRECOMPILE_NAMES = {
    "0x0000000000000000000000000000000000001001": "L1CALL",
    "0x0000000000000000000000000000000000001002": "L1SANDBOXCALL",
    "0x0000000000000000000000000000000000001003": "L1DELEGATECALL",
}


def trace_view(node: "Node", tx_hash: object) -> dict:
    from .tracerun import trace_transaction
    from .tracing import Tracer

    ex = node.executor
    with ex.lock:
        key, rec = known(ex, tx_hash)
        try:
            top = trace_transaction(ex, key, Tracer("callTracer", {"withLog": True, "withL1Writes": True}))
        except RpcError as exc:
            if rec.dropped:
                raise RpcError(f"transaction 0x{key.hex()} was dropped: {rec.dropped}", -32000) from None
            if rec.block_number < 0:
                raise RpcError(f"transaction 0x{key.hex()} is not in a block yet", -32000) from None
            raise exc from None
        pending = rec.block_number >= ex.batch.first_block
        preimages = ex.view.preimages if pending else {}
    contracts = node.store.meta("contracts", {})
    _describe(node, top, contracts, preimages)
    return {"tx_hash": "0x" + key.hex(), "l2_block": rec.block_number, "pending": pending, "trace": top}


def _describe(node: "Node", top: dict, contracts: dict, preimages: dict) -> None:
    stack = [top]
    while stack:  # iterative: frames nest up to 1,024 deep
        frame = stack.pop()
        layer = frame.get("layer", "L2")
        to = to_checksum_address(frame["to"])
        known = contracts.get(to) if layer == "L1" or frame.get("codeLayer") == "L1" else None
        frame["name"] = PRECOMPILE_NAMES.get(frame["to"]) or (known or {}).get("name")
        data = bytes.fromhex(frame["input"][2:])
        signature = _function_of(known or {}, data) if known and frame["type"] not in ("CREATE", "CREATE2") else None
        frame["function"] = signature
        if signature:
            frame["args"] = _arguments(signature, data[4:])
        if frame.get("error") and frame.get("output"):
            frame["revertReason"] = revert_reason(bytes.fromhex(frame["output"][2:]), contracts, to)
        frame["events"] = [decode_log({**log, "address": to_checksum_address(log["address"])}, contracts, "l1" if layer == "L1" else "l2") for log in frame.get("logs", ())]
        writes = [{"contract": to_checksum_address(w["contract"]), "slot": w["slot"], "before": w["before"], "after": w["after"]} for w in frame.get("l1Writes", ())]
        frame["l1Writes"] = node.labelled(writes, preimages) if writes else []
        stack.extend(frame.get("calls", ()))


def _arguments(signature: str, data: bytes) -> list[str] | None:
    from .abi import format_value, parse_signature

    try:
        types = parse_signature(signature).inputs
        values = abi_decode(types, data)
    except Exception:  # noqa: BLE001 - calldata that does not decode is shown raw
        return None
    return [to_checksum_address(v) if t == "address" else format_value(v) for t, v in zip(types, values)]


__all__ = ["trace_view"]
