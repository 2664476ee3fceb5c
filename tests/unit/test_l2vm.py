"""The L2 VM's hand-written pieces against py-evm's and rlp's own."""

from __future__ import annotations

import rlp
from eth.rlp.accounts import Account
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.prague.receipts import PragueTypedReceipt as TypedReceipt
from hypothesis import given, settings
from hypothesis import strategies as st

from booster_cli.l2vm import encode_account, encode_receipt, logs_bloom

EDGES = st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**55, 2**56, 2**64 - 1])


@settings(max_examples=500, deadline=None)
@given(nonce=st.one_of(EDGES, st.integers(0, 2**64 - 1)), balance=st.one_of(EDGES, st.integers(0, 2**256 - 1)),
       storage_root=st.binary(min_size=32, max_size=32), code_hash=st.binary(min_size=32, max_size=32))
def test_encode_account_is_rlp(nonce, balance, storage_root, code_hash):
    account = Account(nonce, balance, storage_root, code_hash)
    assert encode_account(account) == rlp.encode(account, sedes=Account)


@settings(max_examples=300, deadline=None)
@given(typed=st.booleans(), status=st.sampled_from([b"", b"\x01", b"\x00" * 32]), gas_used=st.one_of(EDGES, st.integers(0, 2**64)),
       bloom=st.integers(0, 2**2048 - 1),
       logs=st.lists(st.tuples(st.binary(min_size=20, max_size=20), st.lists(st.integers(0, 2**256 - 1), max_size=4), st.binary(max_size=200)), max_size=5))
def test_encode_receipt_is_rlp(typed, status, gas_used, bloom, logs):
    receipt = Receipt(status, gas_used, [Log(a, t, d) for a, t, d in logs], bloom)
    if typed:
        receipt = TypedReceipt(2, receipt)
    assert encode_receipt(receipt) == receipt.encode()


@settings(max_examples=300, deadline=None)
@given(logs=st.lists(st.tuples(st.sampled_from([b"\x01" * 20, b"\xab" * 20]) | st.binary(min_size=20, max_size=20),
                               st.lists(st.sampled_from([0, 1, 2**255]) | st.integers(0, 2**256 - 1), max_size=4)), max_size=6))
def test_logs_bloom_is_eth_blooms(logs):
    from eth_bloom import BloomFilter

    entries = [Log(address, topics, b"") for address, topics in logs]
    expected = BloomFilter.from_iterable(v for log in entries for v in log.bloomables)
    assert logs_bloom(entries) == int(expected)
    assert logs_bloom(entries) == Receipt(b"\x01", 0, entries).bloom
