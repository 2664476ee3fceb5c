"""Signing EIP-1559 transactions with coincurve (no eth-account: it costs ~0.4 s of imports,
and client commands must answer fast; nor pyrlp or eth_utils, which import pydantic: ~0.1 s)."""

from __future__ import annotations

from coincurve import PrivateKey

from .abicodec import keccak, to_checksum_address
from .rlpbytes import rlp_bytes, rlp_int, rlp_list


def _key(private_key: str) -> PrivateKey:
    return PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))


def address_of(private_key: str) -> str:
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
    fields = b"".join([rlp_int(chain_id), rlp_int(nonce), rlp_int(max_priority_fee_per_gas), rlp_int(max_fee_per_gas), rlp_int(gas),
                       rlp_bytes(to_bytes), rlp_int(value), rlp_bytes(data), rlp_list(b"")])  # the last: an empty access list
    digest = keccak(b"\x02" + rlp_list(fields))
    sig = _key(private_key).sign_recoverable(digest, hasher=None)
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    raw = b"\x02" + rlp_list(fields + rlp_int(v) + rlp_int(r) + rlp_int(s))
    return raw, keccak(raw)
