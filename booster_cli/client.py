"""What client commands do: talk JSON-RPC to the running L2 node (never import py-evm here)."""

from __future__ import annotations

from typing import Any

from .errors import BoosterError, DevnetNotRunning, ExitCode, RpcError, TransactionReverted, UsageError
from .rpc import RpcClient, RpcConnectionError
from .statedir import current, l2_url

L1CALL = "0x0000000000000000000000000000000000001001"
L1SANDBOXCALL = "0x0000000000000000000000000000000000001002"
L1DELEGATECALL = "0x0000000000000000000000000000000000001003"
PRECOMPILE_OF_MODE = {"l1call": L1CALL, "sandbox": L1SANDBOXCALL, "delegate": L1DELEGATECALL}
MODES = (*PRECOMPILE_OF_MODE, "l2")


class RemoteError(BoosterError):
    """An error the node reported; keeps the exit code the node chose (e.g. 4 for a conflict)."""

    def __init__(self, message: str, exit_code: int, conflicts: list | None = None, unsettleable: list | None = None) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)
        self.conflicts = conflicts or []
        self.unsettleable = unsettleable or []


class Client:
    def __init__(self, rpc_url: str | None = None) -> None:
        self.url = l2_url(rpc_url)
        self.rpc = RpcClient(self.url, timeout=300)

    def call(self, method: str, *params: Any) -> Any:
        try:
            return self.rpc.call(method, *params)
        except RpcConnectionError:
            raise DevnetNotRunning(f"the L2 node at {self.url} does not answer") from None
        except RpcError as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            if "exit_code" in data:
                raise RemoteError(str(exc), data["exit_code"], data.get("conflicts"), data.get("unsettleable")) from None
            raise


def _address(value: str, what: str = "address") -> str:
    if not (value.startswith("0x") and len(value) == 42):
        raise UsageError(f"invalid {what} {value!r}: expected 0x followed by 40 hex digits")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise UsageError(f"invalid {what} {value!r}: not hex") from None
    return value


def status(rpc_url: str | None = None) -> dict:
    try:
        client = Client(rpc_url)
        return client.call("booster_status")
    except DevnetNotRunning:
        return {"running": False}


def get_delta(contract: str | None, rpc_url: str | None = None, rollup: str | None = None) -> dict:
    if contract:
        _address(contract, "--contract")
    return Client(rpc_url).call("booster_getDelta", *([contract, rollup] if rollup else [contract]))


def get_nonces(addresses: list[str], rpc_url: str | None = None) -> dict:
    return Client(rpc_url).call("booster_getNonces", [_address(a) for a in addresses] or None)


def settle(rpc_url: str | None = None, dry_run: bool = False, rebase: bool = False, exclude: list[str] | None = None,
           emulate_apply: bool = False) -> dict:
    addresses = [_address(a, "--exclude address") for a in exclude] if exclude else None
    if emulate_apply:
        return Client(rpc_url).call("booster_settle", dry_run, rebase, addresses, True)
    if not addresses:
        return Client(rpc_url).call("booster_settle", dry_run, rebase)
    return Client(rpc_url).call("booster_settle", dry_run, rebase, addresses)


def report(rpc_url: str | None = None, batch: int | None = None) -> dict:
    """The node's measurements for ``booster report`` (see report.py); the model is applied by
    the caller (report_model.build_report)."""
    return Client(rpc_url).call("booster_report", batch)


def _l1call_payload(to: str, calldata: bytes) -> bytes:
    from .abicodec import encode

    return encode(["address", "bytes"], [to, calldata])


_UNITS = {"wei": 0, "gwei": 9, "ether": 18, "eth": 18}


def parse_value(text: str) -> int:
    """An amount of wei as cast writes it: ``123``, ``0x7b``, or a number with a unit
    (``1ether``, ``0.5ether``, ``20gwei``, ``7wei``)."""
    from decimal import Decimal, InvalidOperation

    raw = text.strip().lower()
    unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if raw.endswith(u)), None)
    number = raw[: -len(unit)].strip() if unit else raw
    try:
        if unit is None and number.startswith("0x"):
            wei = int(number, 16)
        else:
            amount = Decimal(number) * (Decimal(10) ** _UNITS[unit or "wei"])
            if amount != amount.to_integral_value():
                raise ValueError("not a whole number of wei")
            wei = int(amount)
    except (InvalidOperation, ValueError, OverflowError) as exc:
        raise UsageError(f"--value {text!r}: expected wei (123, 0x7b) or an amount with a unit (1ether, 0.5ether, 20gwei){'' if not str(exc) or 'decimal' in str(exc).lower() else f': {exc}'}") from None
    if wei < 0 or wei >= 2**256:
        raise UsageError(f"--value {text!r}: must be between 0 and 2**256 - 1 wei")
    return wei


