"""What the dev methods (devmethods.py, anvil's ``evm_*`` / ``anvil_*``) keep in the executor:
the L2's block clock, the state edits of ``anvil_set*`` and the snapshots of ``evm_snapshot``.

- **The clock.** A new block's timestamp is, as anvil's: the one ``evm_setNextBlockTimestamp``
  (or ``evm_mine``'s) set, else the last block's plus ``anvil_setBlockTimestampInterval``'s
  interval, else the wall clock plus the offset ``evm_increaseTime`` built up; once an exact or
  interval timestamp is used, the offset follows it (later blocks go on from there). Unlike
  anvil, two blocks never share a timestamp: each is at least its parent's + 1 s (py-evm's
  header rule). The clock is kept with the executor's record (a restart goes on from it).
- **Impersonation** (``anvil_impersonateAccount``): ``eth_sendTransaction`` from an address
  without a key signs with a stand-in key (``impersonation_key``) and records the real sender
  with the transaction (the store's ``impersonated``), which every later reading of the block
  uses (``executor.SendersChain``): the prover re-executes it as that sender's.
- **State edits** (``anvil_setBalance``, ``setNonce``, ``setCode``, ``setStorageAt``): a list of
  ``[op, address, *values]`` applied to the L2 state of a new block of their own before its
  transactions (there are none): the executor when it builds the block (and a rebase when it
  rebuilds it), the prover when it re-executes it. They are stored with the block (the store's
  ``block_edits``), so the prover learns them and a restart keeps them. L2 state only: the L1
  view and the delta never see them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

MAX_TIMESTAMP = 2**63 - 1  # block timestamps stay below this (anvil's clock is an i64 offset)


@dataclass
class Clock:
    """The L2's block time (see the module doc)."""

    offset: int = 0  # seconds added to the wall clock (evm_increaseTime)
    next_timestamp: int | None = None  # the next block's, exactly (evm_setNextBlockTimestamp)
    interval: int | None = None  # seconds between blocks (anvil_setBlockTimestampInterval)

    def timestamp_after(self, parent: int) -> int:
        """The timestamp of a block built now on a parent with timestamp ``parent``."""
        if self.next_timestamp is not None:
            ts = self.next_timestamp
        elif self.interval is not None:
            ts = parent + self.interval
        else:
            ts = int(time.time()) + self.offset
        return max(ts, parent + 1)

    def used(self, timestamp: int) -> None:
        """A block was built with ``timestamp``: an exact or interval timestamp moves the offset
        there, so that later blocks follow it (as anvil's clock does)."""
        if self.next_timestamp is not None or self.interval is not None:
            self.offset = timestamp - int(time.time())
        self.next_timestamp = None

    def increase(self, seconds: int, head: int) -> int:
        """evm_increaseTime: the clock moves ``seconds`` on from where it is, or from the head's
        timestamp ``head`` if blocks ran ahead of it (each is at least 1 s after its parent);
        returns the whole offset."""
        self.offset = max(self.offset, head - int(time.time())) + seconds
        return self.offset

    @property
    def is_default(self) -> bool:
        return self.offset == 0 and self.next_timestamp is None and self.interval is None

    def to_record(self) -> dict:
        return {"offset": self.offset, "next_timestamp": self.next_timestamp, "interval": self.interval}

    @classmethod
    def from_record(cls, record: dict | None) -> "Clock":
        return cls(**record) if record else cls()


# -- state edits --
def apply_edits(state: Any, edits: list) -> None:
    """Apply ``anvil_set*`` edits (``[op, 0x address, 0x values...]``) to a py-evm state, in order."""
    for op, address, *values in edits:
        account = bytes.fromhex(address[2:])
        if op == "balance":
            state.set_balance(account, int(values[0], 16))
        elif op == "nonce":
            state.set_nonce(account, int(values[0], 16))
        elif op == "code":
            state.set_code(account, bytes.fromhex(values[0][2:]))
        elif op == "storage":
            state.set_storage(account, int(values[0], 16), int(values[1], 16))
        else:
            raise ValueError(f"unknown state edit {op!r}")


# -- impersonation --
def impersonation_key(sender: bytes) -> str:
    """The stand-in key that signs ``sender``'s transactions while it is impersonated: one per
    sender, so that the same transaction from two impersonated senders has two hashes. Its
    signature says nothing about the sender, which is recorded with the transaction instead."""
    return "0x" + keccak(b"booster impersonation stand-in key" + sender).hex()
