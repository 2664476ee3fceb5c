"""The L2 node's JSON-RPC methods: an ``eth_*`` subset that wallets and scripts expect, and the
``booster_*`` namespace the CLI uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from . import __version__
from eth.exceptions import InsufficientFunds

from .abi import decode_revert
from .errors import RpcError
from .executor import L2_GAS_LIMIT

if TYPE_CHECKING:
    from .node import Node


def _hex(value: Any, what: str) -> bytes:
    try:
        if isinstance(value, str) and value.startswith("0x"):
            return bytes.fromhex(value[2:])
    except ValueError:
        pass
    raise RpcError(f"invalid {what} {value!r}: expected 0x-prefixed hex", -32602)


def _address(value: Any) -> bytes:
    raw = _hex(value, "address")
    if len(raw) != 20:
        raise RpcError(f"invalid address {value!r}: expected 0x followed by 40 hex digits", -32602)
    return raw


def _data(value: Any) -> bytes:
    return b"" if value in (None, "") else _hex(value, "data")


def _qty(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    try:
        if isinstance(value, str) and value.startswith("0x"):
            return int(value, 16)
    except ValueError:
        pass
    raise RpcError(f"invalid quantity {value!r}: expected 0x-prefixed hex", -32602)


class ExecutionReverted(RpcError):
    def __init__(self, output: bytes, reason: str) -> None:
        super().__init__(f"execution reverted: {reason}", 3, "0x" + output.hex())


def methods(node: "Node") -> dict:
    ex = node.executor

    def chain_id() -> str:
        return hex(ex.l2_chain_id)

    def block_number() -> str:
        return hex(ex.head().block_number)

    def get_transaction_count(address: str, block: str = "latest") -> str:
        addr = _address(address)
        return hex(ex.pending_nonce(addr) if block == "pending" else ex.nonce(addr))

    def get_balance(address: str, block: str = "latest") -> str:
        return hex(ex.balance(_address(address)))

    def get_storage_at(address: str, slot: str, block: str = "latest") -> str:
        with ex.lock:
            value = ex.chain.get_vm().state.get_storage(_address(address), _qty(slot))
        return "0x" + value.to_bytes(32, "big").hex()

    def get_code(address: str, block: str = "latest") -> str:
        with ex.lock:
            return "0x" + ex.chain.get_vm().state.get_code(_address(address)).hex()

    def send_raw_transaction(raw: str) -> str:
        return "0x" + ex.submit(_data(raw)).hex()

    def get_receipt(tx_hash: str) -> dict | None:
        with ex.lock:
            rec = ex.txs.get(_data(tx_hash))
            if rec is None:
                return None
            if rec.dropped:
                raise RpcError(f"transaction {tx_hash} was dropped: {rec.dropped}", -32003)
            return rec.receipt

    def _run(tx: dict) -> tuple[bytes, int]:
        if not isinstance(tx, dict):
            raise RpcError("call object must be a JSON object", -32602)
        sender = _address(tx["from"]) if tx.get("from") else b"\x00" * 20
        to = _address(tx["to"]) if tx.get("to") else None
        data = _data(tx.get("data") or tx.get("input"))
        try:
            ok, output, error, gas_used = ex.call(sender, to, data, _qty(tx.get("value")), _qty(tx.get("gas"), L2_GAS_LIMIT))
        except InsufficientFunds as exc:
            raise RpcError(f"insufficient L2 funds: {exc}", -32003) from None
        if not ok:
            raise ExecutionReverted(output, decode_revert(output) if output else error)
        return output, gas_used

    def call(tx: dict, block: str = "latest") -> str:
        return "0x" + _run(tx)[0].hex()

    def estimate_gas(tx: dict, block: str = "latest") -> str:
        """The lowest gas limit with which the transaction does not fail: intrinsic gas (EIP-7623
        floor included) plus the execution's gas, checked, then searched upwards if the 63/64
        rule or a stipend needs more than was used."""
        data = _data(tx.get("data") or tx.get("input"))
        zeros = data.count(0)
        tokens = zeros + 4 * (len(data) - zeros)
        intrinsic = 21_000 + 4 * tokens
        if not tx.get("to"):
            intrinsic += 32_000 + 2 * ((len(data) + 31) // 32)
        floor = 21_000 + 10 * tokens
        cap = min(_qty(tx.get("gas"), L2_GAS_LIMIT), L2_GAS_LIMIT)
        used = _run({**tx, "gas": hex(cap - intrinsic)})[1]  # raises if it fails even with all the gas

        def fits(limit: int) -> bool:
            try:
                _run({**tx, "gas": hex(limit - intrinsic)})
                return True
            except ExecutionReverted:
                return False

        low = intrinsic + used
        if not fits(low):
            high = cap
            while high - low > 1_000:
                mid = (low + high) // 2
                low, high = (low, mid) if fits(mid) else (mid, high)
            low = high
        return hex(max(low, floor))

    def gas_price() -> str:
        return hex(ex.chain.header.base_fee_per_gas + 1_000_000)

    def max_priority_fee() -> str:
        return hex(1_000_000)

    def get_block_by_number(tag: str, full: bool = False) -> dict | None:
        with ex.lock:
            head = ex.head()
            number = head.block_number if tag in ("latest", "pending", "safe", "finalized") else (0 if tag == "earliest" else _qty(tag))
            if number > head.block_number:
                return None
            header = ex.chain.get_canonical_block_header_by_number(number)
        return {
            "number": hex(header.block_number),
            "hash": "0x" + header.hash.hex(),
            "parentHash": "0x" + header.parent_hash.hex(),
            "stateRoot": "0x" + header.state_root.hex(),
            "timestamp": hex(header.timestamp),
            "gasLimit": hex(header.gas_limit),
            "gasUsed": hex(header.gas_used),
            "baseFeePerGas": hex(header.base_fee_per_gas),
            "miner": to_checksum_address(header.coinbase),
            "transactions": [],
        }

    return {
        "eth_chainId": chain_id,
        "net_version": lambda: str(ex.l2_chain_id),
        "web3_clientVersion": lambda: f"booster/{__version__}/py-evm",
        "eth_blockNumber": block_number,
        "eth_getTransactionCount": get_transaction_count,
        "eth_getBalance": get_balance,
        "eth_getStorageAt": get_storage_at,
        "eth_getCode": get_code,
        "eth_sendRawTransaction": send_raw_transaction,
        "eth_getTransactionReceipt": get_receipt,
        "eth_call": call,
        "eth_estimateGas": estimate_gas,
        "eth_gasPrice": gas_price,
        "eth_maxPriorityFeePerGas": max_priority_fee,
        "eth_getBlockByNumber": get_block_by_number,
        "booster_status": node.status,
        "booster_getDelta": node.delta,
        "booster_getNonces": node.nonces,
        "booster_settle": node.settle,
        "booster_prove": node.prove,
        "booster_dumpState": node.dump_state,
    }
