"""The in-process mock prover: signs the batch's public inputs with the dev prover key.

It is a mock only in the seal (an ECDSA signature instead of a SNARK). Public inputs, in this
order, ABI-encoded and hashed with keccak256 (the settlement contract recomputes the same hash):
L1 chain id, batch id, anchor number, anchor hash, L2 chain id, L2 pre/post state roots, hash of
the ordered L2 transaction hashes, hash of the delta.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_utils import keccak


@dataclass(frozen=True)
class PublicInputs:
    l1_chain_id: int
    batch_id: int
    anchor_number: int
    anchor_hash: bytes
    l2_chain_id: int
    l2_pre_state_root: bytes
    l2_post_state_root: bytes
    tx_list_hash: bytes
    delta_hash: bytes

    def hash(self) -> bytes:
        return keccak(
            abi_encode(
                ["uint256", "uint256", "uint256", "bytes32", "uint256", "bytes32", "bytes32", "bytes32", "bytes32"],
                [
                    self.l1_chain_id,
                    self.batch_id,
                    self.anchor_number,
                    self.anchor_hash,
                    self.l2_chain_id,
                    self.l2_pre_state_root,
                    self.l2_post_state_root,
                    self.tx_list_hash,
                    self.delta_hash,
                ],
            )
        )

    def batch_tuple(self) -> tuple:
        """The ``Batch`` struct the settlement contract takes."""
        return (
            self.batch_id,
            self.anchor_number,
            self.anchor_hash,
            self.l2_pre_state_root,
            self.l2_post_state_root,
            self.tx_list_hash,
            self.delta_hash,
        )

    def to_json(self) -> dict:
        return {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in asdict(self).items()}


class MockProver:
    def __init__(self, private_key: str) -> None:
        self._key = keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))

    @property
    def address(self) -> str:
        return self._key.public_key.to_checksum_address()

    def seal(self, inputs: PublicInputs) -> bytes:
        """r ‖ s ‖ v (v = 27/28) over the raw public-inputs hash."""
        sig = self._key.sign_msg_hash(inputs.hash())
        return sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([sig.v + 27])
