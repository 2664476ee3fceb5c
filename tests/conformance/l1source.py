"""An L1 node's state held in memory: what ``L1Reader`` asks anvil for, answered from a
state test's pre-state. A test fixture of L1 data (the accounts of one block and the hashes
of the blocks before it), not a stand-in for anvil's behaviour: it answers exactly the five
read methods the L1 view uses, at exactly one block, and fails loudly on anything else."""

from __future__ import annotations

from typing import Any

from booster_cli.errors import RpcError


class MemoryL1:
    """``RpcClient``'s ``call``/``batch`` over ``accounts`` (address → dict with balance, nonce,
    code, storage) at block ``number``; ``block_hashes`` answers eth_getBlockByNumber."""

    def __init__(self, accounts: dict[bytes, dict], number: int, block_hashes: dict[int, bytes], head_block: dict | None = None) -> None:
        self.accounts = accounts
        self.number = number
        self.block_hashes = block_hashes
        self.head_block = head_block
        self.calls: list[str] = []  # every method asked, in order: a test can see L1 was (not) read

    def _at(self, tag: str) -> None:
        # the reader pins every read to the anchor: a read at another block is a booster bug
        if int(tag, 16) != self.number:
            raise RpcError(f"MemoryL1 holds block {self.number} only, asked for {tag}")

    def _account(self, address: str) -> dict:
        return self.accounts.get(bytes.fromhex(address[2:]), {})

    def call(self, method: str, *params: Any) -> Any:
        self.calls.append(method)
        if method == "eth_getStorageAt":
            address, slot, tag = params
            self._at(tag)
            return hex(self._account(address).get("storage", {}).get(int(slot, 16), 0))
        if method == "eth_getCode":
            self._at(params[1])
            return "0x" + self._account(params[0]).get("code", b"").hex()
        if method == "eth_getBalance":
            self._at(params[1])
            return hex(self._account(params[0]).get("balance", 0))
        if method == "eth_getTransactionCount":
            self._at(params[1])
            return hex(self._account(params[0]).get("nonce", 0))
        if method == "eth_getBlockByNumber":
            if params[0] == "latest":
                return self.head_block
            h = self.block_hashes.get(int(params[0], 16))
            return None if h is None else {"number": params[0], "hash": "0x" + h.hex()}
        raise RpcError(f"MemoryL1 does not answer {method}")

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        return [self.call(method, *params) for method, params in calls]
