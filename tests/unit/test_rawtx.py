"""Reading a transaction from its raw bytes (decode, hash, sender) gives what py-evm gives."""

from __future__ import annotations

from eth.vm.forks.prague import PragueVM
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from booster_cli.rawtx import TxDecoder, recover_sender
from booster_cli.rlpbytes import rlp_bytes, rlp_int, rlp_list

DECODER = PragueVM.get_transaction_builder()
FAST = TxDecoder(DECODER)
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
    mine = FAST.decode(raw)
    assert ("hash" in mine.__dict__) == (kind == 2 and not (kind and access))  # read here, not by py-evm
    assert mine == decoded and mine.hash == decoded.hash and mine.encode() == raw
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


def _raw_type2(items: list[bytes]) -> bytes:
    """A type-2 transaction from already-encoded items (any of them may be non-canonical)."""
    return b"\x02" + rlp_list(b"".join(items))


_s, _i = rlp_bytes, rlp_int  # canonical encodings of a byte string, an integer


def _outcome(decoder, raw: bytes):
    """The decoded transaction, or the type of the exception decoding raised."""
    try:
        return decoder.decode(raw)
    except Exception as exc:
        return type(exc)


TWELVE = [_i(167010), _i(5), _i(1), _i(10**10), _i(100_000), _s(b"\x11" * 20), _i(7), _s(b"\x01\x02"), b"\xc0", _i(1), _i(2**255 + 3), _i(2**200 + 5)]
ODD_ENCODINGS = {
    "int with a leading zero": (1, b"\x82\x00\x05"),
    "single byte in a one-byte string": (1, b"\x81\x05"),
    "zero as a zero byte": (6, b"\x00"),
    "short string in the long form": (7, b"\xb8\x02\x01\x02"),
    "int as a list": (4, b"\xc1\x01"),
    "address of 19 bytes": (5, _s(b"\x11" * 19)),
    "an access list": (8, b"\xd7\xd6\x94" + b"\xab" * 20 + b"\xc0"),
    "data as a list": (7, b"\xc0"),
}


def test_the_plain_encoding_is_read_here():
    raw = _raw_type2(TWELVE)
    tx = FAST.decode(raw)
    assert "hash" in tx.__dict__ and tx == DECODER.decode(raw) and tx.hash == DECODER.decode(raw).hash


@given(st.sampled_from(sorted(ODD_ENCODINGS)))
def test_odd_encodings_are_left_to_py_evm(name):
    at, item = ODD_ENCODINGS[name]
    raw = _raw_type2(TWELVE[:at] + [item] + TWELVE[at + 1:])
    expected, got = _outcome(DECODER, raw), _outcome(FAST, raw)
    assert got == expected
    if not isinstance(got, type):
        assert "hash" not in got.__dict__  # py-evm's decode, not this module's


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=120).map(lambda b: b"\x02" + b))
def test_random_bytes_decode_as_py_evm_decodes_them(raw):
    expected, got = _outcome(DECODER, raw), _outcome(FAST, raw)
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**260), min_size=12, max_size=12), st.binary(max_size=80), st.sampled_from([b"", b"\x33" * 20]), st.integers(0, 11), st.binary(max_size=3))
def test_mutated_items_decode_as_py_evm_decodes_them(ints, data, to, at, junk):
    items = [_i(n) for n in ints]
    items[5], items[7], items[8] = _s(to), _s(data), b"\xc0"
    items[at] = junk or items[at]  # raw junk in place of one item: often non-canonical
    raw = _raw_type2(items)
    expected, got = _outcome(DECODER, raw), _outcome(FAST, raw)
    assert got == expected
    if not isinstance(got, type):
        assert got.hash == expected.hash and got.encode() == expected.encode()
