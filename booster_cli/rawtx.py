"""Typed transactions read straight from their raw bytes: the decode and the sender.

py-evm decodes a transaction through pyrlp's generic sedes machinery, hashes it by encoding it
again, and recovers its sender by rebuilding the unsigned transaction, RLP-encoding it and going
through eth-keys' layers: together about half the cost of taking a transaction in.

- ``TxDecoder``: an EIP-1559 (type 2) transaction without an access list, read field by field
  with the canonical-RLP checks pyrlp's strict decode makes; its hash is keccak of the raw bytes
  (what py-evm computes from its re-encoding, which for canonical input is the same bytes).
  Anything else (other types, an access list, any encoding pyrlp might judge otherwise) answers
  None and is left to py-evm.
- ``recover_sender``: for EIP-2930 (type 1) and EIP-1559 (type 2) transactions the signed message
  is the raw payload's list without its last three items (y_parity, r, s), so it can be cut out
  of the raw bytes; coincurve then recovers the key. Anything else (legacy or other types, a
  y_parity that is not 0 or 1, r or s longer than 32 bytes) answers None: py-evm recovers it.
"""

from __future__ import annotations

from typing import Any

from coincurve import PublicKey
from eth_hash.auto import keccak

from .rlpbytes import rlp_list

_TYPES_WITH_PLAIN_SIGNING = (1, 2)
_DYNAMIC_FEE = 2


class _NotPlain(Exception):
    """An encoding this module does not read (non-canonical, truncated, unexpected shape)."""


def _item(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The canonical RLP item at ``pos`` within ``data[:end]``: (payload start, payload end,
    whether it is a list). Raises _NotPlain where pyrlp's strict decode could disagree."""
    if pos >= end:
        raise _NotPlain
    b = data[pos]
    if b < 0x80:
        return pos, pos + 1, 0
    if b < 0xB8:
        start, stop = pos + 1, pos + 1 + b - 0x80
        if b == 0x81 and (stop > end or data[start] < 0x80):
            raise _NotPlain  # a single byte below 0x80 is its own encoding
        is_list = 0
    elif b < 0xC0 or b >= 0xF8:
        n = b - (0xB7 if b < 0xC0 else 0xF7)
        start = pos + 1 + n
        if start > end or data[pos + 1] == 0:
            raise _NotPlain
        length = int.from_bytes(data[pos + 1:start], "big")
        if length < 56:
            raise _NotPlain  # the long form only for 56 bytes and more
        stop, is_list = start + length, int(b >= 0xF8)
    else:
        start, stop, is_list = pos + 1, pos + 1 + b - 0xC0, 1
    if stop > end:
        raise _NotPlain
    return start, stop, is_list


def _fields(raw: bytes) -> list[tuple[int, int, int, int]]:
    """The items of a typed transaction's payload list: (item start, payload start, payload end,
    is list) each. Raises _NotPlain unless the list spans the rest of ``raw`` exactly."""
    start, end, is_list = _item(raw, 1, len(raw))
    if not is_list or end != len(raw):
        raise _NotPlain
    fields, pos = [], start
    while pos < end:
        s, e, lst = _item(raw, pos, end)
        fields.append((pos, s, e, lst))
        pos = e
    return fields


def _int(raw: bytes, field: tuple[int, int, int, int]) -> int:
    _, s, e, is_list = field
    if is_list or (e > s and raw[s] == 0):
        raise _NotPlain  # big_endian_int: a string without leading zeros
    return int.from_bytes(raw[s:e], "big")


def _bytes(raw: bytes, field: tuple[int, int, int, int]) -> bytes:
    _, s, e, is_list = field
    if is_list:
        raise _NotPlain
    return raw[s:e]


def _decode_dynamic_fee(raw: bytes, typed_class: Any, inner_class: Any) -> Any | None:
    """``raw`` as py-evm's ``typed_class(2, inner_class(...))`` with its hash set, or None when
    py-evm should decode it (see the module doc)."""
    if not raw or raw[0] != _DYNAMIC_FEE:
        return None
    try:
        fields = _fields(raw)
        if len(fields) != 12:
            return None
        to = _bytes(raw, fields[5])
        access = fields[8]
        if len(to) not in (0, 20) or not access[3] or access[1] != access[2]:
            return None
        ints = [_int(raw, fields[i]) for i in (0, 1, 2, 3, 4, 6, 9, 10, 11)]
        data = _bytes(raw, fields[7])
    except _NotPlain:
        return None
    chain_id, nonce, tip, fee_cap, gas, value, y_parity, r, s = ints
    inner = inner_class(chain_id, nonce, tip, fee_cap, gas, to, value, data, (), y_parity, r, s)
    inner._cached_rlp = raw[1:]  # as pyrlp's decode leaves it: encode() returns it
    tx = typed_class(_DYNAMIC_FEE, inner)
    tx.__dict__["hash"] = keccak(raw)  # the cached_property's slot
    return tx


class TxDecoder:
    """A VM's transaction builder's ``decode``, type-2 transactions without an access list read
    here (see the module doc) when the builder decodes them as London's payload decoder does."""

    def __init__(self, builder: Any) -> None:
        from eth.vm.forks.london.transactions import DynamicFeePayloadDecoder, DynamicFeeTransaction

        self.builder = builder
        typed = getattr(builder, "typed_transaction", None)
        fast = typed is not None and getattr(typed, "decoders", {}).get(_DYNAMIC_FEE) is DynamicFeePayloadDecoder
        self._fast = (typed, DynamicFeeTransaction) if fast else None

    def decode(self, raw: bytes) -> Any:
        if self._fast is not None:
            tx = _decode_dynamic_fee(raw, *self._fast)
            if tx is not None:
                return tx
        return self.builder.decode(raw)


def recover_sender(raw: bytes) -> bytes | None:
    """The 20-byte sender of a type-1 or type-2 transaction that has been decoded (by py-evm or
    ``TxDecoder``), or None when py-evm should recover it (see the module doc). Raises if the
    signature does not recover (as py-evm would)."""
    if not raw or raw[0] not in _TYPES_WITH_PLAIN_SIGNING:
        return None
    try:
        fields = _fields(raw)
    except _NotPlain:
        return None
    if len(fields) < 4:
        return None
    (v_at, v_s, v_e, _), (_, r_s, r_e, _), (_, s_s, s_e, _) = fields[-3:]
    y_parity = int.from_bytes(raw[v_s:v_e], "big")
    if y_parity > 1 or r_e - r_s > 32 or s_e - s_s > 32:
        return None
    start = fields[0][0]
    unsigned = raw[start:v_at]
    message = raw[:1] + rlp_list(unsigned)
    signature = raw[r_s:r_e].rjust(32, b"\x00") + raw[s_s:s_e].rjust(32, b"\x00") + bytes((y_parity,))
    public = PublicKey.from_signature_and_message(signature, keccak(message), hasher=None)
    return keccak(public.format(compressed=False)[1:])[12:]
