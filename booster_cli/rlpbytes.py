"""RLP encoding written out for the hot paths (accounts, receipts, a transaction's signed
message): pyrlp's generic serializer validates and walks every field, several µs an item.
Checked byte for byte against pyrlp by tests/unit/test_l2vm.py."""

from __future__ import annotations


def rlp_bytes(b: bytes) -> bytes:
    n = len(b)
    if n == 1 and b[0] < 0x80:
        return b
    if n < 56:
        return bytes((0x80 + n,)) + b
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0xB7 + len(size),)) + size + b


def rlp_list(payload: bytes) -> bytes:
    """A list whose items, already encoded, are ``payload``."""
    n = len(payload)
    if n < 56:
        return bytes((0xC0 + n,)) + payload
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size + payload


def rlp_int(value: int) -> bytes:
    return rlp_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"))
