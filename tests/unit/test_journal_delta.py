"""The undo journal behind L1CALL writes, the EIP-1559 base fee of the settlement block, and the
delta's JSON form and grouping."""

from __future__ import annotations

from booster_cli.delta import DeltaEntry, group_by_contract, hex32, settleable
from booster_cli.l1view import Anchor, Journal

A = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
B = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


# -- Journal ---------------------------------------------------------------------


def test_set_writes_and_rollback_to_zero_restores_everything() -> None:
    j = Journal()
    storage, balances = {"x": 1}, {}
    j.set(storage, "x", 2)
    j.set(storage, "y", 3)
    j.set(balances, "alice", 10)
    assert storage == {"x": 2, "y": 3} and balances == {"alice": 10}
    j.rollback(0)
    assert storage == {"x": 1} and balances == {}


def test_nested_marks_undo_only_their_own_writes() -> None:
    j, d = Journal(), {}
    j.set(d, "a", 1)
    outer = j.mark()
    j.set(d, "a", 2)
    j.set(d, "b", 1)
    inner = j.mark()
    j.set(d, "a", 3)
    j.set(d, "c", 1)
    assert (outer, inner) == (1, 3)
    j.rollback(inner)
    assert d == {"a": 2, "b": 1}
    j.set(d, "b", 5)  # the outer frame keeps writing after the inner revert
    j.rollback(outer)
    assert d == {"a": 1}


def test_rollback_restores_first_value_after_repeated_writes() -> None:
    j, d = Journal(), {"k": "orig"}
    m = j.mark()
    for v in ("v1", "v2", "v3"):
        j.set(d, "k", v)
    j.rollback(m)
    assert d == {"k": "orig"}


def test_rollback_deletes_keys_created_after_the_mark_even_if_set_to_none() -> None:
    j, d = Journal(), {"old": None}
    m = j.mark()
    j.set(d, "new", None)  # a None value must not be confused with "missing"
    j.set(d, "old", 1)
    j.rollback(m)
    assert d == {"old": None}
    assert "new" not in d


def test_rollback_preserves_insertion_order() -> None:
    j, d = Journal(), {}
    for k in ("s1", "s2", "s3"):
        j.set(d, k, 0)
    m = j.mark()
    j.set(d, "s1", 9)  # modified, then rolled back: must keep its first-write position
    j.set(d, "s4", 9)
    j.set(d, "s2", 9)
    j.rollback(m)
    assert list(d.items()) == [("s1", 0), ("s2", 0), ("s3", 0)]
    j.set(d, "s4", 1)
    assert list(d) == ["s1", "s2", "s3", "s4"]


def test_forget_makes_writes_permanent() -> None:
    j, d = Journal(), {}
    j.set(d, "a", 1)
    j.forget()
    assert j.mark() == 0
    j.set(d, "b", 2)
    j.rollback(0)
    assert d == {"a": 1}


def test_rollback_to_current_mark_is_a_no_op() -> None:
    j, d = Journal(), {}
    j.set(d, "a", 1)
    j.rollback(j.mark())
    assert d == {"a": 1}


# -- Anchor.next_base_fee --------------------------------------------------------


def _anchor(base_fee: int, gas_used: int, gas_limit: int = 30_000_000) -> Anchor:
    return Anchor(1, b"\x00" * 32, 0, base_fee, gas_used, gas_limit, b"\x00" * 20, b"\x00" * 32, b"\x00" * 32)


def test_base_fee_unchanged_at_target() -> None:
    assert _anchor(1_000_000_000, 15_000_000).next_base_fee() == 1_000_000_000


def test_base_fee_full_block_rises_12_5_percent() -> None:
    assert _anchor(1_000_000_000, 30_000_000).next_base_fee() == 1_125_000_000


def test_base_fee_empty_block_falls_12_5_percent() -> None:
    assert _anchor(1_000_000_000, 0).next_base_fee() == 875_000_000


def test_base_fee_partial_blocks() -> None:
    # 3/4 full: +1/8 * (7.5M/15M) = +6.25%; 1/4 full: -6.25%
    assert _anchor(1_000_000_000, 22_500_000).next_base_fee() == 1_062_500_000
    assert _anchor(1_000_000_000, 7_500_000).next_base_fee() == 937_500_000
    # integer division as in the spec: 7 * 1 // 15_000_000 // 8 == 0, so the floor of 1 wei applies
    assert _anchor(7, 15_000_001).next_base_fee() == 8
    # and no floor on the way down: 7 * 15M // 15M // 8 == 0
    assert _anchor(7, 0).next_base_fee() == 7


def test_base_fee_zero_gas_limit() -> None:
    assert _anchor(123, 0, gas_limit=0).next_base_fee() == 123


def test_anchor_from_rpc_block() -> None:
    block = {
        "number": "0x10",
        "hash": "0x" + "ab" * 32,
        "timestamp": "0x5",
        "baseFeePerGas": "0x3b9aca00",
        "gasUsed": "0x0",
        "gasLimit": "0x1c9c380",
        "miner": "0x" + "00" * 20,
        "mixHash": "0x" + "11" * 32,
        "stateRoot": "0x" + "22" * 32,
    }
    anchor = Anchor.from_rpc_block(block)
    assert (anchor.number, anchor.timestamp, anchor.base_fee, anchor.gas_limit) == (16, 5, 10**9, 30_000_000)
    assert anchor.prevrandao == b"\x11" * 32
    assert anchor.next_base_fee() == 875_000_000
    assert anchor.to_json() == {"number": 16, "hash": "0x" + "ab" * 32}


# -- delta -----------------------------------------------------------------------------


def test_delta_entry_to_json_is_32_byte_hex() -> None:
    entry = DeltaEntry(A, 1, 0, 0xFF)
    assert entry.to_json() == {
        "contract": A,
        "slot": "0x" + "00" * 31 + "01",
        "before": "0x" + "00" * 32,
        "after": "0x" + "00" * 31 + "ff",
    }
    assert hex32(2**256 - 1) == "0x" + "ff" * 32


def test_delta_entry_json_round_trip() -> None:
    for entry in (DeltaEntry(A, 0, 0, 1), DeltaEntry(B, 2**256 - 1, 2**255, 12345)):
        assert DeltaEntry.from_json(entry.to_json()) == entry


def test_settleable_drops_net_zero_entries_and_keeps_order() -> None:
    entries = [DeltaEntry(A, 0, 1, 2), DeltaEntry(A, 1, 5, 5), DeltaEntry(B, 0, 0, 0), DeltaEntry(B, 3, 0, 7)]
    assert [e.net_zero for e in entries] == [False, True, True, False]
    assert settleable(entries) == [entries[0], entries[3]]
    assert settleable([]) == []


def test_group_by_contract_keeps_first_write_order() -> None:
    entries = [
        DeltaEntry(B, 5, 0, 50),
        DeltaEntry(A, 2, 0, 20),
        DeltaEntry(B, 1, 0, 10),
        DeltaEntry(A, 0, 0, 1),
        DeltaEntry(B, 9, 0, 90),
    ]
    assert group_by_contract(entries) == [(B, [(5, 50), (1, 10), (9, 90)]), (A, [(2, 20), (0, 1)])]
    assert group_by_contract([]) == []
