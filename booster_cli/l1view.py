"""The L2's view of L1: pinned to an anchor block, read lazily over JSON-RPC, with a journaled
overlay of the writes made through L1CALL.

Values fetched from L1 live in the reader's cache, *below* the journal: a reverted call must
never forget them (they are the "original" values SSTORE gas is computed against, and the
"before" values of the delta). Writes go to ``storage`` through the journal, so a revert at any
depth undoes exactly its own writes and a rolled-back first write also leaves the delta.
"""

from __future__ import annotations

from functools import lru_cache

from dataclasses import dataclass, field
from typing import Any, Iterator

from eth_utils import keccak

from .abicodec import to_checksum_address as _checksum

from .capacity import CAPACITY_SHARE_PERCENT, capacity, settlement_gas_estimate
from .delta import DeltaEntry
from .errors import RpcError
from .rpc import RpcClient

_MISSING = object()
APPLY_STATE_UPDATES_SELECTOR = keccak(b"applyStateUpdates((bytes32,bytes32)[])")[:4]
# selector, offset 0x20, length 0: an empty StateChange[]
APPLY_EMPTY_CALLDATA = APPLY_STATE_UPDATES_SELECTOR + (32).to_bytes(32, "big") + (0).to_bytes(32, "big")


@lru_cache(maxsize=4096)
def to_checksum_address(address: bytes) -> str:
    """EIP-55, cached: a block's transactions write the same few contracts (eth_utils' takes
    ~40 µs, which every L1CALL transaction's receipt record would pay)."""
    return _checksum(address)


