"""The L1 commitments the prover computes from Merkle proofs alone (l1commit.PartialL1State)
against full tries (py-trie's HexaryTrie holding every node) given the same writes: the same
storage roots and state root after every block, deletions that collapse branches included."""

from __future__ import annotations

import random

import pytest
import rlp
from eth_utils import keccak
from trie import HexaryTrie

from booster_cli.l1commit import CommitmentError, PartialL1State, add_nodes, nibbles, position_of, slot_at

EMPTY_CODE = keccak(b"")


def _value(v: int) -> bytes:
    return rlp.encode(v.to_bytes((v.bit_length() + 7) // 8, "big"))


def _world(rng: random.Random, contracts: int, slots: int):
    """A full L1: a shared node db, each contract's storage trie, the account trie."""
    db: dict = {}
    state = HexaryTrie(db)
    accounts = {}
    storage_slots = {}
    for c in range(contracts):
        address = keccak(b"contract" + bytes([c]))[:20]
        storage = HexaryTrie(db)
        chosen = rng.sample(range(10**6), slots)
        for s in chosen:
            storage[keccak(s.to_bytes(32, "big"))] = _value(rng.randrange(1, 2**64))
        fields = [rng.randrange(1, 5), rng.randrange(10**18), storage.root_hash, keccak(address)]
        state[keccak(address)] = rlp.encode(fields)
        accounts[address] = fields
        storage_slots[address] = chosen
    for filler in range(50):  # accounts nobody touches
        state[keccak(bytes([filler]) * 20)] = rlp.encode([0, filler + 1, HexaryTrie(db).root_hash, EMPTY_CODE])
    return db, state.root_hash, accounts, storage_slots


def _proof_nodes(db: dict, root: bytes, key: bytes) -> list[bytes]:
    return [rlp.encode(node) for node in HexaryTrie(db, root).get_proof(key)]


@pytest.mark.parametrize("seed", range(12))
def test_commitments_from_proofs_match_full_tries(seed: int) -> None:
    rng = random.Random(seed)
    db, anchor_root, accounts, storage_slots = _world(rng, contracts=3, slots=rng.choice([3, 40, 300]))
    anchor_db = dict(db)  # L1 at the anchor, for the rare extra proof
    # the batch's writes, per block: existing slots changed or zeroed, new slots, zeros to absent ones
    blocks = []
    for _ in range(4):
        writes = {}
        for address, slots in storage_slots.items():
            for _ in range(rng.randrange(0, 6)):
                slot = rng.choice(slots) if rng.random() < 0.7 else rng.randrange(10**6, 2 * 10**6)
                writes[(address, slot)] = 0 if rng.random() < 0.4 else rng.randrange(1, 2**200)
        blocks.append(writes)
    # the witness: proofs at the anchor for every account and slot written
    witness_db: dict = {}
    witnessed_accounts = {}
    written = {a for block in blocks for a, _ in block}
    for address in written:
        add_nodes(witness_db, _proof_nodes(anchor_db, anchor_root, keccak(address)))
        witnessed_accounts[address] = rlp.encode(accounts[address])
        for slot in {s for block in blocks for a, s in block if a == address}:
            add_nodes(witness_db, _proof_nodes(anchor_db, accounts[address][2], keccak(slot.to_bytes(32, "big"))))
    fetched = []

    def fetch(address: bytes, slot: int) -> list[bytes]:
        fetched.append(slot)
        return _proof_nodes(anchor_db, accounts[address][2], keccak(slot.to_bytes(32, "big")))

    partial = PartialL1State(anchor_root, witnessed_accounts, witness_db, fetch)
    full_state = HexaryTrie(db, anchor_root)
    full_storage = {a: HexaryTrie(db, f[2]) for a, f in accounts.items()}
    assert partial.root == anchor_root
    for writes in blocks:
        partial.apply(writes)
        for (address, slot), value in writes.items():
            key = keccak(slot.to_bytes(32, "big"))
            if value:
                full_storage[address][key] = _value(value)
            else:
                del full_storage[address][key]
        for address in {a for a, _ in writes}:
            fields = list(rlp.decode(full_state[keccak(address)]))
            fields[2] = full_storage[address].root_hash
            full_state[keccak(address)] = rlp.encode(fields)
            assert partial.storage_root(address) == full_storage[address].root_hash
        assert partial.root == full_state.root_hash


def test_a_collapse_brings_in_the_sibling_node_from_l1() -> None:
    """Deleting one of two keys under a branch needs the other's node, which no proof of the
    deleted key holds: it is fetched through a slot found under its position."""
    db: dict = {}
    storage = HexaryTrie(db)
    slots = list(range(1, 200))
    for s in slots:
        storage[keccak(s.to_bytes(32, "big"))] = _value(10**40 + s)  # long values: hashed leaves
    address = b"\x11" * 20
    state = HexaryTrie(db)
    fields = [1, 0, storage.root_hash, EMPTY_CODE]
    state[keccak(address)] = rlp.encode(fields)
    anchor = dict(db)
    fetches = []

    def fetch(a: bytes, slot: int) -> list[bytes]:
        fetches.append(slot)
        return _proof_nodes(anchor, fields[2], keccak(slot.to_bytes(32, "big")))

    # delete every slot but one: branches collapse over and over
    witness: dict = {}
    add_nodes(witness, _proof_nodes(anchor, state.root_hash, keccak(address)))
    for s in slots[:-1]:
        add_nodes(witness, _proof_nodes(anchor, fields[2], keccak(s.to_bytes(32, "big"))))
    partial = PartialL1State(state.root_hash, {address: rlp.encode(fields)}, witness, fetch)
    partial.apply({(address, s): 0 for s in slots[:-1]})
    for s in slots[:-1]:
        del storage[keccak(s.to_bytes(32, "big"))]
    assert partial.storage_root(address) == storage.root_hash
    assert fetches, "the last leaf's node is in no proof of a deleted slot"


def test_positions_and_the_slot_found_under_one() -> None:
    prefix = (0xA, 0x3, 0x7)
    slot = slot_at(prefix)
    assert nibbles(keccak(slot.to_bytes(32, "big")))[:3] == prefix
    with pytest.raises(CommitmentError):
        slot_at((1,) * 7)
    db: dict = {}
    t = HexaryTrie(db)
    for s in range(300):
        t[keccak(s.to_bytes(32, "big"))] = _value(10**40 + s)
    root_node = rlp.decode(db[t.root_hash])
    child = bytes(root_node[5])
    assert position_of(db, t.root_hash, bytes([0x50]) + bytes(31), child) == (5,)
    assert position_of(db, t.root_hash, bytes([0x50]) + bytes(31), b"\x00" * 32) is None
