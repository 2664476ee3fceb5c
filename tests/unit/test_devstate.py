"""The dev methods' pieces without a node: the block clock, state edits, anvil's quantities."""

from __future__ import annotations

import pytest
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB

from booster_cli.devmethods import numeric
from booster_cli.devstate import Clock, apply_edits, impersonation_key
from booster_cli.errors import RpcError


def test_a_block_is_always_after_its_parent():
    clock = Clock()
    now = clock.timestamp_after(0)
    assert clock.timestamp_after(now + 50) == now + 51  # blocks ran ahead of the wall clock: parent + 1
    clock.next_timestamp = now + 1000
    assert clock.timestamp_after(now) == now + 1000
    assert clock.timestamp_after(now + 2000) == now + 2001  # an exact timestamp never goes back
    clock.used(now + 1000)
    assert clock.next_timestamp is None and clock.timestamp_after(now + 1000) >= now + 1001
    assert clock.offset >= 999  # later blocks follow the exact one, as anvil's clock does


def test_interval_and_increase_and_record():
    clock = Clock(interval=7)
    assert clock.timestamp_after(100) == 107
    clock = Clock()
    head = clock.timestamp_after(0) + 500  # the head ran 500 s ahead
    offset = clock.increase(60, head)
    assert clock.timestamp_after(head) >= head + 60 and offset >= 560
    assert Clock.from_record(clock.to_record()) == clock and Clock.from_record(None).is_default


def test_edits_apply_in_order():
    accounts = AccountDB(AtomicDB())
    who = "0x" + "11" * 20
    raw = bytes.fromhex("11" * 20)
    apply_edits(accounts, [["balance", who, "0x5"], ["nonce", who, "0x7"], ["code", who, "0x6000"], ["storage", who, "0x1", "0x2"],
                           ["balance", who, "0x9"]])
    assert (accounts.get_balance(raw), accounts.get_nonce(raw), accounts.get_code(raw), accounts.get_storage(raw, 1)) == (9, 7, b"\x60\x00", 2)
    with pytest.raises(ValueError, match="unknown state edit"):
        apply_edits(accounts, [["bogus", who]])


def test_stand_in_keys_differ_per_sender():
    assert impersonation_key(b"\x11" * 20) != impersonation_key(b"\x22" * 20)


@pytest.mark.parametrize("value, expected", [(5, 5), ("0x10", 16), ("0X10", 16), ("100", 100), ("0x0", 0)])
def test_quantities_as_anvil_takes_them(value, expected):
    assert numeric(value, "n") == expected


@pytest.mark.parametrize("value", [-1, True, "bad", "", " 1", "0x", "1.5", None, 2**256, [1]])
def test_bad_quantities_are_invalid_params(value):
    with pytest.raises(RpcError) as refused:
        numeric(value, "n")
    assert refused.value.code == -32602
