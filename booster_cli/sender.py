"""A typed transaction's sender, recovered straight from its raw bytes.

py-evm rebuilds the unsigned transaction and RLP-encodes it again to get the message that was
signed, then recovers through eth-keys' layers: about half the cost of taking a transaction in.
For EIP-2930 (type 1) and EIP-1559 (type 2) transactions the signed message is the raw
payload's list without its last three items (y_parity, r, s), so it can be cut out of the raw
bytes; coincurve then recovers the key. Anything else (legacy or other types, a y_parity that
is not 0 or 1, r or s longer than 32 bytes) is left to py-evm: ``recover_sender`` answers None.
"""

from __future__ import annotations

from coincurve import PublicKey
from eth_hash.auto import keccak

_TYPES_WITH_PLAIN_SIGNING = (1, 2)


def _item(data: bytes, pos: int) -> tuple[int, int, int]:
    """The RLP item at ``pos``: (payload start, payload end, whether it is a list)."""
    b = data[pos]
    if b < 0x80:
        return pos, pos + 1, 0
    if b < 0xB8:
        return pos + 1, pos + 1 + b - 0x80, 0
    if b < 0xC0:
        n = b - 0xB7
        start = pos + 1 + n
        return start, start + int.from_bytes(data[pos + 1:start], "big"), 0
    if b < 0xF8:
        return pos + 1, pos + 1 + b - 0xC0, 1
    n = b - 0xF7
    start = pos + 1 + n
    return start, start + int.from_bytes(data[pos + 1:start], "big"), 1


def _list_prefix(length: int) -> bytes:
    if length < 56:
        return bytes((0xC0 + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size


def recover_sender(raw: bytes) -> bytes | None:
    """The 20-byte sender of a type-1 or type-2 transaction that py-evm has decoded, or None
    when py-evm should recover it (see the module doc). Raises if the signature does not
    recover (as py-evm would)."""
    if not raw or raw[0] not in _TYPES_WITH_PLAIN_SIGNING:
        return None
    start, end, is_list = _item(raw, 1)
    if not is_list or end != len(raw):
        return None
    fields = []
    pos = start
    while pos < end:
        s, e, _ = _item(raw, pos)
        fields.append((pos, s, e))
        pos = e
    if len(fields) < 4:
        return None
    (v_at, v_s, v_e), (_, r_s, r_e), (_, s_s, s_e) = fields[-3:]
    y_parity = int.from_bytes(raw[v_s:v_e], "big")
    if y_parity > 1 or r_e - r_s > 32 or s_e - s_s > 32:
        return None
    unsigned = raw[start:v_at]
    message = raw[:1] + _list_prefix(len(unsigned)) + unsigned
    signature = raw[r_s:r_e].rjust(32, b"\x00") + raw[s_s:s_e].rjust(32, b"\x00") + bytes((y_parity,))
    public = PublicKey.from_signature_and_message(signature, keccak(message), hasher=None)
    return keccak(public.format(compressed=False)[1:])[12:]