def _check_function(client: "Client", to: str, sig: str) -> None:
    """A call that reverted without a reason: a UsageError if ``to`` is a contract booster
    deployed and knows the functions of, and ``sig`` is not one of them (with the closest)."""
    from .abi import missing_function, parse_signature

    try:
        known = client.call("booster_getContract", to)
    except BoosterError:
        return
    if not known or not known.get("functions"):
        return
    close = missing_function(sig, known["functions"])
    if close is not None:
        hint = f"; did you mean {close}?" if close else f"; it has {', '.join(known['functions'][:6])}"
        raise UsageError(f"{known['name']} at {known['address']} has no function {parse_signature(sig).canonical}{hint} (not sent)")


def _known_revert(client: "Client", to: str, data: bytes) -> str:
    """A revert reason, custom errors decoded when ``to`` is a contract booster registered."""
    from .abi import decode_revert

    reason = decode_revert(data)
    if not reason.startswith("reverted with data"):
        return reason
    try:
        known = client.call("booster_getContract", to)
    except BoosterError:
        return reason
    if not known or not known.get("abi"):
        return reason
    from .txinfo import revert_reason

    return revert_reason(data, {known["address"]: known}, known["address"])


def send_tx(
    to: str, sig: str, args: list[str], from_: str | None, private_key: str | None, mode: str, gas: int | None, rpc_url: str | None,
    value: int = 0,
) -> dict:
    from .abi import decode_revert, encode_call
    from .accounts import resolve_sender
    from .txsend import send_transaction, wait_for_receipt

    if mode not in MODES:
        raise UsageError(f"--mode {mode!r}: expected one of {', '.join(MODES)}")
    if value and mode != "l2":
        raise UsageError(
            f"--value needs --mode l2: {mode} runs L1 code through a precompile, where msg.value must be 0 "
            "(no ETH moves on L1 through a state delta)"
        )
    _address(to, "target")
    calldata = encode_call(sig, args)
    key = resolve_sender(from_, private_key)
    client = Client(rpc_url)
    target, data = (to, calldata) if mode == "l2" else (PRECOMPILE_OF_MODE[mode], _l1call_payload(to, calldata))
    try:
        tx_hash = send_transaction(client.rpc, key, to=target, data=data, gas=gas, value=value)
    except RpcConnectionError:
        raise DevnetNotRunning(f"the L2 node at {client.url} does not answer") from None
    except RpcError as exc:
        if exc.code == 3:  # the estimate ran the call and it reverted: nothing was sent
            raw = exc.data if isinstance(exc.data, str) and exc.data.startswith("0x") else "0x"
            if raw == "0x" and mode != "l2":
                _check_function(client, to, sig)
            raise TransactionReverted(f"transaction would revert: {_known_revert(client, to, bytes.fromhex(raw[2:]))} (not sent)") from None
        raise BoosterError(f"the L2 rejected the transaction: {exc}") from None
    receipt = wait_for_receipt(client.rpc, tx_hash)
    result = {
        "tx_hash": tx_hash,
        "status": int(receipt["status"], 16),
        "l2_block": int(receipt["blockNumber"], 16),
        "gas_used": int(receipt["gasUsed"], 16),
    }
    if result["status"] == 0:
        raw = receipt.get("revertReason") or "0x"
        result["revert_reason"] = decode_revert(bytes.fromhex(raw[2:]))
    return {**result, **_what_it_did(client, tx_hash)}


# what ``booster_getTransaction`` adds to send's result (its keys are send's already)
TX_VIEW_KEYS = ("revert_reason", "mode", "target", "target_name", "function", "events", "delta", "delta_recorded", "batch")


def _what_it_did(client: "Client", tx_hash: str) -> dict:
    """The decoded events, delta entries and revert reason of a sent transaction; nothing from
    a node without ``booster_getTransaction``."""
    try:
        view = client.call("booster_getTransaction", tx_hash)
    except RpcError as exc:
        if exc.code == -32601:  # method not found
            return {}
        raise
    return {k: view[k] for k in TX_VIEW_KEYS if k in view}


