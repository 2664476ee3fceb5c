"""booster's own ABI codec (``booster_cli.abicodec``, used by the client commands so they start
fast) against eth_abi and eth_utils as the oracle: the same bytes for the same values, the same
values back, the same checksummed addresses, and no value accepted from data eth_abi refuses."""

from __future__ import annotations

import eth_abi
import pytest
from eth_utils import keccak as oracle_keccak
from eth_utils import to_checksum_address as oracle_checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from booster_cli import abicodec

BASE = ["uint8", "uint64", "uint256", "int8", "int128", "int256", "address", "bool", "bytes1", "bytes20", "bytes32", "bytes", "string"]


def _types(depth: int = 2):
    base = st.sampled_from(BASE)
    if depth == 0:
        return base
    inner = _types(depth - 1)
    return st.one_of(
        base,
        inner.map(lambda t: f"{t}[]"),
        st.tuples(inner, st.integers(1, 3)).map(lambda p: f"{p[0]}[{p[1]}]"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: f"({','.join(ts)})"),
    )


def _values(t: str):
    if t.endswith("]"):
        at = t.rindex("[")
        item, dim = t[:at], t[at + 1 : -1]
        items = st.lists(_values(item), min_size=int(dim) if dim else 0, max_size=int(dim) if dim else 3)
        return items.map(tuple)
    if t.startswith("("):
        return st.tuples(*[_values(x) for x in abicodec._split(t[1:-1])])
    if t.startswith("uint"):
        return st.integers(0, 2 ** int(t[4:]) - 1)
    if t.startswith("int"):
        bits = int(t[3:])
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if t == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: oracle_checksum(b))
    if t == "bool":
        return st.booleans()
    if t == "string":
        return st.text(max_size=40)
    if t == "bytes":
        return st.binary(max_size=70)
    return st.binary(min_size=int(t[5:]), max_size=int(t[5:]))


def _lower(value):
    """eth_abi gives addresses in lower case; booster checksums them (as cast prints them)."""
    if isinstance(value, tuple):
        return tuple(_lower(v) for v in value)
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return value.lower()
    return value


@st.composite
def typed_values(draw):
    types = draw(st.lists(_types(), min_size=1, max_size=4))
    return types, tuple(draw(_values(t)) for t in types)


@settings(max_examples=400, deadline=None)
@given(typed_values())
def test_the_same_bytes_and_the_same_values_as_eth_abi(case):
    types, values = case
    encoded = abicodec.encode(types, values)
    assert encoded == eth_abi.encode(types, values)
    decoded = abicodec.decode(types, encoded)
    assert _lower(decoded) == eth_abi.decode(types, encoded)
    assert decoded == values


@settings(max_examples=400, deadline=None)
@given(typed_values(), st.data())
def test_damaged_data_is_never_read_as_something_eth_abi_refuses_or_reads_otherwise(case, data):
    types, values = case
    encoded = bytearray(eth_abi.encode(types, values))
    for _ in range(data.draw(st.integers(1, 3))):
        if encoded and data.draw(st.booleans()):
            encoded[data.draw(st.integers(0, len(encoded) - 1))] = data.draw(st.integers(0, 255))
        else:
            del encoded[data.draw(st.integers(0, len(encoded))) :]
    try:
        ours = abicodec.decode(types, bytes(encoded))
    except abicodec.ABIError:
        return
    assert _lower(ours) == eth_abi.decode(types, bytes(encoded))


@pytest.mark.parametrize(
    "types, values",
    [
        (["uint8"], (256,)),
        (["int8"], (-129,)),
        (["uint256"], (-1,)),
        (["bool"], (1,)),
        (["bytes2"], (b"abc",)),
        (["uint256[2]"], ((1,),)),
        (["address"], ("0x1234",)),
    ],
)
def test_values_that_do_not_fit_are_refused_as_eth_abi_refuses_them(types, values):
    with pytest.raises(abicodec.ABIError):
        abicodec.encode(types, values)
    with pytest.raises(Exception):
        eth_abi.encode(types, values)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=20, max_size=20), st.binary(max_size=100))
def test_checksums_and_keccak_as_eth_utils(address, data):
    assert abicodec.to_checksum_address(address) == oracle_checksum(address)
    assert abicodec.to_checksum_address("0x" + address.hex().upper()) == oracle_checksum(address)
    assert abicodec.keccak(data) == oracle_keccak(data)
