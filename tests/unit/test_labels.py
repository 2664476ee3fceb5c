"""Slot labels from solc storage layouts and the keccak preimages the L1 context saw."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import keccak

from booster_cli.labels import Labeler, Part, decode, describe
from booster_cli.solc import compile_file

REPO = Path(__file__).resolve().parents[2]
ALICE = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
BOB = bytes.fromhex("70997970C51812dc3A010C7d01b50e0d17dc79C8")


def word(x: int | bytes) -> bytes:
    return x.rjust(32, b"\0") if isinstance(x, bytes) else x.to_bytes(32, "big")


def mapping_slot(preimages: dict, key: bytes, base: int) -> int:
    data = word(key) + word(base)
    h = int.from_bytes(keccak(data), "big")
    preimages[h] = data
    return h


@pytest.fixture(scope="module")
def token_layout():
    return compile_file(REPO / "tests" / "contracts" / "OZVotesToken.sol").storage_layout


def slot_of(layout: dict, name: str) -> int:
    return int(next(m["slot"] for m in layout["storage"] if m["label"] == name))


def test_simple_variable_mapping_and_nested_mapping(token_layout):
    pre: dict = {}
    balances = mapping_slot(pre, ALICE, slot_of(token_layout, "_balances"))
    inner = mapping_slot(pre, ALICE, slot_of(token_layout, "_allowances"))
    allowance = mapping_slot(pre, BOB, inner)
    labeler = Labeler({"0xAA": {"name": "Token", "storageLayout": token_layout}}, pre)
    assert describe(labeler, "0xaa", slot_of(token_layout, "_totalSupply"), 10, 4) == {
        "label": "_totalSupply", "contract_name": "Token", "before_decoded": "10", "after_decoded": "4", "change": -6,
    }
    alice = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    bob = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert describe(labeler, "0xAA", balances, 0, 7)["label"] == f"_balances[{alice}]"
    assert describe(labeler, "0xAA", allowance, 5, 3)["label"] == f"_allowances[{alice}][{bob}]"
    # the slot that holds the inner mapping is not a value: it is labelled as the mapping itself
    assert describe(labeler, "0xAA", inner, 0, 0)["label"] == f"_allowances[{alice}]"


def test_dynamic_array_of_packed_structs_inside_a_mapping(token_layout):
    pre: dict = {}
    trace = mapping_slot(pre, ALICE, slot_of(token_layout, "_delegateCheckpoints"))
    data = int.from_bytes(keccak(word(trace)), "big")
    pre[data] = word(trace)
    labeler = Labeler({"0xAA": {"name": "Token", "storageLayout": token_layout}}, pre)
    prefix = "_delegateCheckpoints[0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266]._checkpoints"
    assert describe(labeler, "0xAA", trace, 1, 2)["label"] == prefix + ".length"
    packed = (1234 << 48) | 77  # _value (uint208) above _key (uint48)
    d = describe(labeler, "0xAA", data + 1, 0, packed)
    assert d["label"] == f"{prefix}[1]._key, {prefix}[1]._value"
    assert d["after_decoded"] == "77, 1234" and "change" not in d


def test_unknown_contracts_and_slots_stay_raw(token_layout):
    labeler = Labeler({"0xAA": {"name": "Token", "storageLayout": token_layout}}, {})
    assert describe(labeler, "0xBB", 0, 0, 1) == {"label": None}
    assert describe(labeler, "0xAA", 2**200, 0, 1) == {"label": None}  # a hash nobody saw


def test_values_are_decoded_by_type():
    assert decode(2**256 - 3, Part("x", "t_int256", 0, 32)) == "-3"
    assert decode(0xFF << 8, Part("x", "t_int8", 1, 1)) == "-1"
    assert decode(1 << 160, Part("b", "t_bool", 20, 1)) == "true"
    assert decode(int.from_bytes(ALICE, "big"), Part("a", "t_address", 0, 20)) == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert decode(0xABCD, Part("b", "t_bytes2", 0, 2)) == "0xabcd"


def test_voting_template():
    layout = compile_file(REPO / "templates" / "Voting.sol").storage_layout
    pre: dict = {}
    slot = mapping_slot(pre, word(3), 0)
    labeler = Labeler({"0xAA": {"name": "Voting", "storageLayout": layout}}, pre)
    assert describe(labeler, "0xaa", slot, 4, 7)["label"] == "votes[3]"
    assert describe(labeler, "0xaa", slot, 4, 7)["change"] == 3
