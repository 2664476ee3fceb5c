"""Sign, send and wait: one path for L2 sends (client), L1 deploys and the relayer."""

from __future__ import annotations

import time

from .errors import BoosterError, RpcError
from .rpc import RpcClient
from .txsign import address_of, sign_eip1559

PRIORITY_FEE = 1_000_000  # 0.001 gwei: dev chains need no real tip


def send_transaction(
    rpc: RpcClient,
    private_key: str,
    *,
    to: str | None,
    data: bytes,
    gas: int | None = None,
    value: int = 0,
    chain_id: int | None = None,
    priority_fee: int = PRIORITY_FEE,
) -> str:
    """Sign and submit; returns the transaction hash (0x…). ``priority_fee``: the tip (a real
    chain wants more than a dev chain's)."""
    sender = address_of(private_key)
    calls: list[tuple[str, list]] = [
        ("eth_getTransactionCount", [sender, "pending"]),
        ("eth_getBlockByNumber", ["latest", False]),
    ]
    if chain_id is None:
        calls.append(("eth_chainId", []))
    results = rpc.batch(calls)
    nonce = int(results[0], 16)
    base_fee = int(results[1].get("baseFeePerGas") or "0x0", 16)
    if chain_id is None:
        chain_id = int(results[2], 16)
    if gas is None:
        estimate = {"from": sender, "data": "0x" + data.hex(), "value": hex(value)}
        if to:
            estimate["to"] = to
        gas = int(int(rpc.call("eth_estimateGas", estimate), 16) * 6 // 5) + 10_000
    raw, tx_hash = sign_eip1559(
        private_key,
        chain_id=chain_id,
        nonce=nonce,
        to=to,
        data=data,
        gas=gas,
        max_fee_per_gas=2 * base_fee + priority_fee,
        max_priority_fee_per_gas=priority_fee,
        value=value,
    )
    rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
    return "0x" + tx_hash.hex()


def wait_for_receipt(rpc: RpcClient, tx_hash: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise BoosterError(f"no receipt for {tx_hash} after {timeout:.0f}s (it may still be pending)")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def transact(rpc: RpcClient, private_key: str, **kwargs) -> dict:
    return wait_for_receipt(rpc, send_transaction(rpc, private_key, **kwargs))


__all__ = ["send_transaction", "wait_for_receipt", "transact", "RpcError"]
