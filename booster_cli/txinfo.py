"""What one L2 transaction did (``booster_getTransaction``, shown by ``booster send`` and
``booster tx``): its receipt in short, its events decoded through the ABIs ``deploy`` registered
(each marked with the layer whose code emitted it), its revert reason (custom errors decoded),
and the delta entries it wrote, before → after as of that transaction, named through the
storage layouts as ``booster_getDelta`` names them.

The receipt says which logs L1 code emitted and which L1 slots the transaction wrote
(``l1Logs``, ``l1Writes``: see l2format.format_receipts); receipts from before booster kept them
have neither, and the answer says so (``delta_recorded``) rather than guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .abicodec import decode as abi_decode  # not eth_abi: the client reads revert reasons with this module
from .abicodec import keccak, to_checksum_address

from .abi import _abi_type, decode_revert, format_value
from .errors import BoosterError, UsageError

if TYPE_CHECKING:
    from .node import Node

PRECOMPILE_MODES = {
    "0x0000000000000000000000000000000000001001": "l1call",
    "0x0000000000000000000000000000000000001002": "sandbox",
    "0x0000000000000000000000000000000000001003": "delegate",
}


class TransactionNotFound(BoosterError):
    """The L2 has never accepted a transaction with this hash (exit 1)."""

    def __init__(self, tx_hash: str) -> None:
        super().__init__(f"the L2 knows no transaction {tx_hash}")


def parse_hash(value: object) -> bytes:
    if not (isinstance(value, str) and value.startswith("0x") and len(value) == 66):
        raise UsageError(f"invalid transaction hash {value!r}: expected 0x followed by 64 hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise UsageError(f"invalid transaction hash {value!r}: expected 0x followed by 64 hex digits") from None


def known(ex: Any, tx_hash: object) -> tuple[bytes, Any]:
    """(hash, the executor's record of it) for a hash the L2 accepted; under ``ex.lock``."""
    key = parse_hash(tx_hash)
    rec = ex.txs.get(key)
    if rec is None:
        raise TransactionNotFound("0x" + key.hex())
    return key, rec


def transaction_view(node: "Node", tx_hash: object) -> dict:
    ex = node.executor
    with ex.lock:
        key, rec = known(ex, tx_hash)
        if rec.dropped:
            raise BoosterError(f"transaction 0x{key.hex()} was dropped: {rec.dropped}")
        receipt = ex.receipt(key)
        if receipt is None:
            return {"tx_hash": "0x" + key.hex(), "status": None, "state": "queued", "events": [], "delta": [], "delta_recorded": True}
        tx = ex.chain.get_canonical_block_by_number(int(receipt["blockNumber"], 16)).transactions[int(receipt["transactionIndex"], 16)]
        pending = int(receipt["blockNumber"], 16) >= ex.batch.first_block
        writes = receipt.get("l1Writes")
        # a settled batch's mapping keys are gone with its pending state: plain variables only,
        # and what its settled diff named (see _settled_labels)
        delta = node.labelled(writes, None if pending else {}) if writes else []
    contracts = node.store.meta("contracts", {})
    to = to_checksum_address(tx.to) if tx.to else None
    mode = PRECOMPILE_MODES.get((to or "").lower(), "l2")
    target, data = to, bytes(tx.data)
    if mode != "l2":
        try:
            raw_target, data = abi_decode(["address", "bytes"], data)
            target = to_checksum_address(raw_target)
        except Exception:  # not abi.encode(target, data): the precompile reverted on it
            target = None
    view: dict[str, Any] = {
        "tx_hash": "0x" + key.hex(),
        "status": int(receipt["status"], 16),
        "l2_block": int(receipt["blockNumber"], 16),
        "gas_used": int(receipt["gasUsed"], 16),
        "from": receipt["from"],
        "to": to,
        "mode": mode,
        "target": target,
        "target_name": (contracts.get(target) or {}).get("name") if target else None,
        "function": _function_of(contracts.get(target) or {}, data) if target else None,
    }
    if view["status"] == 0:
        raw = receipt.get("revertReason") or "0x"
        view["revert_reason"] = revert_reason(bytes.fromhex(raw[2:]), contracts, target)
        view["revert_data"] = raw
    l1_logs = set(receipt.get("l1Logs") or ())
    view["events"] = [decode_log(log, contracts, "l1" if i in l1_logs else "l2") for i, log in enumerate(receipt["logs"])]
    if not pending:
        delta = _settled_labels(node.history, view["l2_block"], delta)
    view["delta"] = delta
    view["delta_recorded"] = writes is not None
    view["batch"] = {"settled": not pending, "number": None if pending else _batch_of(node.history, view["l2_block"])}
    return view


def _function_of(contract: dict, data: bytes) -> str | None:
    selector = data[:4]
    return next((f for f in contract.get("functions") or () if keccak(f.encode())[:4] == selector), None)


def _items(contracts: dict, kind: str, preferred: str | None) -> list[tuple[str, dict]]:
    """(contract name, ABI item) of every registered ``kind`` item, ``preferred``'s first."""
    order = sorted(contracts.items(), key=lambda c: (preferred is None or c[0].lower() != preferred.lower()))
    return [(c.get("name"), item) for _, c in order for item in c.get("abi") or () if item.get("type") == kind]


def _show(abi_type: str, value: Any) -> str:
    if abi_type == "address":
        return to_checksum_address(value)
    return format_value(value)


def decode_log(log: dict, contracts: dict, layer: str) -> dict:
    """One receipt log: its event decoded by the emitter's registered ABI (else by any registered
    event with that signature and as many indexed arguments), or left raw (``name`` None)."""
    topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
    data = bytes.fromhex(log["data"][2:])
    # registrations are of L1 contracts: an L2 log's emitter is decoded by signature only
    emitter = (contracts.get(log["address"]) or {}).get("name") if layer == "l1" else None
    out = {"layer": layer, "address": log["address"], "contract_name": emitter, "name": None, "signature": None, "args": None,
           "topics": log["topics"], "data": log["data"]}
    if not topics:
        return out
    for _, item in _items(contracts, "event", log["address"] if layer == "l1" else None):
        inputs = item.get("inputs", [])
        types = [_abi_type(i) for i in inputs]
        signature = f"{item['name']}({','.join(types)})"
        if item.get("anonymous") or keccak(signature.encode()) != topics[0]:
            continue
        indexed = [i for i in inputs if i.get("indexed")]
        if len(indexed) != len(topics) - 1:
            continue
        try:
            plain = iter(abi_decode([_abi_type(i) for i in inputs if not i.get("indexed")], data))
            values, topic = {}, iter(topics[1:])
            for n, (param, t) in enumerate(zip(inputs, types)):
                name = param.get("name") or f"arg{n}"
                if param.get("indexed"):
                    word = next(topic)
                    dynamic = t in ("string", "bytes") or t.endswith("]") or t.startswith("(")
                    values[name] = "0x" + word.hex() if dynamic else _show(t, abi_decode([t], word)[0])
                else:
                    values[name] = _show(t, next(plain))
        except Exception:
            continue
        return {**out, "name": item["name"], "signature": signature, "args": values}
    return out


def revert_reason(data: bytes, contracts: dict, target: str | None) -> str:
    """Error(string), Panic, a custom error of a registered contract (the target's first) with
    its arguments named, or the raw data."""
    if len(data) >= 4:
        for _, item in _items(contracts, "error", target):
            inputs = item.get("inputs", [])
            types = [_abi_type(i) for i in inputs]
            if keccak(f"{item['name']}({','.join(types)})".encode())[:4] != data[:4]:
                continue
            try:
                values = abi_decode(types, data[4:])
            except Exception:
                continue
            shown = [f"{p['name']}={_show(t, v)}" if p.get("name") else _show(t, v) for p, t, v in zip(inputs, types, values)]
            return f"{item['name']}({', '.join(shown)})"
    return decode_revert(data)


def _batch_entry(history: list[dict], l2_block: int) -> dict | None:
    return next((h for h in history if h.get("l2_blocks") and h["l2_blocks"][0] <= l2_block <= h["l2_blocks"][1]), None)


def _batch_of(history: list[dict], l2_block: int) -> int | None:
    entry = _batch_entry(history, l2_block)
    return None if entry is None else entry["batch"]


def _settled_labels(history: list[dict], l2_block: int, writes: list[dict]) -> list[dict]:
    """A settled transaction's writes named as its batch's settled diff named them (the mapping
    keys seen while the batch was pending are not kept after it settles; ``writes`` are labelled
    already where no key is needed). Values are decoded
    where the diff shows how: an integer variable, or the same before/after as the batch's."""
    entry = _batch_entry(history, l2_block)
    named = {(c["contract"], c["slot"]): c for c in (entry or {}).get("changes", [])}
    out = []
    for w in writes:
        c = named.get((w["contract"], w["slot"]))
        if not c or not c.get("label") or w.get("label"):
            out.append(w)
            continue
        shown = {**w, "label": c["label"], "contract_name": c.get("contract_name")}
        if (w["before"], w["after"]) == (c["before"], c["after"]):
            shown.update(before_decoded=c["before_decoded"], after_decoded=c["after_decoded"])
        elif "change" in c and not c["before_decoded"].startswith("-") and not c["after_decoded"].startswith("-"):
            shown.update(before_decoded=str(int(w["before"], 16)), after_decoded=str(int(w["after"], 16)))
        out.append(shown)
    return out


__all__ = ["transaction_view", "decode_log", "revert_reason", "TransactionNotFound"]