def get_transaction(tx_hash: str, rpc_url: str | None = None) -> dict:
    """What an L2 transaction did (see txinfo.py): one object, or an error for an unknown hash."""
    if not (isinstance(tx_hash, str) and tx_hash.startswith("0x") and len(tx_hash) == 66):
        raise UsageError(f"invalid transaction hash {tx_hash!r}: expected 0x followed by 64 hex digits")
    return Client(rpc_url).call("booster_getTransaction", tx_hash.lower())


def get_trace(tx_hash: str, rpc_url: str | None = None) -> dict:
    """An L2 transaction's call tree across layers (see traceinfo.py)."""
    if not (isinstance(tx_hash, str) and tx_hash.startswith("0x") and len(tx_hash) == 66):
        raise UsageError(f"invalid transaction hash {tx_hash!r}: expected 0x followed by 64 hex digits")
    return Client(rpc_url).call("booster_traceTransaction", tx_hash.lower())


def call_l1(to: str, sig: str, args: list[str], rpc_url: str | None = None, sender: str | None = None) -> list:
    """Run ``SIG`` on L1 contract ``to`` through L1SANDBOXCALL (L1 at the anchor plus the pending
    delta; writes thrown away) and decode the result by the return types of ``SIG``."""
    from .abi import decode_output, encode_call, format_value, parse_signature
    from .accounts import resolve_address

    _address(to, "target")
    sender = resolve_address(sender)
    signature = parse_signature(sig)
    payload = _l1call_payload(to, encode_call(sig, args))
    client = Client(rpc_url)
    try:
        out = client.call("eth_call", {"from": sender, "to": L1SANDBOXCALL, "data": "0x" + payload.hex()}, "latest")
    except RpcError as exc:
        if exc.code == 3:
            raw = exc.data if isinstance(exc.data, str) else "0x"
            raise TransactionReverted(f"call reverted: {_known_revert(client, to, bytes.fromhex(raw[2:]))}") from None
        raise
    data = bytes.fromhex(out[2:])
    if not signature.outputs:
        return ["0x" + data.hex()]
    return [format_value(v) for v in decode_output(signature.outputs, data)]


def load_artifact(path: str, contract: str | None):
    """A Foundry / solc / Hardhat JSON artifact → CompiledContract (abi, bytecode, storage layout)."""
    import json
    from pathlib import Path

    from .solc import CompiledContract

    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"no such artifact: {path}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a JSON artifact: {exc}") from None
    if isinstance(data, dict) and "contracts" in data:  # solc standard-JSON output: pick one
        found = {name: c for unit in data["contracts"].values() for name, c in unit.items()}
        if contract not in found and len(found) != 1:
            raise UsageError(f"{path} holds several contracts ({', '.join(found)}); pick one with --contract")
        contract = contract or next(iter(found))
        data = found[contract]
    bytecode = data.get("bytecode")
    if isinstance(bytecode, dict):  # Foundry: {"object": "0x..."}
        bytecode = bytecode.get("object")
    bytecode = bytecode or data.get("evm", {}).get("bytecode", {}).get("object")
    if not isinstance(bytecode, str) or not bytecode.removeprefix("0x"):
        raise UsageError(f"{path} has no deployable bytecode (abstract contract, interface, or not an artifact)")
    try:
        code = bytes.fromhex(bytecode.removeprefix("0x"))
    except ValueError:
        raise UsageError(f"{path}: the bytecode is not hex (unlinked libraries?)") from None
    name = contract or data.get("contractName") or Path(path).stem
    return CompiledContract(name, str(path), data.get("abi", []), code, b"", data.get("storageLayout") or {})


