"""Signing EIP-1559 transactions with coincurve (no eth-account: it costs ~0.4 s of imports,
and client commands must answer fast)."""

from __future__ import annotations

import rlp
from coincurve import PrivateKey
from eth_utils import keccak


def _key(private_key: str) -> PrivateKey:
    return PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))


def address_of(private_key: str) -> str:
    from eth_utils import to_checksum_address

    pub = _key(private_key).public_key.format(compressed=False)[1:]
    return to_checksum_address(keccak(pub)[-20:])


def sign_eip1559(
    private_key: str,
    *,
    chain_id: int,
    nonce: int,
    to: str | None,
    data: bytes,
    gas: int,
    max_fee_per_gas: int,
    max_priority_fee_per_gas: int,
    value: int = 0,
) -> tuple[bytes, bytes]:
    """(raw transaction, transaction hash) of a signed type-2 transaction."""
    to_bytes = bytes.fromhex(to.removeprefix("0x")) if to else b""
    fields = [chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas, to_bytes, value, data, []]
    digest = keccak(b"\x02" + rlp.encode(fields))
    sig = _key(private_key).sign_recoverable(digest, hasher=None)
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    raw = b"\x02" + rlp.encode(fields + [v, r, s])
    return raw, keccak(raw)
