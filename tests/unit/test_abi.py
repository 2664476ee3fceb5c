"""cast-notation signatures, argument parsing/encoding and revert decoding, checked against
eth_abi / eth_utils computed independently."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from booster_cli.abi import decode_revert, encode_call, error_table, parse_signature, parse_value
from booster_cli.artifacts import SETTLEMENT_ARTIFACT
from booster_cli.errors import UsageError

ADDR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"  # lower case on purpose
ADDR2 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


# -- parse_signature ---------------------------------------------------------


@pytest.mark.parametrize(
    "sig, name, inputs, outputs",
    [
        ("vote(uint256)", "vote", ["uint256"], []),
        ("balanceOf(address)(uint256)", "balanceOf", ["address"], ["uint256"]),
        ("totalSupply()", "totalSupply", [], []),
        (
            "f(uint,int8[],(uint,address)[2])(bool,string)",
            "f",
            ["uint256", "int8[]", "(uint256,address)[2]"],
            ["bool", "string"],
        ),
        ("transfer(address to, uint256 amount)", "transfer", ["address", "uint256"], []),
        ("  g( uint , int )( int[3][] ) ", "g", ["uint256", "int256"], ["int256[3][]"]),
        ("function foo(uint x) external view returns (uint)", "foo", ["uint256"], ["uint256"]),
        ("h(uint256[],uint8,int128)", "h", ["uint256[]", "uint8", "int128"], []),
        ("_set_x(bytes32,bytes)", "_set_x", ["bytes32", "bytes"], []),
    ],
)
def test_parse_signature(sig, name, inputs, outputs) -> None:
    s = parse_signature(sig)
    assert (s.name, s.inputs, s.outputs) == (name, inputs, outputs)


def test_canonical_types_are_not_corrupted() -> None:
    # an alias must replace only a bare "uint"/"int", never the prefix of a sized type
    s = parse_signature("f(uint256,int256,uint8[],uint[],int[2])")
    assert s.canonical == "f(uint256,int256,uint8[],uint256[],int256[2])"


@pytest.mark.parametrize(
    "sig, canonical",
    [
        ("vote(uint256)", "vote(uint256)"),
        ("vote(uint)", "vote(uint256)"),
        ("balanceOf(address)(uint256)", "balanceOf(address)"),
        ("transfer(address to, uint256 amount)", "transfer(address,uint256)"),
        ("f(uint,int8[],(uint,address)[2])(bool,string)", "f(uint256,int8[],(uint256,address)[2])"),
    ],
)
def test_selector_matches_eth_utils(sig, canonical) -> None:
    s = parse_signature(sig)
    assert s.canonical == canonical
    assert s.selector == function_signature_to_4byte_selector(canonical)
    assert s.selector == keccak(text=canonical)[:4]


def test_well_known_selectors() -> None:
    assert parse_signature("transfer(address,uint256)").selector.hex() == "a9059cbb"
    assert parse_signature("balanceOf(address)(uint256)").selector.hex() == "70a08231"


@pytest.mark.parametrize(
    "sig, fragment",
    [
        ("vote", "cast notation"),
        ("(uint256)", "cast notation"),
        ("vo-te(uint256)", "cast notation"),
        ("vote(uint256", "unbalanced"),
        ("f((uint256,address)", "unbalanced"),
        ("balanceOf(address) uint256", "parentheses"),
    ],
)
def test_bad_signatures_raise_usage_error(sig, fragment) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_signature(sig)


@pytest.mark.parametrize("sig", ["f((uint, address))", "f((uint a, address b) pair)"])
def test_tuple_with_spaces_or_names(sig) -> None:
    assert parse_signature(sig).canonical == "f((uint256,address))"


# -- encode_call ---------------------------------------------------------------


def _call(canonical: str, types: list[str], values: list) -> bytes:
    return function_signature_to_4byte_selector(canonical) + encode(types, values)


@pytest.mark.parametrize("text, value", [("42", 42), ("0x2a", 42), ("1_000_000", 1_000_000), ("0", 0), (str(2**256 - 1), 2**256 - 1)])
def test_encode_uint(text, value) -> None:
    assert encode_call("vote(uint256)", [text]) == _call("vote(uint256)", ["uint256"], [value])


def test_encode_negative_int() -> None:
    assert encode_call("f(int8)", ["-5"]) == _call("f(int8)", ["int8"], [-5])


def test_encode_address_bool_string() -> None:
    got = encode_call("f(address,bool,bool,string)", [ADDR, "true", "0", "hello, world"])
    want = _call("f(address,bool,bool,string)", ["address", "bool", "bool", "string"], [to_checksum_address(ADDR), True, False, "hello, world"])
    assert got == want


def test_encode_bytes_and_fixed_bytes() -> None:
    got = encode_call("f(bytes,bytes4,bytes32)", ["0xdeadbeef00", "0x01020304", "0x" + "ab" * 32])
    want = _call("f(bytes,bytes4,bytes32)", ["bytes", "bytes4", "bytes32"], [bytes.fromhex("deadbeef00"), b"\x01\x02\x03\x04", b"\xab" * 32])
    assert got == want


def test_encode_arrays_and_tuples() -> None:
    got = encode_call(
        "f(uint[],int8[2],(uint,address),(uint,address)[])",
        ["[1, 2, 3]", "[-1,2]", f"(7,{ADDR})", f"[(1,{ADDR}), (2,{ADDR2})]"],
    )
    types = ["uint256[]", "int8[2]", "(uint256,address)", "(uint256,address)[]"]
    want = _call(
        "f(uint256[],int8[2],(uint256,address),(uint256,address)[])",
        types,
        [[1, 2, 3], [-1, 2], (7, to_checksum_address(ADDR)), [(1, to_checksum_address(ADDR)), (2, ADDR2)]],
    )
    assert got == want


def test_encode_empty_and_nested_arrays() -> None:
    assert encode_call("f(uint[])", ["[]"]) == _call("f(uint256[])", ["uint256[]"], [[]])
    assert encode_call("f(uint[][])", ["[[1,2],[3]]"]) == _call("f(uint256[][])", ["uint256[][]"], [[[1, 2], [3]]])


def test_encode_no_args() -> None:
    assert encode_call("totalSupply()", []) == bytes.fromhex("18160ddd")


@pytest.mark.parametrize(
    "sig, args, fragment",
    [
        ("vote(uint256)", [], r"expected 1 argument\(s\) \(uint256\), got 0"),
        ("vote(uint256)", ["1", "2"], "got 2"),
        ("f()", ["1"], r"\(none\)"),
        ("vote(uint256)", ["abc"], "^cannot read 'abc' as uint256: expected a whole number, like 42, 0x2a or 1_000_000$"),
        ("vote(uint256)", ["-1"], r"cannot read '-1' as uint256: out of range \(0 to 2\*\*256 - 1\)"),
        ("f(uint8)", ["256"], r"cannot read '256' as uint8: out of range \(0 to 2\*\*8 - 1\)"),
        ("f(int8)", ["-129"], r"cannot read '-129' as int8: out of range \(-128 to 127\)"),
        ("f(bytes32)", ["0xzz"], "cannot read '0xzz' as bytes32: expected hex bytes, like 0x1234$"),
        ("f(address)", ["0x1234"], "cannot read '0x1234' as address"),
        ("f(address)", ["70997970c51812dc3a010c7d01b50e0d17dc79c8"], "0x-prefixed"),
        ("f(address)", ["0x" + "zz" * 20], "as address"),
        ("f(bool)", ["yes"], "expected true or false"),
        ("f(bytes4)", ["0x0102030405"], "longer than 4 bytes"),
        ("f(bytes)", ["0xabc"], "as bytes"),
        ("f(uint[])", ["1,2"], r"arrays are written \[a,b,c\]"),
        ("f((uint,bool))", ["(1)"], "expected 2 fields"),
        ("f((uint,bool))", ["1,true"], r"tuples are written \(a,b\)"),
        ("f(fixed128x18)", ["1"], "unsupported ABI type"),
    ],
)
def test_bad_arguments_raise_usage_error(sig, args, fragment) -> None:
    with pytest.raises(UsageError, match=fragment):
        encode_call(sig, args)


def test_short_fixed_bytes_are_right_padded() -> None:
    assert parse_value("bytes4", "0x0102") == b"\x01\x02"
    assert encode_call("f(bytes4)", ["0x0102"]) == _call("f(bytes4)", ["bytes4"], [b"\x01\x02\x00\x00"])


# -- decode_revert -----------------------------------------------------------------


def test_decode_error_string() -> None:
    data = bytes.fromhex("08c379a0") + encode(["string"], ["not enough votes"])
    assert decode_revert(data) == "not enough votes"


def test_decode_panic() -> None:
    data = function_signature_to_4byte_selector("Panic(uint256)") + encode(["uint256"], [0x11])
    assert decode_revert(data) == "panic 0x11"
    assert decode_revert(data[:4] + encode(["uint256"], [1])) == "panic 0x01"


@pytest.fixture(scope="module")
def settlement_errors():
    return error_table(json.loads(SETTLEMENT_ARTIFACT.read_text())["abi"])


def test_error_table_from_settlement_abi(settlement_errors) -> None:
    selector = function_signature_to_4byte_selector("WrongBatchId(uint256,uint256)")
    assert settlement_errors[selector] == ("WrongBatchId", ["uint256", "uint256"])
    assert settlement_errors[function_signature_to_4byte_selector("DeltaHashMismatch()")] == ("DeltaHashMismatch", [])


def test_decode_custom_errors(settlement_errors) -> None:
    wrong_batch = function_signature_to_4byte_selector("WrongBatchId(uint256,uint256)") + encode(["uint256", "uint256"], [3, 2])
    assert decode_revert(wrong_batch, settlement_errors) == "WrongBatchId(3, 2)"
    apply_failed = function_signature_to_4byte_selector("ApplyFailed(address,bytes)") + encode(["address", "bytes"], [ADDR2, b"\xca\xfe"])
    assert decode_revert(apply_failed, settlement_errors) == f"ApplyFailed({ADDR2}, 0xcafe)"
    assert decode_revert(function_signature_to_4byte_selector("DeltaHashMismatch()"), settlement_errors) == "DeltaHashMismatch()"


def test_decode_custom_error_without_table_is_hex() -> None:
    data = function_signature_to_4byte_selector("WrongBatchId(uint256,uint256)") + encode(["uint256", "uint256"], [3, 2])
    assert decode_revert(data) == "reverted with data 0x" + data.hex()


def test_decode_empty_unknown_and_malformed() -> None:
    assert decode_revert(b"") == "reverted without a reason"
    assert decode_revert(bytes.fromhex("deadbeef01")) == "reverted with data 0xdeadbeef01"
    assert decode_revert(b"\x08\xc3") == "reverted with data 0x08c3"
    # Error(string) selector with a truncated body falls back to hex instead of raising
    assert decode_revert(bytes.fromhex("08c379a0") + b"\x00" * 5) == "reverted with data 0x08c379a0" + "00" * 5