def deploy(source: str, contract: str | None, args: list[str], rpc_url: str | None = None, on_l2: bool = False, artifact: bool = False) -> dict:
    from .abi import _abi_type, parse_value
    from .abicodec import encode
    from .accounts import DEV_PRIVATE_KEYS
    from .txsend import transact

    if artifact:
        compiled = load_artifact(source, contract)
    else:
        from .solc import compile_file

        compiled = compile_file(source, contract)
    client = Client(rpc_url)
    st = client.call("booster_status")
    ctor = next((i for i in compiled.abi if i.get("type") == "constructor"), {"inputs": []})
    types = [_abi_type(p) for p in ctor["inputs"]]
    if len(args) != len(types):
        raise UsageError(f"{compiled.name} takes {len(types)} constructor argument(s) ({', '.join(types) or 'none'}), got {len(args)}")
    settlement = st["contracts"]["settlement"]
    values = [parse_value(t, settlement if a == "settlement" and t == "address" else a) for t, a in zip(types, args)]
    layer = "L2" if on_l2 else "L1"
    rpc = client.rpc if on_l2 else RpcClient(st["l1"]["rpc_url"], timeout=60)
    try:
        receipt = transact(rpc, DEV_PRIVATE_KEYS[0], to=None, data=compiled.bytecode + encode(types, values))
    except RpcError as exc:
        raise TransactionReverted(f"deploying {compiled.name} on {layer} failed: {exc}") from None
    if receipt["status"] != "0x1":
        raise TransactionReverted(f"deploying {compiled.name} reverted on {layer} (tx {receipt['transactionHash']})")
    address = _checksum(receipt["contractAddress"])
    result = {"contract": compiled.name, "address": address, "tx_hash": receipt["transactionHash"], "layer": layer.lower()}
    if not on_l2:
        from .abi import function_signatures

        events_and_errors = [i for i in compiled.abi if i.get("type") in ("event", "error")]
        client.call("booster_registerContract", address, compiled.name, compiled.storage_layout or None, function_signatures(compiled.abi), events_and_errors)
    elif RpcClient(st["l1"]["rpc_url"]).call("eth_getCode", address, "latest") not in ("0x", rpc.call("eth_getCode", address, "latest")):
        # dev account 0 deploys on both layers, so its L1 and L2 contracts can share an address
        result["warning"] = (
            f"L1 holds other code at {address}: this L2 contract cannot be msg.sender of L1 code through the "
            "precompiles (an L2 contract acts on L1 only where L1 holds no code or the same code at its address)"
        )
    return result


def _checksum(address: str) -> str:
    from .abicodec import to_checksum_address

    return to_checksum_address(address)


__all__ = ["status", "get_delta", "get_nonces", "settle", "send_tx", "call_l1", "deploy", "current"]


def dump_state(path: str, rpc_url: str | None = None) -> dict:
    """Dump through the running node (which writes into its state directory; this moves the file
    to ``path``), or from the state directory's files when none runs."""
    from pathlib import Path

    from .snapshot import dump_stopped, take_dump

    target = Path(path).absolute()
    try:
        written = Client(rpc_url).call("booster_dumpState")
    except DevnetNotRunning:
        if rpc_url:
            raise
        return dump_stopped(current(), target)
    return take_dump(written, target)


def load_state(path: str) -> dict:
    from pathlib import Path

    from .errors import StateDirInUse
    from .snapshot import load

    state = current()
    try:
        lock = state.lock("state load")  # no devnet starts from the directory while it is replaced
    except StateDirInUse as exc:
        if exc.holder.get("role", "devnet") != "devnet":
            raise
        pid = exc.holder.get("pid")
        raise UsageError(f"stop the devnet first ('booster down'): state load replaces its chains (a devnet runs from {state.path}{f', pid {pid}' if pid else ''})") from None
    with lock:
        from .l1source import describe_url, peek_saved_l1

        saved = peek_saved_l1(state.l2_store)
        if saved and (saved["l1"] or {}).get("external"):
            raise UsageError(f"{state.path} holds a devnet on the external L1 {describe_url(saved['l1']['external'])}, whose settled batches "
                             "are on that chain: state load would replace its L2 store. Load into another state directory (BOOSTER_STATE_DIR), "
                             "or set this one aside first ('booster up --fresh' keeps it in previous/)")
        return load(state, Path(path))


def accounts(rpc_url: str | None = None) -> list[dict]:
    """Dev accounts with their L1 and L2 balances and L2 nonces (one batch request per chain)."""
    from .accounts import DEV_ADDRESSES

    client = Client(rpc_url)
    st = client.call("booster_status")
    l1 = RpcClient(st["l1"]["rpc_url"])
    l1_balances = l1.batch([("eth_getBalance", [a, "latest"]) for a in DEV_ADDRESSES])
    l2_answers = client.rpc.batch([("eth_getBalance", [a, "latest"]) for a in DEV_ADDRESSES] + [("eth_getTransactionCount", [a, "latest"]) for a in DEV_ADDRESSES])
    n = len(DEV_ADDRESSES)
    return [
        {"index": i, "address": a, "l1_balance": str(int(l1_balances[i], 16)), "l2_balance": str(int(l2_answers[i], 16)), "l2_nonce": int(l2_answers[n + i], 16)}
        for i, a in enumerate(DEV_ADDRESSES)
    ]
