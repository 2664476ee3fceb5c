"""anvil's dev methods on the L2 (``evm_*``, ``anvil_*`` and their ``hardhat_*`` names), with
anvil's parameters and answers, so that test suites written for anvil run against the L2. What
each does to the pending delta and to settlement is in docs/commands.md ("Dev methods").

- Mining: ``evm_mine`` (a timestamp, or ``{"blocks", "timestamp"}``), ``anvil_mine(count,
  interval)``; each block takes what is queued, or is empty. Empty blocks are re-executed by
  the prover like any other.
- Time: ``evm_increaseTime``, ``evm_setNextBlockTimestamp``, ``anvil_setBlockTimestampInterval``,
  ``anvil_removeBlockTimestampInterval`` (devstate.Clock). A block's timestamp is always after its
  parent's (anvil lets two blocks share one; py-evm does not).
- Snapshots: ``evm_snapshot`` / ``evm_revert`` take back the L2 and its pending delta together
  (``Executor.revert``); ``anvil_reset`` goes back to the genesis block (``Executor.reset``).
- State: ``anvil_setBalance``, ``anvil_setNonce``, ``anvil_setCode``, ``anvil_setStorageAt``: each
  edit is a new L2 block of its own (no transactions; anvil mines none), recorded with the block
  so that the prover applies it when it re-executes the batch (devstate.py). L2 state only:
  ``setStorageAt`` on an L1 contract's address writes that address's L2 storage, never L1 or
  the delta.
- Impersonation: ``anvil_impersonateAccount``, ``anvil_stopImpersonatingAccount``,
  ``anvil_autoImpersonateAccount``: ``eth_sendTransaction`` from such an address is signed with a
  stand-in key and its sender recorded with it (devstate.py), so the prover runs it as that
  sender's.
- Mining mode: ``evm_setAutomine``, ``anvil_getAutomine``, ``evm_setIntervalMining``. With
  automine off, accepted transactions stay queued (durable) until a block is mined.

Quantities are taken as anvil takes them: a JSON number, a 0x hex string or a decimal string.
Every bad parameter is error -32602.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .devstate import MAX_TIMESTAMP
from .errors import RpcError

if TYPE_CHECKING:
    from .node import Node

MAX_MINE = 100_000  # blocks per evm_mine / anvil_mine call


def numeric(value: Any, what: str, limit: int = 2**256) -> int:
    """anvil's Numeric: a JSON number, a 0x hex string or a decimal string, from 0 to ``limit`` - 1."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip() == value and value:
        try:
            number = int(value, 16) if value[:2] in ("0x", "0X") else int(value, 10) if value.isdigit() else None
        except ValueError:
            number = None
    if number is None or not 0 <= number < limit:
        raise RpcError(f"invalid {what} {value!r}: expected a number from 0 to {limit - 1} (a JSON number, 0x hex or decimal)", -32602)
    return number


