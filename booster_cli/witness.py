"""The prover's witness: Merkle proofs (``eth_getProof``) at the anchor for everything the batch
read or wrote on L1, verified against the anchor's state root — itself checked to belong to the
anchor hash by re-hashing the anchor header. After verification, the witness is the only L1 data
the prover's re-execution may see (``WitnessReader``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import rlp
from eth_utils import keccak, to_checksum_address
from trie import HexaryTrie
from trie.exceptions import BadTrieProof
from trie.exceptions import ValidationError as TrieValidationError

from .errors import BoosterError
from .l1view import AccountInfo, Anchor
from .rpc import RpcClient

EMPTY_ROOT = keccak(rlp.encode(b""))
EMPTY_CODE_HASH = keccak(b"")


class WitnessError(BoosterError):
    """The witness does not prove what it claims: proving stops, nothing is signed."""


class WitnessMiss(BoosterError):
    """Re-execution read L1 data the witness does not hold (never fetched silently)."""


@dataclass
class Witness:
    anchor: Anchor
    accounts: dict[bytes, AccountInfo] = field(default_factory=dict)
    slots: dict[tuple[bytes, int], int] = field(default_factory=dict)
    block_hashes: dict[int, bytes] = field(default_factory=dict)
    proof_bytes: int = 0
    # for the L1 commitments (l1commit.py): the anchor's state root, each account's proven RLP
    # (b"" for an account L1 does not have) and every verified proof node by hash
    state_root: bytes = b""
    account_rlp: dict[bytes, bytes] = field(default_factory=dict)
    nodes: dict[bytes, bytes] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"accounts": len(self.accounts), "slots": len(self.slots), "block_hashes": len(self.block_hashes), "proof_bytes": self.proof_bytes}


def _b(value: str | None) -> bytes:
    return bytes.fromhex(value[2:]) if value else b""


def _i(value: str | None) -> int:
    return int(value, 16) if value else 0


def header_hash(block: dict) -> bytes:
    """keccak256 of the RLP of an L1 (Prague) header given as JSON-RPC returns it."""
    fields = [
        _b(block["parentHash"]), _b(block["sha3Uncles"]), _b(block["miner"]), _b(block["stateRoot"]),
        _b(block["transactionsRoot"]), _b(block["receiptsRoot"]), _b(block["logsBloom"]), _i(block["difficulty"]),
        _i(block["number"]), _i(block["gasLimit"]), _i(block["gasUsed"]), _i(block["timestamp"]),
        _b(block["extraData"]), _b(block["mixHash"]), _b(block["nonce"]), _i(block.get("baseFeePerGas")),
        _b(block.get("withdrawalsRoot")), _i(block.get("blobGasUsed")), _i(block.get("excessBlobGas")),
        _b(block.get("parentBeaconBlockRoot")), _b(block.get("requestsHash")),
    ]
    return keccak(rlp.encode(fields))


def fetch_raw_witness(rpc: RpcClient, anchor: Anchor, slots: dict[bytes, set[int]], accounts: set[bytes], block_numbers: set[int],
                      proofs: bool = True) -> dict:
    """Everything the prover needs from L1, unverified, as JSON-RPC returned it. Without
    ``proofs`` (a forked L1, l1source.py) the accounts and slots are read one by one: a forked
    anvil's eth_getProof answers zeros for what it has not fetched from the forked chain."""
    tag = hex(anchor.number)
    addresses = sorted(set(slots) | accounts)
    if not proofs:
        return {**fetch_raw_witness(rpc, anchor, {}, set(), block_numbers), "proofs": _read_plainly(rpc, tag, addresses, slots),
                "codes": rpc.batch([("eth_getCode", ["0x" + a.hex(), tag]) for a in addresses]) if addresses else []}
    calls: list[tuple[str, list]] = [("eth_getBlockByNumber", [tag, False])]
    for a in addresses:
        keys = ["0x" + s.to_bytes(32, "big").hex() for s in sorted(slots.get(a, ()))]
        calls.append(("eth_getProof", ["0x" + a.hex(), keys, tag]))
        calls.append(("eth_getCode", ["0x" + a.hex(), tag]))
    lowest = min(block_numbers, default=anchor.number)
    calls += [("eth_getBlockByNumber", [hex(n), False]) for n in range(anchor.number - 1, lowest - 1, -1)]
    answers = rpc.batch(calls)
    n = len(addresses)
    return {
        "header": answers[0],
        "proofs": answers[1 : 1 + 2 * n : 2],
        "codes": answers[2 : 2 + 2 * n : 2],
        "ancestors": answers[1 + 2 * n :],
        "block_numbers": sorted(block_numbers),
    }


def _read_plainly(rpc: RpcClient, tag: str, addresses: list[bytes], slots: dict[bytes, set[int]]) -> list[dict]:
    """Each account's balance, nonce and slots at ``tag``, shaped as eth_getProof answers them."""
    calls: list[tuple[str, list]] = []
    for a in addresses:
        calls += [("eth_getBalance", ["0x" + a.hex(), tag]), ("eth_getTransactionCount", ["0x" + a.hex(), tag])]
        calls += [("eth_getStorageAt", ["0x" + a.hex(), hex(s), tag]) for s in sorted(slots.get(a, ()))]
    answers = iter(rpc.batch(calls) if calls else [])
    out = []
    for a in addresses:
        balance, nonce = next(answers), next(answers)
        out.append({"address": "0x" + a.hex(), "balance": balance, "nonce": nonce,
                    "storageProof": [{"key": hex(s), "value": next(answers)} for s in sorted(slots.get(a, ()))]})
    return out


