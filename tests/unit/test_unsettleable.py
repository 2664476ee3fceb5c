"""Decoding a target's failure in a settlement (relayer.py): ApplyFailed(target, reason) is never
shown raw, and empty revert data reads as what it is."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from booster_cli.relayer import NO_REASON, apply_failed, target_reason, unsettleable_message

TARGET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def apply_failed_data(reason: bytes) -> bytes:
    return keccak(b"ApplyFailed(address,bytes)")[:4] + encode(["address", "bytes"], [TARGET, reason])


def error_string(message: str) -> bytes:
    return bytes.fromhex("08c379a0") + encode(["string"], [message])


def test_apply_failed_is_split_into_target_and_reason():
    assert apply_failed(apply_failed_data(b"")) == (TARGET, b"")
    assert apply_failed(apply_failed_data(error_string("no"))) == (TARGET, error_string("no"))
    assert apply_failed(error_string("no")) is None
    assert apply_failed(b"") is None and apply_failed(None) is None
    assert apply_failed(keccak(b"ApplyFailed(address,bytes)")[:4] + b"\x01") is None  # malformed


def test_target_reasons_are_words():
    assert target_reason(b"") == NO_REASON
    assert target_reason(None) == NO_REASON
    assert "out of gas" in NO_REASON and "0x" not in NO_REASON
    assert target_reason(error_string("frozen")) == "frozen"
    only = keccak(b"OnlySettlement(address)")[:4] + encode(["address"], [TARGET])
    assert target_reason(only).lower() == f"OnlySettlement({TARGET})".lower()
    assert target_reason(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])) == "panic 0x11"


def test_the_message_names_every_target_and_the_way_out():
    targets = [
        {"contract": TARGET, "name": "Picky", "reason": "one change", "txs": ["0xaa", "0xbb"]},
        {"contract": "0x" + "11" * 20, "name": None, "reason": NO_REASON, "txs": []},
    ]
    message = unsettleable_message(targets)
    assert message.startswith("the pending batch cannot settle: Picky " + TARGET)
    assert "written by 2 L2 transaction(s): 0xaa, 0xbb" in message and NO_REASON in message
    assert f"'booster settle --exclude {TARGET} --exclude 0x{'11' * 20}'" in message
    assert "Nothing was sent" in message