def dev_methods(node: "Node") -> dict:
    ex = node.executor

    def check_timestamp(timestamp: int) -> None:
        """Under ex.lock: a timestamp for the next block, after the head's."""
        head = ex.head().timestamp
        if timestamp <= head:
            raise RpcError(f"Timestamp error: {timestamp} is not after the previous block's timestamp {head} "
                           "(L2 block timestamps strictly increase)", -32602)

    def evm_mine(options: Any = None) -> str:
        """anvil's evm_mine: one block, or ``{"blocks": n, "timestamp": t}``; the first at
        ``t`` if given (the others after it); "0x0" as anvil answers."""
        blocks, timestamp = 1, None
        if isinstance(options, dict):
            unknown = sorted(set(options) - {"blocks", "timestamp"})
            if unknown:
                raise RpcError(f"evm_mine: unknown option {unknown[0]!r} (expected blocks, timestamp)", -32602)
            if options.get("blocks") is not None:
                blocks = numeric(options["blocks"], "number of blocks", MAX_MINE + 1)
            if options.get("timestamp") is not None:
                timestamp = numeric(options["timestamp"], "timestamp", MAX_TIMESTAMP)
        elif options is not None:
            timestamp = numeric(options, "timestamp", MAX_TIMESTAMP)
        with ex.lock:
            if timestamp is not None:
                check_timestamp(timestamp)
            ex.mine(blocks, timestamp)
        return "0x0"

    def anvil_mine(count: Any = None, interval: Any = None) -> None:
        """anvil_mine / hardhat_mine: ``count`` blocks (default 1), each ``interval`` seconds
        after the one before if given."""
        blocks = 1 if count is None else numeric(count, "number of blocks", MAX_MINE + 1)
        seconds = None if interval is None else numeric(interval, "interval", MAX_TIMESTAMP)
        with ex.lock:
            if seconds is not None and ex.head().timestamp + seconds * blocks >= MAX_TIMESTAMP:
                raise RpcError("anvil_mine: the interval takes the clock past 2**63 seconds", -32602)
            ex.mine(blocks, interval=seconds)
        return None

    def increase_time(seconds: Any) -> int:
        """evm_increaseTime: the clock's offset grows; answers the whole offset in seconds (a
        JSON number), as anvil does."""
        add = numeric(seconds, "seconds", MAX_TIMESTAMP)
        with ex.lock:
            if ex.head().timestamp + add >= MAX_TIMESTAMP:
                raise RpcError("evm_increaseTime: the clock would pass 2**63 seconds", -32602)
            offset = ex.clock.increase(add, ex.head().timestamp)
            ex.commit()
            return offset

    def set_next_block_timestamp(timestamp: Any) -> None:
        value = numeric(timestamp, "timestamp", MAX_TIMESTAMP)
        with ex.lock:
            check_timestamp(value)
            ex.clock.next_timestamp = value
            ex.commit()
        return None

    def set_block_timestamp_interval(seconds: Any) -> None:
        value = numeric(seconds, "interval", MAX_TIMESTAMP)
        with ex.lock:
            ex.clock.interval = value
            ex.commit()
        return None

    def remove_block_timestamp_interval() -> bool:
        with ex.lock:
            had = ex.clock.interval is not None
            ex.clock.interval = None
            ex.commit()
            return had

    def set_automine(enabled: Any) -> None:
        if not isinstance(enabled, bool):
            raise RpcError(f"invalid automine flag {enabled!r}: expected true or false", -32602)
        ex.set_mining(automine=enabled)
        return None

    def set_interval_mining(seconds: Any) -> None:
        ex.set_mining(interval=numeric(seconds, "interval", 2**32))
        return None

    def get_automine() -> bool:
        return ex.automine

    def account(value: Any) -> str:
        """An address to edit or impersonate: 0x and 40 hex digits; not the settlement
        contract's, which is reserved on L2 (see Executor._validate)."""
        if not (isinstance(value, str) and len(value) == 42 and value[:2] == "0x"):
            raise RpcError(f"invalid address {value!r}: expected 0x followed by 40 hex digits", -32602)
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raise RpcError(f"invalid address {value!r}: expected 0x followed by 40 hex digits", -32602) from None
        if raw == ex.view.settlement:
            raise RpcError(f"{value} is the settlement contract's address, reserved on the L2 (its deployer's key is public): "
                           "its L2 account cannot be edited or impersonated", -32602)
        return "0x" + raw.hex()

    def edit(*change: Any) -> None:
        """One block holding this anvil_set* edit (devstate.py), durable before the answer."""
        ex.edit_state([list(change)])

    def set_balance(address: Any, balance: Any) -> None:
        edit("balance", account(address), hex(numeric(balance, "balance")))
        return None

    def set_nonce(address: Any, nonce: Any) -> None:
        edit("nonce", account(address), hex(numeric(nonce, "nonce", 2**64)))
        return None

    def set_code(address: Any, code: Any) -> None:
        text = code[2:] if isinstance(code, str) and code[:2] == "0x" else code
        try:
            raw = bytes.fromhex(text) if isinstance(text, str) and text.strip() == text else None
        except ValueError:
            raw = None
        if raw is None:
            raise RpcError(f"invalid code {code!r}: expected hex bytes", -32602)
        edit("code", account(address), "0x" + raw.hex())
        return None

    def set_storage_at(address: Any, slot: Any, value: Any) -> bool:
        key = numeric(slot, "storage slot")
        if not (isinstance(value, str) and len(value) == 66 and value[:2] == "0x"):
            raise RpcError(f"invalid storage value {value!r}: expected a 32 byte hex string", -32602)
        try:
            word = int(value, 16)
        except ValueError:
            raise RpcError(f"invalid storage value {value!r}: expected a 32 byte hex string", -32602) from None
        edit("storage", account(address), hex(key), hex(word))
        return True

    def snapshot() -> str:
        """evm_snapshot: the id, a hex quantity from "0x0" on, as anvil's."""
        return hex(ex.snapshot())

    def revert(snapshot_id: Any) -> bool:
        """evm_revert: true, or false for an unknown (or used up) id, as anvil's."""
        return ex.revert(numeric(snapshot_id, "snapshot id"))

    def impersonate(address: Any) -> None:
        """anvil_impersonateAccount: eth_sendTransaction from ``address`` needs no key until
        anvil_stopImpersonatingAccount (in memory, as anvil's: a restart forgets it)."""
        ex.impersonating.add(bytes.fromhex(account(address)[2:]))
        return None

    def stop_impersonating(address: Any) -> None:
        ex.impersonating.discard(bytes.fromhex(account(address)[2:]))
        return None

    def auto_impersonate(enabled: Any) -> None:
        if not isinstance(enabled, bool):
            raise RpcError(f"invalid flag {enabled!r}: expected true or false", -32602)
        ex.auto_impersonate = enabled
        return None

    def reset(options: Any = None) -> None:
        """anvil_reset: the L2 back to its genesis block (Executor.reset); forking options are
        refused, the L2 forks nothing."""
        if options is not None:
            raise RpcError("anvil_reset: the booster L2 does not fork: it takes no options (none resets it to its genesis block)", -32602)
        ex.reset()
        return None

    return {
        **{f"{prefix}_{name}": method for prefix in ("anvil", "hardhat") for name, method in (
            ("impersonateAccount", impersonate), ("stopImpersonatingAccount", stop_impersonating))},
        "anvil_autoImpersonateAccount": auto_impersonate,
        "anvil_reset": reset,
        "hardhat_reset": reset,
        **{f"{prefix}_{name}": method for prefix in ("anvil", "hardhat") for name, method in (
            ("setBalance", set_balance), ("setNonce", set_nonce), ("setCode", set_code), ("setStorageAt", set_storage_at))},
        "evm_snapshot": snapshot,
        "evm_revert": revert,
        "evm_mine": evm_mine,
        "anvil_mine": anvil_mine,
        "hardhat_mine": anvil_mine,
        "evm_increaseTime": increase_time,
        "evm_setNextBlockTimestamp": set_next_block_timestamp,
        "anvil_setBlockTimestampInterval": set_block_timestamp_interval,
        "anvil_removeBlockTimestampInterval": remove_block_timestamp_interval,
        "evm_setAutomine": set_automine,
        "anvil_setAutomine": set_automine,
        "anvil_getAutomine": get_automine,
        "hardhat_getAutomine": get_automine,
        "evm_setIntervalMining": set_interval_mining,
        "anvil_setIntervalMining": set_interval_mining,
    }
