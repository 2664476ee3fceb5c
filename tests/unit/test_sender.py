"""Recovering a sender from the raw bytes gives what py-evm recovers."""

from __future__ import annotations

from eth.vm.forks.prague import PragueVM
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from booster_cli.sender import recover_sender

DECODER = PragueVM.get_transaction_builder()
KEYS = st.integers(1, 2**255).map(lambda k: "0x" + k.to_bytes(32, "big").hex())


@settings(max_examples=150, deadline=None)
@given(key=KEYS, kind=st.sampled_from([0, 1, 2]), data=st.binary(max_size=300), nonce=st.integers(0, 2**64 - 1),
       value=st.integers(0, 2**200), to=st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
       access=st.booleans())
def test_same_sender_as_py_evm(key, kind, data, nonce, value, to, access):
    tx = {"nonce": nonce, "gas": 100_000, "value": value, "data": data, "chainId": 167010}
    if to is not None:
        tx["to"] = to_checksum_address(to)
    if kind == 2:
        tx |= {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1, "type": 2}
    else:
        tx["gasPrice"] = 10**9
        if kind == 1:
            tx["type"] = 1
    if kind and access:
        tx["accessList"] = [{"address": to_checksum_address("0x" + "ab" * 20), "storageKeys": ["0x" + "00" * 31 + "01"]}]
    raw = bytes(Account.sign_transaction(tx, key).raw_transaction)
    decoded = DECODER.decode(raw)
    fast = recover_sender(raw)
    if kind == 0:
        assert fast is None  # legacy: left to py-evm
    else:
        assert fast == decoded.sender == bytes.fromhex(Account.from_key(key).address[2:])


def test_a_signature_that_py_evm_would_not_take_is_left_to_it():
    raw = bytearray(Account.sign_transaction({"nonce": 0, "gas": 21000, "to": to_checksum_address("0x" + "11" * 20), "value": 0, "chainId": 1,
                                              "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "type": 2}, "0x" + "01" * 32).raw_transaction)
    # the y_parity item sits just before r's 0xa0 prefix: make it 2
    at = bytes(raw).rfind(b"\xa0", 0, len(raw) - 33) - 1
    assert raw[at] in (0x80, 0x01)
    raw[at] = 0x02
    assert recover_sender(bytes(raw)) is None
    assert recover_sender(b"") is None and recover_sender(b"\xf8") is None
