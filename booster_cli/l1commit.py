"""The L1 state commitment after each L2 block, computed from the witness alone.

The prover holds Merkle proofs (``eth_getProof`` at the anchor) for every L1 account and slot the
batch read or wrote. Those proofs are partial tries: enough to recompute a root after changing
the keys they prove. So after each L2 block the prover applies that block's L1 writes to the
touched contracts' storage tries, puts the new storage roots into their accounts, and gets the L1
state root the anchor's state would have with the delta so far applied: the block's commitment.
Block k's "before" is block k-1's "after"; the first block's "before" is the anchor's state root.

Deleting a key (writing 0) can collapse a branch node into its one remaining child, and the
child's node is then needed although no proof went through it. The prover finds that child's
position in the trie (a nibble prefix), searches for a slot whose hashed key starts with that
prefix (16^depth tries on average: a few thousand for a contract with thousands of slots) and
asks L1 for that slot's proof at the anchor; the node it needs is in it, and is accepted only
if it hashes to the hash the trie references, so it is as trustworthy as the rest.

After settlement, ``eth_getProof`` on L1 shows exactly the storage roots computed here for every
contract the batch wrote (tests/integration/test_l1_commitments.py). The full L1 state root after
the settlement block differs from the last commitment: that block also moves the relayer's nonce
and balance and the settlement contract's bookkeeping.
"""

from __future__ import annotations

from typing import Callable

import rlp
from eth_utils import keccak
from trie import HexaryTrie
from trie.exceptions import MissingTrieNode

from .errors import BoosterError

MAX_SIBLING_SEARCH = 16**6  # slots tried to reach a trie position; deeper ones are refused, named


class CommitmentError(BoosterError):
    """The L1 commitment cannot be computed from the witness (proving stops, nothing signed)."""


def nibbles(key: bytes) -> tuple[int, ...]:
    return tuple(n for b in key for n in (b >> 4, b & 15))


def _compact_path(encoded: bytes) -> tuple[tuple[int, ...], bool]:
    """(nibbles, is_leaf) of a hex-prefix encoded path (leaf and extension nodes)."""
    flag = encoded[0] >> 4
    path = nibbles(encoded)[1 if flag & 1 else 2 :]
    return path, bool(flag & 2)


def _resolve(db: dict, ref) -> list | None:
    if isinstance(ref, list):
        return ref  # an inline node (under 32 bytes)
    if ref in (b"", None):
        return None
    encoded = db.get(bytes(ref))
    return None if encoded is None else rlp.decode(encoded)


def position_of(db: dict, root: bytes, key: bytes, missing: bytes) -> tuple[int, ...] | None:
    """The nibble path at which the node hashing to ``missing`` sits, found along ``key``'s path
    from ``root`` (as a child of a branch, or below an extension, on that path)."""
    path, wanted = (), nibbles(key)
    node = _resolve(db, root)
    while node is not None:
        if len(node) == 17:
            for i, child in enumerate(node[:16]):
                if not isinstance(child, list) and bytes(child) == missing:
                    return path + (i,)
            if len(path) >= len(wanted):
                return None
            nxt = wanted[len(path)]
            path, node = path + (nxt,), _resolve(db, node[nxt])
        elif len(node) == 2:
            segment, leaf = _compact_path(node[0])
            if leaf or wanted[len(path) : len(path) + len(segment)] != segment:
                return None
            path = path + segment
            if not isinstance(node[1], list) and bytes(node[1]) == missing:
                return path
            node = _resolve(db, node[1])
        else:
            return None
    return None


def slot_at(prefix: tuple[int, ...]) -> int:
    """A slot whose storage-trie key (keccak of its 32 bytes) starts with ``prefix``."""
    if 16 ** len(prefix) > MAX_SIBLING_SEARCH:
        raise CommitmentError(f"a storage trie position {len(prefix)} levels deep cannot be reached by search (limit {MAX_SIBLING_SEARCH:,} slots)")
    n = len(prefix)
    for slot in range(MAX_SIBLING_SEARCH * 4):
        if nibbles(keccak(slot.to_bytes(32, "big"))[: (n + 1) // 2])[:n] == prefix:
            return slot
    raise CommitmentError(f"no slot found under trie position {prefix}")  # pragma: no cover - odds of 1 in e^64


def add_nodes(db: dict, proof_nodes: list[bytes]) -> None:
    """Proof nodes (RLP) into ``db`` by hash; nodes under 32 bytes are inline in their parents."""
    for encoded in proof_nodes:
        if len(encoded) >= 32:
            db[keccak(encoded)] = encoded


class PartialL1State:
    """The anchor's L1 state as far as the witness proves it, updated block by block.

    ``accounts``: each touched account's RLP at the anchor (from its proof); ``db``: every proof
    node by hash; ``fetch``: (address, slot) → that slot's storage proof nodes at the anchor,
    for the rare collapse that needs a node no proof went through."""

    def __init__(self, state_root: bytes, accounts: dict[bytes, bytes], db: dict[bytes, bytes],
                 fetch: Callable[[bytes, int], list[bytes]]) -> None:
        self.db = db
        self.state = HexaryTrie(db, state_root)
        self.accounts = {a: list(rlp.decode(encoded)) for a, encoded in accounts.items()}
        self.storage = {a: HexaryTrie(db, bytes(fields[2])) for a, fields in self.accounts.items()}
        self._fetch = fetch

    @property
    def root(self) -> bytes:
        return self.state.root_hash

    def storage_root(self, address: bytes) -> bytes:
        return self.storage[address].root_hash

    def apply(self, writes: dict[tuple[bytes, int], int]) -> dict[bytes, bytes]:
        """Write ``(address, slot) → value`` (0 deletes), then each changed account's new storage
        root into the state trie. Returns address → new storage root for the accounts whose
        storage root changed."""
        touched: set[bytes] = set()
        for (address, slot), value in writes.items():
            if address not in self.storage:
                raise CommitmentError(f"the witness has no account proof for 0x{address.hex()}")
            self._write(address, slot, value)
            touched.add(address)
        changed = {}
        for address in sorted(touched):
            fields, new_root = self.accounts[address], self.storage[address].root_hash
            if bytes(fields[2]) != new_root:
                fields[2] = new_root
                self.state[keccak(address)] = rlp.encode(fields)
                changed[address] = new_root
        return changed

    def _write(self, address: bytes, slot: int, value: int) -> None:
        trie, key = self.storage[address], keccak(slot.to_bytes(32, "big"))
        for _ in range(64):  # each round brings in one missing node
            try:
                if value:
                    trie[key] = rlp.encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))
                else:
                    del trie[key]
                return
            except MissingTrieNode as exc:
                self._bring_in(address, trie.root_hash, key, bytes(exc.missing_node_hash), slot)
        raise CommitmentError(f"0x{address.hex()} slot {hex(slot)}: too many trie nodes missing")  # pragma: no cover

    def _bring_in(self, address: bytes, root: bytes, key: bytes, missing: bytes, slot: int) -> None:
        where = position_of(self.db, root, key, missing)
        if where is None:
            raise CommitmentError(f"0x{address.hex()} slot {hex(slot)}: a trie node the witness lacks is not on the slot's path")
        add_nodes(self.db, self._fetch(address, slot_at(where)))
        if missing not in self.db:
            raise CommitmentError(f"0x{address.hex()}: L1's proof at trie position {where} lacks the node 0x{missing.hex()}")