def _proven(root: bytes, key: bytes, proof: list[str], what: str) -> bytes:
    try:
        return HexaryTrie.get_from_proof(root, keccak(key), [rlp.decode(_b(node)) for node in proof])
    except (BadTrieProof, TrieValidationError, rlp.DecodingError, ValueError, IndexError, TypeError) as exc:
        raise WitnessError(f"{what}: the Merkle proof does not verify against the anchor's state root ({exc})") from None


def _keep_nodes(nodes: dict[bytes, bytes], proof: list[str]) -> None:
    """A verified proof's nodes by hash (those under 32 bytes live inline in their parents)."""
    for node in proof:
        encoded = _b(node)
        if len(encoded) >= 32:
            nodes[keccak(encoded)] = encoded


def verify_witness(anchor: Anchor, raw: dict, proofs: bool = True) -> Witness:
    """The witness ``raw`` holds, checked: the anchor header against the anchor hash, every
    account and slot against the header's state root, every ancestor header against its child.
    Without ``proofs`` (a forked L1, whose blocks have no state root: l1source.py) the accounts
    and slots are the values the L1 node answered, unchecked; the headers still are."""
    header = raw["header"]
    if header_hash(header) != anchor.hash:
        raise WitnessError(f"the header served for anchor block {anchor.number} does not hash to the anchor hash")
    state_root = _b(header["stateRoot"])
    witness = Witness(anchor, state_root=state_root)
    for proof, code_hex in zip(raw["proofs"], raw["codes"]):
        address = _b(proof["address"])
        who = to_checksum_address(address)
        if not proofs:
            _take_unproven(witness, address, proof, _b(code_hex))
            continue
        encoded = _proven(state_root, address, proof["accountProof"], f"account {who}")
        nonce, balance, storage_root, code_hash = rlp.decode(encoded) if encoded else (b"", b"", EMPTY_ROOT, EMPTY_CODE_HASH)
        code = _b(code_hex)
        if keccak(code) != code_hash:
            raise WitnessError(f"the code served for {who} does not match its proven code hash")
        witness.accounts[address] = AccountInfo(code, int.from_bytes(balance, "big"), int.from_bytes(nonce, "big"))
        witness.account_rlp[address] = encoded
        _keep_nodes(witness.nodes, proof["accountProof"])
        for item in proof["storageProof"]:
            slot = _i(item["key"])
            value = _proven(storage_root, slot.to_bytes(32, "big"), item["proof"], f"storage of {who} slot {hex(slot)}")
            witness.slots[(address, slot)] = int.from_bytes(rlp.decode(value), "big") if value else 0
            _keep_nodes(witness.nodes, item["proof"])
        witness.proof_bytes += sum(len(n) // 2 - 1 for n in proof["accountProof"])
        witness.proof_bytes += sum(len(n) // 2 - 1 for item in proof["storageProof"] for n in item["proof"])
    # ancestors for BLOCKHASH: each header must hash to its child's parentHash, back from the anchor
    expected_parent = _b(header["parentHash"])
    for block in raw["ancestors"]:
        number = _i(block["number"])
        h = header_hash(block)
        if h != expected_parent:
            raise WitnessError(f"the header served for L1 block {number} is not the anchor's ancestor")
        witness.block_hashes[number] = h
        expected_parent = _b(block["parentHash"])
    witness.block_hashes[anchor.number] = anchor.hash
    return witness


def _take_unproven(witness: Witness, address: bytes, proof: dict, code: bytes) -> None:
    """An account and its slots as an ``eth_getProof`` answer states them, without its proofs
    (nor its code hash: a forked anvil answers one that is not its code's)."""
    witness.accounts[address] = AccountInfo(code, _i(proof.get("balance")), _i(proof.get("nonce")))
    for item in proof["storageProof"]:
        witness.slots[(address, _i(item["key"]))] = _i(item.get("value"))


class WitnessReader:
    """Answers L1 reads from a verified witness only; anything else is a prover error."""

    def __init__(self, witness: Witness) -> None:
        self.block_number = witness.anchor.number
        self._witness = witness
        self.slots: dict[tuple[bytes, int], int] = {}
        self.accounts: dict[bytes, AccountInfo] = {}
        self.block_hashes: dict[int, bytes] = {}
        self.observed_balances: set[bytes] = set()
        self.observed_nonces: set[bytes] = set()
        self.observed_block: dict = {}

    def storage(self, address: bytes, slot: int) -> int:
        try:
            value = self._witness.slots[(address, slot)]
        except KeyError:
            raise WitnessMiss(f"re-execution read {to_checksum_address(address)} slot {hex(slot)}, which is not in the witness") from None
        self.slots[(address, slot)] = value
        return value

    def account(self, address: bytes) -> AccountInfo:
        try:
            info = self._witness.accounts[address]
        except KeyError:
            raise WitnessMiss(f"re-execution read account {to_checksum_address(address)}, which is not in the witness") from None
        self.accounts[address] = info
        return info

    def block_hash(self, number: int) -> bytes:
        try:
            return self._witness.block_hashes[number]
        except KeyError:
            raise WitnessMiss(f"re-execution read the hash of L1 block {number}, which is not in the witness") from None