@dataclass(frozen=True)
class Anchor:
    """The L1 block the L2 executes against; L1CALL sees the block after it (where settlement lands)."""

    number: int
    hash: bytes
    timestamp: int
    base_fee: int
    gas_used: int
    gas_limit: int
    coinbase: bytes
    prevrandao: bytes
    state_root: bytes

    @classmethod
    def from_rpc_block(cls, block: dict) -> "Anchor":
        return cls(
            number=int(block["number"], 16),
            hash=bytes.fromhex(block["hash"][2:]),
            timestamp=int(block["timestamp"], 16),
            base_fee=int(block.get("baseFeePerGas") or "0x0", 16),
            gas_used=int(block["gasUsed"], 16),
            gas_limit=int(block["gasLimit"], 16),
            coinbase=bytes.fromhex(block["miner"][2:]),
            prevrandao=bytes.fromhex((block.get("mixHash") or "0x" + "00" * 32)[2:]),
            state_root=bytes.fromhex(block["stateRoot"][2:]),
        )

    def next_base_fee(self) -> int:
        """EIP-1559 base fee of block number+1, the block a settlement lands in."""
        target = self.gas_limit // 2
        if target == 0 or self.gas_used == target:
            return self.base_fee
        if self.gas_used > target:
            delta = max(self.base_fee * (self.gas_used - target) // target // 8, 1)
            return self.base_fee + delta
        return self.base_fee - self.base_fee * (target - self.gas_used) // target // 8

    def to_json(self) -> dict:
        return {"number": self.number, "hash": "0x" + self.hash.hex()}

    def to_record(self) -> dict:
        return {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_record(cls, record: dict) -> "Anchor":
        return cls(**{k: (bytes.fromhex(v[2:]) if isinstance(v, str) else v) for k, v in record.items()})


class Journal:
    """An undo log shared by several dicts: ``mark`` / ``rollback`` nest like EVM call frames."""

    def __init__(self) -> None:
        self._undo: list[tuple[dict, Any, Any]] = []

    def set(self, target: dict, key: Any, value: Any) -> None:
        self._undo.append((target, key, target.get(key, _MISSING)))
        target[key] = value

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int) -> None:
        undo = self._undo
        while len(undo) > mark:
            target, key, old = undo.pop()
            if old is _MISSING:
                target.pop(key, None)
            else:
                target[key] = old

    def forget(self) -> None:
        """Make everything so far permanent (called between L2 transactions)."""
        self._undo.clear()

    def first_changes_since(self, target: dict, mark: int) -> dict:
        """Each key of ``target`` set since ``mark`` → its value before the first of those sets
        (``_MISSING`` for a key that was not there), in first-set order."""
        first: dict = {}
        for t, key, old in self._undo[mark:]:
            if t is target and key not in first:
                first[key] = old
        return first

    def added_since(self, target: dict, mark: int) -> set:
        """The keys of ``target`` that were not in it at ``mark`` and are now."""
        return {key for t, key, old in self._undo[mark:] if t is target and old is _MISSING and key in target}


@dataclass
class AccountInfo:
    code: bytes
    balance: int
    nonce: int


class L1Reader:
    """Lazy, cached reads of L1 state at one block. Every value read is part of the read set."""

    def __init__(self, rpc: RpcClient, block_number: int) -> None:
        self.rpc = rpc
        self.block_number = block_number
        self.slots: dict[tuple[bytes, int], int] = {}
        self.accounts: dict[bytes, AccountInfo] = {}
        self.block_hashes: dict[int, bytes] = {}
        # an account is fetched whole (code, balance, nonce); only what L1 code looked at is in
        # the read set: code always, balance and nonce when observed
        self.observed_balances: set[bytes] = set()
        self.observed_nonces: set[bytes] = set()
        # what L1 code saw of the block context (NUMBER, TIMESTAMP, ..., BLOCKHASH outside the
        # window): name → value, see L1State; values that change from block to block
        self.observed_block: dict[str, Any] = {}
        self._fresh_accounts: dict[bytes, AccountInfo] = {}

    @property
    def _tag(self) -> str:
        return hex(self.block_number)

    def storage(self, address: bytes, slot: int) -> int:
        key = (address, slot)
        value = self.slots.get(key)
        if value is None:
            raw = self.rpc.call("eth_getStorageAt", "0x" + address.hex(), hex(slot), self._tag)
            value = self.slots[key] = int(raw, 16)
        return value

    def account(self, address: bytes) -> AccountInfo:
        info = self.accounts.get(address)
        if info is None:
            addr = "0x" + address.hex()
            code, balance, nonce = self.rpc.batch(
                [
                    ("eth_getCode", [addr, self._tag]),
                    ("eth_getBalance", [addr, self._tag]),
                    ("eth_getTransactionCount", [addr, self._tag]),
                ]
            )
            info = self.accounts[address] = AccountInfo(bytes.fromhex(code[2:]), int(balance, 16), int(nonce, 16))
        return info

    def block_hash(self, number: int) -> bytes:
        h = self.block_hashes.get(number)
        if h is None:
            block = self.rpc.call("eth_getBlockByNumber", hex(number), False)
            h = self.block_hashes[number] = bytes.fromhex(block["hash"][2:]) if block else b""
        return h

    def changed_since(self, block_number: int) -> list[dict]:
        """The read-set entries whose value at ``block_number`` differs from what was read here."""
        tag = hex(block_number)
        slot_keys = list(self.slots)
        acct_keys = list(self.accounts)
        calls: list[tuple[str, list]] = [("eth_getStorageAt", ["0x" + a.hex(), hex(s), tag]) for a, s in slot_keys]
        for a in acct_keys:
            addr = "0x" + a.hex()
            calls += [("eth_getCode", [addr, tag]), ("eth_getBalance", [addr, tag]), ("eth_getTransactionCount", [addr, tag])]
        watch_block = bool(self.observed_block or self.block_hashes)
        if watch_block:
            calls.append(("eth_getBlockByNumber", [tag, False]))
        results = iter(self.rpc.batch(calls))
        conflicts = []
        for (address, slot), raw in zip(slot_keys, results):
            now = int(raw, 16)
            if now != self.slots[(address, slot)]:
                conflicts.append({"contract": to_checksum_address(address), "slot": slot, "l2_saw": self.slots[(address, slot)], "l1_now": now})
        fresh = {}
        for address in acct_keys:
            seen = self.accounts[address]
            code, balance, nonce = next(results), next(results), next(results)
            now = AccountInfo(bytes.fromhex(code[2:]), int(balance, 16), int(nonce, 16))
            who = to_checksum_address(address)
            if now.code != seen.code:
                conflicts.append({"contract": who, "slot": "code", "l2_saw": f"{len(seen.code)} bytes", "l1_now": f"{len(now.code)} bytes"})
            if address in self.observed_balances and now.balance != seen.balance:
                conflicts.append({"contract": who, "slot": "balance", "l2_saw": seen.balance, "l1_now": now.balance})
            # L1 code can only tell a zero nonce from a non-zero one (emptiness: EXTCODEHASH, a
            # call's gas); the nonce itself is never read (CREATE is refused in the L1 context)
            if address in self.observed_nonces and (now.nonce == 0) != (seen.nonce == 0):
                conflicts.append({"contract": who, "slot": "nonce", "l2_saw": seen.nonce, "l1_now": now.nonce})
            fresh[address] = now
        if watch_block:
            conflicts += self._block_context_changes(Anchor.from_rpc_block(next(results)))
        if not conflicts:
            # what nobody looked at may have moved (balances change with every L1 transaction):
            # take the new block's values, so a later look sees that block
            self._fresh_accounts = fresh
        return conflicts

    def _block_context_changes(self, head: "Anchor") -> list[dict]:
        """What the L1 code saw of its block (block anchor+1) that differs in block head+1, where
        a settlement would land after moving to ``head``; and BLOCKHASH answers that change."""
        now = {
            "NUMBER": head.number + 1, "TIMESTAMP": head.timestamp + 1, "BASEFEE": head.next_base_fee(),
            "COINBASE": head.coinbase, "PREVRANDAO": head.prevrandao, "GASLIMIT": head.gas_limit,
        }
        window = range(head.number + 1 - 256, head.number + 1)
        conflicts = []
        for what, saw in self.observed_block.items():
            if what.startswith("BLOCKHASH "):
                number = int(what.split()[1])
                if number in window:  # was 0 (outside the old window), a hash now
                    conflicts.append({"contract": "L1 block", "slot": what, "l2_saw": "0x", "l1_now": "a block hash"})
            elif now[what] != saw:
                show = (lambda v: "0x" + v.hex()) if isinstance(saw, bytes) else str
                conflicts.append({"contract": "L1 block", "slot": what, "l2_saw": show(saw), "l1_now": show(now[what])})
        for number in self.block_hashes:
            if number not in window:
                conflicts.append({"contract": "L1 block", "slot": f"BLOCKHASH {number}", "l2_saw": "a block hash", "l1_now": "0x (out of the 256-block window)"})
        return conflicts

    def snapshot_reads(self) -> tuple:
        return (set(self.slots), set(self.accounts), set(self.block_hashes), set(self.observed_balances), set(self.observed_nonces), dict(self.observed_block))

    def forget_reads_since(self, snapshot: tuple) -> None:
        """Drop from the read set what was read after ``snapshot`` (an eth_call's reads)."""
        for current, before in zip((self.slots, self.accounts, self.block_hashes), snapshot[:3]):
            for key in set(current) - before:
                del current[key]
        self.observed_balances &= snapshot[3]
        self.observed_nonces &= snapshot[4]
        self.observed_block = snapshot[5]

    def move_to(self, block_number: int) -> None:
        """Re-pin on a later block whose values of the read set are unchanged (see changed_since)."""
        self.block_number = block_number
        self.accounts.update(self._fresh_accounts)
        self._fresh_accounts = {}


@dataclass
class L1View:
    """The L1 state the L2 sees: the anchor's state plus the pending writes (the delta)."""

    rpc: RpcClient
    anchor: Anchor
    chain_id: int
    settlement: bytes | None = None  # the contract that will call applyStateUpdates
    reader: L1Reader = field(init=False)
    journal: Journal = field(default_factory=Journal)
    storage: dict[tuple[bytes, int], int] = field(default_factory=dict)  # pending writes, first-write order
    balances: dict[bytes, int] = field(default_factory=dict)
    nonces: dict[bytes, int] = field(default_factory=dict)
    codes: dict[bytes, bytes] = field(default_factory=dict)
    _marks: dict[Any, int] = field(default_factory=dict)
    _accepts: dict[bytes, bool] = field(default_factory=dict)
    preimages: dict[int, bytes] = field(default_factory=dict)  # keccak → input, for slot labels
    # (anchor, the L1 block context of calls on it), see l1context.execution_context
    block_context: tuple | None = field(default=None, repr=False, compare=False)
    # targets left out of the pending settlement (``booster settle --exclude``): an L1CALL that
    # writes to one is refused, until the settlement lands (see l1context.run_l1_call)
    excluded: set[bytes] = field(default_factory=set)
    # a chained devnet (chain.py): the rollup whose block is being built, and for each L1 slot
    # read (at the anchor, or its pending value) the rollups that read it (a conflict names them)
    read_tag: int | None = None
    readers: dict[tuple[bytes, int], set[int]] = field(default_factory=dict)
    # a traced run (tracing.Tracer): the L1 context runs with its classes (l1context._execute)
    tracer: Any = field(default=None, repr=False, compare=False)
    # False on a forked L1, whose blocks carry no state root: the prover cannot check Merkle
    # proofs and takes the values the L1 node answers (l1source.py, witness.verify_witness)
    l1_proofs: bool = True
    # settlements may apply writes to targets without applyStateUpdates by emulation
    # (anvil_setStorageAt after the settlement verified them): L1CALL does not refuse them
    emulate_apply: bool = False
    # an external L1 (l1source.py): block anchor+1's TIMESTAMP, COINBASE, PREVRANDAO, GASLIMIT
    # are predictions; an L1CALL that read one and wrote is refused (l1context._settlement_refusal)
    predicted_context: bool = False

    def __post_init__(self) -> None:
        self.reader = L1Reader(self.rpc, self.anchor.number)

    def derived(self, anchor: Anchor) -> "L1View":
        """A fresh view at ``anchor`` with no pending writes, under this one's rules: the same
        settlement, exclusions (settle --exclude) and emulation setting (the prover's and a
        trace's re-execution refuse and allow the L1CALL writes this view does)."""
        view = L1View(self.rpc, anchor, self.chain_id, self.settlement)
        view.excluded, view.emulate_apply, view.l1_proofs = set(self.excluded), self.emulate_apply, self.l1_proofs
        view.predicted_context = self.predicted_context
        return view

    # -- reads: pending value first, then L1 at the anchor --
    def get_storage(self, address: bytes, slot: int) -> int:
        if self.read_tag is not None:  # a pending value read depends on L1's too, through the write before it
            self.readers.setdefault((address, slot), set()).add(self.read_tag)
        value = self.storage.get((address, slot))
        return self.reader.storage(address, slot) if value is None else value

    def get_balance(self, address: bytes) -> int:
        value = self.balances.get(address)
        if value is None:
            self.reader.observed_balances.add(address)
            return self.reader.account(address).balance
        return value

    def get_nonce(self, address: bytes) -> int:
        value = self.nonces.get(address)
        if value is None:
            self.reader.observed_nonces.add(address)
            return self.reader.account(address).nonce
        return value

    def get_code(self, address: bytes) -> bytes:
        value = self.codes.get(address)
        return self.reader.account(address).code if value is None else value

    def empty_update_succeeds(self, address: bytes) -> bool:
        """Does an empty ``applyStateUpdates`` from the settlement contract succeed on L1 at the
        anchor (anvil's own answer)? Access control that excludes the settlement fails it."""
        if self.settlement is None:
            return True
        call = {"from": "0x" + self.settlement.hex(), "to": "0x" + address.hex(), "data": "0x" + APPLY_EMPTY_CALLDATA.hex()}
        try:
            self.rpc.call("eth_call", call, hex(self.anchor.number))
        except RpcError:
            return False
        return True

    # -- checkpoints shared with the L2 state, so an L2 revert also undoes its L1CALLs --
    def checkpoint(self, key: Any) -> None:
        self._marks[key] = self.journal.mark()

    def discard(self, key: Any) -> None:
        self.journal.rollback(self._marks.pop(key))

    def commit(self, key: Any) -> None:
        self._marks.pop(key, None)

    # -- the delta --
    @property
    def has_pending(self) -> bool:
        return bool(self.storage)

    def delta(self) -> list[DeltaEntry]:
        return [
            DeltaEntry(to_checksum_address(address), slot, self.reader.storage(address, slot), value)
            for (address, slot), value in self.storage.items()
        ]

    def writes_since(self, mark: int) -> list[DeltaEntry]:
        """The L1 slots written since journal ``mark`` (one L2 transaction's L1CALLs), each with
        its value before the first of those writes (the pending value, or L1's at the anchor)
        and its value now: what that transaction did to the delta."""
        storage, original = self.storage, self.reader.storage
        return [
            DeltaEntry(to_checksum_address(address), slot, original(address, slot) if old is _MISSING else old, storage[(address, slot)])
            for (address, slot), old in self.journal.first_changes_since(storage, mark).items()
            if (address, slot) in storage
        ]

    def reanchor(self, anchor: Anchor, keep_reads: bool) -> None:
        """Move to a new anchor. ``keep_reads`` only when the read set is unchanged at the new anchor."""
        self.anchor = anchor
        if keep_reads:
            # which targets accept applyStateUpdates stays known: the probes' reads are in the
            # read set, unchanged at the new anchor (l1context.accepts_updates)
            self.reader.move_to(anchor.number)
        else:
            self._accepts.clear()
            self.reader = L1Reader(self.rpc, anchor.number)
            self.readers = {}

    def clear_pending(self, keep_exclusions: bool = False) -> None:
        """After settlement: the writes are on L1 now (and the exclusions of that settlement end).
        ``keep_exclusions``: a rebase empties the delta to build it again, under the same ones."""
        for d in (self.storage, self.balances, self.nonces, self.codes, self.preimages):
            d.clear()
        if not keep_exclusions:
            self.excluded.clear()
        self.journal.forget()
        self._marks.clear()

    # -- batch capacity: a batch never outgrows one settlement (see capacity.py) --
    def settlement_shape(self, skip: set | frozenset = frozenset()) -> tuple[int, int, int]:
        """(fresh slots, reset slots, contracts) the pending delta's settlement would carry,
        leaving out the keys in ``skip``; net-zero entries are not settled."""
        fresh = reset = 0
        contracts = set()
        before = self.reader.storage
        for (address, slot), value in self.storage.items():
            if (address, slot) in skip:
                continue
            original = before(address, slot)
            if value == original:
                continue
            if original == 0:
                fresh += 1
            else:
                reset += 1
            contracts.add(address)
        return fresh, reset, len(contracts)

    def settlement_gas_estimate(self) -> int:
        """The L1 gas the pending delta's settlement needs, by the measured model."""
        return settlement_gas_estimate(*self.settlement_shape())

    def capacity_refusal(self, mark: int) -> str:
        """Why the writes made since journal mark ``mark`` must be refused: they would take the
        pending batch past what one settlement can carry on L1 (``capacity.CAPACITY_SHARE_PERCENT``
        of the anchor block's gas limit); "" when they fit. Deterministic in the delta and the
        anchor, so the prover's re-execution refuses exactly the same calls."""
        cap = capacity(self.anchor.gas_limit)
        n = len(self.storage)
        if settlement_gas_estimate(n, 0, n) <= cap:
            return ""  # even all fresh, each in its own contract: it fits (the common case, O(1))
        fresh, reset, contracts = self.settlement_shape()
        gas = settlement_gas_estimate(fresh, reset, contracts)
        if gas <= cap:
            return ""
        limits = f"more than one settlement may use ({cap:,} gas: {CAPACITY_SHARE_PERCENT}% of L1's block gas limit {self.anchor.gas_limit:,})"
        new = self.journal.added_since(self.storage, mark)
        if not any(self.settlement_shape(new)[:2]):
            return (
                f"this L1CALL alone writes {fresh + reset} slots in {contracts} contract(s), ~{gas:,} L1 gas to settle, "
                f"{limits}: split the work over several transactions"
            )
        return (
            f"the pending batch is full: with this call's writes it would hold {fresh + reset} slots in {contracts} contract(s), "
            f"~{gas:,} L1 gas to settle, {limits}; run booster settle, then send this again"
        )

    # -- persistence (between L2 transactions: the journal is empty then) --
    def to_record(self) -> dict:
        r = self.reader
        return {
            "anchor": self.anchor.to_record(),
            "storage": [[a.hex(), hex(s), hex(v)] for (a, s), v in self.storage.items()],
            "reads": {
                "block": r.block_number,
                "slots": [[a.hex(), hex(s), hex(v)] for (a, s), v in r.slots.items()],
                "accounts": [[a.hex(), i.code.hex(), hex(i.balance), hex(i.nonce)] for a, i in r.accounts.items()],
                "block_hashes": [[n, h.hex()] for n, h in r.block_hashes.items()],
                "observed_balances": [a.hex() for a in r.observed_balances],
                "observed_nonces": [a.hex() for a in r.observed_nonces],
                "observed_block": {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in r.observed_block.items()},
            },
            "accepts": [[a.hex(), ok] for a, ok in self._accepts.items()],
            "preimages": [[hex(h), p.hex()] for h, p in self.preimages.items()],
            "excluded": [a.hex() for a in sorted(self.excluded)],
            **({"readers": [[a.hex(), hex(s), sorted(who)] for (a, s), who in self.readers.items()]} if self.readers else {}),
        }

    def load_record(self, record: dict) -> None:
        self.anchor = Anchor.from_record(record["anchor"])
        reads = record["reads"]
        self.reader = L1Reader(self.rpc, reads["block"])
        self.reader.slots = {(bytes.fromhex(a), int(s, 16)): int(v, 16) for a, s, v in reads["slots"]}
        self.reader.accounts = {bytes.fromhex(a): AccountInfo(bytes.fromhex(c), int(b, 16), int(n, 16)) for a, c, b, n in reads["accounts"]}
        self.reader.block_hashes = {int(n): bytes.fromhex(h) for n, h in reads["block_hashes"]}
        self.reader.observed_balances = {bytes.fromhex(a) for a in reads.get("observed_balances", [])}
        self.reader.observed_nonces = {bytes.fromhex(a) for a in reads.get("observed_nonces", [])}
        self.reader.observed_block = {k: (bytes.fromhex(v[2:]) if isinstance(v, str) else v) for k, v in reads.get("observed_block", {}).items()}
        self.storage = {(bytes.fromhex(a), int(s, 16)): int(v, 16) for a, s, v in record["storage"]}
        self._accepts = {bytes.fromhex(a): ok for a, ok in record["accepts"]}
        self.preimages = {int(h, 16): bytes.fromhex(p) for h, p in record.get("preimages", [])}
        self.excluded = {bytes.fromhex(a) for a in record.get("excluded", [])}
        self.readers = {(bytes.fromhex(a), int(s, 16)): set(who) for a, s, who in record.get("readers", [])}
        self.journal.forget()

    def ancestor_hashes(self) -> Iterator[bytes]:
        """BLOCKHASH source for the L1 context (block anchor+1): anchor, anchor-1, ... fetched lazily."""
        n = self.anchor.number
        yield self.anchor.hash
        for number in range(n - 1, max(n - 256, -1), -1):
            yield self.reader.block_hash(number)
